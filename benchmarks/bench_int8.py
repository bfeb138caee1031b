"""INT8 inference on the CPU: milliseconds per image and test Dice of one model run three ways, PyTorch float32,
ONNX Runtime float32 and ONNX Runtime INT8 (`petlab_export --int8`: static quantisation calibrated on training
images). Prints figures; it is not a test.

    .venv/bin/python benchmarks/bench_int8.py                          # trains a ResNet34-UNet first (minutes on 2 cores)
    .venv/bin/python benchmarks/bench_int8.py --ckpt runs/r/best.pt    # a model of yours

The Dice of the three is compared image by image on the test split (`petlab.experiments.paired_difference`: the mean
difference and its 95% interval), so a loss smaller than the noise of a mean over the split still shows. Speed is
the best of `--reps` timed repeats of a batch (after a warm-up), with `--threads` threads for PyTorch and ONNX
Runtime alike; on a machine shared with other work, compare figures measured in the same run only.
"""
import argparse, os, platform, tempfile, time
from pathlib import Path
import numpy as np
import torch
from petlab.config import TrainConfig
from petlab.data import PetSegDataset
from petlab.download import demo_data_path
from petlab.evaluate import evaluate
from petlab.experiments import paired_difference
from petlab.export import OnnxModel, export_int8, export_onnx
from petlab.runs import load_checkpoint
from petlab.train import train


def best_ms(fn, x, reps):
    "Best of `reps` timings of `fn(x)`, in ms per image (after one warm-up call)."
    fn(x); best = float('inf')
    for _ in range(reps):
        t = time.perf_counter(); fn(x); best = min(best, time.perf_counter() - t)
    return 1000 * best / len(x)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--ckpt', help="a checkpoint (a run's best.pt); default: train one first")
    p.add_argument('--data', default=None, help='dataset root (default: $PETLAB_DATA, else the demo data)')
    p.add_argument('--model', default='resnet34_unet', help='the network to train when no --ckpt is given')
    p.add_argument('--size', type=int, default=128, help='training size when no --ckpt is given')
    p.add_argument('--epochs', type=int, default=10, help='epochs when no --ckpt is given')
    p.add_argument('--calib', type=int, default=32, help='calibration images for INT8')
    p.add_argument('--threads', type=int, default=2, help='threads for PyTorch and ONNX Runtime')
    p.add_argument('--bs', type=int, default=8, help='batch size of the timed calls')
    p.add_argument('--reps', type=int, default=10, help='timed repeats')
    a = p.parse_args()
    data = Path(a.data or demo_data_path())
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        ckpt = Path(a.ckpt) if a.ckpt else None
        if ckpt is None:
            t = time.time()
            cfg = TrainConfig(model=a.model, size=a.size, epochs=a.epochs, bs=8, data_path=str(data), tta=False, seed=0)
            train(cfg, d/'run', progress=False); ckpt = d/'run'/'best.pt'
            print(f'trained {a.model} at {a.size} px for {a.epochs} epochs on {data} in {time.time() - t:.0f} s (seed 0, no TTA)')
        model, meta = load_checkpoint(ckpt)
        size = (meta.get('config') or {}).get('size', 256)
        t = time.time(); f32 = export_onnx(ckpt, d/'fp32.onnx'); t_exp = time.time() - t
        t = time.time(); i8 = export_int8(ckpt, d/'int8.onnx', a.data, n=a.calib); t_q = time.time() - t
        ds = PetSegDataset(data, 'test', size, (meta.get('config') or {}).get('recipe', 'none'))
        x = torch.stack([ds[i % len(ds)][0] for i in range(a.bs)])
        ways = {'PyTorch float32': (model.eval(), ckpt), 'ONNX float32': (OnnxModel(f32, threads=a.threads), f32),
                'ONNX INT8': (OnnxModel(i8, threads=a.threads), i8)}
        rows = {}
        for name, (m, path) in ways.items():
            with torch.no_grad(): ms = best_ms(m, x, a.reps)
            r = evaluate(path, data, 'test', tta=False, progress=False)
            rows[name] = dict(ms=ms, mb=path.stat().st_size / 2**20, dice=r['dice_mean'], dice_full=r['full']['dice_mean'],
                              per_image=r['per_image'].dice_full.to_numpy())
        n = len(rows['ONNX INT8']['per_image'])
        print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {a.threads} threads; model {meta['model']['name']} "
              f"at {size} px; batch {a.bs}; test split {n} images of {data}; export {t_exp:.1f} s, quantisation {t_q:.1f} s "
              f"({a.calib} calibration images)\n")
        print(f"{'':18s} {'ms/image':>9s} {'speed-up':>9s} {'file MB':>8s} {'Dice':>7s} {'Dice full res':>14s}  paired difference in Dice (full res) vs PyTorch, 95% interval")
        ref = rows['PyTorch float32']
        for name, r in rows.items():
            pd_ = paired_difference(r['per_image'], ref['per_image'])
            diff = '' if name == 'PyTorch float32' else f"{pd_['diff']:+.4f} [{pd_['low']:+.4f}, {pd_['high']:+.4f}]"
            print(f"{name:18s} {r['ms']:9.2f} {rows['ONNX float32']['ms'] / r['ms']:8.2f}x {r['mb']:8.1f} {r['dice']:7.4f} {r['dice_full']:14.4f}  {diff}")
        q = paired_difference(rows['ONNX INT8']['per_image'], rows['ONNX float32']['per_image'])
        print(f"\nINT8 vs ONNX float32: {rows['ONNX float32']['ms'] / rows['ONNX INT8']['ms']:.2f}x faster (goal 1.8x), "
              f"Dice {q['diff']:+.4f} [{q['low']:+.4f}, {q['high']:+.4f}] per image (goal: at most 0.005 lost)")


if __name__ == '__main__': main()

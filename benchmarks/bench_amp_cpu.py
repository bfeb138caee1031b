"""bf16 autocast against float32 for training on the CPU, at the small budget of the ablation (ResNet34-UNet from
scratch, 128 px, batch 8, 30 epochs, petlab's recipe): does bf16 keep the Dice, and how much faster does it train?
Prints figures; it is not a test.

    .venv/bin/python benchmarks/bench_amp_cpu.py --data DIR                 # 5 seeds of each, 2 runs at a time
    .venv/bin/python benchmarks/bench_amp_cpu.py --data DIR --seeds 1       # a first look
    .venv/bin/python benchmarks/bench_amp_cpu.py --step_speed                # one training step, float32 vs bf16, by model size

The float32 runs are `amp='auto'` (float32 on a CPU today), so their names are those of the recorded ablation's
"+ flip TTA" row: runs already recorded in `nbs/results/ablation/runs` are copied in and reused, not trained again.
The two precisions are compared image by image on the test split, over the seeds (`petlab.sweep.compare_configs`:
a paired bootstrap), and their training speed as the median images/s of the epochs of runs that ran side by side.

`--step_speed` times one training step (forward, loss, backward, AdamW step; random batches, 128 px, batch 8, one
torch thread) in float32 and in bf16 autocast for networks from 0.1 M to 24 M parameters: where bf16 pays on this CPU.
"""
import argparse, json, shutil
from pathlib import Path
import pandas as pd
from petlab.config import PETLAB_RECIPE
from petlab.experiments import ABLATION_BASE
from petlab.sweep import compare_configs, run_name, seed_table, sweep, with_seeds

ROOT = Path(__file__).resolve().parent.parent


def step_speed(steps=12, warmup=3, size=128, bs=8):
    "Median images/s of one training step in float32 and in bf16 autocast, for networks of several sizes, one thread."
    import statistics, time, torch
    import torch.nn.functional as F
    from petlab.models import get_model
    from petlab.unet import count_params
    from petlab.core import cpu_bf16
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, native bf16 on this CPU: {cpu_bf16()}; {size} px, batch {bs}, 1 thread, median of {steps - warmup} steps")
    print(f"{'network':<22}{'params':>10}{'fp32 img/s':>12}{'bf16 img/s':>12}{'bf16 / fp32':>13}")
    for name, base in (('unet', 4), ('unet', 8), ('unet', 16), ('resnet34_unet', 8), ('resnet34_unet', 16), ('resnet34_unet', 32), ('resnet34_unet', 64)):
        speed = {}
        for amp in ('fp32', 'bf16'):
            torch.manual_seed(0)
            m = get_model(name, base=base)
            opt = torch.optim.AdamW(m.parameters(), 1e-3)
            x, y = torch.randn(bs, 3, size, size), (torch.rand(bs, 1, size, size) > .5).float()
            times = []
            for _ in range(steps):
                t0 = time.perf_counter()
                with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp == 'bf16'):
                    out = m(x)
                loss = F.binary_cross_entropy_with_logits(out.float(), y)
                opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
                times.append(time.perf_counter() - t0)
            speed[amp] = bs / statistics.median(times[warmup:])
        print(f"{f'{name}:{base}':<22}{count_params(m) / 1e6:>9.2f}M{speed['fp32']:>12.1f}{speed['bf16']:>12.1f}{speed['bf16'] / speed['fp32']:>12.2f}x")


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--step_speed', action='store_true', help='only time one training step in float32 and bf16, by model size')
    p.add_argument('--data', help='dataset root (the ablation used the shared sample: 180 training images)')
    p.add_argument('--out', default='runs/amp-cpu', help='sweep folder (runs are reused when the script runs again)')
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument('--workers', type=int, default=2, help='runs at once (each with the cores shared out)')
    a = p.parse_args()
    if a.step_speed: return step_speed()
    if not a.data: p.error('give --data DIR (or --step_speed)')
    out, data = Path(a.out), str(Path(a.data).expanduser().resolve())
    configs = [{**ABLATION_BASE, **PETLAB_RECIPE, 'data_path': data, 'seed': 0, 'amp': amp} for amp in ('auto', 'bf16')]
    runs = with_seeds(configs, a.seeds)
    recorded = ROOT/'nbs'/'results'/'ablation'/'runs'
    for c in runs:   # float32 runs the ablation recorded: reused
        src, dst = recorded/run_name(c), out/'runs'/run_name(c)
        if (src/'result.json').is_file() and not dst.exists():
            shutil.copytree(src, dst); print(f'reused the recorded run {src.name} (seed {c["seed"]}, {c["amp"]})')
    t = sweep(runs, out, workers=a.workers)
    st = seed_table(t, out, by='amp')
    print('\nper precision (amp auto = float32 on this CPU): test Dice mean over the seeds, its 95% interval, spread over seeds')
    print(st.drop(columns=['names', 'seeds']).to_string(index=False))
    print('\nbf16 against float32, image by image over the same test images and the seeds (paired bootstrap, 95%):')
    print(compare_configs(st, out, base=0).to_string(index=False))
    speed = []
    for _, r in t.iterrows():
        h = pd.read_csv(out/'runs'/r['name']/'history.csv')
        res = json.loads((out/'runs'/r['name']/'result.json').read_text())
        speed.append(dict(amp=r['amp'], seed=r['seed'], train_img_s=h.train_img_s.median(), wall_s=res.get('wall_s'),
                          note='recorded earlier (other load)' if (recorded/r['name']).exists() else 'this run'))
    print('\ntraining speed, median images/s of the epochs (compare runs of this run only):')
    print(pd.DataFrame(speed).to_string(index=False))


if __name__ == '__main__': main()

#!/usr/bin/env python
"""The GPU path, measured: training and inference speed of both networks with mixed precision, with and without data loading.

    python benchmarks/bench_gpu.py [--data_path DIR] [--size 256] [--bs 32] [--steps 40] [--workers N]

For each network (UNet, ResNet34-UNet) at --size px, in fp32, bf16 and fp16 (autocast; fp16 with a GradScaler):
  train, loader    img/s of optimiser steps fed by petlab's training DataLoader (decoded cache, recipe A, the
                   workers `default_workers()` picks, pinned memory): what a run gets
  train, on device img/s of the same steps on synthetic batches already on the GPU: the model's own ceiling
  peak memory      torch.cuda.max_memory_allocated during the training steps
  inference        img/s of forward passes (eval, inference_mode) on batches already on the GPU
and, once, the DataLoader alone (pairs/s, every batch copied to the device). Ratios are to fp32 in the same run.
If the loader's pairs/s is below the on-device img/s, the data pipeline bounds training.

Without a CUDA device it says so and prints what a CPU can: the DataLoader's pairs/s and fp32 training
img/s at --cpu_size px. Figures drift by +-30% on a shared machine: compare ratios within one run.
"""
import argparse, json, os, sys, tempfile, shutil, time
from pathlib import Path

os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402
from petlab.data import PetSegDataset, SeededSampler, default_workers  # noqa: E402
from petlab.metrics import get_loss  # noqa: E402
from petlab.models import get_model  # noqa: E402

MODES = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def train_loader(root, size, bs, nw, cache):
    "The training DataLoader exactly as `petlab.data.get_dls` builds it (decoded cache, recipe A), for the train split only."
    ds = PetSegDataset(root, 'train', size, 'A', train=True, cache=cache, seed=0)
    return DataLoader(ds, batch_size=bs, sampler=SeededSampler(len(ds), 0), drop_last=len(ds) > bs, num_workers=nw,
                      pin_memory=torch.cuda.is_available(), persistent_workers=nw > 0, **({'prefetch_factor': 4} if nw > 0 else {}))


def batches(dl, n):
    "`n` batches of `dl`, going on to the next epoch when one ends."
    k = 0
    while True:
        for b in dl:
            yield b; k += 1
            if k == n: return


def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)


def loader_rate(dl, dev, n):
    "Pairs/s of the DataLoader alone, each batch copied to `dev`."
    it = batches(dl, n + 2)
    for _ in range(2): next(it)  # workers started, first batches out
    t0, k = time.perf_counter(), 0
    for xb, yb in it: xb.to(dev, non_blocking=True); yb.to(dev, non_blocking=True); k += len(xb)
    sync(dev)
    return k / (time.perf_counter() - t0)


class Stepper:
    "One training step of `name` on `dev` with autocast `dtype` (fp16: with a GradScaler), channels_last on CUDA."
    def __init__(self, name, dev, dtype):
        torch.manual_seed(0)
        self.dev, self.dtype, self.cl = dev, dtype, dev.type == 'cuda'
        self.model = get_model(name).to(dev)
        if self.cl: self.model = self.model.to(memory_format=torch.channels_last)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-4)
        self.loss = get_loss('bce_dice')
        self.scaler = torch.amp.GradScaler(dev.type, enabled=dtype == torch.float16)

    def __call__(self, xb, yb):
        xb, yb = xb.to(self.dev, non_blocking=True), yb.to(self.dev, non_blocking=True)
        if self.cl: xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.dev.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
            pred = self.model(xb)
        loss = self.loss(pred.float(), yb)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt); self.scaler.update()

    def rate(self, source, n, warmup):
        "img/s over `n` steps after `warmup` steps; `source` yields (xb, yb)."
        it = iter(source)
        for _ in range(warmup): self(*next(it))
        sync(self.dev); t0, k = time.perf_counter(), 0
        for _ in range(n): xb, yb = next(it); self(xb, yb); k += len(xb)
        sync(self.dev)
        return k / (time.perf_counter() - t0)

    @torch.inference_mode()
    def infer_rate(self, xb, n, warmup):
        self.model.eval()
        if self.cl: xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.dev.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
            for _ in range(warmup): self.model(xb)
            sync(self.dev); t0 = time.perf_counter()
            for _ in range(n): self.model(xb)
            sync(self.dev)
        self.model.train()
        return n * len(xb) / (time.perf_counter() - t0)


def synthetic(bs, size, dev):
    "The same batch on the device, again and again."
    g = torch.Generator().manual_seed(0)
    xb = torch.randn(bs, 3, size, size, generator=g).to(dev)
    yb = (torch.rand(bs, 1, size, size, generator=g) > 0.5).float().to(dev)
    while True: yield xb, yb


def forward_gflop(name, size, dev):
    "GFLOP of one forward pass of one image (convolutions and matmuls, torch's FLOP counter); training is about 3x that."
    from torch.utils.flop_counter import FlopCounterMode
    m = get_model(name).to(dev).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc: m(torch.zeros(1, 3, size, size, device=dev))
    return fc.get_total_flops() / 1e9


def ratio(v, base): return f'x{v / base:.2f}' if base else ''


def main():
    sample = Path(__file__).resolve().parents[2]/'shared'/'data'/'oxford-iiit-pet-sample'
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data_path', default=os.environ.get('PETLAB_DATA') or str(sample), help='dataset root (default: $PETLAB_DATA, else the shared sample)')
    p.add_argument('--size', type=int, default=256, help='image size on the GPU (px)')
    p.add_argument('--bs', type=int, default=32, help='batch size on the GPU')
    p.add_argument('--steps', type=int, default=40, help='timed steps per measurement')
    p.add_argument('--warmup', type=int, default=8, help='untimed steps first (cudnn autotuning, allocator)')
    p.add_argument('--workers', type=int, default=None, help='DataLoader workers (default: petlab.data.default_workers())')
    p.add_argument('--models', nargs='+', default=['unet', 'resnet34_unet'])
    p.add_argument('--modes', nargs='+', default=list(MODES), choices=list(MODES))
    p.add_argument('--cpu_size', type=int, default=64, help='image size of the CPU figures (px)')
    p.add_argument('--cpu_bs', type=int, default=4, help='batch size of the CPU figures')
    p.add_argument('--cpu_steps', type=int, default=3, help='timed steps of the CPU figures')
    p.add_argument('--json', default=None, help='also write every figure to this JSON file (gpu_check.sh builds its table from it)')
    args = p.parse_args()
    out = dict(rows=[])   # every figure, for --json

    cuda = torch.cuda.is_available()
    dev = torch.device('cuda' if cuda else 'cpu')
    size, bs = (args.size, args.bs) if cuda else (args.cpu_size, args.cpu_bs)
    nw = default_workers() if args.workers is None else args.workers
    cache = Path(tempfile.mkdtemp(prefix='petlab-bench-gpu-'))
    try:
        t0 = time.perf_counter()
        dl = train_loader(args.data_path, size, bs, nw, cache)
        print(f'torch {torch.__version__}; device: {torch.cuda.get_device_name(dev) if cuda else "CPU"}; '
              f'data {args.data_path}: {len(dl.dataset)} training pairs, cache built in {time.perf_counter() - t0:.1f} s')
        n_load = max(args.steps, 2 * len(dl)) if cuda else max(8, len(dl))
        out.update(device=torch.cuda.get_device_name(dev) if cuda else 'CPU', size=size, bs=bs, workers=nw,
                   loader_pairs_s=loader_rate(dl, dev, n_load))
        print(f'DataLoader (cache, recipe A, {nw} workers, {size} px, batch {bs}, copied to {dev.type}): {out["loader_pairs_s"]:.0f} pairs/s')
        from petlab.device_data import DeviceLoader   # recipe A on whole batches where the model trains
        ddl = DeviceLoader(dl.dataset, bs, dev)
        out['device_loader_pairs_s'] = loader_rate(ddl, dev, n_load)
        print(f'DeviceLoader (the cache held on {dev.type}, recipe A on whole batches, {size} px, batch {bs}): '
              f'{out["device_loader_pairs_s"]:.0f} pairs/s')
        if not cuda:
            print('no CUDA device: GPU figures skipped (AMP training with and without data loading, peak memory, inference)')
            for name in args.models:
                s = Stepper(name, dev, None)
                r = s.rate(synthetic(bs, size, dev), args.cpu_steps, 1)
                print(f'{name:>14} fp32 CPU training step at {size} px, batch {bs}: {r:.1f} img/s')
                out['rows'].append(dict(model=name, mode='fp32', device_img_s=r))
            return
        torch.backends.cudnn.benchmark = True
        if 'bf16' in args.modes and not torch.cuda.is_bf16_supported(): args.modes.remove('bf16'); print('bf16: not supported by this GPU, skipped')
        print(f'\nmodel at {size} px, batch {bs}; train img/s with the DataLoader / on the device; peak GiB; inference img/s (ratios: to fp32)')
        for name in args.models:
            base = {}
            for mode in args.modes:
                torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(dev)
                s = Stepper(name, dev, MODES[mode])
                ceil = s.rate(synthetic(bs, size, dev), args.steps, args.warmup)
                peak = torch.cuda.max_memory_allocated(dev) / 2**30
                load = s.rate(batches(dl, args.steps + args.warmup), args.steps, args.warmup)
                dload = s.rate(batches(ddl, args.steps + args.warmup), args.steps, args.warmup)
                inf = s.infer_rate(next(synthetic(bs, size, dev))[0], args.steps, args.warmup)
                if mode == 'fp32': base = dict(load=load, ceil=ceil, inf=inf)
                b = base or {}
                print(f'{name:>14} {mode}: train {load:7.0f} img/s with loader {ratio(load, b.get("load")):>6} | '
                      f'{ceil:7.0f} on device {ratio(ceil, b.get("ceil")):>6} | peak {peak:5.2f} GiB | '
                      f'inference {inf:7.0f} img/s {ratio(inf, b.get("inf")):>6} | loader/ceiling {load / ceil:.2f} | '
                      f'device loader {dload:7.0f} img/s')
                out['rows'].append(dict(model=name, mode=mode, loader_img_s=load, device_loader_img_s=dload, device_img_s=ceil,
                                        peak_gib=peak, infer_img_s=inf, train_gflop_img=3 * forward_gflop(name, size, dev)))
                del s
        print('\nA loader/ceiling ratio well below 1 means the data pipeline, not the GPU, bounds training: more workers '
              '(--workers), or a smaller decoded size.')
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if args.json: Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == '__main__': sys.exit(main())

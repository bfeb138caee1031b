#!/usr/bin/env python
"""Data pipeline speed: (image, mask) pairs per second, plain decode + augment vs the decoded cache.

    python benchmarks/bench_data.py [--data_path DIR] [--size 256] [--recipe A] [--repeats 3]

Measures, in this process (no DataLoader workers, so it is per CPU core):
  decode       load_image + load_mask of the original files (no resize, no augmentation)
  plain        PetSegDataset(cache=False): decode, then the recipe's training augmentations + normalise
  cached       PetSegDataset(cache=...): read the memory-mapped uint8 cache, then the same augmentations
and, once, the time to build the cache. Figures drift by +-30% on a shared machine: compare ratios.
"""
import argparse, os, sys, tempfile, time, shutil
from pathlib import Path

os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
from petlab.data import PetSegDataset, load_pair  # noqa: E402


def one_pass(ds):
    "Pairs/s of one pass through `ds`."
    t0 = time.perf_counter()
    for i in range(len(ds)): ds[i]
    return len(ds)/(time.perf_counter() - t0)


def rates(dss, repeats):
    "Best pairs/s of each dataset over `repeats` rounds; the rounds interleave them, so a busy spell hits all alike."
    best = [0.]*len(dss)
    for _ in range(repeats):
        for k, ds in enumerate(dss): best[k] = max(best[k], one_pass(ds))
    return best


def main():
    sample = Path(__file__).resolve().parents[2]/'shared'/'data'/'oxford-iiit-pet-sample'
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data_path', default=os.environ.get('PETLAB_DATA') or str(sample), help='dataset root (default: $PETLAB_DATA, else the shared sample)')
    p.add_argument('--size', type=int, default=256, help='output size in pixels')
    p.add_argument('--recipe', default='A', help="augmentation recipe ('none', 'A', 'B')")
    p.add_argument('--split', default='trainval', help='split to read')
    p.add_argument('--repeats', type=int, default=3, help='passes per measurement (the best one counts)')
    p.add_argument('--threads', type=int, default=1, help='OpenCV/torch threads (1 = one core, as in a DataLoader worker)')
    args = p.parse_args()

    import cv2, torch
    cv2.setNumThreads(args.threads); torch.set_num_threads(args.threads)
    cache_dir = Path(tempfile.mkdtemp(prefix='petlab-bench-'))
    try:
        plain = PetSegDataset(args.data_path, args.split, args.size, args.recipe, train=True, seed=0)
        n = len(plain)
        print(f'{n} pairs of {args.data_path} ({args.split}), {args.size} px, recipe {args.recipe!r}, '
              f'{args.threads} thread(s), best of {args.repeats} interleaved passes')
        t0 = time.perf_counter()
        for s in plain.samples: load_pair(s)
        decode = n/(time.perf_counter() - t0)
        t0 = time.perf_counter()
        cached = PetSegDataset(args.data_path, args.split, args.size, args.recipe, train=True, cache=cache_dir, seed=0)
        build = time.perf_counter() - t0
        ev = [PetSegDataset(args.data_path, args.split, args.size, args.recipe, cache=c) for c in (False, cache_dir)]
        r_plain, r_cached, ev_plain, ev_cached = rates([plain, cached, *ev], args.repeats)
        print(f'  decode only (original size)      {decode:8.0f} pairs/s')
        print(f'  build cache (once)               {build:8.2f} s  ({n/build:.0f} pairs/s)')
        print(f'  train, plain decode + augment    {r_plain:8.0f} pairs/s')
        print(f'  train, cached + augment          {r_cached:8.0f} pairs/s   x{r_cached/r_plain:.1f}')
        print(f'  eval,  plain decode + resize     {ev_plain:8.0f} pairs/s')
        print(f'  eval,  cached + resize           {ev_cached:8.0f} pairs/s   x{ev_cached/ev_plain:.1f}')
    finally: shutil.rmtree(cache_dir, ignore_errors=True)


if __name__ == '__main__': sys.exit(main())

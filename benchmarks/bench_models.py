"""Speed of petlab's models on this machine: training-step images/s and inference ms/image, fp32 NCHW vs
channels_last, with the achieved GFLOP/s as a fraction of the machine's fp32 ceiling (a large matmul
measured in the same run). Prints figures; it is not a test.

    .venv/bin/python benchmarks/bench_models.py            # both models, 128 and 256 px, batch 8
    .venv/bin/python benchmarks/bench_models.py --quick    # 128 px only, fewer repeats (about a minute)

FLOPs are those of the convolutions and matmuls, counted by torch.utils.flop_counter.FlopCounterMode on
one real step (forward + backward for training; the first convolution needs no input gradient, so a
training step is a little under 3× the forward). Elementwise work (BatchNorm, ReLU, the optimiser) adds
time but no counted FLOPs: that time is part of what keeps the fraction below 1. Absolute speeds drift
±30% on a shared machine; the fraction of the ceiling measured in the same run drifts much less. Each
figure is the best of `--reps` timed repeats (after a warm-up), which is the least disturbed by others.

On a machine shared with other jobs, pass `--threads 1`: two OpenMP threads that wait on each other for
cores other processes hold are many times slower than one (under a load average of ~9 on 2 cores, the
ResNet34-UNet's 128 px channels_last training step ran at 0.48 img/s with 2 threads, ~4.5 with 1).
"""
import argparse, ctypes, platform, time
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from petlab.models import get_model


def matmul_ceiling(n=2048, reps=8, tries=3, clock=time.perf_counter):
    "Best fp32 GFLOP/s of an n×n @ n×n matmul (MKL): the practical ceiling for convolutions here."
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float('inf')
    for _ in range(tries):
        t = clock()
        for _ in range(reps): a @ b
        best = min(best, (clock() - t) / reps)
    return 2 * n**3 / best / 1e9


def malloc_tuning():
    """Keep freed memory in glibc's heap instead of returning big blocks to the OS (Linux/glibc only).
    By default every tensor above a few MB is mmap'ed and unmapped again, so each training step page-faults
    its activations back in (hundreds of thousands of faults per step at 256 px): 10-15% of a step here."""
    try: libc = ctypes.CDLL('libc.so.6')
    except OSError: return False
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    return all(libc.mallopt(k, v) == 1 for k, v in [(M_MMAP_THRESHOLD, 2**30), (M_TRIM_THRESHOLD, 2**34), (M_TOP_PAD, 2**28)])


def paired_times(fn, reps):
    """`reps` × (a short matmul ceiling, one timed call of `fn`): wall seconds, wall GFLOP/s of the ceiling,
    CPU seconds and CPU-time GFLOP/s of the ceiling (process CPU time: immune to waiting for a core)."""
    ts, cs, pts, pcs = [], [], [], []
    for _ in range(reps):
        cs.append(matmul_ceiling(reps=2, tries=1))
        pcs.append(matmul_ceiling(reps=2, tries=1, clock=time.process_time))
        t, pt = time.perf_counter(), time.process_time(); fn()
        ts.append(time.perf_counter() - t); pts.append(time.process_time() - pt)
    return ts, cs, pts, pcs


def median(xs): return sorted(xs)[len(xs) // 2]


def bench(name, size, bs, channels_last, reps, opts):
    "Training-step and inference timings of one model/size/layout; returns a dict of figures."
    torch.manual_seed(0)
    model = get_model(name, channels_last=channels_last, **opts)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    xb = torch.randn(bs, 3, size, size).contiguous(memory_format=fmt)
    yb = (torch.rand(bs, 1, size, size) > 0.5).float()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step():
        loss = F.binary_cross_entropy_with_logits(model(xb), yb)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

    def infer():
        with torch.inference_mode(): model(xb)

    r = {}
    for what, fn, mode in [('train', train_step, model.train), ('infer', infer, model.eval)]:
        mode()
        with FlopCounterMode(display=False) as fc: fn()  # counts FLOPs; also the warm-up
        flops = fc.get_total_flops()
        ts, cs, pts, pcs = paired_times(fn, reps)
        r[what] = dict(t=min(ts), flops=flops, gflops=flops / min(ts) / 1e9,
                       paired_frac=median([flops / t / 1e9 / c for t, c in zip(ts, cs)]),
                       cpu_frac=median([flops / t / 1e9 / c for t, c in zip(pts, pcs)]))
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--quick', action='store_true', help='128 px only, 2 repeats')
    p.add_argument('--models', nargs='+', default=['resnet34_unet', 'unet'])
    p.add_argument('--sizes', nargs='+', type=int, default=None, help='default 128 256 (128 with --quick)')
    p.add_argument('--bs', type=int, default=8)
    p.add_argument('--reps', type=int, default=None, help='timed repeats per figure (default 3, 2 with --quick)')
    p.add_argument('--layouts', nargs='+', default=['nchw', 'channels_last'], choices=['nchw', 'channels_last'])
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s choice)')
    p.add_argument('--base', type=int, default=None, help='model width option (default: the full model)')
    p.add_argument('--no-malloc-tuning', action='store_true', help="leave glibc's malloc at its defaults")
    a = p.parse_args()
    sizes = a.sizes or ([128] if a.quick else [128, 256])
    reps = a.reps or (2 if a.quick else 3)
    if a.threads: torch.set_num_threads(a.threads)
    opts = {} if a.base is None else dict(base=a.base)

    tuned = False if a.no_malloc_tuning else malloc_tuning()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, '
          f'CPU capability {torch.backends.cpu.get_cpu_capability()}, malloc tuning {"on" if tuned else "off"}')
    ceil0 = matmul_ceiling()
    print(f'fp32 ceiling (2048² matmul): {ceil0:.0f} GFLOP/s')
    rows = []
    for name in a.models:
        for size in sizes:
            for layout in a.layouts:
                r = bench(name, size, a.bs, layout == 'channels_last', reps, opts)
                rows.append((name, size, layout, r))
                print(f'  measured {name} {size}px {layout}', flush=True)
    ceil1 = matmul_ceiling()
    ceil = max(ceil0, ceil1)
    print(f'fp32 ceiling again at the end: {ceil1:.0f} GFLOP/s; best {ceil:.0f} GFLOP/s\n')
    print(f'batch {a.bs}, best of {reps} timed repeats. frac: achieved GFLOP/s ÷ the best fp32 ceiling of the run; '
          '(paired): median over repeats of GFLOP/s ÷ a matmul ceiling measured just before that repeat, '
          'which follows the load others put on the machine; (cpu): the same with process CPU time instead of wall time, '
          'which ignores time spent waiting for a core (with several threads it also counts their spinning)')
    hdr = (f"{'model':14s} {'px':>4s} {'layout':14s} {'fwd GFLOP/img':>13s} {'train img/s':>11s} {'GFLOP/s':>7s} "
           f"{'frac':>5s} {'(paired)':>8s} {'(cpu)':>5s} {'infer ms/img':>12s} {'GFLOP/s':>7s} {'frac':>5s} {'(paired)':>8s} {'(cpu)':>5s}")
    print(hdr); print('-' * len(hdr))
    for name, size, layout, r in rows:
        tr, inf = r['train'], r['infer']
        print(f"{name:14s} {size:4d} {layout:14s} {inf['flops'] / a.bs / 1e9:13.1f} {a.bs / tr['t']:11.2f} "
              f"{tr['gflops']:7.0f} {tr['gflops'] / ceil:5.2f} {tr['paired_frac']:8.2f} {tr['cpu_frac']:5.2f} "
              f"{inf['t'] / a.bs * 1e3:12.1f} {inf['gflops']:7.0f} {inf['gflops'] / ceil:5.2f} {inf['paired_frac']:8.2f} "
              f"{inf['cpu_frac']:5.2f}")
    if set(a.layouts) == {'nchw', 'channels_last'}:
        print('\nchannels_last speed-up (train, infer):')
        by = {(n, s, l): r for n, s, l, r in rows}
        for name in a.models:
            for size in sizes:
                c, n = by[name, size, 'channels_last'], by[name, size, 'nchw']
                print(f"  {name:14s} {size:4d}px  ×{n['train']['t'] / c['train']['t']:.2f}  ×{n['infer']['t'] / c['infer']['t']:.2f}")


if __name__ == '__main__': main()

"""torch.compile against eager for petlab's training step and for its inference (what `evaluate` and `infer` run):
the time the first steps spend compiling, the steady images/s of each, and how far the compiled losses and logits
drift from eager's. Prints figures; it is not a test.

    .venv/bin/python benchmarks/bench_compile.py                            # both networks, 128 px, batch 8, the CPU
    .venv/bin/python benchmarks/bench_compile.py --device cuda --size 256 --bs 32   # on a GPU (CUDA graphs)

Each network trains `--steps` optimiser steps on random batches from the same seed, eagerly and through
`petlab.train.CompileCB` ('on': inductor; CUDA graphs on a GPU). The first compiled step includes the compilation;
the speed is the median over the steps after `--warmup`. This decides `TrainConfig.compile`'s default: 'off' wherever
the compiled step is not clearly faster. Inference: the trained-from-seed model in eval mode under `no_grad`, with flip
TTA as petlab validates, eager and through `petlab.train.compile_module` (what `evaluate(compile='on')` uses).
"""
import argparse, statistics, time
import torch
import torch.nn.functional as F
from petlab.models import get_model
from petlab.models import predict_logits
from petlab.train import CompileCB, compile_module


def run(name, opts, mode, a, device):
    torch.manual_seed(0)
    model = get_model(name, **opts).to(device)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(a.bs, 3, a.size, a.size, generator=g), (torch.rand(a.bs, 1, a.size, a.size, generator=g) > .5).float())
               for _ in range(4)]
    fwd = model
    if mode != 'off':   # what CompileCB does in a run
        cb = CompileCB(mode)
        cb.learn = type('L', (), dict(model=model, fwd_model=None, device=torch.device(device)))()
        cb.before_fit(); fwd = cb.learn.fwd_model
    times, losses = [], []
    for i in range(a.steps):
        x, y = (t.to(device) for t in batches[i % len(batches)])
        if device.startswith('cuda'): torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = F.binary_cross_entropy_with_logits(fwd(x), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        if device.startswith('cuda'): torch.cuda.synchronize()
        times.append(time.perf_counter() - t0); losses.append(loss.item())
    return times, losses


def run_infer(name, opts, mode, a, device):
    torch.manual_seed(0)
    model = compile_module(get_model(name, **opts).to(device).eval(), mode, torch.device(device))
    g = torch.Generator().manual_seed(1)
    batches = [torch.randn(a.bs, 3, a.size, a.size, generator=g) for _ in range(4)]
    times, outs = [], []
    with torch.no_grad():
        for i in range(a.steps):
            x = batches[i % len(batches)].to(device)
            if device.startswith('cuda'): torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = predict_logits(model, x, tta=True)
            if device.startswith('cuda'): torch.cuda.synchronize()
            times.append(time.perf_counter() - t0); outs.append(out.cpu())
    return times, outs


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--device', default='cpu')
    p.add_argument('--size', type=int, default=128)
    p.add_argument('--bs', type=int, default=8)
    p.add_argument('--steps', type=int, default=12)
    p.add_argument('--warmup', type=int, default=3, help='steps left out of the speed (the first includes compiling)')
    p.add_argument('--threads', type=int, default=None, help='torch threads on the CPU (default: torch\'s)')
    p.add_argument('--nets', default='unet:8,resnet34_unet', help="name[:base] list; unet:8 is the tests' 8-wide UNet")
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.device}{'' if a.device != 'cpu' else f', {torch.get_num_threads()} threads'}, "
          f"{a.size} px, batch {a.bs}, {a.steps} steps")
    table(a, run, 'first step (s)', 'max |loss - eager|', lambda u, v: abs(u - v))
    print("\ninference (eval mode, no_grad, flip TTA as petlab validates)")
    table(a, run_infer, 'first batch (s)', 'max |logit - eager|', lambda u, v: (u - v).abs().max().item())


def table(a, runner, first, drift_name, diff):
    "One row per network and mode: the first step's time (compiling), img/s, the speed-up, the largest drift from eager's outputs."
    print(f"{'network':<18}{'mode':<6}{first:>15}{'img/s':>9}{'x eager':>9}{drift_name:>20}")
    for spec in a.nets.split(','):
        name, _, base = spec.partition(':')
        opts = dict(base=int(base)) if base else {}
        res = {m: runner(name, opts, m, a, a.device) for m in ('off', 'on')}
        speed = {m: a.bs / statistics.median(t[a.warmup:]) for m, (t, _) in res.items()}
        for m, (t, out) in res.items():
            drift = max(diff(u, v) for u, v in zip(out, res['off'][1]))
            print(f"{spec:<18}{m:<6}{t[0]:>15.1f}{speed[m]:>9.1f}{speed[m] / speed['off']:>9.2f}{drift:>20.2e}")

if __name__ == '__main__':
    main()

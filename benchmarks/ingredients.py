"""New recipe ingredients against petlab's recipe at the ablation's small budget (ResNet34-UNet from scratch, 128 px,
batch 8, 30 epochs of the shared sample's 180 training images), each with several seeds, compared image by image
on valid (to decide) and on test (to report). Prints figures; it is not a test.

    .venv/bin/python benchmarks/ingredients.py --data DIR                          # every ingredient, 3 seeds, 2 runs at a time
    .venv/bin/python benchmarks/ingredients.py --data DIR --only bce_lovasz --seeds 1

Runs train in bf16 autocast: on this kind of CPU it trains 1.5x faster than float32 with the same Dice within the
noise (03_train), so a row costs two thirds of the time; every row, the base included, uses it, so the comparison is
fair. The base runs are those of `benchmarks/bench_amp_cpu.py` (petlab's recipe in bf16): found in its folder, they are
copied in and reused. Runs recorded before petlab kept per-image valid scores get them from their best.pt.
Each row is compared with the base by `petlab.sweep.compare_configs`: a paired bootstrap over the same images and seeds.
"""
import argparse, shutil
from pathlib import Path
import pandas as pd
from petlab.config import PETLAB_RECIPE
from petlab.evaluate import evaluate
from petlab.experiments import ABLATION_BASE
from petlab.sweep import compare_configs, run_name, seed_table, sweep, with_seeds

INGREDIENTS = {   # row: the settings it changes on top of petlab's recipe
    'base': {},
    'bce_lovasz': dict(loss='bce_lovasz'),
    'copy_paste 0.5': dict(copy_paste=0.5),
    'bs 4': dict(bs=4),   # the same image-passes in twice the optimiser steps (1,350): the network is under-trained
    'deep_sup 3': dict(deep_sup=3),   # heads at 1/2, 1/4, 1/8 of the size, losses weighted 1/2, 1/4, 1/8
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data', required=True, help='dataset root (the ablation used the shared sample: 180 training images)')
    p.add_argument('--out', default='runs/ingredients', help='sweep folder (runs are reused when the script runs again)')
    p.add_argument('--reuse', default='runs/amp-cpu', help="a folder of bench_amp_cpu.py's runs whose bf16 runs are the base")
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--workers', type=int, default=2, help='runs at once (each with the cores shared out)')
    p.add_argument('--only', nargs='*', default=None, help='rows to run besides the base (default: all)')
    a = p.parse_args()
    out, data = Path(a.out), str(Path(a.data).expanduser().resolve())
    rows = {k: v for k, v in INGREDIENTS.items() if k == 'base' or a.only is None or k in a.only}
    configs = {k: {**ABLATION_BASE, **PETLAB_RECIPE, **v, 'amp': 'bf16', 'data_path': data, 'seed': 0} for k, v in rows.items()}
    runs = with_seeds(list(configs.values()), a.seeds)
    for c in runs:   # the base runs bench_amp_cpu.py made: reused
        src, dst = Path(a.reuse)/'runs'/run_name(c), out/'runs'/run_name(c)
        if (src/'result.json').is_file() and not dst.exists():
            shutil.copytree(src, dst); print(f'reused {src} (seed {c["seed"]})')
    t = sweep(runs, out, workers=a.workers)
    for n in t[t.status == 'done'].name:   # per-image valid scores for runs made before petlab kept them
        rd = out/'runs'/n
        if not (rd/'valid_per_image.csv').exists() and (rd/'best.pt').exists():
            s = pd.read_json(rd/'config.json', typ='series')
            evaluate(rd/'best.pt', data, split='valid', size=int(s['size']), bs=int(s['bs']), progress=False)['per_image'].to_csv(
                rd/'valid_per_image.csv', index=False)
    key = {run_name({**c, 'seed': 0}): k for k, c in configs.items()}
    t['row'] = [key[run_name({**s, 'seed': 0})] for s in (eval_settings(out, n) for n in t.name)]
    st = seed_table(t, out, 'row')
    print('\nper row: seeds, mean valid Dice (best epoch), test Dice mean, spread over seeds and 95% interval; wall time per run')
    outl = [outline_figures(out, t[t.row == r].name) for r in st.row]
    print(st.drop(columns='names').assign(wall_s=[t[t.row == r].wall_s.mean() for r in st.row],
                                         boundary_iou=[o[0] for o in outl], worst_image=[o[1] for o in outl],
                                         below_half=[o[2] for o in outl]).round(4).to_string(index=False))
    print('boundary_iou: mean Boundary IoU over the test images and seeds (band 2% of the diagonal); worst_image: the lowest '
          'per-image test Dice of a run, mean over seeds; below_half: test images under Dice 0.5 per run, mean over seeds')
    for split in ('valid', 'test'):
        print(f'\neach row against the base, paired over the {split} images and the seeds:')
        print(compare_configs(st, out, split=split).round(4).to_string(index=False))


def outline_figures(out, names):
    "Mean Boundary IoU over the test images and runs; the per-image minimum test Dice and images below 0.5, each averaged over the runs."
    per = [pd.read_csv(Path(out)/'runs'/n/'test_per_image.csv') for n in names]
    return (float(pd.concat(per).boundary_iou.mean()), float(sum(p.dice.min() for p in per) / len(per)),
            float(sum((p.dice < 0.5).sum() for p in per) / len(per)))


def eval_settings(out, name):
    import json
    return json.loads((Path(out)/'runs'/name/'result.json').read_text())['settings']


if __name__ == '__main__':
    main()

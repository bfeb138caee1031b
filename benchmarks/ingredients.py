"""New recipe ingredients against petlab's recipe at the ablation's small budget (ResNet34-UNet from scratch, 128 px,
batch 8, 30 epochs of the shared sample's 180 training images), each with several seeds, compared image by image
on valid (to decide) and on test (to report). Prints figures; it is not a test.

    .venv/bin/python benchmarks/ingredients.py --data DIR                          # every row of INGREDIENTS, 3 seeds, 2 runs at a time
    .venv/bin/python benchmarks/ingredients.py --data DIR --only bce_lovasz --seeds 1
    .venv/bin/python benchmarks/ingredients.py --data DIR --record nbs/results/ingredients   # and record it for 04_experiments
    .venv/bin/python benchmarks/ingredients.py --data DIR --cv 'bs 4 + deep_sup 3' --record nbs/results/ingredients-cv   # five-fold CV against the base
    .venv/bin/python benchmarks/ingredients.py --data DIR --final --record nbs/results/final       # the frozen recipe on train + valid, and given more than the budget

The rows are `petlab.experiments.INGREDIENTS`, the runs `ingredient_configs`: in bf16 autocast, which on this kind of
CPU trains 1.5x faster than float32 at a Dice 5 seeds do not tell apart from it (03_train); every row, the base included,
uses it, so the comparison is fair. The base runs are those of `benchmarks/bench_amp_cpu.py` (petlab's recipe in
bf16): found in its folder, they are copied in and reused. Runs recorded before petlab kept per-image valid scores
get them from their best.pt. Each row is compared with the base by `petlab.sweep.compare_configs`: a paired
bootstrap over the same images and seeds.

`--cv ROW ...` cross-validates those rows against the base instead (`petlab.experiments.cv_configs`: trainval cut into
`--folds` folds, one run per fold and row, one seed) and compares them paired over every trainval image
(`cv_compare`).

`--final [ROW ...]` runs the rows of `petlab.experiments.FINAL_ROWS` (default all): the frozen recipe trained on
train + valid (its epochs cut so the image-passes stay the budget's) and given 2 and 3 times the budget, once per seed
(`final_configs`), and compares each on test with the recorded base runs of the same seeds (`--base`, default
nbs/results/ingredients), paired image by image (`final_compare`).

`--record DIR` copies what `04_experiments` shows (the table, each run's history, result and per-image scores; no
checkpoints) with a provenance.json into DIR, which must not exist yet (or give --overwrite).
"""
import argparse, datetime, json, os, platform, shutil, subprocess, tempfile
from pathlib import Path
import pandas as pd, torch
from petlab.evaluate import evaluate
from petlab.experiments import (CV_FOLDS, FINAL_ROWS, INGREDIENT_SEEDS, cv_compare, cv_configs, final_compare, final_configs,
                                ingredient_configs, ingredients_summary)
from petlab.sweep import compare_configs, run_name, sweep

RECORDED = ('history.csv', 'result.json', 'test_per_image.csv', 'valid_per_image.csv')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data', required=True, help='dataset root (the ablation used the shared sample: 180 training images)')
    p.add_argument('--out', default='runs/ingredients', help='sweep folder (runs are reused when the script runs again)')
    p.add_argument('--reuse', default='runs/amp-cpu', help="a folder of bench_amp_cpu.py's runs whose bf16 runs are the base")
    p.add_argument('--seeds', type=int, default=len(INGREDIENT_SEEDS))
    p.add_argument('--workers', type=int, default=2, help='runs at once (each with the cores shared out)')
    p.add_argument('--only', nargs='*', default=None, help='rows to run besides the base (default: all)')
    p.add_argument('--cv', nargs='+', default=None, help='cross-validate these rows against the base (their runs go to --out, default runs/ingredients-cv)')
    p.add_argument('--folds', type=int, default=CV_FOLDS, help='folds of the cross-validation')
    p.add_argument('--final', nargs='*', default=None, help='rows of FINAL_ROWS (default: all): the frozen recipe on train + valid, and given more than the budget (runs in --out, default runs/final)')
    p.add_argument('--base', default='nbs/results/ingredients', help="--final: the recorded ingredients study whose base runs are its pair")
    p.add_argument('--record', help='copy the results with their provenance into this folder (for 04_experiments)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing --record folder')
    a = p.parse_args()
    if a.cv and a.out == p.get_default('out'): a.out = 'runs/ingredients-cv'
    if a.final is not None and a.out == p.get_default('out'): a.out = 'runs/final'
    out, data = Path(a.out), str(Path(a.data).expanduser().resolve())
    if a.record and Path(a.record).exists() and not a.overwrite:
        p.error(f'--record {a.record} exists already: choose another folder, or replace it with --overwrite')
    if a.cv: return cross_validate(a, out, data)
    if a.final is not None: return final(a, out, data)
    cfgs = ingredient_configs(data, tuple(range(a.seeds)), rows=a.only)
    for _, c in cfgs:   # the base runs bench_amp_cpu.py made: reused
        src, dst = Path(a.reuse)/'runs'/run_name(c), out/'runs'/run_name(c)
        if (src/'result.json').is_file() and not dst.exists():
            shutil.copytree(src, dst); print(f'reused {src} (seed {c["seed"]})')
    t = sweep([c for _, c in cfgs], out, workers=a.workers)
    for n in t[t.status == 'done'].name:   # per-image valid scores for runs made before petlab kept them
        rd = out/'runs'/n
        if not (rd/'valid_per_image.csv').exists() and (rd/'best.pt').exists():
            s = json.loads((rd/'config.json').read_text())
            evaluate(rd/'best.pt', data, split='valid', size=int(s['size']), bs=int(s['bs']), progress=False)['per_image'].to_csv(
                rd/'valid_per_image.csv', index=False)
    t['row'] = t.name.map({run_name(c): r for r, c in cfgs})
    st = ingredients_summary(t, out)
    print('\nper row: seeds, mean valid Dice (best epoch), test Dice mean, spread over seeds and 95% interval; mean Boundary IoU '
          '(band 2% of the diagonal); the worst test image and the test images under Dice 0.5, per run; training time per run (the epochs\' times)')
    print(st.drop(columns='names').round(4).to_string(index=False))
    for split in ('valid', 'test'):
        print(f'\neach row against the base, paired over the {split} images and the seeds:')
        print(compare_configs(st, out, split=split).round(4).to_string(index=False))
    if a.record:
        record(t, out, Path(a.record), data, a.overwrite, 'ingredients.csv', dict(
            study='ingredients', seeds=list(range(a.seeds)),
            about="new ingredients on top of petlab's recipe at the ablation's budget: ResNet34-UNet (24 M parameters), 128 px, "
                  "batch 8 (bs 4 rows: batch 4), 30 epochs of 180 training images (5,400 image-passes), no pretrained weights, bf16 autocast",
            command=f"benchmarks/ingredients.py --data <shared sample> --seeds {a.seeds} --workers 2 --record <this folder>",
            code_note="the base runs were made by benchmarks/bench_amp_cpu.py and the bce_lovasz runs by an earlier commit of "
                      "this script, with the same settings and run names; the others by the working tree of the commit that "
                      "records them (git_commit is its parent) or of the one before; copy_paste seeds 0 and 1 were stopped after "
                      "epoch 20 and resumed"))


def cross_validate(a, out, data):
    "Run the cross-validation of `a.cv` against the base, print the comparison, record it if asked."
    cfgs = cv_configs(a.cv, data, folds=a.folds)
    t = sweep([c for _, c in cfgs], out, workers=a.workers)
    t['row'] = t.name.map({run_name(c): r for r, c in cfgs})
    t['fold'] = t.name.map({run_name(c): c['fold'] for _, c in cfgs})
    t['folds'] = a.folds
    print(f'\n{a.folds}-fold cross-validation over trainval, one run per fold and row: valid paired over every trainval image '
          '(each scored by the run that held it out; decides), test over the test images and the folds\' runs (reports); '
          'training time per run (the epochs\' times)')
    print(cv_compare(t, out).round(4).to_string(index=False))
    if a.record:
        record(t, out, Path(a.record), data, a.overwrite, 'cv.csv', dict(
            study='ingredients-cv', rows=list(a.cv), folds=a.folds, seeds=[0],
            about=f"{a.folds}-fold cross-validation over trainval of ingredient rows against petlab's recipe at the ablation's "
                  "settings: ResNet34-UNet, 128 px, 30 epochs of each fold's training images (an 'epochs N' row: N), no pretrained weights, "
                  "bf16 autocast",
            command=f"benchmarks/ingredients.py --data <shared sample> --cv {' '.join(repr(r) for r in a.cv)} --folds {a.folds} "
                    "--workers 2 --record <this folder>",
            code_note="made by the working tree of the commit that records them (git_commit is its parent)"))


def final(a, out, data):
    "Run the rows of `FINAL_ROWS` once per seed, compare them on test with the recorded base runs of the same seeds, record them if asked."
    rows = a.final or [r for r, _ in FINAL_ROWS]
    cfgs = final_configs(data, tuple(range(a.seeds)), rows=rows)
    t = sweep([c for _, c in cfgs], out, workers=a.workers)
    t['row'] = t.name.map({run_name(c): r for r, c in cfgs})
    base = Path(a.base)
    print(f'\neach row against the recipe (the base runs of {base}), paired over the test images and the seeds; '
          'training time per run (the epochs\' times)')
    print(final_compare(t, out, pd.read_csv(base/'ingredients.csv'), base).drop(columns='names').round(4).to_string(index=False))
    if a.record:
        record(t, out, Path(a.record), data, a.overwrite, 'final.csv', dict(
            study='final', rows=rows, seeds=list(range(a.seeds)), base=str(base),
            about="petlab's frozen recipe at the ablation's settings (ResNet34-UNet, 128 px, batch 8, no pretrained weights, bf16 "
                  "autocast) trained on train + valid for the budget's image-passes, and on train for more than the budget "
                  "(FINAL_ROWS); the pair of each is the base of the ingredients study",
            command=f"benchmarks/ingredients.py --data <shared sample> --final {' '.join(repr(r) for r in rows)} --seeds {a.seeds} "
                    "--workers 2 --record <this folder>",
            code_note="made by the working tree of the commit that records them (git_commit is its parent)"))


def record(t, out, rec, data, overwrite, table, facts):
    "Write the study's table, the runs' small files and provenance.json (with `facts`) into `rec`, through a temporary folder beside it."
    from petlab.data import load_split
    tmp = Path(tempfile.mkdtemp(dir=rec.parent if rec.parent.exists() else None, prefix='.record-'))
    names = list(t.name)
    for n in names:
        (tmp/'runs'/n).mkdir(parents=True)
        for f in RECORDED: shutil.copy2(out/'runs'/n/f, tmp/'runs'/n/f)
    t.to_csv(tmp/table, index=False)
    stamps = [datetime.datetime.fromtimestamp(os.path.getmtime(out/'runs'/n/f), datetime.timezone.utc)
              for n in names for f in ('config.json', 'result.json')]
    n = {s: len(load_split(data, s)) for s in ('train', 'valid', 'test')}
    prov = dict(**facts,
                started=min(stamps).strftime('%Y-%m-%dT%H:%M:%SZ'), ended=max(stamps).strftime('%Y-%m-%dT%H:%M:%SZ'),
                git_commit=git_commit(),
                machine=dict(**machine(), torch_threads=1,
                             note="2 runs at a time on 2 cores, one torch thread each; other work (tests, editing) shared the cores "
                                  "at times, so wall times are upper bounds"),
                data_path=data, data=f"{Path(data).name}: {n['train']} train / {n['valid']} valid / {n['test']} test images",
                n_train=n['train'], n_trainval=n['train'] + n['valid'], runs=len(names),
                files=f"{table} (the sweep's results table + row); runs/<name>/ history.csv, result.json, "
                      "test_per_image.csv, valid_per_image.csv. No checkpoints.")
    (tmp/'provenance.json').write_text(json.dumps(prov, indent=1) + '\n')
    if rec.exists() and overwrite: shutil.rmtree(rec)
    tmp.rename(rec)
    print(f'\nrecorded {len(names)} runs in {rec}')



def git_commit() -> str:
    "The commit checked out in the working directory (the recording's code is its working tree)."
    return subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()


def machine() -> dict:
    "Where a study ran: cores, CPU model, Python, torch and the platform."
    info = Path('/proc/cpuinfo')
    cpu = next((l.split(':', 1)[1].strip() for l in info.read_text().splitlines() if l.startswith('model name')), '?') \
        if info.exists() else platform.processor()
    return dict(nproc=os.cpu_count(), cpu_model=cpu, python=platform.python_version(), torch=torch.__version__, platform=platform.platform())

if __name__ == '__main__':
    main()

"""bf16 autocast against float32 for training on the CPU, at the small budget of the ablation (ResNet34-UNet from
scratch, 128 px, batch 8, 30 epochs, petlab's recipe): does bf16 keep the Dice, and how much faster does it train?
Prints figures; it is not a test.

    .venv/bin/python benchmarks/bench_amp_cpu.py --data DIR                 # 3 seeds of each, 2 runs at a time
    .venv/bin/python benchmarks/bench_amp_cpu.py --data DIR --seeds 1       # a first look

The float32 runs are `amp='auto'` (float32 on a CPU today), so their names are those of the recorded ablation's
"+ flip TTA" row: runs already recorded in `nbs/results/ablation/runs` are copied in and reused, not trained again.
The two precisions are compared image by image on the test split, over the seeds (`petlab.sweep.compare_configs`:
a paired bootstrap), and their training speed as the median images/s of the epochs of runs that ran side by side.
"""
import argparse, json, shutil
from pathlib import Path
import pandas as pd
from petlab.config import PETLAB_RECIPE
from petlab.experiments import ABLATION_BASE
from petlab.sweep import compare_configs, run_name, seed_table, sweep, with_seeds

ROOT = Path(__file__).resolve().parent.parent


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data', required=True, help='dataset root (the ablation used the shared sample: 180 training images)')
    p.add_argument('--out', default='runs/amp-cpu', help='sweep folder (runs are reused when the script runs again)')
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--workers', type=int, default=2, help='runs at once (each with the cores shared out)')
    a = p.parse_args()
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

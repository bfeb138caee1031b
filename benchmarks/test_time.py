"""Free gains at test time? The cross-validation's runs of one row, scored again with test-time options that need no
training: keep only the largest pet region (holes filled), and average the prediction over three scales. Each option
is compared with the run's own prediction (flip TTA), paired over every trainval image (each scored by the run that
held it out: decides) and over the test images and the folds' runs (reports). Prints figures; it is not a test.

    .venv/bin/python benchmarks/test_time.py --sweep runs/ingredients-cv                       # the base row's 5 runs
    .venv/bin/python benchmarks/test_time.py --sweep runs/ingredients-cv --record nbs/results/test-time

It needs the runs' checkpoints (best.pt), so it reads the sweep folder that trained them (`benchmarks/ingredients.py
--cv`), and the run list of the recorded cross-validation (`--cv_record`). Scores are the graded Dice: mean per image at
the training size (128 px), as the runs' own valid_per_image.csv and test_per_image.csv hold them; the script checks
that its 'flip TTA' column repeats those to 1e-6 before it prints anything.
"""
import argparse, datetime, json, shutil, tempfile
from pathlib import Path
import numpy as np, pandas as pd, torch
import torch.nn.functional as F
from scipy import ndimage
from petlab.data import PetSegDataset
from petlab.evaluate import load_model
from petlab.metrics import dice_from_counts
from petlab.models import predict_logits
from petlab.sweep import VERDICT_WORDS, paired_bootstrap
from ingredients import git_commit, machine   # benchmarks/ingredients.py, beside this script

SCALES = (0.75, 1.0, 1.25)
OPTIONS = ('flip TTA', '+ largest region', '+ 3 scales', '+ 3 scales + largest region')


def largest_region(mask:np.ndarray) -> np.ndarray:
    "The largest 8-connected region of a boolean mask, its holes filled (an empty mask stays empty)."
    lab, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0: return mask
    keep = lab == (np.argmax(ndimage.sum_labels(mask, lab, range(1, n + 1))) + 1)
    return ndimage.binary_fill_holes(keep)


def scaled_logits(model, xb:torch.Tensor, scales=SCALES) -> list:
    "Flip-TTA logits of the input resized by each of `scales` (sides rounded to multiples of 32), each back at `xb`'s size."
    outs = []
    for s in scales:
        h, w = (max(32, int(round(d * s / 32)) * 32) for d in xb.shape[-2:])
        x = xb if (h, w) == tuple(xb.shape[-2:]) else F.interpolate(xb, size=(h, w), mode='bilinear', align_corners=False)
        o = predict_logits(model, x, True)
        outs.append(o if o.shape[-2:] == xb.shape[-2:] else F.interpolate(o, size=xb.shape[-2:], mode='bilinear', align_corners=False))
    return outs


def dice(p:np.ndarray, g:np.ndarray) -> float:
    "petlab's Dice (`petlab.metrics.dice_from_counts`: 1 when both masks are empty) of two boolean masks."
    return dice_from_counts(*(torch.tensor(float(n)) for n in ((p & g).sum(), p.sum(), g.sum()))).item()


def score_run(run_dir:Path, thresh:float=0.5) -> pd.DataFrame:
    "Every option's Dice for each valid and test image of one run."
    model, meta = load_model(run_dir/'best.pt'); model.eval()
    c = meta['config']
    if not c.get('tta'): raise SystemExit(f"{run_dir} validated without flip TTA: this study starts from petlab's recipe (tta on)")
    rows = []
    for split in ('valid', 'test'):
        ds = PetSegDataset(c['data_path'], split, c['size'], c['recipe'], train=False, fold=c['fold'], folds=c['folds'])
        with torch.no_grad():
            for b, (xb, yb) in enumerate(torch.utils.data.DataLoader(ds, 8)):
                ls = scaled_logits(model, xb)   # the scale 1 is the run's own prediction
                one, three = ls[SCALES.index(1.0)].sigmoid(), torch.stack(ls).mean(0).sigmoid()
                for j in range(len(xb)):
                    g, p1, p3 = yb[j, 0].numpy() > 0.5, one[j, 0].numpy() > thresh, three[j, 0].numpy() > thresh
                    rows.append(dict(run=run_dir.name, fold=c['fold'], split=split, name=ds.samples[b * 8 + j].name,
                                     **dict(zip(OPTIONS, (dice(p1, g), dice(largest_region(p1), g), dice(p3, g),
                                                          dice(largest_region(p3), g))))))
    return pd.DataFrame(rows)


def compare(s:pd.DataFrame, n_boot:int=2000) -> pd.DataFrame:
    "Each option against 'flip TTA' (the same runs): valid paired over every trainval image (decides), test over the test images, each averaged over the runs (reports)."
    out = []
    for o in OPTIONS:
        line = dict(option=o)
        for split in ('valid', 'test'):
            d = s[s.split == split]
            a, b = (d.pivot(index='run', columns='name', values=k).to_numpy() for k in (o, OPTIONS[0]))
            # valid: each trainval image is valid in one run only; test: both sides are the same runs, so the pairs are
            # (run, image) and each image's mean over the runs is paired (no run-to-run noise between the sides to resample)
            a, b = (np.nansum(a, 0), np.nansum(b, 0)) if split == 'valid' else (a.mean(0), b.mean(0))
            line[f'{split}_mean'] = float(np.mean(a))
            if o != OPTIONS[0]:
                r = paired_bootstrap(a, b, n_boot)
                line.update({f'{split}_diff': r['diff'], f'{split}_low': r['low'], f'{split}_high': r['high']})
                if split == 'valid': line['verdict'] = VERDICT_WORDS[r['verdict']]
        out.append(line)
    return pd.DataFrame(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--sweep', default='runs/ingredients-cv', help="the cross-validation's sweep folder (with the runs' best.pt)")
    p.add_argument('--cv_record', default='nbs/results/ingredients-cv', help='the recorded cross-validation: its cv.csv lists the runs')
    p.add_argument('--row', default='base', help='the row whose runs are scored again')
    p.add_argument('--record', help='write scores.csv, compare.csv and provenance.json into this folder (for 04_experiments)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing --record folder')
    a = p.parse_args()
    rec = Path(a.record) if a.record else None
    if rec and rec.exists() and not a.overwrite: p.error(f'--record {rec} exists already: choose another folder, or replace it with --overwrite')
    t = pd.read_csv(Path(a.cv_record)/'cv.csv')
    t = t[(t.row == a.row) & (t.status == 'done')].sort_values('fold')
    if t.empty: p.error(f"no finished runs of row {a.row!r} in {a.cv_record}/cv.csv")
    start = datetime.datetime.now(datetime.timezone.utc)
    s = pd.concat([score_run(Path(a.sweep)/'runs'/n) for n in t.name], ignore_index=True)
    for n in t.name:   # the 'flip TTA' column is the runs' own graded score, image by image
        for split in ('valid', 'test'):
            own = pd.read_csv(Path(a.cv_record)/'runs'/n/f'{split}_per_image.csv').set_index('name').dice
            mine = s[(s.run == n) & (s.split == split)].set_index('name')[OPTIONS[0]]
            if list(own.index) != list(mine.index) or not np.allclose(own, mine, atol=1e-6):
                raise SystemExit(f"{n}: the recomputed {split} Dice differs from the run's own {split}_per_image.csv")
    cmp = compare(s)
    print(f"{len(t)} runs of row {a.row!r}; Dice, mean per image at the training size; each option minus 'flip TTA' with its 95% interval")
    print(cmp.round(4).to_string(index=False))
    if rec:
        tmp = Path(tempfile.mkdtemp(dir=rec.parent if rec.parent.exists() else None, prefix='.record-'))
        s.to_csv(tmp/'scores.csv', index=False); cmp.to_csv(tmp/'compare.csv', index=False)
        prov = dict(study='test-time', row=a.row, runs=list(t.name), folds=[int(f) for f in t.fold], scales=list(SCALES), options=list(OPTIONS),
                    about="the cross-validation's runs of one row scored again with test-time options (no training): the largest "
                          "8-connected pet region with its holes filled, and flip-TTA logits averaged over the input at 0.75, 1 and 1.25 "
                          "of its size; Dice is the mean per image at the training size, threshold 0.5",
                    command=f"benchmarks/test_time.py --sweep <the CV's sweep folder> --row {a.row!r} --record <this folder>",
                    started=start.strftime('%Y-%m-%dT%H:%M:%SZ'),
                    ended=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
                    git_commit=git_commit(), machine=dict(**machine(), torch_threads=torch.get_num_threads()),
                    files="scores.csv (one line per run, split and image: each option's Dice); compare.csv (the table above)")
        (tmp/'provenance.json').write_text(json.dumps(prov, indent=1) + '\n')
        if rec.exists(): shutil.rmtree(rec)
        tmp.rename(rec)
        print(f'\nrecorded {len(s)} scores in {rec}')


if __name__ == '__main__':
    main()

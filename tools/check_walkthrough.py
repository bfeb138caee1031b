#!/usr/bin/env python
"""Run the JupyterLab walkthrough as a student does: nbs/00 -> 04, each top to bottom in a fresh Jupyter kernel.

    .venv/bin/python tools/check_walkthrough.py [--data DIR] [--skip slow] [--nbs 00_data ...]

Unlike `nbdev_test` (which skips cells flagged `slow` or `cuda`), "Run All Cells" in JupyterLab runs every cell:
this runs them all too, in a real ipykernel through nbclient, with the notebook folder as working directory
(a copy of nbs/ in _build/walkthrough/, so the working tree stays clean). `--skip slow` leaves out the cells
flagged `slow` for a quicker run that still runs the `cuda` cells on this machine: on a CPU-only machine those
must not stop the walkthrough. It stops each notebook at its first failing cell and reports it, and checks that
every widget a cell displays has its state in the kernel's widget manager (what JupyterLab's widget renderer
draws). Exit status 1 if any notebook fails.
"""
import argparse, json, os, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'
_re_flag = re.compile(r'^\s*#\|\s*([\w-]+)\s*$', re.M)


def flags_of(src):
    "nbdev flag directives (`#| slow`) at the top of a cell."
    out = set()
    for line in src.splitlines():
        if not line.strip(): continue
        if not line.lstrip().startswith('#|'): break
        m = _re_flag.match(line)
        if m: out.add(m.group(1))
    return out


def run_notebook(path, skip, timeout):
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    from petlab.testing import notebook_client   # nbclient, polling the kernel every second (nbclient #312)
    nb = nbformat.read(path, as_version=4)
    skipped = [i for i, c in enumerate(nb.cells) if c.cell_type == 'code' and flags_of(c.source) & skip]
    for i in reversed(skipped): del nb.cells[i]
    client = notebook_client(nb, timeout=timeout, cwd=path.parent, store_widget_state=True)
    t, err = time.time(), None
    try: client.execute()
    except CellTimeoutError as e: err = f'a cell ran longer than {timeout}s: {str(e)[:300]}'
    except CellExecutionError as e:
        src = next((c.source for c in nb.cells if c.cell_type == 'code' and any(
            o.get('output_type') == 'error' for o in c.get('outputs', []))), '')
        err = f'{e.ename}: {e.evalue}\n--- in the cell:\n{src[:600]}'
    except Exception as e: err = f'{type(e).__name__}: {e}'
    secs = time.time() - t
    nbformat.write(nb, path)  # the executed copy, outputs and all, for a look in JupyterLab
    views = [o['data'][WIDGET_VIEW]['model_id'] for c in nb.cells if c.cell_type == 'code'
             for o in c.get('outputs', []) if WIDGET_VIEW in o.get('data', {})]
    state = (nb.metadata.get('widgets', {}).get(WIDGET_STATE, {}) or {}).get('state', {})
    missing = [m for m in views if m not in state] if not err else []  # nbclient stores the state only after the last cell
    ran = sum(1 for c in nb.cells if c.cell_type == 'code' and c.get('execution_count'))
    return dict(notebook=path.name, seconds=round(secs, 1), cells_run=ran, skipped=len(skipped), widgets=len(views),
                widgets_without_state=missing, error=err)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', help='dataset folder; default $PETLAB_DATA, else the real subset packaged with petlab')
    p.add_argument('--skip', default='', help='space-separated flags whose cells are left out (e.g. "slow")')
    p.add_argument('--nbs', nargs='*', help='only these notebooks (stems), in walkthrough order')
    p.add_argument('--timeout', type=int, default=1800, help='seconds one cell may run (default 1800)')
    a = p.parse_args(argv)
    data = a.data or os.environ.get('PETLAB_DATA')
    if data: os.environ['PETLAB_DATA'] = str(Path(data).expanduser().resolve())
    work = ROOT/'_build'/'walkthrough'/'nbs'
    shutil.rmtree(work.parent, ignore_errors=True)
    shutil.copytree(ROOT/'nbs', work, ignore=shutil.ignore_patterns('.*', '_proc', '__pycache__'))
    nbs = sorted(p for p in work.glob('*.ipynb') if re.match(r'\d', p.name))
    if a.nbs: nbs = [n for n in nbs if n.stem in a.nbs or n.name in a.nbs]
    skip = set(a.skip.split())
    print(f'walkthrough: {", ".join(n.name for n in nbs)}; data: {data or "the packaged real subset"}; '
          f'cells left out: {", ".join(sorted(skip)) or "none (every cell runs, as Run All in JupyterLab)"}', flush=True)
    results = []
    for nb in nbs:
        r = run_notebook(nb, skip, a.timeout); results.append(r)
        ok = 'OK' if not r['error'] and not r['widgets_without_state'] else 'FAILED'
        print(f'  {r["notebook"]}: {ok} in {r["seconds"]:.0f}s, {r["cells_run"]} cells run, {r["skipped"]} left out, '
              f'{r["widgets"]} widgets displayed' + (f', {len(r["widgets_without_state"])} without state'
                                                    if r['widgets_without_state'] else ''), flush=True)
        if r['error']: print('    ' + r['error'].replace('\n', '\n    '), flush=True)
    (work.parent/'results.json').write_text(json.dumps(results, indent=1))
    bad = [r for r in results if r['error'] or r['widgets_without_state']]
    print(f'walkthrough: {"OK" if not bad else "FAILED: " + ", ".join(r["notebook"] for r in bad)} '
          f'({sum(r["seconds"] for r in results):.0f}s; executed copies in {work.relative_to(ROOT)})')
    return 1 if bad else 0


if __name__ == '__main__': sys.exit(main())

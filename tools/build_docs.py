#!/usr/bin/env python
"""Build petlab's docs site offline, with one command: execute the notebooks, process them as nbdev does, render with Sphinx.

    .venv/bin/python tools/build_docs.py [--data DIR] [--flags slow] [--jobs N] [--out _docs]

1. Copy `nbs/` to `_build/docs/exec/` and execute `index.ipynb` and the numbered notebooks there with nbdev's
   own runner (execnb's CaptureShell), exactly as `nbdev_test` runs them: cells flagged with a `tst_flags` flag
   (`slow`, `cuda`) are not run unless `--flags` names the flag. The data is `--data DIR`, else `$PETLAB_DATA`,
   else the small real subset packaged with petlab (`petlab.download.demo_data_path()` with `PETLAB_DATA` unset).
2. Process every executed notebook with nbdev's doc processors (`nbdev.serve.proc_nbs` does the same per file):
   hidden and exported cells dropped, `show_doc` added and rendered, front matter from the title cell.
3. Turn the processed notebooks into plain ones that Sphinx reads (Quarto `#|` options applied and removed,
   nbdev's doc links made relative, widgets replaced by a note, a "how this page was made" box on every page,
   a toctree on the home page), then `sphinx-build -W -b html -c docs` (myst-nb, furo) into `_docs/`.
   Pages are named as nbdev names them (`00_data.ipynb` -> `data.html`, `03a_metrics.ipynb` -> `metrics.html`), so the
   links nbdev writes from `_modidx` (and `nbdev_docs`) agree with this build.
   Exercises: a code cell with nbgrader's solution region (`### BEGIN SOLUTION` / `### END SOLUTION` comments) is
   shown collapsed, under a "Show solution" toggle (myst-nb's `hide-input` tag: a closed <details>), without the two
   marker lines; the prompt before it and the check's output after it stay visible. The notebooks keep the markers.

`--nbs 01_unet 03_train` builds only those notebooks (and index, for the toctree): for work on a few pages; check
such a site with `tools/check_docs.py --nbs 01_unet 03_train`.

`_docs/petlab-build.json` records what was built (pages, figures, show_doc names, hidden cells, timings) for
`tools/check_docs.py`, which opens the site in headless Chromium. Any failing cell fails the build.
"""
import argparse, json, os, re, shutil, subprocess, sys, time, datetime
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'  # --nbs-path changes it
BUILD = ROOT/'_build'/'docs'  # --build-dir changes it
IMG_MIMES = ('image/png', 'image/jpeg', 'image/svg+xml', 'image/gif')
WIDGET_MIME = 'application/vnd.jupyter.widget-view+json'
HIDE_DIRS = {'hide', 'export', 'exporti', 'default_exp'}
_re_num = re.compile(r'^\d+[a-zA-Z0-9]*[_-]')  # as nbdev names pages: 03_train -> train, 03a_metrics -> metrics
_re_cr = re.compile(r'[^\n]*\r(?=[^\n])')  # text overwritten by a carriage return (progress bars)
_re_ansi = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')
# Exercises (DEVELOPERS.md, "Exercises"): the prompt, the solution cell (nbgrader's markers, as `petlab.lab`), the check
SOLUTION_MARKERS = ('### BEGIN SOLUTION', '### END SOLUTION')
SOLUTION_TAGS = ['hide-input', 'petlab-solution']  # myst-nb: a closed <details>; the cell's div gets `tag_petlab-solution`
SOLUTION_PROMPTS = {'code_prompt_show': 'Show solution', 'code_prompt_hide': 'Hide solution'}  # the toggle's label
_re_prompt = re.compile(r'^\s*\*\*Exercise:\s*`([^`]+)`')
_re_check = re.compile(r'^lab\.\w+\.check\(')
CHECK_SIGNS = ('✅', '❌', '⏳')  # how `lab.<key>.check` starts its line


def page_name(nb: Path) -> str:
    "The page's name as nbdev names it (and links to it from `_modidx`): the leading number, with its letter, is dropped."
    return _re_num.sub('', nb.stem) or nb.stem


def select_notebooks(names=None):
    "index.ipynb and the numbered notebooks at the top of nbs/, in order (or those named)."
    nbs = [NBS/'index.ipynb'] + sorted(p for p in NBS.glob('*.ipynb') if re.match(r'\d', p.name))
    if names: nbs = [p for p in nbs if p.stem in names or p.name in names or page_name(p) in names]
    return [p for p in nbs if p.exists()]


# ---------------------------------------------------------------- 1 + 2: execute, then nbdev's processing
def _src(cell): return cell['source'] if isinstance(cell['source'], str) else ''.join(cell['source'])


def _clean_stream(text):
    "What a terminal would show: carriage-return overwrites resolved, ANSI codes removed."
    return _re_ansi.sub('', _re_cr.sub('', text.replace('\r\n', '\n')))


def execute_and_process(src, exec_path, proc_path, skip_flags, cell_timeout):
    "Run in a fresh worker process: execute `exec_path` in place as `nbdev_test` would, then nbdev's doc processing."
    import multiprocessing, faulthandler, signal
    multiprocessing.set_start_method('fork', force=True)  # this worker was spawned; the notebook gets Linux's default
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID` prints where a stuck notebook is
    progress = exec_path.with_suffix('.running')  # which cell is running now, for anyone watching a slow build
    os.environ['IN_TEST'] = '1'
    os.chdir(exec_path.parent)
    from execnb.nbio import write_nb
    from execnb.shell import CaptureShell
    from nbdev.process import NBProcessor
    from nbdev.processors import FilterDefaults
    from nbdev.frontmatter import FrontmatterProc
    import nbdev.serve_drv

    res = dict(notebook=src.name, skipped=[], exec_s=0.0, error=None)
    proc = NBProcessor(exec_path, procs=FrontmatterProc, rm_directives=False)
    nb = proc.nb
    fm = {}
    try:
        proc.process(); fm = getattr(nb, 'frontmatter_', {}) or {}
    except Exception: pass
    # `frontmatter_` came from a copy: re-read so the title cell is still a title cell for nbdev's processing
    nb = NBProcessor(exec_path, rm_directives=False).nb
    flags = set(skip_flags)

    def _no_eval(cell):
        if cell.cell_type != 'code': return True
        progress.write_text(f'pid {os.getpid()}: cell {cell.idx_} of {len(nb.cells)}, since {time.strftime("%H:%M:%S")}\n'
                            f'{cell.source[:300]}\n')
        if 'nbdev_export' + '(' in cell.source: return True
        d = getattr(cell, 'directives_', {}) or {}
        if d.get('eval:', [''])[0].lower() == 'false': return True
        hit = flags & d.keys()
        if hit:
            cell.metadata['petlab_docs'] = {'not_run': sorted(hit)}
            res['skipped'].append(dict(cell=cell.idx_, flags=sorted(hit)))
        return hit

    t = time.time()
    if str(fm.get('skip_exec', '')).lower() not in ('true', '1', 'yes'):
        k = CaptureShell(exec_path, timeout=cell_timeout)
        try: k.run_all(nb, exc_stop=True, preproc=_no_eval)
        except Exception as e:
            res['error'] = k.prettytb(fname=src) if hasattr(k, 'prettytb') else repr(e)
    res['exec_s'] = round(time.time() - t, 1)
    progress.unlink(missing_ok=True)
    for c in nb.cells:  # what a terminal shows, not every redraw of a progress bar
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream':
                o['text'] = _clean_stream(''.join(o['text'])).splitlines(True)
    for c in nb.cells: c.pop('directives_', None)
    write_nb(nb, exec_path)
    if res['error']: return res
    t = time.time()
    try: nbdev.serve_drv.main((exec_path, proc_path, FilterDefaults))  # what nbdev.serve.proc_nbs does per file
    except Exception as e:
        import traceback
        res['error'] = (f'nbdev doc processing failed for {src.name}:\n{traceback.format_exc()}\n'
                        'nbdev runs the cells that hold an import, and the exported cells, on their own to render '
                        'show_doc: keep imports in cells of their own (DEVELOPERS.md), so `nbdev_docs` works too.')
    res['proc_s'] = round(time.time() - t, 1)
    return res


# ---------------------------------------------------------------- 3: plain notebooks for myst-nb
_re_dir = re.compile(r'^\s*#\|\s?(.*)$')


def _split_directives(src):
    "Leading `#| key: value` lines -> ({key: value}, code without them)."
    lines, opts = src.splitlines(), {}
    i = 0
    while i < len(lines) and (_re_dir.match(lines[i]) or not lines[i].strip()):
        m = _re_dir.match(lines[i])
        if m:
            k, _, v = m.group(1).partition(':') if ':' in m.group(1) else (m.group(1).strip(), '', '')
            opts[k.strip()] = v.strip().strip('"\'') if v else True
        i += 1
    # `#|` lines anywhere else are nbdev directives too (e.g. `hide_line` leftovers): never show them
    code = [l for l in lines[i:] if not _re_dir.match(l)]
    return opts, '\n'.join(code).strip('\n')


def _fix_links(text, doc_url, pages):
    """nbdev's absolute doc links (doc_host + doc_baseurl) and links to notebooks (`00_data.ipynb`, `nbs/...`)
    -> relative links to this site's pages; anchors as docutils makes them (`get_dls` -> `get-dls`)."""
    from docutils.nodes import make_id
    def rep(m):
        page, anchor = m.group(1), m.group(2)
        if page not in pages: return m.group(0)
        return f'{page}.html' + (f'#{make_id(anchor)}' if anchor else '')
    text = re.sub(re.escape(doc_url) + r'/?([\w.-]+)\.html(?:#([\w.\-]+))?', rep, text)
    def rep_nb(m):
        page = page_name(Path(m.group(2)))
        if page not in pages: return m.group(0)
        return f'{m.group(1)}{page}.html' + (f'#{make_id(m.group(3))}' if m.group(3) else '') + ')'
    return re.sub(r'(\]\()(?:\./)?(?:nbs/)?([\w.-]+)\.ipynb(?:#([\w.\-]+))?\)', rep_nb, text)


def _unlink_code(md):
    "nbdev links names inside show_doc's fenced signature too, where markdown is not rendered: undo that there."
    parts = re.split(r'(^```.*?^```)', md, flags=re.M | re.S)
    return ''.join(re.sub(r'\[(`[^`\n]+`)\]\([^)\s]+\)', r'\1', x) if x.startswith('```') else x for x in parts)


def _md_cell(text, **meta): return dict(cell_type='markdown', metadata=meta, source=text)


def solution_marker_lines(code, where=''):
    """Indices of the lines of `code` that are nbgrader's solution markers, written as comments (a marker inside a
    string, as in `00c_lab`'s examples, is not one); [] if none. A region left open or closed twice is an error."""
    import io, tokenize
    try:
        toks = tokenize.generate_tokens(io.StringIO(code).readline)
        found = [(t.start[0] - 1, t.string.strip()) for t in toks
                 if t.type == tokenize.COMMENT and t.string.strip() in SOLUTION_MARKERS]
    except (tokenize.TokenError, SyntaxError):  # not plain Python (a magic): markers are the lines that are one
        found = [(i, l.strip()) for i, l in enumerate(code.splitlines()) if l.strip() in SOLUTION_MARKERS]
    if [m for _, m in found] != list(SOLUTION_MARKERS) * (len(found) // 2) or len(found) % 2:
        raise SystemExit(f'{where}: the solution markers {[m for _, m in found]} do not pair up as '
                         f'{SOLUTION_MARKERS[0]!r} ... {SOLUTION_MARKERS[1]!r}: fix the cell in the notebook')
    return [i for i, _ in found]


def _out_text(cell):
    "The text of a code cell's stream and plain-text outputs."
    out = []
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': out.append(''.join(o.get('text', '')))
        elif 'text/plain' in (o.get('data') or {}): out.append(''.join(o['data']['text/plain']))
    return ''.join(out)


def mark_exercises(cells, where=''):
    "Collapse the solution cells of `cells` (plain notebook cells), in place; what the checker expects of each exercise."
    exercises, prompts = [], [c for c in cells if c['cell_type'] == 'markdown' and _re_prompt.match(_src(c))]
    for i, c in enumerate(cells):
        if c['cell_type'] != 'code': continue
        lines = c['source'].splitlines()
        drop = solution_marker_lines(c['source'], f'{where} cell {c["source"][:60]!r}')
        if not drop: continue
        c['source'] = '\n'.join(l for j, l in enumerate(lines) if j not in set(drop))
        md = c.setdefault('metadata', {})
        md['tags'] = md.get('tags', []) + [t for t in SOLUTION_TAGS if t not in md.get('tags', [])]
        md['mystnb'] = dict(md.get('mystnb', {}), **SOLUTION_PROMPTS)
        prev = cells[i - 1] if i else None
        m = _re_prompt.match(_src(prev)) if prev and prev['cell_type'] == 'markdown' else None
        nxt = next((x for x in cells[i + 1:] if x['cell_type'] == 'code'), None)
        check = nxt if nxt and _re_check.match(nxt['source'].strip()) else None
        name = m.group(1) if m else (re.findall(r'^\s*(?:def|class)\s+(\w+)', c['source'], re.M) or ['?'])[0]
        exercises.append(dict(name=name, prompt=bool(m), check=check['source'].strip() if check else None,
                              check_output=_out_text(check).strip().splitlines()[0] if check and _out_text(check).strip() else None))
    return exercises, len(prompts)


def plain_notebook(proc_nb, info, ctx):
    "A processed nbdev notebook -> a notebook myst-nb renders as the page, and facts for the checker."
    cells, facts = [], dict(images=0, show_docs=[], widgets=0, not_run=[])
    title, desc = info['name'], ''
    for cell in proc_nb['cells']:
        src = _src(cell)
        if cell['cell_type'] == 'raw' and src.lstrip().startswith('---'):
            import yaml
            fm = yaml.safe_load(src.strip().strip('-')) or {}
            title, desc = fm.get('title', title), fm.get('description', '')
            continue
        if cell['cell_type'] == 'markdown':
            if src.strip().startswith('<!-- WARNING: THIS FILE WAS AUTOGENERATED'): continue
            cells.append(_md_cell(_fix_links(src, ctx['doc_url'], ctx['pages'])))
            continue
        if cell['cell_type'] != 'code': continue
        opts, code = _split_directives(src)
        if str(opts.get('include', '')).lower() == 'false': continue
        tags = []
        if str(opts.get('echo', '')).lower() == 'false': tags.append('remove-input')
        if str(opts.get('output', '')).lower() == 'false': tags.append('remove-output')
        not_run = (cell.get('metadata', {}).get('petlab_docs') or {}).get('not_run')
        if not_run:
            fl = ', '.join(f'`{f}`' for f in not_run)
            facts['not_run'].append(code.splitlines()[0] if code else '')
            cells.append(_md_cell(f'```{{note}}\nNot run in this build (flagged {fl}): run it in JupyterLab, '
                                  f'or build the docs with `--flags {" ".join(not_run)}`.\n```'))
        outputs = []
        for o in ([] if 'remove-output' in tags else cell.get('outputs', [])):
            o = dict(o)
            if o.get('output_type') == 'stream':
                if not ''.join(o.get('text', '')).strip(): continue
            data = o.get('data')
            if data is not None:
                data = dict(data)
                if WIDGET_MIME in data:
                    facts['widgets'] += 1
                    data = {'text/markdown': '*An interactive widget: open this notebook in JupyterLab to use it.*'}
                    o = dict(output_type='display_data', data=data, metadata={})
                if 'text/markdown' in data:
                    md = data['text/markdown']
                    md = md if isinstance(md, str) else ''.join(md)
                    md = re.sub(r'^\s*---\s*\n', '', md)  # show_doc's leading rule: docutils refuses it there
                    # show_doc's source link carries Quarto attributes: an <a> that docs/_static/petlab.css floats
                    md = re.sub(r'\[source\]\(([^)\s]+)\)\{[^}\n]*\}', r'<a class="petlab-source" href="\1">source</a>', md)
                    md = re.sub(r'(\]\([^)\s]+\))\{[^}\n]*\}', r'\1', md)  # any other Quarto link attributes
                    data['text/markdown'] = _fix_links(_unlink_code(md), ctx['doc_url'], ctx['pages'])
                if any(m in data for m in IMG_MIMES): facts['images'] += 1
                o['data'] = data
            outputs.append(o)
        if re.match(r'show_doc\(', code.strip()):
            facts['show_docs'].append(re.match(r'show_doc\(\s*([\w.]+)', code.strip()).group(1))
        if 'remove-input' in tags and not outputs: continue
        if not code and not outputs: continue
        md = {'tags': tags} if tags else {}
        cells.append(dict(cell_type='code', metadata=md, source=code, outputs=outputs, execution_count=None))
    facts['exercises'], facts['exercise_prompts'] = mark_exercises(cells, info['notebook'])
    head = f'# {title}\n' + (f'\n> {desc}\n' if desc else '')
    cells[:0] = [_md_cell(head), _md_cell(ctx['made'](info))]
    nb = dict(nbformat=4, nbformat_minor=5, cells=cells,
              metadata={'kernelspec': proc_nb.get('metadata', {}).get('kernelspec',
                        {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}),
                        'language_info': {'name': 'python'}})
    facts['title'] = title
    return nb, facts


def hidden_snippets(src_nb, visible_code):
    "Distinctive lines of the cells nbdev hides: they must not appear on the page."
    out = []
    for cell in src_nb['cells']:
        if cell['cell_type'] != 'code': continue
        opts, code = _split_directives(_src(cell))
        if not (HIDE_DIRS & set(opts)) and str(opts.get('include', '')).lower() != 'false': continue
        for l in code.splitlines():
            l = l.strip()
            if len(l) >= 16 and not l.startswith('#') and l not in visible_code: out.append(l)
    return sorted(set(out))[:200]


# ---------------------------------------------------------------- provenance
def describe_data(data):
    if data is None:
        return ("the small real subset of Oxford-IIIT Pet packaged with petlab (`petlab/demo_data`: 240 photos of two "
                "breeds at 160 px at most, CC BY-SA 4.0; `petlab.download.demo_data_path()` because `PETLAB_DATA` was not "
                "set): real pets, but few and small, so the numbers are far below what the full dataset gives")
    d = Path(data)
    imgs = len(list((d/'images').glob('*.jpg')))
    lines = {n: len([l for l in (d/'annotations'/f'{n}.txt').read_text().splitlines() if l.strip()])
             for n in ('trainval', 'test') if (d/'annotations'/f'{n}.txt').exists()}
    kind = 'the full Oxford-IIIT Pet dataset' if imgs > 7000 else 'a sample of the Oxford-IIIT Pet dataset'
    split = ', '.join(f'{v:,} lines in {k}.txt' for k, v in lines.items())
    return f"{kind}, `{d.name}` (`PETLAB_DATA`): {imgs:,} images, {split}"


def environment():
    def run(*a):
        try: return subprocess.run(a, cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        except Exception: return ''
    commit = run('git', 'rev-parse', '--short', 'HEAD')
    if commit and run('git', 'status', '--porcelain', '--', 'nbs', 'petlab'): commit += ' + uncommitted changes'
    probe = ('import torch, petlab; print(petlab.__version__, torch.__version__, torch.cuda.is_available(), '
             'torch.get_num_threads())')
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True, cwd=ROOT).stdout.split()
    ver, tv, cuda, thr = (out + ['?'] * 4)[:4]
    return dict(commit=commit or 'unknown', petlab=ver, torch=tv, cuda=cuda == 'True', threads=thr,
                date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))


def main(argv=None):
    global NBS, BUILD
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', help='dataset folder (holding images/ and annotations/); default $PETLAB_DATA, '
                                  'else the real subset packaged with petlab')
    p.add_argument('--packaged', '--synthetic', dest='packaged', action='store_true',
                   help='ignore $PETLAB_DATA: use the real subset packaged with petlab')
    p.add_argument('--flags', default='', help='space-separated tst_flags to run too (e.g. "slow"); default none, '
                                               'as nbdev_test')
    p.add_argument('--nbs', nargs='*', help='only these notebooks (names or stems), plus index; check the site with '
                                            '`check_docs.py --nbs` and the same names')
    p.add_argument('--jobs', '-j', type=int, default=min(os.cpu_count() or 1, 8),
                   help="notebooks executed at once (default: the CPU count, at most 8, as nbdev_test)")
    p.add_argument('--cell-timeout', type=int, default=600, help='seconds one cell may run (default 600)')
    p.add_argument('--keep-going', action='store_true', help='build the site without the notebooks that fail '
                                                               '(the build still exits with status 1)')
    p.add_argument('--reuse', action='store_true', help='render the notebooks executed by the last build again '
                                                          '(for work on the site itself)')
    p.add_argument('--nbs-path', type=Path, default=NBS, help='notebook folder (default nbs/; for trying the build)')
    p.add_argument('--out', type=Path, default=ROOT/'_docs', help='HTML output folder (default _docs/)')
    p.add_argument('--build-dir', type=Path, default=BUILD, help='work folder: executed notebooks, Sphinx sources '
                                                                  '(default _build/docs/; emptied by each build)')
    a = p.parse_args(argv)
    t_start = time.time()

    from nbdev.config import get_config
    cfg = get_config(path=ROOT)
    skip_flags = sorted(set(cfg.get('tst_flags', '').replace('|', ' ').split()) - set(a.flags.split()))

    data = None if a.packaged else (a.data or os.environ.get('PETLAB_DATA') or None)
    if data:
        data = str(Path(data).expanduser().resolve())
        if not (Path(data)/'images').is_dir() or not (Path(data)/'annotations').is_dir():
            sys.exit(f'--data {data}: no images/ and annotations/ there (get them with `petlab_download --data_path DIR`)')
        os.environ['PETLAB_DATA'] = data
    else: os.environ.pop('PETLAB_DATA', None)

    NBS, BUILD = a.nbs_path.resolve(), a.build_dir.resolve()
    nbs = select_notebooks(set(a.nbs) | {'index'} if a.nbs else None)
    if not nbs: sys.exit('no notebooks found in nbs/')
    names = [page_name(n) for n in nbs]
    if len(set(names)) != len(names): sys.exit(f'two notebooks would make the same page: {names}')
    print(f'docs: {len(nbs)} notebooks ({", ".join(n.name for n in nbs)}); data: {data or "the packaged real subset"}; '
          f'not run: cells flagged {", ".join(skip_flags) or "(none)"}', flush=True)

    # 1 + 2: a copy of nbs/ (the notebooks may read fixtures beside them and write run folders)
    exec_dir, proc_dir, src_dir = BUILD/'exec', BUILD/'proc', BUILD/'src'
    saved = BUILD/'executed.json'
    if a.reuse:
        if not saved.exists(): sys.exit('--reuse: nothing executed yet in _build/docs/')
        prev = json.loads(saved.read_text())
        results, env_info, data = prev['results'], prev['env'], prev['data']
        nbs = [n for n in nbs if n.name in results]
        names = [page_name(n) for n in nbs]
        shutil.rmtree(src_dir, ignore_errors=True); src_dir.mkdir(parents=True)
    else:
        if BUILD.exists(): shutil.rmtree(BUILD)
        shutil.copytree(NBS, exec_dir, ignore=shutil.ignore_patterns('.*', '_proc', '__pycache__', '*.py'))
        proc_dir.mkdir(parents=True); src_dir.mkdir(parents=True)
        env_info = environment()
        results = execute_all(nbs, exec_dir, proc_dir, skip_flags, a)
        saved.write_text(json.dumps(dict(results=results, env=env_info, data=data), indent=1))
    failed = [n for n, r in results.items() if r['error']]
    if failed and not a.keep_going: sys.exit(f'docs build failed: {", ".join(failed)} did not run')
    if failed:  # --keep-going: a site without them, for a look at the rest; still a failed build
        print(f'docs: leaving out {", ".join(failed)} (failed); the build will exit with status 1', flush=True)
        keep = [i for i, n in enumerate(nbs) if n.name not in failed]
        nbs, names = [nbs[i] for i in keep], [names[i] for i in keep]
        results = {n: r for n, r in results.items() if n not in failed}

    # 3: plain notebooks, provenance, toctree, manifest
    build_site(nbs, names, results, env_info, data, skip_flags, cfg, a, t_start)
    if failed: sys.exit(f'docs build failed: {", ".join(failed)} did not run (left out of the site)')


def execute_all(nbs, exec_dir, proc_dir, skip_flags, a):
    "Execute and process every notebook, each in a fresh process, `a.jobs` at a time; exit if any fails."
    jobs = [(nb, exec_dir/nb.name, proc_dir/nb.name, skip_flags, a.cell_timeout) for nb in nbs]
    results = {}
    with ProcessPoolExecutor(max_workers=max(1, a.jobs), mp_context=get_context('spawn'), max_tasks_per_child=1) as ex:
        # the later notebooks train models and take longest: start them first
        futs = {ex.submit(execute_and_process, *j): j[0] for j in reversed(jobs)}
        for f in as_completed(futs):
            nb = futs[f]; r = f.result(); results[nb.name] = r
            print(f'  {nb.name}: executed in {r["exec_s"]}s, processed in {r.get("proc_s", 0)}s, '
                  f'{len(r["skipped"])} cells not run' + (' -- FAILED' if r['error'] else ''), flush=True)
    for r in results.values():
        if r['error']: print(f'\n==== {r["notebook"]} failed:\n{r["error"]}', file=sys.stderr)
    return {nb.name: results[nb.name] for nb in nbs}


def build_site(nbs, names, results, env_info, data, skip_flags, cfg, a, t_start):
    "Plain notebooks with provenance and a toctree -> sphinx-build -W -> the site, and its manifest."
    exec_dir, proc_dir, src_dir = BUILD/'exec', BUILD/'proc', BUILD/'src'
    data_txt = describe_data(data)
    dev = f'CPU ({env_info["threads"]} threads)' if not env_info['cuda'] else 'a CUDA GPU where the notebook uses one'
    ctx = dict(doc_url=(cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')).rstrip('/'), pages=set(names))
    flags_txt = (f'cells flagged {" or ".join(f"`{f}`" for f in skip_flags)} are shown without output (not run)'
                 if skip_flags else 'every cell was run')

    def made(info):
        r = results[info['notebook']]
        return ('```{admonition} How this page was made\n:class: note\n'
                f'`tools/build_docs.py` executed `nbs/{info["notebook"]}` on {env_info["date"]} '
                f'(petlab {env_info["petlab"]}, commit {env_info["commit"]}, torch {env_info["torch"]} on {dev}), '
                f'top to bottom as `nbdev_test` runs it: {flags_txt}. Data: {data_txt}. '
                f'Executing it took {r["exec_s"]:.0f} s. Pictures and numbers on this page come from that run.\n```')
    ctx['made'] = made

    manifest = dict(data=data_txt, data_path=data, nbs_path=str(NBS), doc_url=ctx['doc_url'], skip_flags=skip_flags,
                    env=env_info, only=a.nbs or None, pages=[])
    for nb, name in zip(nbs, names):
        proc_nb = json.loads((proc_dir/nb.name).read_text(encoding='utf-8'))
        info = dict(notebook=nb.name, name=name)
        plain, facts = plain_notebook(proc_nb, info, ctx)
        visible = '\n'.join(_src(c) for c in plain['cells'])
        facts['hidden'] = hidden_snippets(json.loads(nb.read_text(encoding='utf-8')), visible)
        if name == 'index':
            rows = '\n'.join(f'| [{results[n.name]["notebook"]}]({page_name(n)}.html) | {results[n.name]["exec_s"]:.0f} s '
                             f'| {len(results[n.name]["skipped"])} |' for n in nbs)
            plain['cells'].append(_md_cell(
                '## How these pages were made\n\n'
                f'Built offline by `tools/build_docs.py` on {env_info["date"]} from commit {env_info["commit"]}: '
                f'each notebook was executed top to bottom as `nbdev_test` runs it ({flags_txt}) on {dev}, '
                'processed with nbdev (hidden cells dropped, `show_doc` rendered) and rendered with Sphinx '
                f'(myst-nb, furo). Data: {data_txt}.\n\n'
                '| notebook | executed in | cells not run |\n|---|---|---|\n' + rows))
            # the sidebar in two groups: the lessons (nn_name.ipynb), then the library's notebooks (nna_name.ipynb)
            for caption, group in (('Lessons', [n for n in nbs if re.match(r'\d\d_', n.name)]),
                                   ('The library, a notebook per module', [n for n in nbs if re.match(r'\d\d[a-z]_', n.name)])):
                toc = '\n'.join(page_name(n) for n in group)
                if toc: plain['cells'].append(_md_cell(f'```{{toctree}}\n:hidden:\n:caption: {caption}\n:maxdepth: 1\n\n{toc}\n```'))
        for i, c in enumerate(plain['cells']): c['id'] = f'{name}-{i}'
        (src_dir/f'{name}.ipynb').write_text(json.dumps(plain, indent=1, ensure_ascii=False), encoding='utf-8')
        manifest['pages'].append(dict(info, **facts, exec_s=results[nb.name]['exec_s'],
                                      skipped=results[nb.name]['skipped']))

    out, html_dir = a.out.resolve(), BUILD/'html'
    # Sphinx writes into _build/docs/html (myst-nb puts its image files beside that folder, in
    # _build/docs/jupyter_execute: never in the repository), then the site moves to --out.
    for d in (out, html_dir, BUILD/'jupyter_execute'): shutil.rmtree(d, ignore_errors=True)
    t = time.time()
    cmd = [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b', 'html', '-c', str(ROOT/'docs'),
           '-d', str(BUILD/'doctrees'), str(src_dir), str(html_dir)]
    print('  ' + ' '.join(cmd[2:]), flush=True)
    r = subprocess.run(cmd, cwd=ROOT)
    if r.returncode: sys.exit(f'sphinx-build failed (exit {r.returncode})')
    shutil.move(str(html_dir), str(out))
    manifest['sphinx_s'] = round(time.time() - t, 1)
    manifest['total_s'] = round(time.time() - t_start, 1)
    (out/'petlab-build.json').write_text(json.dumps(manifest, indent=1), encoding='utf-8')
    n_ex = sum(len(pg['exercises']) for pg in manifest['pages'])
    print(f'docs: built {out}/index.html ({len(nbs)} pages, {n_ex} exercises with their solutions collapsed) in '
          f'{manifest["total_s"]:.0f}s (sphinx {manifest["sphinx_s"]:.0f}s); check it with `python tools/check_docs.py'
          + (f' --site {a.out}' if out != (ROOT/'_docs').resolve() else '')
          + (f' --nbs {" ".join(a.nbs)}`' if a.nbs else '`'))


if __name__ == '__main__': main()

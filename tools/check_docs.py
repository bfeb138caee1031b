#!/usr/bin/env python
"""Check the built docs site as a reader sees it: every page opened in headless Chromium.

    .venv/bin/python tools/check_docs.py [--site _docs] [--screenshots DIR] [--nbs NAME ...]

Serves the site on 127.0.0.1 (nothing else is reachable for the browser: every other host name resolves to
nothing), opens each page inside a same-origin harness page with `chromium --headless --dump-dom`, reads what
the browser really rendered, and checks, against `_docs/petlab-build.json` (what tools/build_docs.py built):
- every page exists (HTTP 200), has its title and the "How this page was made" box, and every numbered
  notebook of nbs/ has a page;
- navigation: the sidebar of every page links to every page, and every link to the site itself resolves
  (the target answers 200 and, for `#anchor`, has an element with that id);
- figures: each page shows as many images in cell outputs as its executed notebook made, and every image
  on the page has loaded (`complete` and `naturalWidth > 0`);
- no leaks: no `#|` directive in the page text, no line of a hidden cell (`#| hide`, `#| export`, ...) in its
  code, no traceback;
- every `show_doc` entry is there with its signature;
- exercises (on every page with an `**Exercise:**` prompt): each prompt is followed by its solution cell, which is
  inside a <details> that is closed on load (the code not visible) under a toggle labelled as the solution; a click on
  the toggle opens it and shows the code, without nbgrader's `### BEGIN/END SOLUTION` lines; the check cell's output
  line (starting with ✅, ❌ or ⏳) is visible on load; as many exercises as the build collapsed;
- a screenshot of each page is not blank (saved to --screenshots, default _build/docs/screenshots/).
`--nbs 01_unet 03_train` checks only those pages (and index), for a site built with `build_docs.py --nbs`.
Exit status 1 if any check fails. Needs Debian's `chromium` (`apt-get install -y chromium`).
"""
import argparse, html, json, os, re, shutil, subprocess, sys, tempfile, threading, time, urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, unquote, quote

ROOT = Path(__file__).resolve().parent.parent
HARNESS = '/__petlab_check__.html'
CHROME_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--disable-extensions', '--hide-scrollbars', '--mute-audio',
                '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1']

# The harness loads the page in a same-origin iframe; the iframe delays the harness's `load` event until the
# page and its images have loaded, then this script records what the browser shows.
HARNESS_HTML = r'''<!doctype html><html><head><meta charset="utf-8"><title>check</title></head><body>
<pre id="petlab-result">pending</pre>
<iframe id="page" src="PAGE" style="width:1280px;height:1000px"></iframe>
<script>
// Exercises: a prompt (**Exercise: `name`.**), its solution cell (div.cell.tag_petlab-solution, made by
// tools/build_docs.py: myst-nb's hide-input <details>), then the check cell. What a reader sees on load, then after a
// click on each solution's toggle.
function exercises(d, main, txt) {
  const shown = e => !!e && e.checkVisibility() && e.getClientRects().length > 0 && e.getBoundingClientRect().height > 0;
  const cells = Array.from(main.querySelectorAll('div.cell'));
  const after = el => cells.find(c => el.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING && !c.contains(el));
  const prompts = Array.from(main.querySelectorAll('strong'))
    .filter(s => !s.closest('.cell_output') && /^Exercise:/.test(txt(s).trim()))
    .map(s => { const c = after(s);
                return {name: txt(s.querySelector('code')).trim() || txt(s).trim(),
                        next_is_solution: !!c && c.classList.contains('tag_petlab-solution')}; });
  const sols = Array.from(main.querySelectorAll('div.cell.tag_petlab-solution')).map(cell => {
    const det = cell.querySelector('details'), pre = cell.querySelector('.cell_input pre');
    const summary = det && det.querySelector(':scope > summary');
    const check = cell.nextElementSibling && cell.nextElementSibling.matches('div.cell') ? cell.nextElementSibling : null;
    const out = check && check.querySelector('.cell_output');
    return {cell, det, pre, summary,
      in_details: !!det && !!pre && det.contains(pre),
      open_on_load: !!det && det.open, code_shown_on_load: shown(pre),
      label: summary ? txt(summary).trim() : '', summary_shown: shown(summary),
      check_src: check ? txt(check.querySelector('.cell_input pre')).trim() : '',
      check_out: out ? txt(out).trim() : '', check_out_shown: shown(out)};
  });
  // then open each one as a reader does: a click on its toggle
  for (const s of sols) {
    if (s.summary) s.summary.click();
    s.open_after_click = !!s.det && s.det.open;
    s.code_shown_after_click = shown(s.pre);
    s.code = s.pre ? txt(s.pre) : '';
    s.label_after_click = s.summary ? txt(s.summary).trim() : '';
    delete s.cell; delete s.det; delete s.pre; delete s.summary;
  }
  return {prompts, solutions: sols};
}

function record() {
  const out = document.getElementById('petlab-result');
  try {
    const d = document.getElementById('page').contentDocument, w = d.defaultView;
    const txt = e => (e ? (e.innerText || e.textContent || '') : '');
    const main = d.querySelector('article[role=main]') || d.body;
    const r = {
      url: w.location.href, title: d.title,
      h1: txt(main.querySelector('h1')),
      text: txt(main),
      prose: (() => { const c = main.cloneNode(true); c.querySelectorAll('code, pre').forEach(e => e.remove());
                      return c.textContent; })(),
      ids: Array.from(d.querySelectorAll('[id]')).map(e => e.id),
      links: Array.from(d.querySelectorAll('a[href]')).map(a => ({href: a.href, text: txt(a).trim().slice(0, 60),
        sidebar: !!a.closest('.sidebar-tree'), related: !!a.closest('.related-pages')})),
      imgs: Array.from(d.images).map(i => ({src: i.currentSrc || i.src, complete: i.complete, w: i.naturalWidth,
        h: i.naturalHeight, output: !!i.closest('.cell_output')})),
      code: Array.from(main.querySelectorAll('.cell_input pre')).map(txt),
      rubrics: Array.from(main.querySelectorAll('.cell_output .rubric, .cell_output h1, .cell_output h2, .cell_output h3, .cell_output h4'))
        .map(e => ({text: txt(e).replace(/\u00b6$/, '').trim(),
                    sig: txt(e.nextElementSibling) + ' ' + txt(e.nextElementSibling && e.nextElementSibling.nextElementSibling)})),
      admonitions: Array.from(main.querySelectorAll('.admonition-title')).map(txt),
      resources: Array.from(d.querySelectorAll('script[src], link[rel=stylesheet][href]')).map(e => e.src || e.href),
      // formulas: Sphinx's .math elements, each typeset by MathJax (an mjx-container inside), or left as raw TeX
      captions: Array.from(d.querySelectorAll('.sidebar-tree .caption')).map(e => (e.textContent || '').trim()),   // as written (the theme shows them in capitals)
      math: Array.from(main.querySelectorAll('.math')).map(e => ({typeset: !!e.querySelector('mjx-container'),
                                                                  tex: (e.textContent || '').slice(0, 60)})),
    };
    r.exercises = exercises(d, main, txt);  // last: it clicks the solution toggles open
    out.textContent = JSON.stringify(r);
  } catch (e) { out.textContent = JSON.stringify({error: String(e)}); }
}
// MathJax typesets after the page has loaded: record what the reader sees once it is done (at most 8 s)
window.addEventListener('load', () => {
  const w = document.getElementById('page').contentWindow, p = w.MathJax && w.MathJax.startup && w.MathJax.startup.promise;
  if (!p) { record(); return; }
  Promise.race([p, new Promise(ok => setTimeout(ok, 8000))]).then(record, record);
});
</script></body></html>'''


class Handler(SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        u = urlsplit(self.path)
        if u.path == HARNESS:
            page = unquote(u.query.partition('page=')[2])
            body = HARNESS_HTML.replace('PAGE', html.escape(page, quote=True)).encode()
            self.send_response(200); self.send_header('Content-Type', 'text/html; charset=utf-8')
            self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
        else: super().do_GET()


def serve(site):
    srv = ThreadingHTTPServer(('127.0.0.1', 0), partial(Handler, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}'


def chromium(exe, args, timeout=90):
    prof = tempfile.mkdtemp(prefix='petlab-chromium-')
    try:
        return subprocess.run([exe, *CHROME_FLAGS, f'--user-data-dir={prof}', *args], capture_output=True,
                              text=True, timeout=timeout)
    finally: shutil.rmtree(prof, ignore_errors=True)


def inspect(exe, base, page):
    "What the browser rendered for `page` (a path such as 'data.html')."
    url = f'{base}{HARNESS}?page={quote("/" + page)}'
    for attempt in range(2):
        r = chromium(exe, ['--window-size=1400,1200', '--virtual-time-budget=15000', '--dump-dom', url])
        m = re.search(r'<pre id="petlab-result">(.*?)</pre>', r.stdout, re.S)
        if m and m.group(1) != 'pending': return json.loads(html.unescape(m.group(1)))
    raise RuntimeError(f'chromium gave no result for {page} (exit {r.returncode}): {r.stderr[-800:]}')


def screenshot(exe, base, page, path, height):
    r = chromium(exe, [f'--window-size=1280,{height}', '--virtual-time-budget=10000', f'--screenshot={path}',
                       f'{base}/{page}'])
    return path.exists()


def not_blank(path):
    from PIL import Image, ImageStat
    with Image.open(path) as im:
        st = ImageStat.Stat(im.convert('L'))
        return st.stddev[0] > 5


CHECK_SIGNS = ('✅', '❌', '⏳')  # how `lab.<key>.check(...)` starts its line
SOLUTION_MARKERS = ('### BEGIN SOLUTION', '### END SOLUTION')


def check_exercises(ex, expected, fail):
    "The exercises the browser found on a page (see `exercises` in HARNESS_HTML) against the build's manifest."
    prompts, sols = ex['prompts'], ex['solutions']
    names = [e['name'] for e in expected]
    if not (len(prompts) == len(sols) == len(expected)):
        fail(f'{len(prompts)} exercise prompts and {len(sols)} collapsed solution cells on the page, but the build '
             f'collapsed {len(expected)} solutions ({names}): every exercise is a prompt, then its solution cell '
             '(`### BEGIN SOLUTION` ... `### END SOLUTION`), then its check')
    for pr in prompts:
        if not pr['next_is_solution']:
            fail(f'exercise {pr["name"]!r}: the cell after its prompt is not a collapsed solution cell')
    for i, s in enumerate(sols):
        nm = names[i] if i < len(names) else (prompts[i]['name'] if i < len(prompts) else f'#{i + 1}')
        where = f'exercise {nm!r}'
        if not s['in_details']: fail(f'{where}: the solution code is not inside a <details> element'); continue
        if s['open_on_load']: fail(f'{where}: the solution is open on load (its <details> should be closed)')
        if s['code_shown_on_load']: fail(f'{where}: the solution code is visible on load')
        if not s['summary_shown'] or 'solution' not in s['label'].lower():
            fail(f'{where}: no visible toggle labelled as the solution (label {s["label"]!r})')
        if s['open_on_load']: pass  # the click closed it: nothing more to learn
        elif not s['open_after_click']: fail(f'{where}: a click on the toggle {s["label"]!r} does not open the solution')
        elif not s['code_shown_after_click'] or not s['code'].strip():
            fail(f'{where}: the solution code is not visible after a click on the toggle')
        for m in SOLUTION_MARKERS:
            if m in s['code']: fail(f'{where}: the solution shows the marker line {m!r}')
        if not s['check_src'].startswith('lab.') or '.check(' not in s['check_src']:
            fail(f'{where}: the cell after the solution is not its check (`lab.<key>.check(...)`): {s["check_src"][:80]!r}')
        elif not s['check_out'].startswith(CHECK_SIGNS):
            fail(f'{where}: the check prints no line starting with {"/".join(CHECK_SIGNS)}: {s["check_out"][:80]!r}')
        elif not s['check_out_shown']: fail(f'{where}: the check\'s output is not visible on load')
    return len(sols)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--site', type=Path, default=ROOT/'_docs')
    p.add_argument('--screenshots', type=Path, default=ROOT/'_build'/'docs'/'screenshots')
    p.add_argument('--shot-height', type=int, default=2400, help='screenshot height in px (default 2400)')
    p.add_argument('--chromium', default=shutil.which('chromium') or '/usr/bin/chromium')
    p.add_argument('--nbs', nargs='*', help='check only these pages (notebook names or stems, as build_docs.py --nbs), '
                                            'plus index; default: every page, and every notebook of nbs/ has one')
    a = p.parse_args(argv)
    t0 = time.time()
    site = a.site.resolve()
    man_path = site/'petlab-build.json'
    if not man_path.exists(): sys.exit(f'{man_path} missing: build the site first with `python tools/build_docs.py`')
    if not Path(a.chromium).exists(): sys.exit(f'no chromium at {a.chromium}: `apt-get install -y chromium`')
    man = json.loads(man_path.read_text())
    fails, warns = [], []
    def fail(page, msg): fails.append(f'{page}: {msg}')

    # every numbered notebook of the notebook folder the site was built from has a page (with --nbs: those named)
    nbs_path = Path(man.get('nbs_path') or ROOT/'nbs')
    built = {pg['notebook'] for pg in man['pages']}
    want = set(a.nbs) | {'index'} if a.nbs else None
    def wanted(nb_name, page): return want is None or {nb_name, Path(nb_name).stem, page} & want
    partial_note = (f' (the site was built with `--nbs {" ".join(man["only"])}`: check it with `--nbs`)'
               if man.get('only') and not a.nbs else '')
    for nb in sorted(nbs_path.glob('*.ipynb')):
        if (re.match(r'\d', nb.name) or nb.name == 'index.ipynb') and nb.name not in built \
                and wanted(nb.name, re.sub(r'^\d+[a-zA-Z0-9]*[_-]', '', nb.stem) or nb.stem):
            fail(nb.name, f'no page was built for {nb}{partial_note}')

    srv, base = serve(site)
    a.screenshots.mkdir(parents=True, exist_ok=True)
    pages = {pg['name']: pg for pg in man['pages']}
    seen, ids_of, n_exercises = {}, {}, 0
    try:
        for name, pg in pages.items():
            if not wanted(pg['notebook'], name): continue
            html_file = f'{name}.html'
            if not (site/html_file).exists(): fail(html_file, 'page missing'); continue
            r = inspect(a.chromium, base, html_file)
            if 'error' in r: fail(html_file, f'harness error {r["error"]}'); continue
            seen[name] = r; ids_of[f'/{html_file}'] = set(r['ids'])
            # title and provenance
            if pg['title'] not in r['h1']: fail(html_file, f'title {pg["title"]!r} not in h1 {r["h1"]!r}')
            if 'How this page was made' not in r['admonitions']: fail(html_file, 'no "How this page was made" box')
            # navigation: the sidebar lists every page
            side = {urlsplit(l['href']).path.rsplit('/', 1)[-1] or 'index.html' for l in r['links'] if l['sidebar']}
            side |= {'index.html'} if any(l['sidebar'] or 'sidebar-brand' in l.get('text', '') for l in r['links']) else set()
            missing = [f'{n}.html' for n in pages if n != 'index' and f'{n}.html' not in side]
            if missing: fail(html_file, f'sidebar does not link to {missing}')
            if r.get('captions') != ['Lessons', 'The library, a notebook per module'] and not man.get('only'):
                fail(html_file, f"the sidebar's groups are {r.get('captions')}, not the lessons then the library")
            if len(pages) > 1 and not any(l['related'] for l in r['links']): fail(html_file, 'no previous/next links')
            # figures
            out_imgs = [i for i in r['imgs'] if i['output']]
            if len(out_imgs) != pg['images']:
                fail(html_file, f'{len(out_imgs)} images in cell outputs, the executed notebook made {pg["images"]}')
            for i in r['imgs']:
                if not (i['complete'] and i['w'] > 0): fail(html_file, f'image did not load: {i["src"]}')
            # leaks
            code = '\n'.join(r['code'])
            leak = re.search(r'^\s*#\|.*$', code, re.M)
            if leak: fail(html_file, f'a raw `#|` directive is visible in code: {leak.group(0).strip()!r}')
            if '#|' in r['prose']:
                i = r['prose'].find('#|')
                fail(html_file, f'a raw `#|` directive is visible: {r["prose"][max(0, i - 60):i + 60]!r}')
            for s in pg['hidden']:
                if s in code: fail(html_file, f'a hidden cell leaks: {s!r}')
            if 'Traceback (most recent call last)' in r['text']: fail(html_file, 'a traceback is shown')
            raw_link = re.search(r'\]\((?:https?://|[\w.-]+\.(?:html|ipynb))[^)\s]*\)', r['text'])
            if raw_link: fail(html_file, f'unrendered markdown link in the page: {raw_link.group(0)!r}')
            if man.get('doc_url'):
                for l in r['links']:
                    if l['href'].startswith(man['doc_url']):
                        target = urlsplit(l['href'][len(man['doc_url']):]).path.strip('/').removesuffix('.html')
                        if man.get('only') and target not in pages:  # build_docs.py --nbs: that page was not built
                            warns.append(f'{html_file}: link to a page the build left out (--nbs): {l["href"]}')
                        else: fail(html_file, f'link to the published site instead of this one: {l["href"]}')
            # show_doc
            rub = {x['text']: x['sig'] for x in r['rubrics']}
            for nm in pg['show_docs']:
                if nm not in rub: fail(html_file, f'show_doc({nm}) entry missing')
                elif '(' not in rub[nm]: fail(html_file, f'show_doc({nm}) has no signature: {rub[nm][:80]!r}')
            # exercises: solutions collapsed, open on a click, checks visible
            if '**Exercise:' in r['text']: fail(html_file, 'an exercise prompt is shown as raw markdown (`**Exercise:`)')
            n_ex = check_exercises(r['exercises'], pg.get('exercises', []), partial(fail, html_file))
            n_exercises += n_ex
            for res in r['resources']:
                if not res.startswith(base): fail(html_file, f'external resource {res}: the site must work offline')
            if raw := [m['tex'] for m in r.get('math', []) if not m['typeset']]:
                fail(html_file, f'{len(raw)} formula(s) not typeset (MathJax did not run?): {raw[0]!r}')
            # screenshot
            shot = a.screenshots/f'{name}.png'
            if shot.exists(): shot.unlink()
            if not screenshot(a.chromium, base, html_file, shot, a.shot_height): fail(html_file, 'no screenshot')
            elif not not_blank(shot): fail(html_file, f'screenshot {shot} is blank')
            print(f'  {html_file}: {len(out_imgs)} figures (all loaded: {all(i["w"] > 0 for i in r["imgs"])}), '
                  f'{len(pg["show_docs"])} show_doc entries, {len(r.get("math", []))} formulas typeset, '
                  + (f'{n_ex} exercises (solutions collapsed, open on a click, checks shown), ' if n_ex else '') +
                  f'{len([l for l in r["links"] if l["href"].startswith(base)])} '
                  f'site links, {len(pg["hidden"])} hidden lines checked, screenshot {shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}',
                  flush=True)

        # every link into the site resolves, with its anchor
        checked = {}
        for name, r in seen.items():
            for l in r['links']:
                u = urlsplit(l['href'])
                if f'{u.scheme}://{u.netloc}' != base or u.path == HARNESS: continue
                path = u.path if not u.path.endswith('/') else u.path + 'index.html'
                if path not in checked:
                    try:
                        with urllib.request.urlopen(base + path, timeout=10) as resp:
                            body = resp.read().decode('utf-8', 'replace')
                            checked[path] = resp.status
                            if path not in ids_of and path.endswith('.html'):
                                ids_of[path] = set(re.findall(r'\sid="([^"]+)"', body))
                    except Exception as e: checked[path] = str(e)
                if checked[path] != 200: fail(f'{name}.html', f'link {l["href"]} -> {checked[path]}'); continue
                frag = unquote(u.fragment)
                if frag and path in ids_of and frag not in ids_of[path]:
                    fail(f'{name}.html', f'link {l["href"]}: no element with id {frag!r} in {path}')
    finally: srv.shutdown()

    n_links = sum(len(r['links']) for r in seen.values())
    for w in sorted(set(warns)): print('  note:', w)
    if fails:
        print(f'\ncheck_docs: {len(fails)} problem(s) in {site}:', file=sys.stderr)
        for f in fails: print('  FAIL', f, file=sys.stderr)
        return 1
    checked_pages = [p for p in man['pages'] if p['name'] in seen]
    print(f'check_docs: OK: {len(seen)} pages, {sum(p["images"] for p in checked_pages)} figures, '
          f'{sum(len(p["show_docs"]) for p in checked_pages)} show_doc entries, {n_exercises} exercises, {n_links} links checked '
          f'in {time.time() - t0:.0f}s (data: {man["data"][:80]}...)')
    return 0


if __name__ == '__main__': sys.exit(main())

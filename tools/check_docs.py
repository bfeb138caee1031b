#!/usr/bin/env python
"""Check the built docs site as a reader sees it: every page opened in headless Chromium.

    .venv/bin/python tools/check_docs.py [--site _docs] [--screenshots DIR]

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
- a screenshot of each page is not blank (saved to --screenshots, default _build/docs/screenshots/).
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
ALLOWED_EXTERNAL = ('cdn.jsdelivr.net/npm/mathjax',)  # loaded only by pages with math; absent offline

# The harness loads the page in a same-origin iframe; the iframe delays the harness's `load` event until the
# page and its images have loaded, then this script records what the browser shows.
HARNESS_HTML = r'''<!doctype html><html><head><meta charset="utf-8"><title>check</title></head><body>
<pre id="petlab-result">pending</pre>
<iframe id="page" src="PAGE" style="width:1280px;height:1000px"></iframe>
<script>
window.addEventListener('load', () => {
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
    };
    out.textContent = JSON.stringify(r);
  } catch (e) { out.textContent = JSON.stringify({error: String(e)}); }
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--site', type=Path, default=ROOT/'_docs')
    p.add_argument('--screenshots', type=Path, default=ROOT/'_build'/'docs'/'screenshots')
    p.add_argument('--shot-height', type=int, default=2400, help='screenshot height in px (default 2400)')
    p.add_argument('--chromium', default=shutil.which('chromium') or '/usr/bin/chromium')
    a = p.parse_args(argv)
    t0 = time.time()
    site = a.site.resolve()
    man_path = site/'petlab-build.json'
    if not man_path.exists(): sys.exit(f'{man_path} missing: build the site first with `python tools/build_docs.py`')
    if not Path(a.chromium).exists(): sys.exit(f'no chromium at {a.chromium}: `apt-get install -y chromium`')
    man = json.loads(man_path.read_text())
    fails, warns = [], []
    def fail(page, msg): fails.append(f'{page}: {msg}')

    # every numbered notebook of the notebook folder the site was built from has a page
    nbs_path = Path(man.get('nbs_path') or ROOT/'nbs')
    built = {pg['notebook'] for pg in man['pages']}
    for nb in sorted(nbs_path.glob('*.ipynb')):
        if (re.match(r'\d', nb.name) or nb.name == 'index.ipynb') and nb.name not in built:
            fail(nb.name, f'no page was built for {nb}')

    srv, base = serve(site)
    a.screenshots.mkdir(parents=True, exist_ok=True)
    pages = {pg['name']: pg for pg in man['pages']}
    seen, ids_of = {}, {}
    try:
        for name, pg in pages.items():
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
                        fail(html_file, f'link to the published site instead of this one: {l["href"]}')
            # show_doc
            rub = {x['text']: x['sig'] for x in r['rubrics']}
            for nm in pg['show_docs']:
                if nm not in rub: fail(html_file, f'show_doc({nm}) entry missing')
                elif '(' not in rub[nm]: fail(html_file, f'show_doc({nm}) has no signature: {rub[nm][:80]!r}')
            for res in r['resources']:
                if not res.startswith(base):
                    (warns if any(x in res for x in ALLOWED_EXTERNAL) else fails).append(
                        f'{html_file}: external resource {res}')
            # screenshot
            shot = a.screenshots/f'{name}.png'
            if shot.exists(): shot.unlink()
            if not screenshot(a.chromium, base, html_file, shot, a.shot_height): fail(html_file, 'no screenshot')
            elif not not_blank(shot): fail(html_file, f'screenshot {shot} is blank')
            print(f'  {html_file}: {len(out_imgs)} figures (all loaded: {all(i["w"] > 0 for i in r["imgs"])}), '
                  f'{len(pg["show_docs"])} show_doc entries, {len([l for l in r["links"] if l["href"].startswith(base)])} '
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
    print(f'check_docs: OK: {len(seen)} pages, {sum(p["images"] for p in man["pages"])} figures, '
          f'{sum(len(p["show_docs"]) for p in man["pages"])} show_doc entries, {n_links} links checked '
          f'in {time.time() - t0:.0f}s (data: {man["data"][:80]}...)')
    return 0


if __name__ == '__main__': sys.exit(main())

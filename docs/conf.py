# Sphinx configuration for petlab's offline docs site (myst-nb + furo).
#
# Build with `python tools/build_docs.py [--data DIR]`: it executes the notebooks, runs nbdev's doc processing and
# writes plain notebooks to _build/docs/src/, then runs `sphinx-build -W -b html -c docs _build/docs/src _docs`.
# The page order (the toctree) is made there too: index, then the numbered notebooks of nbs/ in order.
# Where Quarto is installed, `nbdev_docs` builds the same pages from nbs/ with nbdev's standard config instead.
from configparser import ConfigParser
from pathlib import Path

_cfg = ConfigParser(delimiters=['='])
_cfg.read(Path(__file__).resolve().parent.parent/'settings.ini', encoding='utf-8')
_cfg = _cfg['DEFAULT']

project = _cfg['title']
author = _cfg['author']
copyright = _cfg['copyright']
release = version = _cfg['version']

extensions = ['myst_nb', 'sphinx-mathjax-offline']   # MathJax served from the site itself: formulas typeset offline
exclude_patterns = ['_build', '**.ipynb_checkpoints']
root_doc = 'index'

# The notebooks were executed by tools/build_docs.py (nbdev's runner, as nbdev_test runs them): never again here.
nb_execution_mode = 'off'
nb_merge_streams = True
nb_output_stderr = 'show'
# show_doc renders its signature as markdown; rich outputs win over their text fallbacks.
nb_render_markdown_format = 'myst'
myst_enable_extensions = ['colon_fence', 'dollarmath', 'amsmath', 'deflist', 'html_image', 'smartquotes']
myst_heading_anchors = 3
# Links in the notebooks were made relative to the built pages by tools/build_docs.py (`data.html#get-dls`):
# keep them as written, tools/check_docs.py follows every one of them in a browser.
myst_all_links_external = True
# show_doc output starts its entries with `###` inside a page whose title is `#`.
suppress_warnings = ['myst.header']

html_theme = 'furo'
html_title = f'{project} {release}'
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
html_static_path = ['_static']
html_css_files = ['petlab.css']
# Everything, MathJax included, is served from the site itself.

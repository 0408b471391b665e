"""Sphinx configuration of the series' static site (issue 21).

Build (offline, warnings are errors; about a minute on 2 cores):

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Sources: the landing page is README.md (included by docs/index.md), notebooks/*.ipynb as stored
(copied into docs/notebooks/ by clsite.stage_notebooks, never executed), the "Is my NT-Xent right?"
section of README.md, and a package reference (autodoc) with one page per
public module of ``clhelpers``, found by walking the package at build time, so modules that are
added, moved or renamed need no change here (clsite.write_reference).

Environment: CLHELPERS_SITE_NOTEBOOKS=/some/dir renders the notebooks of another folder (the
tests build against a freshly executed temporary copy this way).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(REPO))  # the clhelpers of this checkout, installed or not

import clsite  # noqa: E402

project = "Contrastive Learning, Hands-On"
author = "the clhelpers authors"
copyright = "the clhelpers authors"

extensions = [
    "myst_parser",
    "nbsphinx",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "clsite",
]

# --- sources ---------------------------------------------------------------------------------
NOTEBOOKS = Path(os.environ.get("CLHELPERS_SITE_NOTEBOOKS", REPO / "notebooks")).resolve()
clsite.stage_notebooks(NOTEBOOKS, DOCS / "notebooks")
clsite_readme = str(REPO / "README.md")

# One page per public module of the package, written at every build (clsite.write_reference).
clsite_package = "clhelpers"
clsite_reference_dir = str(DOCS / "reference")

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_ext", "_static", "**.ipynb_checkpoints", "notebooks/download"]
root_doc = "index"

myst_heading_anchors = 3  # README's "#the-package"-style links resolve
myst_enable_extensions = ["dollarmath"]

# --- notebooks: as stored, never executed ------------------------------------------------------
nbsphinx_execute = "never"
nbsphinx_prolog = """
.. only:: html

    .. nbinfo::

        This page shows the notebook as it was stored after *Restart Kernel and Run All*
        (nothing is re-run to build it). Run it yourself:
        :download:`{{ env.docname.split('/')[-1] }}.ipynb </notebooks/download/{{ env.docname.split('/')[-1] }}.ipynb>`
        in JupyterLab (see the Quick start on :doc:`the landing page </index>`).
"""

# --- reference ---------------------------------------------------------------------------------
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = True
napoleon_numpy_docstring = True

# --- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = project
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 3,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"**": ["globaltoc.html"]}  # every page in the left column (the series is flat)
html_context = {"default_mode": "light"}  # else the theme logs "Got invalid theme mode" on a first visit
html_favicon = "_static/favicon.svg"  # else browsers ask for /favicon.ico and log a 404
html_css_files = ["site.css"]
html_js_files = [("widgets-mathjax2-shim.js", {"defer": "defer"})]  # after MathJax (both deferred)
html_show_sourcelink = False
html_copy_source = False

# The pages' JavaScript is served from _static/vendor (python docs/fetch_js.py) so that formulas
# and saved widgets render offline; without it the public CDNs are used.
VENDOR = DOCS / "_static" / "vendor"
if (VENDOR / "require.js").exists():
    mathjax_path = "vendor/mathjax/tex-chtml.js"
    nbsphinx_requirejs_path = "vendor/require.js"
    nbsphinx_requirejs_options: dict = {}  # nbsphinx's default pins the CDN file's hash
    nbsphinx_widgets_path = "vendor/html-manager/embed-amd.js"
else:
    mathjax_path = "https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-chtml.js"
mathjax3_config = {
    "tex": {"inlineMath": [["$", "$"], ["\\(", "\\)"]], "processEscapes": True},
    "options": {"ignoreHtmlClass": "tex2jax_ignore|document", "processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"},
}

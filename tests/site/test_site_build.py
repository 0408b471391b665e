"""The static site (docs/, issue 21) builds with warnings as errors, holds every page, and its links resolve.

Run alone: ``python -m pytest tests/site -v`` (needs requirements-site.txt and pandoc; see conftest.py).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import clsite
from sitetools import REPO, require_site_tools, run_build
from linkcheck import check_site

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_site_builds_with_warnings_as_errors(site):
    assert "build succeeded" in site.log, site.log[-2000:]
    assert "WARNING" not in site.log
    print(f"build time: {site.seconds:.1f} s")


def test_a_warning_fails_the_build(tmp_path):
    """A notebook with a link to a page that does not exist: the build must exit non-zero."""
    require_site_tools()
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    broken = {
        "cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# Broken\n\nSee [this](no_such_notebook.ipynb)."}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    (nbs / "01_broken.ipynb").write_text(json.dumps(broken))
    done = run_build(tmp_path, env={"CLHELPERS_SITE_NOTEBOOKS": str(nbs)})
    log = done.stdout + done.stderr
    assert done.returncode != 0, f"the build passed despite a broken link:\n{log[-3000:]}"
    assert "no_such_notebook" in log, log[-3000:]


def test_landing_page_is_the_readme_and_links_every_notebook(site):
    index = text_of(site.html / "index.html")
    assert "<h1>Contrastive Learning, Hands-On" in index
    for nb in NOTEBOOKS:
        assert (site.html / "notebooks" / f"{nb.stem}.html").is_file(), f"no page for {nb.name}"
        assert f'href="notebooks/{nb.stem}.html"' in index, f"the landing page does not link {nb.name}"


def test_notebook_pages_follow_the_series_order(site):
    """The sidebar lists notebooks 01, 02, ... in order, then the NT-Xent page and the reference."""
    page = text_of(site.html / "notebooks" / f"{NOTEBOOKS[0].stem}.html")
    order = [page.find(f'href="{nb.stem}.html"') for nb in NOTEBOOKS[1:]]
    assert all(i >= 0 for i in order) and order == sorted(order), order


def test_notebook_pages_show_the_stored_figures(site):
    for nb in NOTEBOOKS:
        cells = json.loads(text_of(nb))["cells"]
        n_png = sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))
        page = text_of(site.html / "notebooks" / f"{nb.stem}.html")
        images = re.findall(r'<img [^>]*src="(\.\./_images/[^"]+\.png)"', page)
        assert len(images) >= n_png, f"{nb.name}: {n_png} stored figures, {len(images)} on the page"


def test_solutions_stay_collapsed(site):
    """Every <details> of a notebook (the exercises' solutions) is on its page, closed."""
    for nb in NOTEBOOKS:
        cells = json.loads(text_of(nb))["cells"]
        n_details = sum("<details" in "".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        page = text_of(site.html / "notebooks" / f"{nb.stem}.html")
        opened = re.findall(r"<details[^>]*>", page)
        assert len(opened) >= n_details, f"{nb.name}: {n_details} collapsed blocks stored, {len(opened)} on the page"
        assert not any(" open" in tag for tag in opened), f"{nb.name}: a solution is shown open"


def test_sliders_carry_the_kernel_note(site):
    for nb in NOTEBOOKS:
        cells = json.loads(text_of(nb))["cells"]
        sliders = sum(clsite.is_slider_output(o) for c in cells for o in c.get("outputs", []))
        page = text_of(site.html / "notebooks" / f"{nb.stem}.html")
        assert page.count("This slider needs a running kernel") == sliders, nb.name
        if sliders:
            assert "application/vnd.jupyter.widget-state+json" in page, f"{nb.name}: widget state not on the page"


def test_nt_xent_page_is_the_readme_section(site):
    readme = text_of(REPO / "README.md")
    section = clsite.readme_section(readme, "Is my NT-Xent right?")
    page = text_of(site.html / "nt-xent.html")
    assert "<h1>Is my NT-Xent right?" in page
    words = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    for paragraph in section.split("\n\n")[1:]:  # each prose paragraph of README's section is on the page
        if not paragraph.startswith("```"):
            first = " ".join(re.sub(r"[`*]", "", paragraph).split()[:6])
            assert first in words, f"missing on the page: {first!r}"
    next_title = re.search(r"^## (.+)$", readme[readme.index("## Is my NT-Xent right?") + 5:], re.M).group(1)
    assert f">{next_title}<" not in page, "the page runs on into the next README section"


def test_reference_documents_every_module_of_the_package(site):
    modules = clsite.public_modules("clhelpers")
    assert "clhelpers.similarity" in modules and not any(m.endswith("__main__") for m in modules)
    reference = text_of(site.html / "reference.html")
    for name in modules:
        assert (site.html / "reference" / f"{name}.html").is_file(), f"no reference page for {name}"
        assert f'href="reference/{name}.html"' in reference, f"the reference does not list {name}"
    similarity = text_of(site.html / "reference" / "clhelpers.similarity.html")
    assert 'id="clhelpers.similarity.cosine_similarity_matrix"' in similarity


def test_every_internal_link_and_anchor_resolves(site):
    broken, checked, external = check_site(site.html)
    assert checked > 100
    assert broken == [], "broken links:\n" + "\n".join(broken[:50])


def test_no_markup_leaks_onto_the_pages(site):
    """reST that pandoc produced but docutils could not nest (e.g. math inside emphasis) shows as text."""
    for page in [site.html / "index.html", site.html / "nt-xent.html", *sorted((site.html / "notebooks").glob("*.html"))]:
        body = re.sub(r"<(script|style|pre)[\s\S]*?</\1>", "", text_of(page))
        words = re.sub(r"<[^>]+>", " ", body)
        leaks = re.findall(r".{30}(?::math:`|:raw-html:`|\*\*\S).{30}", words)
        assert leaks == [], f"{page.name}: {leaks}"


def test_download_links_give_the_notebook_as_stored(site):
    for nb in NOTEBOOKS:
        page = site.html / "notebooks" / f"{nb.stem}.html"
        links = re.findall(r'href="(\.\./_downloads/[^"]+/' + re.escape(nb.name) + ')"', text_of(page))
        assert links, f"{nb.name}: no download link on its page"
        assert (page.parent / links[0]).read_bytes() == nb.read_bytes(), f"{nb.name}: the download differs from the stored notebook"

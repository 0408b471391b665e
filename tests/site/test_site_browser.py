"""The built site in headless Chromium: the landing page and every notebook page load without a console
error or a request leaving 127.0.0.1, their figures load, the saved widgets render (sliders where the
notebook has them), the solutions stay closed, and a screenshot of each lands in tests/site/artifacts/.

Run alone: ``python -m pytest tests/site -v`` (skips without Chromium, like tests/browser).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import clsite
from sitetools import ARTIFACTS, DOCS, REPO

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def stored(nb: Path) -> dict:
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    outputs = [o for c in cells for o in c.get("outputs", [])]
    return {
        "png": sum("image/png" in o.get("data", {}) for o in outputs),
        "widgets": sum(WIDGET_VIEW in o.get("data", {}) for o in outputs),
        "sliders": sum(clsite.is_slider_output(o) for o in outputs),
        "details": sum("<details" in "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"),
    }


class Watch:
    """Console errors, uncaught exceptions, failed requests and requests leaving 127.0.0.1 of one tab."""

    def __init__(self, page, base: str) -> None:
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:")) else self.problems.append(f"external request: {r.url}"))


@pytest.fixture
def tab(browser_context, site_url):
    if not (DOCS / "_static" / "vendor" / "require.js").exists():
        pytest.fail("the pages' JavaScript is not vendored, so widgets and formulas cannot render offline: run python docs/fetch_js.py")
    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page, Watch(page, site_url)
    finally:
        page.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_landing_page(tab, site_url):
    page, watch = tab
    page.goto(f"{site_url}/index.html", wait_until="load")
    assert page.locator("h1").first.inner_text().startswith("Contrastive Learning, Hands-On")
    for nb in NOTEBOOKS:
        assert page.locator(f'a[href="notebooks/{nb.stem}.html"]').count() >= 1, f"no link to {nb.name}"
    page.wait_for_timeout(500)
    screenshot(page, "site_index.png")
    assert watch.problems == []


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_notebook_page(tab, site_url, nb):
    page, watch = tab
    want = stored(nb)
    page.goto(f"{site_url}/notebooks/{nb.stem}.html", wait_until="load")
    # Figures: every stored PNG is on the page and decoded (interact outputs add more inside widgets).
    page.wait_for_function("n => [...document.querySelectorAll('.nboutput img')].filter(i => i.complete && i.naturalWidth > 0).length >= n", arg=want["png"])
    # Widgets: the HTML manager replaces each saved view by a rendered widget.
    if want["widgets"]:
        page.wait_for_function("n => document.querySelectorAll('.jupyter-widgets.widget-subarea > *, .widget-subarea .jupyter-widgets').length >= n", arg=1)
        assert page.locator("text=Error displaying widget").count() == 0
    if want["sliders"]:
        page.wait_for_function("n => document.querySelectorAll('.widget-slider .noUi-handle, .widget-slider input[type=range]').length >= n", arg=want["sliders"])
        slider = page.locator(".widget-slider").first
        slider.scroll_into_view_if_needed()
        assert slider.is_visible()
        assert page.get_by_text("This slider needs a running kernel").count() == want["sliders"]
    # Formulas typeset by the vendored MathJax (on the pages that have any).
    if page.locator(".math").count():
        page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0")
    # Solutions: closed, their content hidden until clicked.
    details = page.locator("details")
    assert details.count() >= want["details"]
    assert page.evaluate("() => [...document.querySelectorAll('details')].every(d => !d.open)")
    if want["details"]:
        first = details.first
        first.scroll_into_view_if_needed()
        hidden_code = first.locator("pre").first
        assert not hidden_code.is_visible(), "a solution's code is visible before its <details> is opened"
        first.locator("summary").click()
        assert hidden_code.is_visible()
        first.locator("summary").click()
    page.wait_for_timeout(300)
    if want["sliders"]:
        page.locator(".widget-slider").first.scroll_into_view_if_needed()
    screenshot(page, f"site_{nb.stem}.png")
    assert watch.problems == [], "\n".join(watch.problems)

"""End to end: the notebooks in a real JupyterLab, in headless Chromium, as a reader sees them.

* Notebook 01 is run top to bottom, then its temperature slider is moved with the keyboard and
  with the mouse, and the printed entropy must follow: lower temperature -> lower entropy.
  A screenshot lands in tests/browser/artifacts/.
* Every notebooks/*.ipynb is opened: JupyterLab must load all its cells and start its kernel
  (status idle) without an error dialog. The training notebooks are not run here (nbval does).

Run: CLHELPERS_OFFLINE=1 python -m pytest tests/browser -v
(skips only when no Chromium is found; see conftest.py).
"""
from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, notebooks_source

NB01 = "01_similarity_and_temperature.ipynb"
ENTROPY = re.compile(r"entropy\s*[=:]\s*(-?\d+(?:\.\d+)?)")

# True once the CURRENT tab is the notebook named `name` (not the previous test's tab, which stays
# current while the new page loads) and its kernel is idle.
KERNEL_IDLE_JS = """(name) => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  if (!w || !w.context || !w.context.path.endsWith(name)) return false;
  const k = w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(k && k.status === 'idle' && w.content && w.content.model);
}"""

ALL_RUN_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return cells.every(c => c.model.executionCount !== null && !c.node.querySelector('.jp-InputPrompt')?.textContent.includes('*'));
}"""

ERRORS_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content.model.toJSON();
  const errs = [];
  for (const cell of nb.cells) for (const o of (cell.outputs || []))
    if (o.output_type === 'error') errs.push(o.ename + ': ' + o.evalue);
  return errs;
}"""


def notebook_paths() -> list[Path]:
    return sorted(notebooks_source().glob("*.ipynb"))


def open_notebook(page, lab, name: str, timeout_ms: int = 90_000) -> None:
    """Open notebooks/``name`` in a workspace of its own. In the default workspace JupyterLab would also restore
    every notebook an earlier test opened, each starting a kernel, and one whose kernel an earlier test's teardown
    shut down raised 'Kernel is dead' in the page (seen once in a full run, on notebook 07)."""
    workspace = f"test-{secrets.token_hex(6)}"
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/notebooks/{name}?token={lab.token}")
    page.wait_for_function(KERNEL_IDLE_JS, arg=name, timeout=timeout_ms)


def dialogs(page) -> list[str]:
    return [t.strip() for t in page.locator(".jp-Dialog").all_inner_texts()]


def finish(page, box, page_errors: list, screenshot: str) -> None:
    """Screenshot the page with ``box`` in view into ``artifacts/screenshot``; then no cell shows an error,
    no dialog is open and the page raised no uncaught JavaScript error."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / screenshot))
    assert page.evaluate(ERRORS_JS) == []
    assert dialogs(page) == [], f"unexpected dialog: {dialogs(page)}"
    assert page_errors == [], f"uncaught JavaScript errors: {page_errors}"


def entropy_of(output) -> float:
    text = output.text_content() or ""  # textContent: also works while JupyterLab has the cell off-screen
    found = ENTROPY.findall(text)
    assert found, f"no 'entropy = ...' line under the temperature slider: {text!r}"
    return float(found[-1])


def settled(output, value: float, quiet_s: float = 0.8, timeout_s: float = 15.0) -> float:
    """Keep reading until the printed entropy has not changed for ``quiet_s`` (key presses queue callbacks)."""
    deadline, last_change = time.monotonic() + timeout_s, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - last_change < quiet_s:
        time.sleep(0.2)
        try:
            now = entropy_of(output)
        except AssertionError:  # between clearing the output and printing the new line
            last_change = time.monotonic()
            continue
        if now != value:
            value, last_change = now, time.monotonic()
    return value


def wait_for_new_entropy(output, old: float, timeout_s: float = 30.0) -> float:
    """Poll the output widget until the printed entropy differs from ``old``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = entropy_of(output)
        except AssertionError:  # the interact output is cleared and re-printed: try again
            value = old
        if value != old:
            return settled(output, value)
        time.sleep(0.2)
    raise AssertionError(f"the entropy stayed at {old} for {timeout_s} s after moving the slider")


def test_notebook_01_runs_and_temperature_slider_drives_entropy(page, lab):
    assert (lab.root / "notebooks" / NB01).exists(), f"notebooks/{NB01} is missing"
    page_errors: list[str] = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    open_notebook(page, lab, NB01)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_timeout(500)  # let the first cells be queued before polling
    page.wait_for_function(ALL_RUN_JS, timeout=180_000, polling=500)
    assert page.evaluate(ERRORS_JS) == [], "a cell raised in the browser run"
    assert not page.get_by_text("Error displaying widget").count(), "a widget failed to render (is jupyterlab_widgets installed?)"

    # The interact whose slider is labelled with the temperature and whose output prints the entropy.
    box = page.locator(".widget-interact").filter(has=page.locator(".widget-label", has_text=re.compile(r"temp|τ|tau", re.I)))
    box = box.filter(has_text=ENTROPY).first
    box.scroll_into_view_if_needed()
    handle = box.locator(".noUi-handle").first
    output = box  # the interact's text: slider label and readout, then the printed line
    start = entropy_of(output)

    # Keyboard: focus the handle, step the (log) temperature down, then back up.
    handle.focus()
    for _ in range(10):  # 10 steps of 0.01 in log10(t): t from 1.0 to about 0.79
        handle.press("ArrowLeft")
    colder = wait_for_new_entropy(output, start)
    assert colder < start, f"lower temperature should lower the entropy: {start} -> {colder}"
    for _ in range(20):
        handle.press("ArrowRight")
    warmer = wait_for_new_entropy(output, colder)
    assert warmer > colder, f"higher temperature should raise the entropy: {colder} -> {warmer}"

    # Mouse: drag the handle to the left end of the track (the smallest temperature).
    track = box.locator(".noUi-target").first.bounding_box()
    hb = handle.bounding_box()
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] - 20, hb["y"] + hb["height"] / 2, steps=12)
    page.mouse.up()
    coldest = wait_for_new_entropy(output, warmer)
    assert coldest < colder, f"dragging to the smallest temperature should give the lowest entropy: {coldest} vs {colder}"

    print(f"entropy (nats): start {start}, colder {colder}, warmer {warmer}, dragged to the left end {coldest}")
    finish(page, box, page_errors, "01_temperature_slider.png")


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_notebook_opens_with_a_live_kernel(page, lab, path):
    page_errors: list[str] = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    open_notebook(page, lab, path.name)
    served = lab.root / "notebooks" / path.name  # the copy the server was started with
    n_cells = len(json.loads(served.read_text())["cells"])
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.length") == n_cells
    assert page.locator(".jp-Notebook .jp-Cell").count() > 0, "no cell rendered"
    open_docs = page.evaluate("() => Array.from(window.jupyterapp.shell.widgets('main')).filter(w => w.context).map(w => w.context.path)")
    assert open_docs == [f"notebooks/{path.name}"], f"the test's workspace should hold this notebook alone: {open_docs}"
    # A moment later the kernel must (still, or again after a brief busy spell) be idle: not dead
    # or restarting; and no error dialog.
    page.wait_for_timeout(1000)
    try:
        page.wait_for_function(KERNEL_IDLE_JS, arg=path.name, timeout=30_000)
    except Exception:
        status = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus")
        pytest.fail(f"the kernel did not return to idle (status {status!r}); server log:\n{lab.log_tail()}")
    assert dialogs(page) == [], f"unexpected dialog: {dialogs(page)}"
    assert page_errors == [], f"uncaught JavaScript errors: {page_errors}"

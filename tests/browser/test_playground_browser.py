"""End to end: notebook 02's live 2-D playground in a real JupyterLab, in headless Chromium.

Notebook 02 is run top to bottom; in the playground widget the temperature slider is dragged to its
largest value (same-class samples must end up closer), the "step" button is clicked (the step count must
grow), and "negatives off" is toggled (the samples must collapse: std near 0). Each check reads the line
the widget prints (``clhelpers.widgets.playground_line``). A screenshot lands in
tests/browser/artifacts/.

Run: CLHELPERS_OFFLINE=1 python -m pytest -q tests/browser/test_playground_browser.py
"""
from __future__ import annotations

import re
import time

from .test_notebooks_in_browser import ALL_RUN_JS, ERRORS_JS, finish, open_notebook

NB02 = "02_deriving_nt_xent.ipynb"
LINE = re.compile(r"τ = (?P<t>[\d.]+) \| negatives (?P<neg>on|off) \| step (?P<step>\d+) \| alignment = [-\d.]+ \| "
                  r"uniformity = [-\d.]+ \| same-class cos = (?P<cos>[-\d.]+) \| std = (?P<std>[-\d.]+)")


def summary(box) -> dict | None:
    """The last printed playground line under the widget, parsed; None while the output is being redrawn."""
    found = list(LINE.finditer(box.text_content() or ""))
    if not found:
        return None
    m = found[-1].groupdict()
    return {"t": float(m["t"]), "negatives": m["neg"] == "on", "step": int(m["step"]), "cos": float(m["cos"]),
            "std": float(m["std"])}


def wait_for(box, condition, what: str, timeout_s: float = 30.0) -> dict:
    """Poll the printed line until ``condition(values)`` holds."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        last = summary(box)
        if last is not None and condition(last):
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what}: the printed line is still {last} after {timeout_s} s")


def test_playground_slider_step_and_negatives_toggle(page, lab):
    page_errors: list[str] = []
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    open_notebook(page, lab, NB02)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_timeout(500)
    page.wait_for_function(ALL_RUN_JS, timeout=120_000, polling=500)
    assert page.evaluate(ERRORS_JS) == [], "a cell raised in the browser run"
    assert not page.get_by_text("Error displaying widget").count(), "a widget failed to render"

    box = page.locator(".widget-interact").filter(has=page.get_by_role("button", name="negatives off")).first
    box.scroll_into_view_if_needed()
    start = wait_for(box, lambda v: True, "the playground printed nothing")
    assert start["negatives"] and start["step"] == 100 and abs(start["t"] - 0.2) < 1e-3 and start["std"] > 0.7, start

    # Drag the temperature handle to the right end (t = 5): classes stay together, same-class cosine rises.
    slider = box.locator(".widget-hslider", has=page.locator(".widget-label", has_text="temperature")).first
    handle, track = slider.locator(".noUi-handle").first, slider.locator(".noUi-target").first.bounding_box()
    hb = handle.bounding_box()
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] + 20, hb["y"] + hb["height"] / 2, steps=8)
    page.mouse.up()
    warm = wait_for(box, lambda v: v["t"] > 4.0, "dragging the temperature to its right end")
    assert warm["cos"] > start["cos"] + 0.1, f"a large t should keep same-class samples together: {start} -> {warm}"

    box.get_by_role("button", name=re.compile(r"step \+")).click()
    stepped = wait_for(box, lambda v: v["step"] > warm["step"], "clicking the step button")

    box.get_by_role("button", name="negatives off").click()
    collapsed = wait_for(box, lambda v: not v["negatives"], "toggling negatives off")
    for _ in range(8):  # 8 x 25 more steps of the pull term alone
        box.get_by_role("button", name=re.compile(r"step \+")).click()
    collapsed = wait_for(box, lambda v: v["step"] >= stepped["step"] + 200, "stepping with negatives off")
    assert collapsed["std"] < 0.05 < 0.7 < stepped["std"], f"no collapse without negatives: {stepped} -> {collapsed}"

    print(f"playground: start {start}, t dragged {warm}, stepped {stepped}, negatives off {collapsed}")
    finish(page, box, page_errors, "02_playground.png")

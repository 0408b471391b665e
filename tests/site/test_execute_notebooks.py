""".ci/execute_notebooks.py: "Restart Kernel and Run All" with the widget state stored, checked on notebook 01
(the fast one) written to a temporary folder; the repository's notebooks are never touched.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sitetools import REPO

pytestmark = pytest.mark.slow

NB01 = REPO / "notebooks" / "01_similarity_and_temperature.ipynb"


def texts(nb: dict) -> list[list[str]]:
    """Each code cell's printed text and plain-text results (what nbval compares, images aside)."""
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        shown = []
        for o in cell.get("outputs", []):
            if "widget-view+json" in " ".join(o.get("data", {})):
                continue  # a widget's text/plain repr; its state is checked below
            shown.append("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")))
        out.append(shown)
    return out


def test_execute_notebook_01_with_widget_state(tmp_path):
    before = NB01.read_bytes()
    done = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "execute_notebooks.py"), "--out-dir", str(tmp_path), str(NB01)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert NB01.read_bytes() == before, "the script changed the repository's notebook"
    ran = json.loads((tmp_path / NB01.name).read_text())
    stored = json.loads(before)
    counts = [c["execution_count"] for c in ran["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))
    state = ran["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    views = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
             for c in ran["cells"] for o in c.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]  # fmt: skip
    assert views and all(v in state for v in views), "a displayed widget has no saved state"
    assert any(m["model_name"].endswith("SliderModel") for m in state.values())
    assert texts(ran) == texts(stored), "the re-run prints something other than the stored notebook"

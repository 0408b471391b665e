"""Re-execute notebooks as JupyterLab's "Restart Kernel and Run All" would, with the widget state saved.

Each notebook gets a fresh kernel started in the notebook's own folder; every cell runs in order
(execution counts 1, 2, 3, ...), stops at the first error, and the notebook is written back with
its outputs and the state of its widgets (``metadata.widgets``), which is what lets the static site
draw the sliders and progress bars. The kernel is this Python's (the venv's), as with
``pytest --nbval-current-env``; CLHELPERS_OFFLINE=1 is set unless the environment says otherwise,
so that the outputs match what nbval compares.

    python .ci/execute_notebooks.py                        # every notebooks/*.ipynb, in place
    python .ci/execute_notebooks.py notebooks/01_*.ipynb   # some of them
    python .ci/execute_notebooks.py --out-dir /tmp/nbs notebooks/01_*.ipynb   # leave the originals alone

With --out-dir the notebook still runs in its own folder (relative paths such as ../data resolve as
for a reader) and only the result is written elsewhere.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def execute(path: Path, out: Path, timeout: int | None) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    client = NotebookClient(
        nb,
        timeout=timeout,  # per cell; None: no limit (the training cells take minutes on a CPU)
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},  # the kernel's working folder
        store_widget_state=True,
        record_timing=True,
        allow_errors=False,
    )
    client.execute(cleanup_kc=True)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: execution counts out of order: {counts}"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--out-dir", type=Path, help="write the executed notebooks here instead of in place")
    parser.add_argument("--timeout", type=int, default=None, help="seconds per cell (default: no limit)")
    args = parser.parse_args(argv)
    os.environ.setdefault("CLHELPERS_OFFLINE", "1")
    os.environ.pop("MPLBACKEND", None)  # the inline backend, as for a reader
    paths = args.notebooks or sorted((REPO / "notebooks").glob("*.ipynb"))
    for path in paths:
        path = path.resolve()
        out = (args.out_dir.resolve() / path.name) if args.out_dir else path
        print(f"{path.name}: running ...", flush=True)
        seconds = execute(path, out, args.timeout)
        print(f"{path.name}: done in {seconds:.0f} s -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Helpers of the site's tests (a module of its own name, so that test modules import it unambiguously)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

sys.path.insert(0, str(DOCS / "_ext"))  # clsite, the site's own Sphinx extension


def build_command(out: Path, doctrees: Path) -> list[str]:
    """The README's site command, into ``out``."""
    return [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-d", str(doctrees), str(DOCS), str(out)]


def require_site_tools() -> None:
    missing = [m for m in ("sphinx", "nbsphinx", "myst_parser", "pydata_sphinx_theme") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"site packages not installed ({', '.join(missing)}): pip install -r requirements-site.txt")
    if shutil.which("pandoc") is None:
        pytest.skip("pandoc not found (nbsphinx converts markdown cells with it): apt-get install pandoc")


@dataclass
class Built:
    html: Path
    seconds: float
    log: str


def run_build(tmp: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        build_command(tmp / "html", tmp / "doctrees"), cwd=REPO, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=600,
    )  # fmt: skip

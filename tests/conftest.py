"""Shared test set-up: a headless matplotlib backend (offline data and the float32 path: ../conftest.py)."""
import sys
from pathlib import Path

import matplotlib
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/browser is the package `browser`
from browser.chromium import browser_context, chromium_path  # noqa: E402,F401  (one Chromium for the whole session)

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test opened, so figures don't pile up across tests."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")

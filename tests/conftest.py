"""Shared test set-up: a headless matplotlib backend and offline data."""
import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("CLHELPERS_OFFLINE", "1")  # no test may touch the network


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test opened, so figures don't pile up across tests."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")

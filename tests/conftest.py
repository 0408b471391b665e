"""Shared test set-up: a headless matplotlib backend (offline data and the float32 path: ../conftest.py)."""
import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test opened, so figures don't pile up across tests."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")

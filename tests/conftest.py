"""Shared test set-up: a headless matplotlib backend and offline data."""
import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("CLHELPERS_OFFLINE", "1")  # no test may touch the network

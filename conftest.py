"""Set-up for the whole suite (unit tests in tests/ and every notebook under nbval), loaded before anything runs.

* ``CLHELPERS_OFFLINE=1``: no test and no notebook may touch the network (verified data files on disk are used).
* ``CLHELPERS_BF16=0``: the float32 path on every CPU kind. The stored notebook outputs come from that path, so
  nothing nbval checks can depend on whether this CPU has native bf16 (AVX512-BF16) or not (AVX2 only). To try
  the bf16 path of the code, set ``CLHELPERS_BF16=1`` yourself (stored outputs that name the precision will differ).

The notebooks' kernels inherit this environment (nbval starts them from the pytest process).
"""
import os

os.environ.setdefault("CLHELPERS_OFFLINE", "1")
os.environ.setdefault("CLHELPERS_BF16", "0")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (training, a browser, a notebook); "
                                       "the fast lane is pytest -m 'not slow'")


def pytest_collection_modifyitems(config, items):
    """Notebook cells and the browser and site tests are slow items: the fast lane (-m 'not slow') runs the unit
    tests only (the slow unit tests carry @pytest.mark.slow themselves)."""
    import pytest

    for item in items:
        path = item.nodeid.split("::")[0]
        if path.endswith(".ipynb") or path.startswith(("tests/browser/", "tests/site/")):
            item.add_marker(pytest.mark.slow)

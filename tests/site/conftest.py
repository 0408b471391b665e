"""Fixtures for the static site's tests (docs/, issue 21): one build per session, served on 127.0.0.1.

The site is built once, with the README's command (``sphinx-build -W --keep-going``) into a temporary
folder, from the stored notebooks (what the site publishes). Chromium and its Playwright context come
from tests/browser/chromium.py (registered in tests/conftest.py) (Debian's chromium, no download; the test skips when there is none).

Skips, each with its reason: Sphinx/nbsphinx/myst-parser not installed (``pip install -r
requirements-site.txt``), or no ``pandoc`` (``apt-get install pandoc``). Fails when the pages'
JavaScript was not vendored (``python docs/fetch_js.py``): without it the sliders cannot render offline.
"""
from __future__ import annotations

import functools
import http.server
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sitetools import Built, require_site_tools, run_build  # noqa: E402


def pytest_configure(config):
    # The project's fast lane deselects `slow`; register it here if the root config does not.
    if not any(line.split(":")[0].strip() == "slow" for line in config.getini("markers")):
        config.addinivalue_line("markers", "slow: takes tens of seconds or more (deselect with -m 'not slow')")


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Built:
    require_site_tools()
    tmp = tmp_path_factory.mktemp("site")
    start = time.monotonic()
    done = run_build(tmp)
    seconds = time.monotonic() - start
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"the site build failed (exit {done.returncode}):\n{log[-6000:]}"
    print(f"site built in {seconds:.1f} s")
    return Built(html=tmp / "html", seconds=seconds, log=log)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site_url(site) -> str:
    """The built site served by a local HTTP server on 127.0.0.1 (a random free port)."""
    handler = functools.partial(_Quiet, directory=str(site.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

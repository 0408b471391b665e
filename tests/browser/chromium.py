"""Headless Chromium for every browser test (tests/browser and tests/site): Debian's chromium, driven by
Playwright for Python, never downloaded. The two fixtures are registered once, in tests/conftest.py, so that one
Playwright instance serves the whole session (a second sync Playwright in the same thread is refused).
"""
from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def find_chromium() -> str | None:
    """Debian's chromium first; $CLHELPERS_CHROMIUM overrides; then anything Chromium-like on PATH."""
    candidates = [os.environ.get("CLHELPERS_CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip(
            "no Chromium found: looked for $CLHELPERS_CHROMIUM, /usr/bin/chromium and chromium/chromium-browser/"
            "google-chrome on PATH. Install it (Debian/Ubuntu: apt-get install chromium) to run the browser tests."
        )
    return path


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory, chromium_path):
    """Headless Chromium with a fresh user-data-dir, via Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    user_data = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(user_data),
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()

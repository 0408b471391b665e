"""Fixtures for the end-to-end browser tests: a throwaway JupyterLab server and headless Chromium.

Everything runs locally: the server listens on 127.0.0.1 on a random free port with a random
token, with its config/data/runtime/settings directories in a temporary folder, and serves a
*copy* of notebooks/ (so nothing the browser does, such as autosave or checkpoints, can touch
the repository). Announcements, update checks and the extension manager's PyPI look-ups are
switched off. Chromium is Debian's (/usr/bin/chromium or $CLHELPERS_CHROMIUM), driven by
Playwright for Python (the fixtures `chromium_path` and `browser_context` live in tests/browser/chromium.py and
are registered once in tests/conftest.py, so the site tests share the same browser); no browser is ever downloaded. Both are torn down even when a test fails.

Set CLHELPERS_BROWSER_NOTEBOOKS=/some/dir to serve another notebooks folder (handy while
developing the tests against a scratch notebook).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
def notebooks_source() -> Path:
    return Path(os.environ.get("CLHELPERS_BROWSER_NOTEBOOKS", REPO / "notebooks")).resolve()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Delete every session and kernel, so kernels from one test don't pile up in the next."""
        for session in self.api("GET", "/api/sessions") or []:
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels") or []:
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else "(no server log)"


def _write_settings(settings_dir: Path) -> None:
    """JupyterLab user settings: no autosave, no news, no update checks."""
    files = {
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for rel, content in files.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


@pytest.fixture(scope="session")
def lab(tmp_path_factory, chromium_path) -> Lab:
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of the notebooks."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    shutil.copytree(notebooks_source(), root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name in ("config", "data", "runtime", "ipython", "workspaces"):
        (base / name).mkdir()
    _write_settings(base / "settings")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        CLHELPERS_OFFLINE="1",
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
    )
    env.pop("MPLBACKEND", None)  # notebooks use the inline backend, as for a reader
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        f"--LabApp.user_settings_dir={base / 'settings'}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]  # fmt: skip
    log = base / "server.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=log_file, stderr=subprocess.STDOUT)
    server = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, log=log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with code {proc.returncode}:\n{server.log_tail()}")
            try:
                server.api("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within 90 s:\n{server.log_tail()}")
                time.sleep(0.5)
        yield server
    finally:
        try:
            if proc.poll() is None:
                server.shutdown_kernels()
        except Exception:  # the server may already be gone; terminating it below is what matters
            pass
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def page(browser_context, lab):
    """A new tab; on teardown it is closed and every kernel the test started is shut down."""
    tab = browser_context.new_page()
    tab.set_default_timeout(60_000)
    try:
        yield tab
    finally:
        tab.close()
        lab.shutdown_kernels()

"""Browser tests: a real `crmhub serve` on the demo hub, driven by Debian's Chromium.

One demo hub is built per session (what `crmhub demo` does, plus the users alice/admin,
sam/steward and vera/viewer: tests/hub/helpers.py `build_demo_hub`, shared with the hub
tests) and one server process serves it. Before every test the hub's SQLite database is
restored from a snapshot taken right after set-up (SQLite's online backup, which is safe
while the server holds connections), so every test starts from the same demo data and the
tests pass in any order. Each test leaves a full-page screenshot in
tests/browser/screenshots/ (git-ignored); the path is printed at the end of the run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.browser.helpers import HubServer
from tests.hub.helpers import build_demo_hub, copy_database

CHROMIUM = "/usr/bin/chromium"  # Debian's package, installed by scripts/ensure-services.sh
SCREENSHOTS = Path(__file__).parent / "screenshots"
START_TIMEOUT = 90.0  # seconds; importing the app is slow on a busy CI machine
_SAVED = pytest.StashKey[list[Path]]()  # the screenshots written in this run

expect.set_options(timeout=15_000)


def _crmhub() -> str:
    """The crmhub script of the interpreter running the tests (the project's venv)."""
    beside = Path(sys.executable).parent / "crmhub"
    if beside.exists():
        return str(beside)
    found = shutil.which("crmhub")
    if found is None:
        raise RuntimeError(f"no crmhub next to {sys.executable} or on PATH: run `make install`")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"crmhub serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"crmhub serve did not answer within {START_TIMEOUT}s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    base = tmp_path_factory.mktemp("browser-hub")
    crmhub = _crmhub()
    demo = build_demo_hub(base / "demo", push=True, actor="crmhub demo")
    directory, database, config = demo.folder, demo.sqlite_file, demo.folder / "hub.yaml"
    snapshot = base / "snapshot.db"
    copy_database(database, snapshot)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = base / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [crmhub, "serve", "--host", "127.0.0.1", "--port", str(port), "-c", str(config)],
            cwd=directory,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
    try:
        _wait_until_serving(url, process, log)
        yield HubServer(url, directory, database, snapshot)
    finally:
        process.terminate()  # this PID only: the server we started
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture
def hub(hub_server: HubServer) -> HubServer:
    """The running server, with the demo data as fresh as right after `crmhub demo`."""
    hub_server.reset()
    return hub_server


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with scripts/ensure-services.sh")
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True)
    yield browser
    browser.close()


def _screenshot_name(nodeid: str) -> str:
    path, _, name = nodeid.partition("::")
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{Path(path).stem}__{name}").strip("_") + ".png"


@pytest.fixture
def context(browser: Browser, hub: HubServer) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=hub.url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A browser tab on the hub; its final state is saved as a screenshot."""
    tab = context.new_page()
    yield tab
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / _screenshot_name(request.node.nodeid)
    tab.screenshot(path=str(path), full_page=True)
    request.config.stash.setdefault(_SAVED, []).append(path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    saved = terminalreporter.config.stash.get(_SAVED, [])
    if saved:
        terminalreporter.write_line(f"browser screenshots ({len(saved)}): {SCREENSHOTS}")

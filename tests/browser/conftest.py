"""Browser fixtures: Debian's Chromium driven by Playwright for Python, and a real server.

Chromium comes from Debian (``make test`` installs the ``chromium`` package); Playwright never
downloads a browser here.  ``site`` starts ``dialer run --web`` as a process on 127.0.0.1 over a
prepared SQLite database (users, a campaign) on the simulated carrier; ``browser`` is one
headless Chromium per test module; ``shot(page, name)`` keeps a screenshot of a page in
``test-output/screenshots/``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import needs

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

#: the simulated carrier of the browser flows: every customer answers fast and talks briefly.
SITE_CONFIG = """\
[telephony]
backend = "sim"

[telephony.sim]
live = 1.0
machine = 0.0
busy = 0.0
rejected = 0.0
failed = 0.0
answer_delay_mean_s = 1.0
answer_delay_cv = 0.2
talk_mean_s = 4.0
talk_cv = 0.2
wrap_mean_s = 2.0
wrap_cv = 0.2

[callbacks]
public_base_url = "{url}"
link_secret = "browser-tests-link-secret-0123456789abcdef"
"""


def chromium_path() -> str:
    return needs.binary("chromium", "chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        needs.missing("Playwright for Python (pip install playwright)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as ``test-output/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Site:
    """``dialer run --web`` on a prepared database; stopped by pid."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = f"sqlite:///{directory / 'site.db'}"
        self.config = directory / "site.toml"
        self.config.write_text(SITE_CONFIG.format(url=self.url))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
        self.proc: subprocess.Popen[bytes] | None = None

    def dialer(self, *argv: str) -> str:
        """Run a ``dialer`` command in this process on the site's database; its stdout."""
        from tests.clirunner import CliRunner

        result = CliRunner(self.db_url)(*argv, "--config", str(self.config))
        assert result.code == 0, result.err
        return result.out

    def start(self) -> None:
        with (self.directory / "site.out").open("wb") as out, \
                (self.directory / "site.err").open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dialer", "run", "--web", "--port", str(self.port),
                 "--db", self.db_url, "--config", str(self.config), "--status-poll-s", "0.5",
                 "--tick-s", "0.2"], stdout=out, stderr=err, env=self.env, cwd=self.directory)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if re.search(r"SERVING url=", (self.directory / "site.err").read_text()):
                return
            assert self.proc.poll() is None, (self.directory / "site.err").read_text()
            time.sleep(0.05)
        raise AssertionError("the site did not start")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A running site with users admin/super/agent1 (password ``pw-<name>-12345``)."""
    chromium_path()
    running = Site(tmp_path_factory.mktemp("site"))
    running.dialer("db", "upgrade")
    running.dialer("users", "create", "admin", "--admin", "--password", "pw-admin-12345")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def login(page: Any, site: Site, name: str, password: str | None = None) -> None:
    page.goto(f"{site.url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password or f"pw-{name}-12345")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")

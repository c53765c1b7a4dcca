"""``dialer demo`` (``make demo``): engine and web on embedded defaults, one DEMO line (F17)."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.api.test_serve import _start, _stop


def _demo_line(directory: Path, proc, timeout_s: float = 60.0) -> re.Match[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = re.search(r"^DEMO url=(\S+) admin=(\S+?):(\S+) agent=(\S+?):(\S+)$",
                          (directory / "server.out").read_text(), re.MULTILINE)
        if found:
            return found
        assert proc.poll() is None, (directory / "server.err").read_text()
        time.sleep(0.1)
    raise AssertionError("no DEMO line")


@pytest.mark.req("F17")
def test_demo_serves_the_console_and_dials_on_the_simulated_carrier(tmp_path: Path) -> None:
    proc, directory = _start(tmp_path, "demo", "--port", "0")
    try:
        line = _demo_line(directory, proc)
        url, admin, admin_pw, agent, agent_pw = line.groups()
        assert url.startswith("http://127.0.0.1:") and admin == "admin" and agent == "agent1"
        assert (directory / "server.out").read_text().count("\n") == 1  # the one line
        with httpx.Client(base_url=url) as client:
            assert client.get("/healthz").json()["engine"] == "running"
            login = client.post("/api/auth/login", json={"username": admin, "password": admin_pw})
            assert login.status_code == 200
        with httpx.Client(base_url=url) as client:
            assert client.post("/api/auth/login",
                               json={"username": agent, "password": agent_pw}).status_code == 200
        database = directory / "dialer-demo.db"
        deadline = time.monotonic() + 60
        dials = 0
        while time.monotonic() < deadline and dials == 0:
            with sqlite3.connect(database) as conn:
                dials = conn.execute("SELECT count(*) FROM attempt").fetchone()[0]
            time.sleep(0.25)
        assert dials > 0, "the demo placed no call"
    finally:
        assert _stop(proc) == 0

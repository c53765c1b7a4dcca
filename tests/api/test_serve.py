"""``dialer serve`` and ``dialer run`` serve the web application as real processes (F1)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.engine_process import write_config


def _start(tmp_path: Path, *argv: str) -> tuple[subprocess.Popen, Path]:
    err = tmp_path / "server.err"
    out = tmp_path / "server.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen([sys.executable, "-m", "dialer", *argv], stdout=o, stderr=e,
                                env=env, cwd=tmp_path)
    return proc, tmp_path


def _url(proc: subprocess.Popen, directory: Path, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for name in ("server.out", "server.err"):
            found = re.search(r"SERVING url=(\S+)", (directory / name).read_text())
            if found:
                return found.group(1)
        if proc.poll() is not None:
            raise AssertionError((directory / "server.err").read_text())
        time.sleep(0.05)
    raise AssertionError("the server did not announce its address")


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.req("F1")
def test_dialer_serve_serves_the_api_on_loopback_until_sigterm(tmp_path: Path) -> None:
    proc, directory = _start(tmp_path, "serve", "--db", f"sqlite:///{tmp_path / 'd.db'}",
                             "--port", "0")
    try:
        url = _url(proc, directory)
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/healthz").json()["engine"] == "absent"
        assert "/api/auth/login" in httpx.get(f"{url}/openapi.json").json()["paths"]
    finally:
        assert _stop(proc) == 0


@pytest.mark.req("F1")
def test_dialer_run_serves_the_api_beside_the_engine(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    proc, directory = _start(tmp_path, "run", "--db", f"sqlite:///{tmp_path / 'd.db'}",
                             "--config", str(config), "--web", "--port", "0", "--json")
    try:
        url = _url(proc, directory)
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "database": "ok",
                                                       "engine": "running"}
    finally:
        assert _stop(proc) == 0
    assert (directory / "server.out").read_text().strip().startswith("{")

"""Start ``dialer run`` as a real process (sim backend), wait on conditions, stop it by pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CONFIG = """\
[telephony]
backend = "sim"

[telephony.sim]
wrap_mean_s = 0.1
wrap_cv = 0.0
"""


def write_config(directory: Path, extra: str = "") -> Path:
    path = directory / "dialer.toml"
    path.write_text(CONFIG + extra)
    return path


class EngineProcess:
    """One ``dialer run`` process; its output goes to files (no pipe can fill up)."""

    def __init__(self, directory: Path, name: str, db_url: str, *args: str,
                 config: str = "") -> None:
        self.out_path = directory / f"{name}.out"
        self.err_path = directory / f"{name}.err"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALER_")}
        argv = [sys.executable, "-m", "dialer", "run", "--db", db_url,
                "--config", str(write_config(directory, config)), "--json", *args]
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self, timeout_s: float = 30.0) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout=timeout_s)

    def wait(self, timeout_s: float) -> int:
        return self.proc.wait(timeout=timeout_s)

    def stop(self) -> None:
        """Whatever happened: the process is gone when this returns (by pid, never by name)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def report(self) -> Any:
        text = self.out_path.read_text().strip()
        assert text, f"no output; stderr: {self.err_path.read_text()[-2000:]}"
        return json.loads(text.splitlines()[-1])

    def stderr(self) -> str:
        return self.err_path.read_text()


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float,
               alive: EngineProcess | None = None) -> None:
    """Poll ``condition`` until true; fail at the deadline or when ``alive`` exits early."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if alive is not None and alive.proc.poll() is not None:
            raise AssertionError(f"engine exited ({alive.proc.returncode}) before {what}: "
                                 f"{alive.stderr()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)

"""sipp as a process on 127.0.0.1: start with a scenario, wait until it listens, stop by pid."""

from __future__ import annotations

import math
import re
import socket
import subprocess
import time
from pathlib import Path

SCENARIOS = Path(__file__).parent / "sipp"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port < 60000 and _is_free(port, socket.SOCK_STREAM) and _is_free(port + 2):
            return port
    raise RuntimeError("no free port")


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive ports all free for UDP and TCP on 127.0.0.1 right now.

    A SIP pool binds one port per worker from its base; checking only the base
    once let a 34-worker pool's tenth port collide with a socket already there.
    """
    for _ in range(200):
        base = free_port()
        ports = range(base, base + count)
        if base + count < 60000 and all(
                _is_free(port) and _is_free(port, socket.SOCK_STREAM) for port in ports):
            return base
    raise RuntimeError(f"no {count} free consecutive ports")


def _is_free(port: int, kind: int = socket.SOCK_DGRAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ulaw(sample: int) -> int:
    """G.711 mu-law of one 16-bit sample."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = 7
    for exp in range(7, -1, -1):
        if magnitude & (0x4000 >> (7 - exp)):
            exponent = exp
            break
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def write_tone(path: Path, hz: float = 440.0, seconds: float = 1.0) -> Path:
    """One second of a tone as raw mu-law, for sipp's ``rtp_stream``."""
    rate = 8000
    samples = (int(12000 * math.sin(2 * math.pi * hz * n / rate)) for n in range(int(rate * seconds)))
    path.write_bytes(bytes(_ulaw(s) for s in samples))
    return path


class Sipp:
    """One sipp process playing ``scenario`` on 127.0.0.1:``port``."""

    def __init__(self, binary: str, workdir: Path, scenario: str = "carrier.xml", *,
                 port: int | None = None, extra: list[str] | None = None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.scenario = SCENARIOS / scenario
        self.port = port or free_port()
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.messages = workdir / f"sipp_{self.port}_messages.log"
        self.errors = workdir / f"sipp_{self.port}_errors.log"

    def start(self, deadline_s: float = 10.0) -> Sipp:
        write_tone(self.workdir / "tone.ulaw")
        args = [self.binary, "-sf", str(self.scenario), "-i", "127.0.0.1", "-p", str(self.port),
                "-mi", "127.0.0.1", "-mp", str(free_port()), "-nostdin", "-trace_msg",
                "-message_file", str(self.messages), "-trace_err", "-error_file",
                str(self.errors), "-max_recv_loops", "10000", "-max_sched_loops", "10000",
                *self.extra]
        self.proc = subprocess.Popen(args, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + deadline_s
        kind = socket.SOCK_STREAM if "t1" in self.extra else socket.SOCK_DGRAM
        while _is_free(self.port, kind):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"sipp exited with {self.proc.returncode}: {err[-2000:]}")
            if time.monotonic() > end:
                self.stop()
                raise RuntimeError("sipp did not start listening")
            time.sleep(0.02)
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        """Every SIP message sipp sent and received so far (``-trace_msg``)."""
        return self.messages.read_text(errors="replace") if self.messages.exists() else ""

    def received(self, method: str) -> int:
        """How many ``method`` requests sipp has received so far."""
        pattern = r"message received \[\d+\] bytes :\s*\n\s*" + re.escape(method) + r" sip:"
        return len(re.findall(pattern, self.log()))

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

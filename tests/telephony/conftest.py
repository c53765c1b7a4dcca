"""Telephony fixtures: sipp on loopback, the fake AMI server (or a real Asterisk), backend makers."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from telephony import base
from telephony.config import AmiSettings, SipSettings
from tests import needs
from tests.telephony import calls
from tests.telephony.ami.server import FakeAsterisk
from tests.telephony.sipp_server import Sipp, free_port_block


@pytest.fixture(scope="session")
def sipp_binary() -> str:
    return needs.binary("sipp")


@pytest.fixture(scope="session")
def carrier(sipp_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sipp]:
    """sipp playing the carrier and its customers (``sipp/carrier.xml``) for the whole session."""
    server = Sipp(sipp_binary, tmp_path_factory.mktemp("carrier")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def echo_carrier(sipp_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sipp]:
    """The carrier scenario with sipp echoing RTP (numbers ending 0300 answer on the echo port).

    A separate process: sipp's echo also covers the echo port + 2, where its
    ``rtp_stream`` tone would go, and two interleaved streams confuse the receiver.
    """
    server = Sipp(sipp_binary, tmp_path_factory.mktemp("echo"), extra=["-rtp_echo"]).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sipp_factory(sipp_binary: str, tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    """Start extra sipp processes (agent phones...); all stopped by pid at teardown."""
    started: list[Sipp] = []

    def make(scenario: str = "carrier.xml", **kwargs: Any) -> Sipp:
        workdir = tmp_path / f"sipp{len(started)}"
        workdir.mkdir()
        server = Sipp(sipp_binary, workdir, scenario, **kwargs)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()


_port_block = itertools.cycle(range(0, 20_000, 400))


def sip_settings(carrier: Sipp, **overrides: Any) -> SipSettings:
    """Settings for a small pool on loopback, with ports no other test uses."""
    block = next(_port_block)
    values: dict[str, Any] = {"domain": carrier.address, "workers": 2,
                              "rtp_port_min": 30000 + block, "rtp_port_max": 30000 + block + 399,
                              "max_cps_per_worker": 50}
    values.update(overrides)
    values.setdefault("port", free_port_block(values["workers"]))
    return SipSettings(**values)


class ThreadedAmi:
    """The fake AMI server on its own loop and thread, for the whole session."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-ami", daemon=True)
        self.server = FakeAsterisk()
        self.port = 0

    def start(self, port: int = 0) -> ThreadedAmi:
        self.thread.start()
        self.port = self.call(self.server.start(port))
        return self

    def call(self, coro: Any, timeout_s: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def sync(self, func: Callable[[FakeAsterisk], Any]) -> Any:
        async def run() -> Any:
            return func(self.server)
        return self.call(run())

    def stop(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="session")
def fake_ami() -> Iterator[ThreadedAmi]:
    server = ThreadedAmi().start()
    try:
        yield server
    finally:
        server.stop()


def real_ami_settings() -> AmiSettings | None:
    """Settings for the Asterisk named by ``DIALER_TEST_AMI_URL`` (``ami://user:secret@host:port``)."""
    url = os.environ.get("DIALER_TEST_AMI_URL")
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    return AmiSettings(host=parts.hostname or "127.0.0.1", port=parts.port or 5038,
                       username=urllib.parse.unquote(parts.username or ""),
                       secret=urllib.parse.unquote(parts.password or ""),
                       channel="Local/{number}@dialer-test", context="dialer-connect",
                       exten="s", amd=True)


@pytest.fixture
def ami_settings(request: pytest.FixtureRequest) -> AmiSettings:
    """A real Asterisk when DIALER_TEST_AMI_URL is set, else the fake server (Local channels)."""
    real = real_ami_settings()
    if real is not None:
        return real
    server: ThreadedAmi = request.getfixturevalue("fake_ami")
    return AmiSettings(port=server.port, username="dialer", secret="s3cret",
                       channel="Local/{number}@dialer-test", amd=True)


@pytest.fixture(params=["sim", pytest.param("sip", marks=pytest.mark.sipp), "ami"])
def make_backend(request: pytest.FixtureRequest) -> Callable[[], base.Backend]:
    """A factory of fresh (not started) backends, one parameter per technology (C2)."""
    name = request.param
    if name == "sim":
        from telephony import clock, sim  # the simulated carrier (C17), another engineer's module

        profile = sim.CustomerProfile(amd=sim.AmdProfile(live_decision_s=0.05,
                                                         machine_decision_s=0.1))
        return lambda: sim.SimulatedBackend(clock.RealClock(), profile, scripted=calls.SIM_SCRIPT,
                                            scripted_ring_s=0.2, scripted_talk_s=0.5)
    if name == "sip":
        from telephony import sip

        carrier: Sipp = request.getfixturevalue("carrier")
        return lambda: sip.PjsuaBackend(sip_settings(carrier))
    from telephony import ami

    settings: AmiSettings = request.getfixturevalue("ami_settings")
    return lambda: ami.AmiBackend(settings)

"""``dialer bench sip``: what the pjsua2 worker pool sustains against sipp on loopback.

Three measurements in one run, all on 127.0.0.1:

* **baseline** — sipp's own UAC against sipp's own UAS (``-sn uac`` / ``-sn uas``): the
  ceiling of this machine for complete calls (INVITE, 200, ACK, BYE).
* **rate** — ``calls`` short answered calls (sipp answers and hangs up at once) placed
  through :class:`telephony.sip.PjsuaBackend` as fast as its per-worker cap allows; a call
  is lost when it never ends or ends with another outcome than ``answered``.
* **concurrency** — ``agents`` agent legs (sipp phones that answer and stay up) and
  ``concurrent`` customer calls up at the same time, each agent bridged to one customer
  (inside its worker or across workers through a loopback leg); every customer call must
  show RTP received, and every bridged pair audio both ways.

The scenario is ``tests/telephony/sipp/carrier.xml`` of the source checkout.
"""

from __future__ import annotations

import asyncio
import collections
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from dialer.cli import common
from telephony import base, errors, sip
from telephony.config import SipSettings

SCENARIO = Path(__file__).resolve().parents[2] / "tests" / "telephony" / "sipp" / "carrier.xml"
QUICK = "+15550000250"
HOLD_ECHO = "+15550000300"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class _Sipp:
    """One sipp process, stopped by pid."""

    def __init__(self, binary: str, args: list[str], workdir: Path, port: int) -> None:
        self.port = port
        self.proc = subprocess.Popen([binary, *args, "-i", "127.0.0.1", "-p", str(port),
                                      "-nostdin"], cwd=workdir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_listening(self, deadline_s: float = 10.0) -> None:
        end = time.monotonic() + deadline_s
        while not _is_bound(self.port):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise errors.TelephonyError("sipp did not start", error_id="sipp-failed")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _tone(path: Path) -> None:
    import math

    def ulaw(sample: int) -> int:
        sign = 0x80 if sample < 0 else 0
        magnitude = min(abs(sample), 32635) + 0x84
        exponent = next((e for e in range(7, -1, -1) if magnitude & (0x4000 >> (7 - e))), 0)
        return ~(sign | (exponent << 4) | ((magnitude >> (exponent + 3)) & 0x0F)) & 0xFF

    path.write_bytes(bytes(ulaw(int(12000 * math.sin(2 * math.pi * 440 * n / 8000)))
                           for n in range(8000)))


def measure_sipp_baseline(binary: str, workdir: Path, calls: int) -> float:
    """Complete calls per second of sipp's UAC against sipp's UAS on loopback."""
    uas = _Sipp(binary, ["-sn", "uas"], workdir, _free_port())
    try:
        uas.wait_listening()
        stats = workdir / "baseline_stats.csv"
        # sipp exits 1 when any call failed, and waits for the retransmissions of a lost
        # message (32 s): read its statistics instead, and stop it (by pid) once the count
        # of successful calls has stopped growing for two statistics periods.
        started = time.monotonic()
        uac = subprocess.Popen([binary, "-sn", "uac", f"127.0.0.1:{uas.port}", "-i",
                                "127.0.0.1", "-p", str(_free_port()), "-r", "5000", "-rp",
                                "1000", "-m", str(calls), "-d", "0", "-l", "2000", "-nostdin",
                                "-trace_stat", "-stf", str(stats), "-fd", "1"],
                               cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            _wait_for_plateau(uac, stats, deadline_s=60.0)
            wall_s = time.monotonic() - started
        finally:
            if uac.poll() is None:
                uac.terminate()
                try:
                    uac.wait(5)
                except subprocess.TimeoutExpired:
                    uac.kill()
                    uac.wait()
        rate = _sipp_rate(stats)
        if rate == 0.0:
            # A short baseline can finish before sipp writes a statistics row with a
            # measurable elapsed time: fall back to our own (longer, so lower) wall time.
            rate = _successful(stats) / wall_s if wall_s > 0 else 0.0
        return rate
    finally:
        uas.stop()


def _wait_for_plateau(uac: subprocess.Popen[bytes], stats: Path, deadline_s: float) -> None:
    """Until sipp exits, or its successful-call count stops growing for 2.5 s."""
    end = time.monotonic() + deadline_s
    last, since = -1, time.monotonic()
    while uac.poll() is None and time.monotonic() < end:
        time.sleep(0.25)
        try:
            count = _successful(stats)
        except (FileNotFoundError, ValueError, IndexError):
            continue
        if count != last:
            last, since = count, time.monotonic()
        elif count > 0 and time.monotonic() - since > 2.5:
            return


def _successful(stats: Path) -> int:
    rows = [line.split(";") for line in stats.read_text().splitlines() if line.strip()]
    return int(rows[-1][rows[0].index("SuccessfulCall(C)")])


def _sipp_rate(stats: Path) -> float:
    """Best cumulative rate of successful calls in sipp's ``-trace_stat`` rows (one a second).

    Calls that fail under the burst are left out, and so is the time sipp then spends
    waiting for their retransmissions to time out.
    """
    try:
        rows = [line.split(";") for line in stats.read_text().splitlines() if line.strip()]
    except FileNotFoundError as exc:
        raise errors.TelephonyError("sipp baseline wrote no statistics",
                                    error_id="sipp-failed") from exc
    header = rows[0]
    ok, start, now = (header.index(k) for k in ("SuccessfulCall(C)", "StartTime", "CurrentTime"))
    best = 0.0
    for row in rows[1:]:
        elapsed = float(row[now].split("\t")[-1]) - float(row[start].split("\t")[-1])
        if elapsed > 0.05:
            best = max(best, int(row[ok]) / elapsed)
    return best


def _pss_mb(pids: list[int]) -> float:
    """Proportional set size: shared library pages divided among the processes sharing them."""
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except (FileNotFoundError, PermissionError):
            continue
    return round(total_kb / 1024, 1)


def _rss_mb(pids: list[int]) -> float:
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except FileNotFoundError:
            continue
    return round(total_kb / 1024, 1)


class _Tracker:
    """Consumes the backend's events; wakes waiters on every event."""

    def __init__(self, backend: sip.PjsuaBackend) -> None:
        self.backend = backend
        self.ended: dict[str, base.CallEvent] = {}
        self.answered: set[str] = set()
        self.bridged: set[str] = set()
        self.changed = asyncio.Event()

    async def run(self) -> None:
        async for event in self.backend.events():
            if event.kind is base.EventKind.ENDED:
                self.ended[event.call_id] = event
            elif event.kind is base.EventKind.ANSWERED:
                self.answered.add(event.call_id)
            elif event.kind is base.EventKind.BRIDGED:
                self.bridged.add(event.call_id)
            self.changed.set()

    async def until(self, predicate: Any, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.2))
            except TimeoutError:
                pass
        return True


async def measure_rate(settings: SipSettings, calls: int, rate: float) -> dict[str, Any]:
    """Offer ``calls`` quick answered calls at ``rate`` per second (at most what the pool takes)."""
    backend = sip.PjsuaBackend(settings)
    await backend.start()
    tracker = _Tracker(backend)
    task = asyncio.create_task(tracker.run())
    ids: list[str] = []
    try:
        started = time.monotonic()
        while len(ids) < calls:
            delay = started + len(ids) / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                ids.append((await backend.originate(base.CallRequest(QUICK))).call_id)
            except errors.CallNotPlaced:  # every slot busy: wait for a call to end
                await tracker.until(lambda n=len(tracker.ended): len(tracker.ended) > n, 5)
        await tracker.until(lambda: all(i in tracker.ended for i in ids), 30)
        elapsed = time.monotonic() - started
        good = sum(1 for i in ids if i in tracker.ended
                   and tracker.ended[i].outcome is base.CallOutcome.ANSWERED)
        outcomes = collections.Counter(
            f"{e.outcome.value if e.outcome else None}/{e.sip_status}/{e.cause}"
            for i in ids if (e := tracker.ended.get(i)) is not None)
        outcomes["never_ended"] = sum(1 for i in ids if i not in tracker.ended)
        return {"calls_per_s": round(good / elapsed, 1), "failed": len(ids) - good,
                "rate_outcomes": dict(outcomes)}
    finally:
        await backend.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def measure_concurrency(settings: SipSettings, agents_uri: str, concurrent: int,
                              agents: int) -> dict[str, Any]:
    """``agents`` agent legs and ``concurrent`` customer calls at once, agents bridged."""
    backend = sip.PjsuaBackend(settings)
    await backend.start()
    tracker = _Tracker(backend)
    task = asyncio.create_task(tracker.run())
    try:
        legs = [await backend.agent_login(base.Agent(i + 1, f"sip:agent{i + 1}@{agents_uri}"))
                for i in range(agents)]
        handles = [await backend.originate(base.CallRequest(HOLD_ECHO))
                   for _ in range(concurrent)]
        await tracker.until(lambda: all(h.call_id in tracker.answered for h in handles), 20)
        up = [h for h in handles if h.call_id in tracker.answered]
        for leg, handle in _pairs(backend, legs, up):
            await backend.bridge(handle, leg)
        rss = _rss_mb([os.getpid(), *backend.worker_pids()])
        pss = _pss_mb([os.getpid(), *backend.worker_pids()])
        flowing = 0
        for handle in up:
            stats = await backend.media_stats(handle.call_id)
            flowing += bool(stats and stats["rx_pkt"] > 0)
        hearing = 0
        for leg in legs:
            hearing += await _hears(backend, leg.leg_id, deadline_s=5.0)
        lost = [h for h in up if h.call_id in tracker.ended]
        for handle in handles:
            await backend.hangup(handle)
        await tracker.until(lambda: all(h.call_id in tracker.ended for h in handles), 20)
        return {"concurrent_calls": min(len(up) - len(lost), flowing),
                "bridged": len(tracker.bridged), "agents_hearing": hearing,
                "concurrency_failed": concurrent - min(len(up) - len(lost), flowing)
                + (agents - hearing), "rss_mb": rss, "pss_mb": pss, "workers": settings.workers}
    finally:
        await backend.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _pairs(backend: sip.PjsuaBackend, legs: list[base.AgentLeg],
           calls: list[base.CallHandle]) -> list[tuple[base.AgentLeg, base.CallHandle]]:
    """Each agent with a customer of its own worker, else one from a spare worker.

    As the engine would: a loopback leg needs a free slot in the customer's worker,
    and an agent's worker keeps its spare slot for the bridge legs coming to it.
    """
    agent_workers = {backend.worker_of(leg.leg_id) for leg in legs}
    free = list(calls)
    pairs = []
    for leg in legs:
        home = backend.worker_of(leg.leg_id)
        choice = (next((c for c in free if backend.worker_of(c.call_id) == home), None)
                  or next((c for c in free if backend.worker_of(c.call_id) not in agent_workers),
                          None))
        if choice is not None:
            free.remove(choice)
            pairs.append((leg, choice))
    return pairs


async def _hears(backend: sip.PjsuaBackend, call_id: str, deadline_s: float) -> bool:
    """Audio both ways on the call's port (the bridge may need a moment to carry it)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        stats = await backend.media_stats(call_id)
        if stats and stats["rx_level"] > 0 and stats["tx_level"] > 0:
            return True
        await asyncio.sleep(0.1)
    return False


def run_bench(*, calls: int, concurrent: int, agents: int, workers: int, cps: float,
              baseline_calls: int, offered_rate: float) -> dict[str, Any]:
    binary = shutil.which("sipp")
    if binary is None:
        raise common.usage_error("the sipp executable is not installed (Debian sip-tester)")
    if not SCENARIO.exists():
        raise common.usage_error(f"{SCENARIO} is missing (run from a source checkout)")
    with tempfile.TemporaryDirectory(prefix="dialer-bench-") as tmp:
        workdir = Path(tmp)
        _tone(workdir / "tone.ulaw")
        baseline = measure_sipp_baseline(binary, workdir, baseline_calls)
        customers = _Sipp(binary, ["-sf", str(SCENARIO), "-mi", "127.0.0.1", "-mp",
                                   str(_free_port()), "-rtp_echo"], workdir, _free_port())
        phones = _Sipp(binary, ["-sf", str(SCENARIO), "-mi", "127.0.0.1", "-mp",
                                str(_free_port())], workdir, _free_port())
        try:
            customers.wait_listening()
            phones.wait_listening()
            base_port = _free_port()
            rate_settings = SipSettings(domain=f"127.0.0.1:{customers.port}", port=base_port,
                                        workers=workers, max_cps_per_worker=cps,
                                        rtp_port_min=20000, rtp_port_max=29999)
            rate = asyncio.run(measure_rate(rate_settings, calls, offered_rate))
            conc_settings = rate_settings.model_copy(update={"port": base_port + 300})
            conc = asyncio.run(measure_concurrency(conc_settings, f"127.0.0.1:{phones.port}",
                                                   concurrent, agents))
        finally:
            customers.stop()
            phones.stop()
    return {"concurrent_calls": conc["concurrent_calls"], "calls_per_s": rate["calls_per_s"],
            "sipp_calls_per_s": round(baseline, 1),
            "ratio_to_sipp": round(rate["calls_per_s"] / round(baseline, 1), 3)
            if baseline else None,
            "failed": rate["failed"] + conc["concurrency_failed"], "rss_mb": conc["rss_mb"],
            "bridged": conc["bridged"], "agents_hearing": conc["agents_hearing"],
            "workers": workers, "max_cps_per_worker": cps, "calls": calls,
            "offered_calls_per_s": offered_rate, "pss_mb": conc["pss_mb"],
            "rate_outcomes": rate["rate_outcomes"], "load_average": os.getloadavg()[0]}


@click.command("sip")
@click.option("--calls", type=click.IntRange(1), default=2000, show_default=True,
              help="Quick answered calls of the rate measurement.")
@click.option("--concurrent", type=click.IntRange(1), default=100, show_default=True,
              help="Customer calls up at once in the concurrency measurement.")
@click.option("--agents", type=click.IntRange(0), default=20, show_default=True,
              help="Agent legs, each bridged to one customer call.")
@click.option("--workers", type=click.IntRange(1, 256), default=40, show_default=True)
@click.option("--cps-per-worker", "cps", type=click.FloatRange(0, 50, min_open=True),
              default=30.0, show_default=True)
@click.option("--baseline-calls", type=click.IntRange(1), default=6000, show_default=True)
@click.option("--rate", "offered_rate", type=click.FloatRange(0, min_open=True), default=250.0,
              show_default=True, help="New calls per second offered in the rate measurement.")
@common.common_options
def command(calls: int, concurrent: int, agents: int, workers: int, cps: float,
            baseline_calls: int, offered_rate: float) -> None:
    """Concurrent calls and new calls/s of the SIP backend against sipp, beside sipp's own rate."""
    if agents > workers or agents * 2 + (workers - agents) * 3 < concurrent:
        raise common.usage_error("not enough workers for the agents and concurrent calls "
                                 "(agent workers carry 2 customers, spare workers 3)", "workers")
    app = common.app()
    result = run_bench(calls=calls, concurrent=concurrent, agents=agents, workers=workers,
                       cps=cps, baseline_calls=baseline_calls, offered_rate=offered_rate)
    app.emit(result, lambda: "\n".join(f"{k}: {v}" for k, v in result.items()))

"""The pjsua2 worker-pool backend against sipp on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
import pytest

from telephony import base, errors, sip
from telephony.config import SipSettings
from tests.telephony import calls
from tests.telephony.calls import NUMBERS
from tests.telephony.conftest import sip_settings
from tests.telephony.sipp_server import Sipp, free_port

O = base.CallOutcome
K = base.EventKind
ECHO = "+15550000300"

pytestmark = [pytest.mark.sipp, pytest.mark.timeout(120)]


def _backend(carrier: Sipp, **overrides: Any) -> sip.PjsuaBackend:
    return sip.PjsuaBackend(sip_settings(carrier, **overrides))


def _agent(carrier: Sipp, agent_id: int = 1) -> base.Agent:
    return base.Agent(agent_id, f"sip:agent{agent_id}@{carrier.address}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _answered(rec: calls.Recorder, number: str = ECHO, **kwargs: Any) -> base.CallHandle:
    handle = await rec.backend.originate(base.CallRequest(number=number, **kwargs))
    await rec.event(handle.call_id, K.ANSWERED)
    return handle


async def _media(backend: sip.PjsuaBackend, call_id: str,
                 predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Wait until the call's RTP counters / levels satisfy ``predicate``."""
    deadline = time.monotonic() + 8
    while True:
        stats = await backend.media_stats(call_id)
        if stats and predicate(stats):
            return stats
        assert time.monotonic() < deadline, f"media of {call_id}: {stats}"
        await asyncio.sleep(0.1)


# -- outcomes (C8, C9) ----------------------------------------------------------------------


@pytest.mark.req("C8")
@pytest.mark.req("C9")
def test_sipp_final_responses_become_outcomes_with_status(carrier: Sipp) -> None:
    cases = {"busy": (O.BUSY, 486), "rejected": (O.REJECTED, 603),
             "invalid_number": (O.INVALID_NUMBER, 404), "congestion": (O.CONGESTION, 503),
             "ring": (O.NO_ANSWER, 487), "answer_far_hangup": (O.ANSWERED, 200)}

    async def scenario() -> dict[str, tuple[Any, Any]]:
        async with calls.running(_backend(carrier, workers=3)) as rec:
            handles = {case: await rec.backend.originate(base.CallRequest(
                number=NUMBERS[case], ring_timeout_s=1.0)) for case in cases}
            ended = {case: await rec.ended(h.call_id) for case, h in handles.items()}
            return {case: (e.outcome, e.sip_status) for case, e in ended.items()}

    assert calls.run(scenario()) == cases


@pytest.mark.req("C9")
def test_ring_timeout_sends_cancel(carrier: Sipp) -> None:
    before = carrier.received("CANCEL")

    async def scenario() -> base.CallEvent:
        async with calls.running(_backend(carrier, workers=1)) as rec:
            handle = await rec.backend.originate(base.CallRequest(NUMBERS["ring"],
                                                                  ring_timeout_s=0.5))
            return await rec.ended(handle.call_id)

    ended = calls.run(scenario())
    assert (ended.outcome, ended.cause) == (O.NO_ANSWER, "ring_timeout")
    calls.wait_until_sync(lambda: carrier.received("CANCEL") > before)


@pytest.mark.req("C9")
def test_busy_carries_the_q850_reason_header(carrier: Sipp) -> None:
    async def scenario() -> base.CallEvent:
        async with calls.running(_backend(carrier, workers=1)) as rec:
            handle = await rec.backend.originate(base.CallRequest(NUMBERS["busy"]))
            return await rec.ended(handle.call_id)

    assert calls.run(scenario()).q850_cause == 17


@pytest.mark.req("C9")
def test_early_media_then_answer(carrier: Sipp) -> None:
    async def scenario() -> list[base.EventKind]:
        async with calls.running(_backend(carrier, workers=1)) as rec:
            handle = await rec.backend.originate(base.CallRequest(NUMBERS["early_media"]))
            ended = await rec.ended(handle.call_id)
            assert ended.outcome is O.ANSWERED
            return rec.kinds(handle.call_id)

    assert calls.run(scenario()) == [K.RINGING, K.ANSWERED, K.ENDED]


@pytest.mark.req("C9")
def test_dialer_hangs_up_an_answered_call_with_bye(carrier: Sipp) -> None:
    before = carrier.received("BYE")

    async def scenario() -> base.CallEvent:
        async with calls.running(_backend(carrier, workers=1)) as rec:
            handle = await _answered(rec)
            await rec.backend.hangup(handle)
            return await rec.ended(handle.call_id)

    assert calls.run(scenario()).outcome is O.ANSWERED
    calls.wait_until_sync(lambda: carrier.received("BYE") > before)


@pytest.mark.req("C4")
def test_answered_call_without_rtp_is_hung_up(carrier: Sipp) -> None:
    # the carrier without echo: a 0300 call is answered but no RTP ever comes back
    async def scenario() -> base.CallEvent:
        backend = sip.PjsuaBackend(sip_settings(carrier, workers=1), rtp_timeout_s=1.0)
        async with calls.running(backend) as rec:
            handle = await _answered(rec)
            return await rec.ended(handle.call_id)

    ended = calls.run(scenario())
    assert (ended.outcome, ended.cause) == (O.ANSWERED, "rtp_timeout")


# -- agents and bridging (C3, C9) ----------------------------------------------------------


@pytest.mark.req("C3")
@pytest.mark.req("C9")
def test_agent_phone_answers_and_stays_up(carrier: Sipp) -> None:
    async def scenario() -> list[Any]:
        async with calls.running(_backend(carrier, workers=1)) as rec:
            backend = rec.backend
            leg = await backend.agent_login(_agent(carrier))
            # still up a second of RTP later (50 packets/s)
            stats = await _media(backend, leg.leg_id, lambda s: s["rx_pkt"] > 50)
            assert K.ENDED not in rec.kinds(leg.leg_id)
            alive = backend.worker_of(leg.leg_id)
            await backend.agent_logout(leg)
            await rec.event(leg.leg_id, K.ENDED)
            return [alive, stats]

    worker, stats = calls.run(scenario())
    assert worker == 0 and stats["rx_pkt"] > 50


@pytest.mark.req("C3")
def test_agent_worker_keeps_a_slot_for_the_bridge_leg(carrier: Sipp) -> None:
    async def scenario() -> int:
        async with calls.running(_backend(carrier, workers=1)) as rec:
            backend = rec.backend
            await backend.agent_login(_agent(carrier))
            placed = [await backend.originate(base.CallRequest(ECHO)) for _ in range(2)]
            with pytest.raises(errors.CallNotPlaced):
                await backend.originate(base.CallRequest(ECHO))
            return len(placed)

    assert calls.run(scenario()) == 2


@pytest.mark.req("C3")
def test_spare_worker_carries_three_customers(carrier: Sipp) -> None:
    async def scenario() -> int:
        async with calls.running(_backend(carrier, workers=1)) as rec:
            placed = [await rec.backend.originate(base.CallRequest(ECHO)) for _ in range(3)]
            with pytest.raises(errors.CallNotPlaced):
                await rec.backend.originate(base.CallRequest(ECHO))
            return len(placed)

    assert calls.run(scenario()) == 3


def _hears(stats: dict[str, Any]) -> bool:
    """RTP both ways and audio on both directions of the call's conference port."""
    return (stats["rx_pkt"] > 20 and stats["tx_pkt"] > 20 and stats["rx_level"] > 0
            and stats["tx_level"] > 0)


@pytest.mark.req("C3")
@pytest.mark.req("C9")
def test_bridge_inside_one_worker_carries_audio_both_ways(carrier: Sipp) -> None:
    async def scenario() -> tuple[int | None, int | None, dict[str, Any], dict[str, Any]]:
        async with calls.running(_backend(carrier, workers=1)) as rec:
            backend = rec.backend
            leg = await backend.agent_login(_agent(carrier))
            handle = await _answered(rec, NUMBERS["answer_stay"])
            unbridged = await _media(backend, handle.call_id, lambda s: s["rx_pkt"] > 10)
            assert unbridged["tx_level"] == 0  # nothing reaches the customer before the bridge
            await backend.bridge(handle, leg)
            await rec.event(handle.call_id, K.BRIDGED)
            customer = await _media(backend, handle.call_id, _hears)
            agent = await _media(backend, leg.leg_id, _hears)
            return (backend.worker_of(handle.call_id), backend.worker_of(leg.leg_id),
                    customer, agent)

    customer_worker, agent_worker, customer, agent = calls.run(scenario())
    assert customer_worker == agent_worker
    assert _hears(customer) and _hears(agent)


@pytest.mark.req("C3")
@pytest.mark.req("C9")
def test_bridge_across_workers_uses_a_loopback_leg_with_audio_both_ways(carrier: Sipp) -> None:
    async def scenario() -> dict[str, Any]:
        async with calls.running(_backend(carrier, workers=2)) as rec:
            backend = rec.backend
            leg = await backend.agent_login(_agent(carrier))
            handle = await _answered(rec, NUMBERS["answer_stay"])
            assert backend.worker_of(handle.call_id) != backend.worker_of(leg.leg_id)
            await backend.bridge(handle, leg)
            bridged = await rec.event(handle.call_id, K.BRIDGED)
            loopback = [cid for cid in backend._calls if cid.startswith("b")]
            result = {"leg": bridged.leg_id,
                      "customer": await _media(backend, handle.call_id, _hears),
                      "agent": await _media(backend, leg.leg_id, _hears),
                      "loopback": [await _media(backend, cid, _hears) for cid in loopback]}
            await backend.hangup(handle)
            await rec.ended(handle.call_id)
            await calls.wait_until(lambda: not [c for c in backend._calls if c.startswith("b")])
            result["agent_after"] = backend.worker_of(leg.leg_id)
            return result

    result = calls.run(scenario())
    assert len(result["loopback"]) == 2  # the outgoing leg and its incoming side
    assert result["agent_after"] is not None  # the agent's leg outlives the customer


@pytest.mark.req("C9")
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_one_hundred_concurrent_calls_with_rtp(echo_carrier: Sipp) -> None:
    async def scenario() -> dict[str, int]:
        async with calls.running(_backend(echo_carrier, workers=34, rtp_port_min=50000,
                                          rtp_port_max=50999)) as rec:
            backend = rec.backend
            handles = [await backend.originate(base.CallRequest(ECHO)) for _ in range(100)]
            await rec.wait(lambda: all(K.ANSWERED in rec.kinds(h.call_id) for h in handles), 30)
            live = backend.live_calls()
            flowing = 0
            for handle in handles:
                stats = await _media(backend, handle.call_id, lambda s: s["rx_pkt"] > 0)
                flowing += stats["rx_pkt"] > 0
            for handle in handles:
                await backend.hangup(handle)
            await rec.wait(lambda: all(K.ENDED in rec.kinds(h.call_id) for h in handles), 30)
            answered = sum(rec.by_call[h.call_id][-1].outcome is O.ANSWERED for h in handles)
            return {"live": live, "flowing": flowing, "answered": answered}

    assert calls.run(scenario(), timeout_s=150) == {"live": 100, "flowing": 100, "answered": 100}


# -- pool: pacing, watchdog, parent death (C4, C5) ------------------------------------------


@pytest.mark.req("C4")
def test_max_cps_per_worker_is_refused_above_fifty() -> None:
    with pytest.raises(pydantic.ValidationError, match="max_cps_per_worker"):
        SipSettings(max_cps_per_worker=60)


@pytest.mark.req("C4")
def test_new_calls_are_paced_per_worker(carrier: Sipp) -> None:
    async def scenario() -> float:
        async with calls.running(_backend(carrier, workers=1, max_cps_per_worker=5)) as rec:
            started = time.monotonic()
            for _ in range(3):
                await rec.backend.originate(base.CallRequest(NUMBERS["busy"]))
            return time.monotonic() - started

    assert calls.run(scenario()) >= 0.38  # three calls at 5/s: the third 0.4 s after the first


@pytest.mark.req("C4")
def test_dead_worker_fails_its_calls_and_is_replaced(carrier: Sipp) -> None:
    async def scenario() -> tuple[base.CallEvent, base.CallEvent]:
        async with calls.running(_backend(carrier, workers=2)) as rec:
            backend = rec.backend
            handle = await _answered(rec)
            index = backend.worker_of(handle.call_id)
            assert index is not None
            victim = backend.workers[index].pid
            assert victim is not None
            os.kill(victim, signal.SIGKILL)
            ended = await rec.ended(handle.call_id)
            await calls.wait_until(lambda: backend.replaced_workers == 1
                                   and backend.workers[index].is_alive)
            assert backend.workers[index].pid != victim
            again = await backend.originate(base.CallRequest(NUMBERS["busy"]))
            return ended, await rec.ended(again.call_id)

    ended, again = calls.run(scenario())
    assert (ended.outcome, ended.cause) == (O.FAILED, "worker_died")
    assert again.outcome is O.BUSY


_PARENT = textwrap.dedent("""
    import asyncio, sys
    from telephony import base, sip
    from telephony.config import SipSettings

    async def main():
        settings = SipSettings(domain=sys.argv[1], port=int(sys.argv[2]), workers=2,
                               rtp_port_min=int(sys.argv[3]), rtp_port_max=int(sys.argv[3]) + 99)
        backend = sip.PjsuaBackend(settings)
        await backend.start()
        events = backend.events()
        await backend.originate(base.CallRequest(number=sys.argv[4]))
        while (await events.__anext__()).kind is not base.EventKind.ANSWERED:
            pass
        print(" ".join(map(str, backend.worker_pids())), flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
""")


@pytest.mark.req("C5")
def test_workers_hang_up_and_exit_when_the_engine_is_killed(
        sipp_factory: Callable[..., Sipp], tmp_path: Path) -> None:
    phone = sipp_factory()
    script = tmp_path / "engine.py"
    script.write_text(_PARENT)
    engine = subprocess.Popen([sys.executable, str(script), phone.address, str(free_port()),
                               "39000", ECHO], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    try:
        assert engine.stdout is not None
        pids = [int(p) for p in engine.stdout.readline().split()]
        assert len(pids) == 2 and all(_pid_alive(p) for p in pids)
        engine.send_signal(signal.SIGKILL)
        engine.wait(10)
        calls.wait_until_sync(lambda: not any(_pid_alive(p) for p in pids), timeout_s=10)
        calls.wait_until_sync(lambda: phone.received("BYE") == 1, timeout_s=5)
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait()
        if engine.stdout:
            engine.stdout.close()


# -- trunks (C6) -----------------------------------------------------------------------------


@pytest.mark.req("C6")
def test_registers_with_digest_auth(sipp_factory: Callable[..., Sipp]) -> None:
    registrar = sipp_factory("registrar.xml")

    async def scenario() -> None:
        backend = sip.PjsuaBackend(sip_settings(registrar, workers=1, register=True,
                                                username="alice", password="secret"))
        await backend.start()
        await backend.close()

    calls.run(scenario())
    assert registrar.received("REGISTER") >= 2
    assert "Authorization: Digest" in registrar.log()


@pytest.mark.req("C6")
def test_refused_registration_fails_start_naming_the_key(
        sipp_factory: Callable[..., Sipp]) -> None:
    registrar = sipp_factory("registrar.xml")

    async def scenario() -> None:
        backend = sip.PjsuaBackend(sip_settings(registrar, workers=1, register=True,
                                                username="alice", password="wrong"))
        try:
            with pytest.raises(errors.BackendConfigError, match="telephony.sip.register"):
                await backend.start()
        finally:
            await backend.close()

    calls.run(scenario())


@pytest.mark.req("C6")
def test_outbound_proxy_receives_the_call_for_the_trunk_domain(carrier: Sipp) -> None:
    async def scenario() -> base.CallEvent:
        backend = _backend(carrier, workers=1, proxy=f"sip:{carrier.address}",
                           domain="trunk.invalid")
        async with calls.running(backend) as rec:
            handle = await rec.backend.originate(base.CallRequest("+15550070486"))
            return await rec.ended(handle.call_id)

    assert calls.run(scenario()).outcome is O.BUSY
    assert "INVITE sip:+15550070486@trunk.invalid" in carrier.log()


@pytest.mark.req("C6")
def test_tcp_transport(sipp_factory: Callable[..., Sipp]) -> None:
    trunk = sipp_factory(extra=["-t", "t1"])

    async def scenario() -> base.CallEvent:
        async with calls.running(_backend(trunk, workers=1, transport="tcp")) as rec:
            handle = await rec.backend.originate(base.CallRequest(NUMBERS["rejected"]))
            return await rec.ended(handle.call_id)

    assert calls.run(scenario()).outcome is O.REJECTED
    assert "TCP message received" in trunk.log()


@pytest.mark.req("C6")
def test_caller_id_in_from_and_p_asserted_identity(carrier: Sipp) -> None:
    async def scenario() -> None:
        async with calls.running(_backend(carrier, workers=1)) as rec:
            handle = await rec.backend.originate(base.CallRequest(
                "+15550080486", caller_id="+15557654321"))
            await rec.ended(handle.call_id)

    calls.run(scenario())
    invite = carrier.log().split("INVITE sip:+15550080486@")[1].split("Content-Length")[0]
    assert "From: <sip:+15557654321@" in invite
    assert "P-Asserted-Identity: <sip:+15557654321@" in invite


@pytest.mark.req("C6")
def test_workers_use_disjoint_rtp_ranges_and_exit_cleanly(echo_carrier: Sipp) -> None:
    settings = sip_settings(echo_carrier, workers=2)
    span = (settings.rtp_port_max - settings.rtp_port_min + 1) // 2

    async def scenario() -> tuple[list[tuple[int, int]], list[int]]:
        backend = sip.PjsuaBackend(settings)
        async with calls.running(backend) as rec:
            handles = [await _answered(rec) for _ in range(2)]
            ports = []
            for handle in handles:
                stats = await _media(backend, handle.call_id, lambda s: s["rx_pkt"] > 0)
                ports.append((backend.worker_of(handle.call_id),
                              int(stats["local_rtp"].rsplit(":", 1)[1])))
        return ports, backend.exit_codes()

    ports, exit_codes = calls.run(scenario())
    assert {index for index, _ in ports} == {0, 1}
    for index, port in ports:
        low = settings.rtp_port_min + index * span
        assert low <= port < low + span
    assert exit_codes == [0, 0]  # no pjsua2 abort at exit


# -- AMD and configuration (C7, C10) --------------------------------------------------------


@pytest.mark.req("C7")
def test_sip_backend_has_no_amd_and_refuses_it(carrier: Sipp) -> None:
    backend = _backend(carrier, workers=1)
    assert backend.capabilities.supports_amd is False

    async def scenario() -> None:
        async with calls.running(backend) as rec:
            with pytest.raises(errors.BackendConfigError, match="amd"):
                await rec.backend.originate(base.CallRequest(ECHO, amd=True))

    calls.run(scenario())


@pytest.mark.req("C7")
def test_campaign_with_amd_is_refused_for_sip_naming_the_key() -> None:
    import telephony

    with pytest.raises(errors.BackendConfigError, match="^amd: the sip backend"):
        telephony.refuse_unsupported(sip.PjsuaBackend.capabilities, amd=True, backend="sip")


@pytest.mark.req("C10")
def test_sip_section_keys_load_from_toml(tmp_path: Path) -> None:
    from dialer import settings as settings_mod

    config = tmp_path / "dialer.toml"
    config.write_text(textwrap.dedent("""
        [telephony]
        backend = "sip"
        [telephony.sip]
        proxy = "sip:proxy.example.net:5060"
        domain = "trunk.example.net"
        username = "alice"
        password = "secret"
        register = true
        transport = "tcp"
        bind_address = "127.0.0.1"
        port = 5080
        rtp_port_min = 40000
        rtp_port_max = 40999
        caller_id = "+15550001111"
        ring_timeout_s = 25
        workers = 8
        max_cps_per_worker = 20
    """))
    section = settings_mod.load_settings(config, environ={}).telephony.sip
    assert (section.registration, section.transport, section.workers) == (True, "tcp", 8)
    assert (section.rtp_port_min, section.rtp_port_max, section.port) == (40000, 40999, 5080)
    assert section.max_cps_per_worker == 20 and section.ring_timeout_s == 25


@pytest.mark.req("C10")
def test_too_small_rtp_range_is_refused_naming_the_keys() -> None:
    with pytest.raises(errors.BackendConfigError, match="rtp_port"):
        sip.PjsuaBackend(SipSettings(rtp_port_min=20000, rtp_port_max=20020, workers=4))

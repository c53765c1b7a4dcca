"""One contract for every backend: ``[sim]``, ``[sip]`` (pjsua2 against sipp), ``[ami]`` (AMI).

The same numbers mean the same thing everywhere (``tests/telephony/calls.py``):
sipp's carrier scenario, the fake AMI server and the test dialplan pick the
behaviour from the last four digits; the simulated carrier is scripted.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from telephony import base, errors
from tests.telephony import calls
from tests.telephony.calls import NUMBERS

O = base.CallOutcome
K = base.EventKind

pytestmark = pytest.mark.timeout(60)


def _request(case: str, **kwargs: object) -> base.CallRequest:
    values: dict[str, object] = {"number": NUMBERS[case], "caller_id": "+15550001111",
                                 "ring_timeout_s": 20.0, "campaign_id": 7, "attempt_id": 42}
    values.update(kwargs)
    return base.CallRequest(**values)  # type: ignore[arg-type]


@pytest.mark.req("C1")
@pytest.mark.req("C2")
def test_backend_satisfies_the_protocol(make_backend: Callable[[], base.Backend]) -> None:
    backend = make_backend()
    assert isinstance(backend, base.Backend)
    assert isinstance(backend.capabilities.supports_amd, bool)


@pytest.mark.req("C2")
@pytest.mark.parametrize("case, outcome", [
    ("busy", O.BUSY),
    ("rejected", O.REJECTED),
    ("invalid_number", O.INVALID_NUMBER),
    ("congestion", O.CONGESTION),
])
def test_failed_call_ends_with_its_outcome_and_raw_code(
        make_backend: Callable[[], base.Backend], case: str, outcome: base.CallOutcome) -> None:
    async def scenario() -> base.CallEvent:
        async with calls.running(make_backend()) as rec:
            handle = await rec.backend.originate(_request(case))
            ended = await rec.ended(handle.call_id)
            assert K.ANSWERED not in rec.kinds(handle.call_id)
            assert rec.kinds(handle.call_id).count(K.ENDED) == 1
            return ended

    ended = calls.run(scenario())
    assert ended.outcome is outcome
    assert ended.sip_status is not None or ended.q850_cause is not None


@pytest.mark.req("C2")
def test_far_end_hangup_after_answer_is_answered(make_backend: Callable[[], base.Backend]) -> None:
    async def scenario() -> list[base.EventKind]:
        async with calls.running(make_backend()) as rec:
            handle = await rec.backend.originate(_request("answer_far_hangup"))
            ended = await rec.ended(handle.call_id)
            assert ended.outcome is O.ANSWERED
            return rec.kinds(handle.call_id)

    kinds = calls.run(scenario())
    assert kinds.index(K.ANSWERED) < kinds.index(K.ENDED)


@pytest.mark.req("C2")
def test_our_hangup_after_answer_is_answered(make_backend: Callable[[], base.Backend]) -> None:
    async def scenario() -> base.CallEvent:
        async with calls.running(make_backend()) as rec:
            handle = await rec.backend.originate(_request("answer_stay"))
            await rec.event(handle.call_id, K.ANSWERED)
            await rec.backend.hangup(handle)
            return await rec.ended(handle.call_id)

    assert calls.run(scenario()).outcome is O.ANSWERED


@pytest.mark.req("C2")
def test_ring_timeout_is_no_answer(make_backend: Callable[[], base.Backend]) -> None:
    async def scenario() -> tuple[base.CallEvent, list[base.EventKind]]:
        async with calls.running(make_backend()) as rec:
            handle = await rec.backend.originate(_request("ring", ring_timeout_s=1.0))
            ended = await rec.ended(handle.call_id)
            return ended, rec.kinds(handle.call_id)

    ended, kinds = calls.run(scenario())
    assert ended.outcome is O.NO_ANSWER
    assert kinds[0] is K.RINGING


@pytest.mark.req("C2")
def test_our_hangup_while_ringing_is_cancelled(make_backend: Callable[[], base.Backend]) -> None:
    async def scenario() -> base.CallEvent:
        async with calls.running(make_backend()) as rec:
            handle = await rec.backend.originate(_request("ring"))
            await rec.event(handle.call_id, K.RINGING)
            await rec.backend.hangup(handle)
            return await rec.ended(handle.call_id)

    assert calls.run(scenario()).outcome is O.CANCELLED


@pytest.mark.req("C2")
def test_amd_is_reported_or_refused(make_backend: Callable[[], base.Backend]) -> None:
    async def scenario() -> base.CallOutcome | None:
        async with calls.running(make_backend()) as rec:
            request = _request("machine", amd=True)
            if not rec.backend.capabilities.supports_amd:
                with pytest.raises(errors.BackendConfigError, match="amd"):
                    await rec.backend.originate(request)
                return None
            handle = await rec.backend.originate(request)
            await rec.event(handle.call_id, K.MACHINE_DETECTED)
            await rec.backend.hangup(handle)
            ended = await rec.ended(handle.call_id)
            return ended.outcome

    outcome = calls.run(scenario())
    assert outcome in (None, O.MACHINE)


@pytest.mark.req("C2")
def test_answered_call_is_bridged_to_an_agent_leg(make_backend: Callable[[], base.Backend]) -> None:
    async def scenario() -> base.CallEvent:
        async with calls.running(make_backend()) as rec:
            backend = rec.backend
            leg = await backend.agent_login(base.Agent(1, _agent_address(backend)))
            handle = await backend.originate(_request("answer_stay"))
            await rec.event(handle.call_id, K.ANSWERED)
            await backend.bridge(handle, leg)
            bridged = await rec.event(handle.call_id, K.BRIDGED)
            await backend.hangup(handle)
            await rec.ended(handle.call_id)
            await backend.agent_logout(leg)
            return bridged

    assert calls.run(scenario()).leg_id is not None


@pytest.mark.req("C1")
@pytest.mark.req("C2")
def test_message_is_played_to_an_answered_call(make_backend: Callable[[], base.Backend],
                                               tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    media = tmp_path / "abandon.wav"
    with wave.open(str(media), "wb") as out:  # half a second of silence, 8 kHz 16-bit mono
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 4000)

    async def scenario() -> base.CallEvent:
        async with calls.running(make_backend()) as rec:
            handle = await rec.backend.originate(_request("answer_stay"))
            await rec.event(handle.call_id, K.ANSWERED)
            await rec.backend.play(handle, str(media))
            await rec.backend.hangup(handle)
            return await rec.ended(handle.call_id)

    assert calls.run(scenario()).outcome is O.ANSWERED
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


@pytest.mark.req("C2")
def test_every_call_ends_exactly_once(make_backend: Callable[[], base.Backend]) -> None:
    cases = ["busy", "answer_far_hangup", "congestion", "rejected", "answer_far_hangup", "busy"]

    async def scenario() -> dict[str, int]:
        async with calls.running(make_backend()) as rec:
            handles = [await rec.backend.originate(_request(case)) for case in cases]
            await rec.wait(lambda: all(K.ENDED in rec.kinds(h.call_id) for h in handles))
            return {h.call_id: rec.kinds(h.call_id).count(K.ENDED) for h in handles}

    counts = calls.run(scenario())
    assert len(counts) == len(cases) and set(counts.values()) == {1}


def _agent_address(backend: base.Backend) -> str:
    """An agent phone the backend can reach: sipp answers and stays up, Asterisk a PJSIP peer."""
    from tests.telephony.calls import NUMBERS as numbers

    settings = getattr(backend, "settings", None)
    domain = getattr(settings, "domain", None)
    if domain:
        return f"sip:agent{numbers['answer_stay'][-4:]}@{domain}"
    return "Local/agent1@dialer-test" if getattr(settings, "channel", "") else "sim:agent1"

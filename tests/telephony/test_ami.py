"""The AMI backend driving the real ``asterisk-ami`` client.

Tests taking ``ami_settings`` run against a real Asterisk when
``DIALER_TEST_AMI_URL`` names one (with the test dialplan of
``config/asterisk/``), else against the fake server of ``tests/telephony/ami``;
tests taking ``fake_ami`` inspect or disturb the server and always use the fake.
"""

from __future__ import annotations

import logging
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from telephony import ami, base, errors
from telephony.config import AmiSettings
from tests.telephony import calls
from tests.telephony.calls import NUMBERS
from tests.telephony.conftest import ThreadedAmi

O = base.CallOutcome
K = base.EventKind
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(60)


def _fake_settings(fake_ami: ThreadedAmi, **overrides: Any) -> AmiSettings:
    values: dict[str, Any] = {"port": fake_ami.port, "username": "dialer", "secret": "s3cret",
                              "channel": "Local/{number}@dialer-test", "amd": True}
    values.update(overrides)
    return AmiSettings(**values)


def _originates(fake_ami: ThreadedAmi) -> list[dict[str, Any]]:
    return fake_ami.sync(lambda server: list(server.actions_named("Originate")))


@pytest.mark.req("C15")
def test_login_and_banner(ami_settings: AmiSettings) -> None:
    async def scenario() -> bool:
        backend = ami.AmiBackend(ami_settings)
        await backend.start()
        is_connected = backend._connected.is_set()
        await backend.close()
        return is_connected

    assert calls.run(scenario())


@pytest.mark.req("C15")
def test_refused_login_names_the_secret_key(ami_settings: AmiSettings) -> None:
    settings = ami_settings.model_copy(update={"secret": "not-the-secret"})

    async def scenario() -> None:
        backend = ami.AmiBackend(settings)
        try:
            with pytest.raises(errors.BackendConfigError, match="login refused"):
                await backend.start()
        finally:
            await backend.close()

    calls.run(scenario())


@pytest.mark.req("C15")
def test_unreachable_asterisk_is_a_telephony_error() -> None:
    from tests.telephony.sipp_server import free_port

    async def scenario() -> None:
        backend = ami.AmiBackend(AmiSettings(port=free_port()))
        with pytest.raises(errors.TelephonyError, match="AMI"):
            await backend.start()

    calls.run(scenario())


@pytest.mark.req("C11")
def test_originate_is_async_with_our_ids_template_caller_id_timeout_and_variables(
        fake_ami: ThreadedAmi) -> None:
    async def scenario() -> tuple[base.CallHandle, base.CallEvent]:
        async with calls.running(ami.AmiBackend(_fake_settings(fake_ami))) as rec:
            handle = await rec.backend.originate(base.CallRequest(
                NUMBERS["busy"], caller_id="+15550001111", ring_timeout_s=25, campaign_id=7,
                attempt_id=42, variables={"LIST": "spring"}))
            return handle, await rec.ended(handle.call_id)

    handle, ended = calls.run(scenario())
    action = next(a for a in _originates(fake_ami)
                  if a.get("ChannelId") == f"dialer-{handle.call_id}")
    assert action["Async"] == "true" and action["ActionID"].startswith("dialer-")
    assert action["OtherChannelId"] == f"dialer-{handle.call_id}-2"
    assert action["Channel"] == f"Local/{NUMBERS['busy']}@dialer-test"
    assert (action["CallerID"], action["Timeout"]) == ("+15550001111", "25000")
    assert (action["Context"], action["Exten"], action["Priority"]) == ("dialer-connect", "s", "1")
    assert {"DIALER_ATTEMPT=42", "DIALER_CAMPAIGN=7", "LIST=spring"} <= set(action["Variable"])
    assert ended.outcome is O.BUSY


@pytest.mark.req("C11")
def test_failed_originate_is_matched_by_action_id_not_channel(fake_ami: ThreadedAmi) -> None:
    async def scenario() -> base.CallEvent:
        async with calls.running(ami.AmiBackend(_fake_settings(fake_ami))) as rec:
            handle = await rec.backend.originate(base.CallRequest("+15550000000"))
            return await rec.ended(handle.call_id)

    assert calls.run(scenario()).outcome is O.FAILED  # Uniqueid: <unknown>, Reason 0


@pytest.mark.req("C11")
def test_amd_status_from_the_dialplan_becomes_machine(ami_settings: AmiSettings) -> None:
    async def scenario() -> list[base.EventKind]:
        async with calls.running(ami.AmiBackend(ami_settings)) as rec:
            handle = await rec.backend.originate(base.CallRequest(NUMBERS["machine"], amd=True))
            await rec.event(handle.call_id, K.MACHINE_DETECTED)
            ended = await rec.ended(handle.call_id)
            assert ended.outcome is O.MACHINE
            return rec.kinds(handle.call_id)

    kinds = calls.run(scenario())
    assert kinds.index(K.ANSWERED) < kinds.index(K.MACHINE_DETECTED)


@pytest.mark.req("C11")
def test_amd_requested_with_amd_off_is_refused_naming_the_key(fake_ami: ThreadedAmi) -> None:
    backend = ami.AmiBackend(_fake_settings(fake_ami, amd=False))
    assert backend.capabilities.supports_amd is False

    async def scenario() -> None:
        async with calls.running(backend):
            with pytest.raises(errors.BackendConfigError, match="telephony.ami.amd"):
                await backend.originate(base.CallRequest(NUMBERS["machine"], amd=True))

    calls.run(scenario())


@pytest.mark.req("C12")
@pytest.mark.parametrize("template", ["Local/{number}@dialer-test", "PJSIP/{number}@trunk"])
def test_outcomes_hold_whatever_the_order_of_events(fake_ami: ThreadedAmi, template: str) -> None:
    expected = {"busy": (O.BUSY, 17), "rejected": (O.REJECTED, 21),
                "invalid_number": (O.INVALID_NUMBER, 1), "congestion": (O.CONGESTION, 34)}

    async def scenario() -> list[tuple[str, Any, Any]]:
        settings = _fake_settings(fake_ami, channel=template)
        async with calls.running(ami.AmiBackend(settings)) as rec:
            # three calls per case: the fake server rotates through its event orders
            handles = [(case, await rec.backend.originate(base.CallRequest(NUMBERS[case])))
                       for case in expected for _ in range(3)]
            results = []
            for case, handle in handles:
                ended = await rec.ended(handle.call_id)
                results.append((case, ended.outcome, ended.q850_cause))
            return results

    for case, outcome, cause in calls.run(scenario()):
        assert (outcome, cause) == expected[case], case


@pytest.mark.req("C12")
def test_ring_timeout_without_dial_end_is_no_answer(ami_settings: AmiSettings) -> None:
    async def scenario() -> base.CallEvent:
        async with calls.running(ami.AmiBackend(ami_settings)) as rec:
            handle = await rec.backend.originate(base.CallRequest(NUMBERS["ring"],
                                                                  ring_timeout_s=1))
            return await rec.ended(handle.call_id)

    ended = calls.run(scenario())
    assert (ended.outcome, ended.cause) == (O.NO_ANSWER, "ring_timeout")


@pytest.mark.req("C13")
def test_answered_call_is_redirected_into_the_agent_conference(fake_ami: ThreadedAmi) -> None:
    async def scenario() -> tuple[base.AgentLeg, base.CallEvent]:
        async with calls.running(ami.AmiBackend(_fake_settings(fake_ami))) as rec:
            backend = rec.backend
            leg = await backend.agent_login(base.Agent(31, "PJSIP/agent31"))
            handle = await backend.originate(base.CallRequest(NUMBERS["answer_stay"]))
            await rec.event(handle.call_id, K.ANSWERED)
            await backend.bridge(handle, leg)
            bridged = await rec.event(handle.call_id, K.BRIDGED)
            await backend.hangup(handle)
            await rec.ended(handle.call_id)
            await backend.agent_logout(leg)
            return leg, bridged

    leg, bridged = calls.run(scenario())
    assert bridged.leg_id == leg.leg_id
    login = next(a for a in _originates(fake_ami) if a.get("Channel") == "PJSIP/agent31")
    assert (login["Context"], login["Exten"]) == ("dialer-agents", "agent-31")
    redirect = fake_ami.sync(lambda s: s.actions_named("Redirect"))[-1]
    assert (redirect["Context"], redirect["Exten"]) == ("dialer-agents", "agent-31")
    assert redirect["Channel"].endswith(";1")  # the answered half, by its channel name


@pytest.mark.req("C13")
def test_example_dialplan_has_the_contexts_the_backend_uses() -> None:
    dialplan = (ROOT / "config" / "asterisk" / "extensions.conf").read_text()
    for needle in ("[dialer-connect]", "[dialer-agents]", "[dialer-test]", "exten => _agent-X.",
                   "AMD()", "UserEvent(DialerAMD", "ConfBridge(", "exten => play,"):
        assert needle in dialplan, needle
    manager = (ROOT / "config" / "asterisk" / "manager.conf").read_text()
    assert "channelvars = DIALER_ATTEMPT" in manager


@pytest.mark.req("C14")
def test_reconnects_after_a_drop_and_ends_calls_that_vanished(fake_ami: ThreadedAmi) -> None:
    async def scenario() -> tuple[base.CallEvent, base.CallEvent, int]:
        async with calls.running(ami.AmiBackend(_fake_settings(fake_ami))) as rec:
            backend = rec.backend
            lost = await backend.originate(base.CallRequest(NUMBERS["answer_stay"]))
            kept = await backend.originate(base.CallRequest(NUMBERS["answer_stay"]))
            await rec.event(lost.call_id, K.ANSWERED)
            await rec.event(kept.call_id, K.ANSWERED)
            prefix = f"dialer-{lost.call_id}"
            # while nobody listens, the first call ends: no Hangup event will ever come
            fake_ami.sync(lambda s: [s.kill_silently(u) for u, c in list(s.channels.items())
                                     if c.linkedid == prefix])
            fake_ami.call(fake_ami.server.drop_connections())
            ended = await rec.ended(lost.call_id)
            await calls.wait_until(lambda: backend.reconnects == 1)
            await backend.hangup(kept)  # the surviving call is still under control
            return ended, await rec.ended(kept.call_id), backend.reconnects

    lost, kept, reconnects = calls.run(scenario())
    assert (lost.outcome, lost.cause) == (O.ANSWERED, "lost_during_reconnect")
    assert kept.outcome is O.ANSWERED and reconnects == 1


@pytest.mark.req("C14")
def test_reconnect_backs_off_while_asterisk_is_down(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="telephony.ami")
    first = ThreadedAmi().start()
    servers = [first]

    def delays() -> list[float]:
        found = (re.search(r"next try in ([0-9.]+) s", r.getMessage()) for r in caplog.records)
        return [float(m.group(1)) for m in found if m]

    async def scenario() -> int:
        backend = ami.AmiBackend(_fake_settings(first))
        await backend.start()
        try:
            first.stop()  # Asterisk goes away: the session drops, new connects are refused
            await calls.wait_until(lambda: len(delays()) >= 3)
            servers.append(ThreadedAmi().start(first.port))  # back, on the same port
            await calls.wait_until(lambda: backend.reconnects == 1, timeout_s=15)
            return backend.reconnects
        finally:
            await backend.close()

    try:
        assert calls.run(scenario()) == 1
    finally:
        for server in servers[1:]:
            server.stop()
    waits = delays()
    assert waits[:3] == sorted(waits[:3]) and waits[2] > waits[0]  # the wait grows


@pytest.mark.req("C14")
def test_start_hangs_up_orphan_channels_of_dead_attempts(fake_ami: ThreadedAmi) -> None:
    def seed(server: Any) -> None:
        server.add_channel("PJSIP/trunk-orphan99", "1700000000.991", {"DIALER_ATTEMPT": "99"})
        server.add_channel("PJSIP/trunk-live5", "1700000000.992", {"DIALER_ATTEMPT": "5"})
        server.add_channel("PJSIP/someone-else", "1700000000.993", {})

    fake_ami.sync(seed)

    async def scenario() -> list[str]:
        backend = ami.AmiBackend(_fake_settings(fake_ami), live_attempts=lambda: {5})
        await backend.start()
        hung_up = list(backend.orphans_hung_up)
        await backend.close()
        return hung_up

    try:
        hung_up = calls.run(scenario())
        remaining = fake_ami.sync(lambda s: {c.name for c in s.channels.values()})
        assert "PJSIP/trunk-orphan99" in hung_up and "PJSIP/trunk-orphan99" not in remaining
        assert {"PJSIP/trunk-live5", "PJSIP/someone-else"} <= remaining
    finally:
        fake_ami.sync(lambda s: [s.kill_silently(u) for u in ("1700000000.992",
                                                                "1700000000.993")])


@pytest.mark.req("C15")
def test_raw_traffic_can_be_recorded_for_fixtures(fake_ami: ThreadedAmi, tmp_path: Path) -> None:
    record = tmp_path / "ami.log"

    async def scenario() -> None:
        async with calls.running(ami.AmiBackend(_fake_settings(fake_ami),
                                                record_to=record)) as rec:
            handle = await rec.backend.originate(base.CallRequest(NUMBERS["busy"]))
            await rec.ended(handle.call_id)

    calls.run(scenario())
    text = record.read_text()
    assert "Action: Originate" in text and "Event: OriginateResponse" in text


@pytest.mark.req("C16")
def test_ami_section_keys_load_from_toml(tmp_path: Path) -> None:
    from dialer import settings as settings_mod

    config = tmp_path / "dialer.toml"
    config.write_text(textwrap.dedent("""
        [telephony]
        backend = "ami"
        [telephony.ami]
        host = "10.0.0.5"
        port = 5039
        username = "dialer"
        secret = "s3cret"
        channel = "PJSIP/{number}@trunk"
        context = "dialer-connect"
        exten = "s"
        priority = 1
        caller_id = "+15550001111"
        ring_timeout_s = 30
        amd = true
    """))
    section = settings_mod.load_settings(config, environ={}).telephony.ami
    assert (section.host, section.port, section.channel) == ("10.0.0.5", 5039,
                                                             "PJSIP/{number}@trunk")
    assert section.amd is True and section.ring_timeout_s == 30


@pytest.mark.req("C16")
def test_channel_template_without_number_is_refused() -> None:
    import pydantic

    with pytest.raises(pydantic.ValidationError, match="number"):
        AmiSettings(channel="PJSIP/trunk")

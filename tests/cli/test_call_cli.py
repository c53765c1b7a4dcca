"""``dialer call``: operator test calls through sim, sip and ami, recorded as test attempts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from campaigns import db, models

# the telephony fixtures (sipp carrier, fake AMI server) for the sip and ami cases
from tests.telephony.conftest import carrier, fake_ami, sipp_binary  # noqa: F401

KEYS = {"outcome", "sip_status", "q850_cause", "ring_s", "talk_s", "call_id"}


def _attempts(cli) -> list[models.Attempt]:
    engine = db.make_engine(cli.db_url)
    try:
        with db.make_sessionmaker(engine)() as session:
            rows = list(session.scalars(select(models.Attempt)))
            session.expunge_all()
            return rows
    finally:
        engine.dispose()


def _audit_actions(cli) -> list[str]:
    engine = db.make_engine(cli.db_url)
    try:
        with db.make_sessionmaker(engine)() as session:
            return list(session.scalars(select(models.AuditEvent.action)
                                        .where(models.AuditEvent.entity == "attempt")))
    finally:
        engine.dispose()


@pytest.mark.req("C18")
def test_sim_busy_call_prints_every_key_and_records_a_test_attempt(cli) -> None:
    result = cli("call", "+12125550102", "--backend", "sim", "--json")
    assert result.code == 0, result.err
    shown = result.json()
    assert KEYS <= set(shown)
    assert (shown["outcome"], shown["sip_status"], shown["q850_cause"]) == ("busy", 486, 17)
    [attempt] = _attempts(cli)
    assert attempt.is_test and not attempt.counts_as_attempt
    assert attempt.campaign_id is None and attempt.record_id is None
    assert attempt.outcome is models.CallOutcome.BUSY and attempt.ended_at is not None
    assert _audit_actions(cli) == ["test_call_placed", "test_call_ended"]


@pytest.mark.req("C18")
def test_answered_call_is_hung_up_after_talk_s(cli) -> None:
    result = cli("call", "+12125550100", "--backend", "sim", "--talk-s", "0.3", "--json")
    assert result.code == 0, result.err
    shown = result.json()
    assert shown["outcome"] == "answered"
    assert 0.3 <= shown["talk_s"] < 3


@pytest.mark.req("C18")
def test_negative_talk_time_is_bad_input(cli) -> None:
    assert cli("call", "+12125550100", "--backend", "sim", "--talk-s", "-1").code == 2


@pytest.mark.req("C18")
def test_unknown_backend_is_bad_input(cli) -> None:
    assert cli("call", "+12125550100", "--backend", "carrier-pigeon").code == 2


@pytest.mark.req("C18")
def test_unreachable_backend_exits_3_and_records_the_failure(cli, tmp_path: Path) -> None:
    from tests.telephony.sipp_server import free_port

    config = tmp_path / "ami.toml"
    config.write_text(textwrap.dedent(f"""
        [telephony.ami]
        port = {free_port()}
        username = "dialer"
        secret = "s3cret"
    """))
    result = cli("call", "+15550000486", "--backend", "ami", "--config", str(config), "--json")
    assert result.code == 3, (result.out, result.err)
    assert KEYS <= set(result.json())
    assert result.json()["outcome"] == "failed"
    [attempt] = _attempts(cli)
    assert attempt.is_test and attempt.cause == "ami-unreachable"


@pytest.mark.req("C18")
def test_ami_call_through_the_fake_server(cli, tmp_path: Path, fake_ami) -> None:
    config = tmp_path / "ami.toml"
    config.write_text(textwrap.dedent(f"""
        [telephony.ami]
        port = {fake_ami.port}
        username = "dialer"
        secret = "s3cret"
        channel = "Local/{{number}}@dialer-test"
    """))
    result = cli("call", "+15550000503", "--backend", "ami", "--config", str(config), "--json")
    assert result.code == 0, result.err
    assert (result.json()["outcome"], result.json()["q850_cause"]) == ("congestion", 34)


@pytest.mark.req("C18")
@pytest.mark.sipp
def test_sip_call_against_sipp_dials_the_string_as_given(cli, tmp_path: Path, carrier) -> None:
    from tests.telephony.sipp_server import free_port

    config = tmp_path / "sip.toml"
    config.write_text(textwrap.dedent(f"""
        [telephony.sip]
        domain = "{carrier.address}"
        port = {free_port()}
        workers = 1
        rtp_port_min = 38000
        rtp_port_max = 38099
    """))
    result = cli("call", "+15550090603", "--backend", "sip", "--config", str(config), "--json")
    assert result.code == 0, result.err
    shown = result.json()
    assert (shown["outcome"], shown["sip_status"]) == ("rejected", 603)
    assert "INVITE sip:+15550090603@" in carrier.log()

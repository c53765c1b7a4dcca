"""``dialer callbacks …`` drives every workflow with ``--json`` (E19)."""

from __future__ import annotations

import pytest

from campaigns import db, schema
from dialer import callbacks_config
from tests.callbacks.conftest import CFG, NOW, make_world

AT = ["--now", NOW.isoformat()]


@pytest.fixture
def ids(cli) -> dict[str, int]:
    engine = db.make_engine(cli.db_url)
    schema.upgrade(engine)
    with db.unit_of_work(db.make_sessionmaker(engine)) as session:
        world = make_world(session)
        found = {"record": world.record.id, "other": world.other.id}
    engine.dispose()
    return found


def _schedule(cli, ids, *extra: str):
    return cli("callbacks", "schedule", "--record", ids["record"], "--date", "2026-11-24",
               "--from", "10:00", "--until", "11:00", "--channel", "email", *extra, *AT,
               "--json")


@pytest.mark.req("E19")
def test_schedule_list_and_show(cli, ids):
    made = _schedule(cli, ids, "--owner", "bob", "--note", "VIP")
    assert made.code == 0, made.err
    callback = made.json()
    assert (callback["status"], callback["owner"], callback["tz"], callback["number"]) == (
        "scheduled", "bob", "America/New_York", "+12125550100")
    listed = cli("callbacks", "list", "--status", "scheduled", "--json").json()["callbacks"]
    assert [c["id"] for c in listed] == [callback["id"]]
    assert listed[0]["history"][0]["action"] == "scheduled"
    shown = cli("callbacks", "show", callback["id"], "--json").json()
    assert shown["history"][0]["action"] == "scheduled"
    assert shown["notes"] == "VIP"


@pytest.mark.req("E19")
def test_schedule_outside_hours_exits_2_with_the_error_id(cli, ids):
    result = cli("callbacks", "schedule", "--record", ids["record"], "--date", "2026-11-24",
                 "--from", "22:00", "--until", "23:00", *AT, "--json")
    assert result.code == 2
    assert result.json()["error"]["id"] == "no-legal-minute"
    assert "2026-11-25T13:00:00Z" in result.err


@pytest.mark.req("E19")
def test_reschedule_cancel_reopen_and_history(cli, ids):
    callback_id = _schedule(cli, ids).json()["id"]
    moved = cli("callbacks", "reschedule", callback_id, "--date", "2026-11-25", "--from", "19:00",
                "--until", "22:00", "--message", "sorry", "--channel", "email", *AT, "--json")
    assert moved.code == 0, moved.err
    assert (moved.json()["window_end_at"], moved.json()["is_clipped"]) == (
        "2026-11-26T02:00:00Z", True)
    cancelled = cli("callbacks", "cancel", callback_id, "--reason", "duplicate", "--no-notify",
                    *AT, "--json")
    assert cancelled.json()["status"] == "cancelled"
    assert cli("callbacks", "complete", callback_id, "--outcome", "x", *AT, "--json").code == 2
    reopened = cli("callbacks", "reopen", callback_id, "--why", "mistake", *AT, "--json").json()
    assert [h["action"] for h in reopened["history"]] == ["scheduled", "rescheduled",
                                                          "cancelled", "reopened"]


@pytest.mark.req("E19")
def test_complete_no_show_miss_and_report(cli, ids):
    first = _schedule(cli, ids, "--owner", "bob").json()["id"]
    second = _schedule(cli, ids).json()["id"]
    third = _schedule(cli, ids).json()["id"]
    done = cli("callbacks", "complete", first, "--outcome", "renewed", "--reason", "price",
               "--time-taken", "300", "--now", "2026-11-24T15:30:00Z", "--json").json()
    assert (done["status"], done["time_taken_s"]) == ("completed", 300)
    assert cli("callbacks", "no-show", second, *AT, "--json").json()["status"] == "no_show"
    missed = cli("callbacks", "miss", third, "--now", "2026-11-24T15:50:00Z", "--json").json()
    assert missed["status"] == "missed"
    assert missed["history"][-1]["why"] == "this call did not happen"
    report = cli("callbacks", "report", "--json").json()["campaigns"][0]
    assert (report["callbacks"], report["kept_on_time"], report["no_show"], report["missed"]) \
        == (3, 1, 1, 1)


@pytest.mark.req("E19")
def test_request_propose_accept_reassign_and_notes(cli, ids):
    callback_id = _schedule(cli, ids, "--owner", "ana.agent").json()["id"]
    assert cli("callbacks", "request", callback_id, "--channel", "email", *AT,
               "--json").json()["status"] == "requested"
    proposed = cli("callbacks", "propose", callback_id, "--slot", "2026-11-24 14:00-14:30",
                   "--slot", "2026-11-25 09:00-09:30", "--channel", "email", *AT, "--json")
    assert proposed.code == 0, proposed.err
    assert proposed.json()["proposed_slots"][0] == ["2026-11-24T19:00:00Z",
                                                    "2026-11-24T19:30:00Z"]
    refused = cli("callbacks", "accept", callback_id, *AT, "--json")
    assert (refused.code, refused.json()["error"]["id"]) == (2, "no-suggestion")
    available = cli("callbacks", "reassign", callback_id, "--available", "--json").json()
    assert available["available"] == ["ana.agent", "bob"]
    moved = cli("callbacks", "reassign", callback_id, "--to", "bob", *AT, "--json").json()
    assert moved["owner"] == "bob"
    added = cli("callbacks", "notes", callback_id, "--add", "call on mobile", *AT,
                "--json").json()
    note_id = added["notes"][0]["id"]
    edited = cli("callbacks", "notes", callback_id, "--edit", note_id, "--text",
                 "call on mobile after 2pm", *AT, "--json").json()
    assert [n["body"] for n in edited["notes"]] == ["call on mobile after 2pm"]


@pytest.mark.req("E19")
def test_link_prints_the_customer_url(cli, ids, monkeypatch):
    callback_id = _schedule(cli, ids).json()["id"]
    # [callbacks] is not yet a section of Settings: hand the command these settings.
    monkeypatch.setattr(callbacks_config, "settings_of", lambda settings: CFG)
    result = cli("callbacks", "link", callback_id, *AT)
    assert result.code == 0, result.err
    assert result.out.startswith("https://dialer.test/c/")


@pytest.mark.req("E19")
def test_link_without_a_secret_is_an_input_error(cli, ids):
    callback_id = _schedule(cli, ids).json()["id"]
    result = cli("callbacks", "link", callback_id, "--json")
    assert result.code == 2
    assert result.json()["error"]["id"] == "link-secret-missing"


@pytest.mark.req("E19")
def test_sweep_marks_overdue_callbacks_missed(cli, ids):
    callback_id = _schedule(cli, ids).json()["id"]
    swept = cli("callbacks", "sweep", "--now", "2026-11-24T16:00:00Z", "--json").json()
    assert swept == {"missed": 1, "ladder_steps": 1}
    shown = cli("callbacks", "show", callback_id, "--json").json()
    assert (shown["status"], shown["window_start_at"]) == ("scheduled", "2026-11-25T15:00:00Z")


@pytest.mark.req("E19")
def test_a_campaign_callback_policy_is_set_validated_and_shown(cli, ids):
    shown = cli("callbacks", "policy", "Spring renewals", "--set", "ladder_retry_after_s=300",
                "--set", 'cancel_reasons=["duplicate"]', "--json")
    assert shown.code == 0, shown.err
    assert shown.json()["effective"]["ladder_retry_after_s"] == 300
    assert shown.json()["policy"]["cancel_reasons"] == ["duplicate"]
    bad = cli("callbacks", "policy", "Spring renewals", "--set", "link_secret=x", "--json")
    assert (bad.code, bad.json()["error"]["id"]) == (2, "invalid-callback-policy")
    callback_id = _schedule(cli, ids).json()["id"]
    refused = cli("callbacks", "cancel", callback_id, "--reason", "whim", *AT, "--json")
    assert refused.json()["error"]["id"] == "unknown-cancel-reason"

"""``dialer privacy``, ``dialer audit list`` and ``dialer retention run`` (F4)."""

from __future__ import annotations

import json

import pytest

from campaigns import db
from tests.privacy.conftest import make_trail


@pytest.fixture
def person(cli_db) -> int:
    """The trail of tests.privacy.conftest, committed; Ana's record id."""
    cli_db("db", "upgrade")
    engine = db.make_engine(cli_db.db_url)
    with db.unit_of_work(db.make_sessionmaker(engine)) as session:
        record_id = make_trail(session).world.record.id
    engine.dispose()
    return record_id


@pytest.mark.req("F4")
def test_export_then_erase_a_person_from_the_command_line(cli_db, person, tmp_path):
    out = tmp_path / "ana.json"
    exported = cli_db("privacy", "export", "(212) 555-0199", "--out", out, "--json")
    assert exported.code == 0, exported.err
    assert exported.json() == {"out": str(out), "records": 1}
    assert json.loads(out.read_text())["records"][0]["first_name"] == "Ana"

    refused = cli_db("privacy", "erase", "--record", person, "--json")
    assert refused.code == 2 and refused.json()["error"]["fields"] == {
        "yes": "erasing cannot be undone: add --yes"}
    erased = cli_db("privacy", "erase", "--record", person, "--yes", "--json")
    assert erased.code == 0, erased.err
    assert erased.json()["suppressed"] == 2

    after = cli_db("privacy", "export", "--record", person)
    assert after.code == 0 and json.loads(after.out)["records"][0]["first_name"] == ""
    events = cli_db("audit", "list", "--action", "privacy", "--json").json()["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("privacy.export", "cli"), ("privacy.erase", "cli"), ("privacy.export", "cli")]


@pytest.mark.req("F4")
def test_bad_subjects_are_usage_errors(cli_db, person):
    assert cli_db("privacy", "export").code == 2
    assert cli_db("privacy", "export", "+12125550199", "--record", person).code == 2
    assert cli_db("privacy", "export", "not a number").code == 2
    missing = cli_db("privacy", "export", "+1 212 555 0123", "--json")
    assert missing.code == 2 and missing.json()["error"]["id"] == "no-such-person"


@pytest.mark.req("F4")
def test_audit_list_filters_by_actor_action_and_time(cli_db, person):
    everything = cli_db("audit", "list", "--json").json()["events"]
    assert {e["actor"] for e in everything} >= {"admin", "bob"}
    by_bob = cli_db("audit", "list", "--actor", "bob", "--json").json()["events"]
    assert [e["action"] for e in by_bob] == ["callback.note_added"]
    assert cli_db("audit", "list", "--since", "2030-01-01", "--json").json() == {"events": []}
    assert cli_db("audit", "list", "--since", "2026-11-23T10:00:00").code == 2  # no offset
    text = cli_db("audit", "list", "--action", "callback.scheduled")
    assert text.code == 0 and "callback.scheduled" in text.out and "admin" in text.out


@pytest.mark.req("F4")
def test_retention_run_reports_per_kind(cli_db, person):
    dry = cli_db("retention", "run", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert dry.json()["dry_run"] is True
    assert set(dry.json()["deleted"]) == {"attempts", "notifications", "webhook_deliveries",
                                          "reject_files", "audit"}
    assert cli_db("audit", "list", "--action", "retention", "--json").json() == {"events": []}
    done = cli_db("retention", "run", "--json")
    assert done.code == 0 and done.json()["deleted"]["attempts"] == 0
    assert len(cli_db("audit", "list", "--action", "retention", "--json").json()["events"]) == 1

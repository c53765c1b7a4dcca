"""``dialer dnc``: add, import, list, remove; global and campaign scope; effect on records."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from campaigns import db, models


@pytest.fixture
def loaded(cli, tmp_path: Path) -> str:
    """A campaign with two records: Ann (two numbers) and Bob (one)."""
    cli("campaign", "create", "spring")
    path = tmp_path / "l.csv"
    path.write_text("name,phone,cell\nAnn Lee,(202) 456-1111,(415) 555-2671\n"
                    "Bob Roe,(650) 253-0000,\n")
    assert cli("list", "load", path, "--campaign", "spring", "--json").json()["imported"] == 2
    return "spring"


def _query(cli, statement):
    engine = db.make_engine(cli.db_url)
    with engine.connect() as conn:
        found = conn.execute(statement).all()
    engine.dispose()
    return found


def _statuses(cli) -> dict[str, str]:
    rows = _query(cli, select(models.Record.first_name, models.Record.status))
    return {name: status.value for name, status in rows}


@pytest.mark.req("A19")
def test_add_lists_numbers_in_any_format_globally(cli):
    result = cli("dnc", "add", "(202) 456-1111", "+1 415 555 2671", "--json")
    assert result.code == 0, result.err
    assert result.json()["added"] == ["+12024561111", "+14155552671"]
    entries = cli("dnc", "list", "--json").json()["entries"]
    assert [(e["e164"], e["scope"], e["source"]) for e in entries] == [
        ("+12024561111", "global", "manual"), ("+14155552671", "global", "manual")]
    again = cli("dnc", "add", "202-456-1111", "--json").json()
    assert again["added"] == [] and again["already_listed"] == ["+12024561111"]


@pytest.mark.req("A19")
def test_adding_a_number_sets_records_without_another_number_to_dnc(cli, loaded):
    assert cli("dnc", "add", "650-253-0000", "--json").json()["records_marked"] == 1
    assert cli("dnc", "add", "202-456-1111", "--json").json()["records_marked"] == 0
    assert _statuses(cli) == {"Ann": "new", "Bob": "dnc"}
    assert cli("dnc", "add", "415-555-2671", "--campaign", loaded,
               "--json").json()["records_marked"] == 1
    assert _statuses(cli) == {"Ann": "dnc", "Bob": "dnc"}


@pytest.mark.req("A19")
def test_campaign_scope_only_applies_to_its_campaign(cli, loaded, tmp_path):
    cli("campaign", "create", "autumn")
    cli("dnc", "add", "650-253-0000", "--campaign", "autumn")
    assert _statuses(cli) == {"Ann": "new", "Bob": "new"}
    assert cli("dnc", "list", "--json").json()["entries"] == []
    scoped = cli("dnc", "list", "--campaign", "autumn", "--json").json()["entries"]
    assert [e["scope"] for e in scoped] == [f"campaign:{_campaign_id(cli, 'autumn')}"]
    path = tmp_path / "a.csv"
    path.write_text("phone\n650-253-0000\n")
    summary = cli("list", "load", path, "--campaign", "autumn", "--json").json()
    assert summary["rejected"]["dnc"] == 1


def _campaign_id(cli, name: str) -> int:
    return _query(cli, select(models.Campaign.id).where(models.Campaign.name == name))[0][0]


@pytest.mark.req("A19")
def test_remove_unlists_and_restores_never_dialled_records(cli, loaded):
    cli("dnc", "add", "650-253-0000")
    result = cli("dnc", "remove", "+16502530000", "+19999999999", "--json").json()
    assert result["removed"] == ["+16502530000"] and result["records_restored"] == 1
    assert result["not_listed"] == ["+19999999999"]
    assert _statuses(cli) == {"Ann": "new", "Bob": "new"}


@pytest.mark.req("A19")
def test_import_reads_one_number_a_line_in_any_format(cli, loaded, tmp_path):
    path = tmp_path / "dnc.txt"
    path.write_text("# opted out\n(650) 253-0000\n\n+1 202 456 1111\n415,5552671\nnot a number\n")
    result = cli("dnc", "import", path, "--source", "crm-optouts", "--json").json()
    assert {k: result[k] for k in ("lines", "added", "unreadable", "unreadable_lines",
                                   "records_marked")} == {
        "lines": 4, "added": 3, "unreadable": 1, "unreadable_lines": [6], "records_marked": 2}
    assert _query(cli, select(models.RegistryScrub)) == []


@pytest.mark.req("A19")
@pytest.mark.parametrize("source, text, e164", [
    ("us-national", "2024561111\n6502530000\n", "+12024561111"),
    ("uk-tps", "020 7946 0958\n", "+442079460958"),
    ("ca-dncl", "416 555 0123\n", "+14165550123"),
])
def test_registry_import_records_a_scrub(cli, tmp_path, source, text, e164):
    """Every registry the calling rules name (registry_source) can be imported and dated."""
    path = tmp_path / "registry.txt"
    path.write_text(text)
    assert cli("dnc", "import", path, "--source", source, "--json").json()["added"] >= 1
    scrubs = _query(cli, select(models.RegistryScrub.source, models.RegistryScrub.numbers))
    assert scrubs == [(source, text.count("\n"))]
    assert e164 in [e["e164"] for e in cli("dnc", "list", "--json").json()["entries"]]


@pytest.mark.req("A19")
def test_dnc_changes_are_audited(cli, loaded):
    cli("dnc", "add", "650-253-0000", "--source", "customer request")
    cli("dnc", "remove", "650-253-0000")
    events = _query(cli, select(models.AuditEvent.action, models.AuditEvent.entity_id,
                                models.AuditEvent.details)
                    .where(models.AuditEvent.entity == "dnc_entry"))
    assert [(a, e) for a, e, _ in events] == [("dnc.add", "+16502530000"),
                                              ("dnc.remove", "+16502530000")]
    assert events[0][2]["source"] == "customer request"


@pytest.mark.req("A19")
def test_expiring_entries_show_as_active_until_then(cli):
    cli("dnc", "add", "650-253-0000", "--expires", "2999-01-01")
    cli("dnc", "add", "202-456-1111", "--expires", "2001-01-01")
    entries = {e["e164"]: e for e in cli("dnc", "list", "--json").json()["entries"]}
    assert entries["+16502530000"]["is_active"] is True
    assert entries["+12024561111"]["is_active"] is False


@pytest.mark.req("A19")
@pytest.mark.parametrize("args", [
    ("add", "hello"),
    ("add", "650-253-0000", "--expires", "soon"),
    ("add", "650-253-0000", "--campaign", "nope"),
    ("import", "missing.txt"),
])
def test_bad_input_exits_2_and_changes_nothing(cli, args):
    result = cli("dnc", *args)
    assert result.code == 2 and result.err.count("\n") == 1
    assert cli("dnc", "list", "--json").json()["entries"] == []


@pytest.mark.req("B9")
def test_every_registry_named_by_the_rules_can_be_imported():
    from campaigns import calling_rules
    from campaigns.store import dnc as dnc_store

    named = {r.registry_source for r in calling_rules.default_rules().rules
             if getattr(r, "registry_source", None)}
    assert named and named <= set(dnc_store.REGISTRY_SOURCES)

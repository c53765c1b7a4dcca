"""``/api/privacy``: export and erase a person over the API, audited; an erased number is never
re-imported by a list upload (F4); administrators only, errors in the one shape (F18, F3)."""

from __future__ import annotations

import csv
import io
import os

import pytest

from campaigns import db
from tests.api.conftest import Web, password_of, submit_login
from tests.api.test_admin_campaigns import error_of
from tests.api.test_admin_lists import upload, wait_for_job
from tests.clirunner import CliRunner
from tests.privacy.conftest import Trail, make_trail

ANA_HOME, ANA_MOBILE, ZOE = "+12125550100", "+12125550199", "+12125550177"


def _trail(web: Web) -> Trail:
    """Ana (two numbers, an attempt, a callback with a note, a notification) and Zoe."""
    with db.unit_of_work(web.factory) as session:
        return make_trail(session)


def _audit_cli(web: Web, monkeypatch, *args: str) -> list[dict]:
    """``dialer audit list ... --json`` on the app's database."""
    for name in list(os.environ):
        if name.startswith("DIALER_") and "__" in name or name == "DIALER_CONFIG":
            monkeypatch.delenv(name)
    result = CliRunner(web.settings.database.url)("audit", "list", *args, "--json")
    assert result.code == 0, result.err
    return result.json()["events"]


@pytest.mark.req("F4")
def test_export_returns_the_persons_records_attempts_and_callbacks(web, monkeypatch) -> None:
    trail = _trail(web)
    admin = web.client("admin")
    response = admin.post("/api/privacy/export", json={"phone": "(212) 555-0100"})
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["subject"] == {"phone": ANA_HOME, "record_id": None}
    [record] = document["records"]
    assert (record["id"], record["first_name"], record["email"]) == (
        trail.world.record.id, "Ana", "ana@example.com")
    assert sorted(n["e164"] for n in record["numbers"]) == [ANA_HOME, ANA_MOBILE]
    assert [a["id"] for a in record["attempts"]] == [trail.attempt_id]
    assert record["attempts"][0]["notes"] == "spoke to the customer"
    [callback] = record["callbacks"]
    assert callback["id"] == trail.callback_id and callback["number_e164"] == ANA_MOBILE
    assert [n["body"] for n in callback["notes_added"]] == ["prefers Spanish"]
    assert ZOE not in response.text and "Zoe" not in response.text

    by_id = admin.post("/api/privacy/export", json={"record_id": trail.world.record.id})
    assert by_id.status_code == 200 and by_id.json()["records"][0]["first_name"] == "Ana"
    [first, second] = _audit_cli(web, monkeypatch, "--action", "privacy.export")
    assert (first["actor"], first["entity_id"], first["details"]) == (
        "administrator:admin", str(trail.world.record.id),
        {"records": [trail.world.record.id], "out": "api"})
    assert second["actor"] == "administrator:admin"


CSV = ("Name,Phone,Other\n"
       "Ana,(212) 555-0100,\n"           # erased: rejected
       "Ana B,212.555.0199,212-555-0123\n"  # keeps only the new number
       "Lee,+1 212 555 0124,\n")


@pytest.mark.req("F4")
def test_erase_then_an_upload_rejects_the_erased_number(web, monkeypatch) -> None:
    trail = _trail(web)
    admin = web.client("admin")
    erased = admin.post("/api/privacy/erase", json={"phone": ANA_MOBILE, "confirm": True})
    assert erased.status_code == 200, erased.text
    counts = erased.json()
    assert counts["records"] == [trail.world.record.id]
    assert (counts["suppressed"], counts["callbacks"], counts["attempts_kept"]) == (2, 1, 1)
    kept = admin.post("/api/privacy/export", json={"record_id": trail.world.record.id}).json()
    assert kept["records"][0]["first_name"] == "" and kept["records"][0]["numbers"] == []
    assert error_of(admin.post("/api/privacy/export", json={"phone": ANA_HOME}),
                    404)["id"] == "no-such-person"

    described = upload(admin, CSV, "again.csv").json()
    job = wait_for_job(admin, admin.post("/api/import-jobs", json={
        "upload": described["upload"], "campaign": "alpha", "list_name": "again",
        "mapping": {"phone": "Phone", "alt_phone": ["Other"]}}).json()["id"])
    assert job["status"] == "done", job["error"]
    assert (job["rows"], job["imported"], job["rejected"]) == (3, 2, {"erased": 1})
    rejects = list(csv.reader(io.StringIO(
        admin.get(f"/api/import-jobs/{job['id']}/rejects").text)))
    assert rejects[1:] == [["Ana", "(212) 555-0100", "", "erased"]]
    numbers = admin.post("/api/privacy/export", json={"phone": "212-555-0123"}).json()
    assert [n["e164"] for n in numbers["records"][0]["numbers"]] == ["+12125550123"]

    [event] = _audit_cli(web, monkeypatch, "--action", "privacy.erase")
    assert event["actor"] == "administrator:admin" and event["details"]["suppressed"] == 2
    assert ANA_HOME not in str(event) and ANA_MOBILE not in str(event)


@pytest.mark.req("F4", "F3")
def test_erase_needs_confirm_true_and_bad_subjects_name_their_field(web_sqlite) -> None:
    trail = _trail(web_sqlite)
    admin = web_sqlite.client("admin")
    for body in ({"phone": ANA_HOME}, {"phone": ANA_HOME, "confirm": False},
                 {"phone": ANA_HOME, "confirm": "yes"}):
        error = error_of(admin.post("/api/privacy/erase", json=body), 422)
        assert list(error["fields"]) == ["confirm"], error
    still = admin.post("/api/privacy/export", json={"record_id": trail.world.record.id}).json()
    assert still["records"][0]["first_name"] == "Ana"  # nothing was erased
    for path in ("/api/privacy/export", "/api/privacy/erase"):
        for body, field in [({}, "phone"), ({"phone": ANA_HOME, "record_id": 1}, "phone"),
                            ({"phone": "not a number"}, "phone"),
                            ({"record_id": 0}, "record_id"), ({"record_id": "x"}, "record_id")]:
            error = error_of(admin.post(path, json={**body, "confirm": True}), 422)
            assert field in error["fields"], (path, body, error)
        missing = error_of(admin.post(path, json={"record_id": 999_999, "confirm": True}), 404)
        assert missing["id"] == "no-such-record" and missing["fields"] == {"record": "not found"}


@pytest.mark.req("F4", "F18")
def test_privacy_routes_are_for_administrators_only(web_sqlite, monkeypatch) -> None:
    trail = _trail(web_sqlite)
    body = {"record_id": trail.world.record.id, "confirm": True}
    clients = [web_sqlite.client("super"), web_sqlite.client("agent1"),
               web_sqlite.token_client("super"), web_sqlite.token_client("agent2")]
    for path in ("/api/privacy/export", "/api/privacy/erase"):
        for client in clients:
            error = error_of(client.post(path, json=body), 403)
            assert error["id"] == "forbidden" and "role" in error["fields"]
        assert error_of(web_sqlite.anonymous().post(path, json=body), 401)["id"] == \
            "not-authenticated"
    admin = web_sqlite.client("admin")
    csrf = admin.headers.pop("X-CSRF-Token")
    assert error_of(admin.post("/api/privacy/erase", json=body), 403)["id"] == "csrf-failed"
    admin.headers["X-CSRF-Token"] = csrf
    # nothing was exported or erased
    assert _audit_cli(web_sqlite, monkeypatch, "--action", "privacy") == []
    still = admin.post("/api/privacy/export", json=body).json()
    assert still["records"][0]["first_name"] == "Ana"


@pytest.mark.req("F4")
def test_logins_failed_logins_exports_and_erasures_are_in_the_audit(web_sqlite, monkeypatch) -> None:
    web = web_sqlite
    trail = _trail(web)
    assert web.anonymous().post("/api/auth/login", json={"username": "admin",
                                                         "password": "wrong"}).status_code == 401
    page = web.anonymous()  # the login page goes through the same audited check
    assert submit_login(page, "super", "wrong").status_code == 401
    assert submit_login(page, "super", password_of("super")).status_code == 303
    admin = web.client("admin")
    admin.post("/api/privacy/export", json={"record_id": trail.world.record.id})
    admin.post("/api/privacy/erase", json={"record_id": trail.world.record.id, "confirm": True})
    assert admin.post("/api/auth/logout").status_code == 200
    events = _audit_cli(web, monkeypatch, "--since", "2000-01-01")
    trace = [(e["action"], e["actor"]) for e in events
             if e["action"] in ("login", "login_failed", "logout") or
             e["action"].startswith("privacy.")]
    assert trace == [("login_failed", "web:testclient"), ("login_failed", "web:testclient"),
                     ("login", "supervisor:super"), ("login", "administrator:admin"),
                     ("privacy.export", "administrator:admin"),
                     ("privacy.erase", "administrator:admin"), ("logout", "administrator:admin")]
    assert events[0]["at"].endswith("Z") and {"id", "entity", "entity_id", "details"} <= set(
        events[0])

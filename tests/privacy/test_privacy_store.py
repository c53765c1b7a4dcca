"""Per-person export and erase (F4), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from campaigns import errors, models
from campaigns.enums import RecordStatus
from campaigns.store import privacy
from tests.callbacks.conftest import NOW

ANA = ("+12125550100", "+12125550199")


@pytest.mark.req("F4")
def test_export_gathers_everything_about_a_person_and_nothing_else(session, trail):
    from campaigns.store import audit

    audit.record(session, action="dnc.add", entity="dnc_entry", entity_id="+12125550100",
                 at=NOW)
    audit.record(session, action="dnc.add", entity="dnc_entry", entity_id="+12125550177",
                 at=NOW)
    document = privacy.export(session, phone="+12125550199", now=NOW)

    json.dumps(document)  # one JSON document
    [record] = document["records"]
    assert (record["id"], record["first_name"], record["email"]) == (
        trail.world.record.id, "Ana", "ana@example.com")
    assert [n["e164"] for n in record["numbers"]] == list(ANA)
    assert [(a["id"], a["notes"]) for a in record["attempts"]] == [
        (trail.attempt_id, "spoke to the customer")]
    [callback] = record["callbacks"]
    assert (callback["id"], callback["notes"]) == (trail.callback_id, "call after ten")
    assert [n["body"] for n in callback["notes_added"]] == ["prefers Spanish"]
    recipients = {m["recipient"] for m in document["notifications"]}
    assert "ana@example.com" in recipients and recipients <= {"ana@example.com", *ANA}
    assert document["webhook_deliveries"] and all(
        "+12125550199" in d["body"] for d in document["webhook_deliveries"])
    actions = [a["action"] for a in document["audit"]]
    assert "callback.scheduled" in actions and "callback.note_added" in actions
    assert [a["entity_id"] for a in document["audit"] if a["action"] == "dnc.add"] == [
        "+12125550100"]
    assert "Zoe" not in json.dumps(document) and "+12125550177" not in json.dumps(document)
    by_record = privacy.export(session, record_id=trail.world.record.id, now=NOW)
    assert by_record["records"] == document["records"]


@pytest.mark.req("F4")
def test_an_unknown_person_is_not_found(session, trail):
    with pytest.raises(errors.NotFound):
        privacy.export(session, phone="+12125550123", now=NOW)
    with pytest.raises(errors.NotFound):
        privacy.erase(session, record_id=999_999, actor="admin", now=NOW)


@pytest.mark.req("F4")
def test_erase_removes_personal_data_keeps_attempts_and_a_hash_only(session, trail):
    record_id = trail.world.record.id
    erased = privacy.erase(session, phone="+1 212 555 0100".replace(" ", ""), actor="admin",
                           now=NOW)

    assert (erased["records"], erased["numbers"], erased["callbacks"], erased["suppressed"]) == (
        [record_id], 2, 1, 2)
    session.expire_all()
    record = session.get(models.Record, record_id)
    assert (record.first_name, record.email, record.fields, record.status) == (
        "", "", {}, RecordStatus.DNC)
    assert record.phones == []
    assert session.get(models.Callback, trail.callback_id) is None
    attempt = session.get(models.Attempt, trail.attempt_id)  # kept for compliance counting
    assert (attempt.record_id, attempt.number_e164, attempt.notes, attempt.outcome.value) == (
        record_id, "", "", "answered")
    assert not session.scalars(select(models.OutboxMessage).where(
        models.OutboxMessage.recipient.in_(["ana@example.com", *ANA]))).all()
    assert not [d for d in session.scalars(select(models.WebhookDelivery))
                if "+12125550199" in d.body]
    hashes = session.scalars(select(models.ErasureSuppression.number_hash)).all()
    assert len(hashes) == 2 and not set(hashes) & set(ANA)
    assert all(len(h) == 64 and "2125550" not in h for h in hashes)
    assert privacy.is_suppressed(session, [*ANA, "+12125550177"]) == set(ANA)
    # the other customer is untouched
    other = session.get(models.Record, trail.world.other.id)
    assert (other.first_name, [p.e164 for p in other.phones]) == ("Zoe", ["+12125550177"])
    assert session.get(models.Attempt, trail.other_attempt_id).number_e164 == "+12125550177"
    [event] = [e for e in session.scalars(select(models.AuditEvent)
                                          .where(models.AuditEvent.action == "privacy.erase"))]
    assert event.actor == "admin" and "2125550" not in json.dumps(event.details)


@pytest.mark.req("F4")
def test_nothing_is_suppressed_before_anything_is_erased(session, trail):
    assert privacy.is_suppressed(session, ANA) == set()
    assert privacy.suppression_check(session) is None  # a list load skips the check
    assert session.scalars(select(models.PrivacyKey)).all() == []


@pytest.mark.req("F4")
@pytest.mark.parametrize("in_memory_max", [0, 1000])
def test_a_list_loads_check_finds_the_erased_numbers_by_query_or_in_memory(session, trail,
                                                                          in_memory_max):
    privacy.erase(session, record_id=trail.world.record.id, actor="admin", now=NOW)
    check = privacy.suppression_check(session, in_memory_max=in_memory_max)
    assert check is not None
    assert check([*ANA, "+12125550177", "+12125550123"]) == set(ANA)
    assert check([]) == set() and check(["+12125550177"]) == set()


@pytest.mark.req("F4")
def test_erasing_twice_keeps_one_hash_per_number(session, trail):
    privacy.erase(session, record_id=trail.world.record.id, actor="admin", now=NOW)
    again = privacy.erase(session, record_id=trail.world.record.id, actor="admin", now=NOW)
    assert again["suppressed"] == 0
    assert len(session.scalars(select(models.ErasureSuppression)).all()) == 2

"""The compliance store on SQLite and PostgreSQL: targets, DNC, scrubs, suspensions, abandonment."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import abandonment, calling_hours, models
from campaigns.enums import CallOutcome, DialingMode
from campaigns.store import audit
from campaigns.store import campaigns as campaign_store
from campaigns.store import compliance as store

UTC = dt.UTC
NOW = dt.datetime(2026, 7, 1, 16, 0, tzinfo=UTC)  # 12:00 in New York


def _phone(session, campaign, e164: str, *, state: str = "", tz: str = "",
           zip_code: str = "") -> models.PhoneNumber:
    calling_list = models.CallingList(campaign_id=campaign.id, name=f"l{e164}", created_at=NOW)
    session.add(calling_list)
    session.flush()
    record = models.Record(campaign_id=campaign.id, list_id=calling_list.id, raw_state=state,
                           raw_tz=tz, raw_zip=zip_code, created_at=NOW, updated_at=NOW)
    session.add(record)
    session.flush()
    phone = models.PhoneNumber(record_id=record.id, campaign_id=campaign.id, e164=e164,
                               region="US", created_at=NOW)
    session.add(phone)
    session.flush()
    return phone


def _attempt(session, campaign_id, e164: str, started_at: dt.datetime, **values) -> None:
    session.add(models.Attempt(campaign_id=campaign_id, number_e164=e164, started_at=started_at,
                               **values))
    session.flush()


@pytest.mark.req("B12", "B8")
def test_load_target_reads_attempts_inside_the_longest_window(session) -> None:
    campaign = campaign_store.create(session, "spring", now=NOW)
    other = campaign_store.create(session, "autumn", now=NOW)
    phone = _phone(session, campaign, "+13055550100", state="FL")
    for hours in (20, 5, 1):
        _attempt(session, campaign.id, phone.e164, NOW - dt.timedelta(hours=hours),
                 record_id=phone.record_id)
    _attempt(session, campaign.id, phone.e164, NOW - dt.timedelta(days=90))
    _attempt(session, campaign.id, phone.e164, NOW - dt.timedelta(hours=2), counts_as_attempt=False)
    _attempt(session, other.id, phone.e164, NOW - dt.timedelta(hours=3))
    target = store.load_target(session, campaign, NOW, phone=phone, is_registry_checked=False)
    assert target.jurisdictions == ("US", "US-FL")
    assert len(target.attempts_at) == 3 and len(target.other_attempts_at) == 1
    assert calling_hours.may_dial(target, NOW).reasons == ("frequency:US-FL-frequency",)


@pytest.mark.req("B9")
def test_dnc_added_after_queueing_is_seen_at_dial_time(session) -> None:
    campaign = campaign_store.create(session, "spring", now=NOW)
    phone = _phone(session, campaign, "+12125550100")
    assert calling_hours.may_dial(
        store.load_target(session, campaign, NOW, phone=phone, is_registry_checked=False),
        NOW).is_allowed
    session.add(models.DncEntry(e164=phone.e164, campaign_id=campaign.id,
                                scope=f"campaign:{campaign.id}", added_at=NOW))
    session.flush()
    target = store.load_target(session, campaign, NOW, phone=phone, is_registry_checked=False)
    assert calling_hours.may_dial(target, NOW).reasons == ("dnc",)
    assert "dnc" in store.decide(session, campaign, phone, NOW).reasons
    assert not store.is_dnc(session, phone.e164, None, NOW)
    session.add(models.DncEntry(e164=phone.e164, scope="global", added_at=NOW,
                                expires_at=NOW - dt.timedelta(days=1)))
    session.flush()
    assert not store.is_dnc(session, phone.e164, None, NOW)


@pytest.mark.req("B9")
def test_latest_registry_scrub_per_source_blocks_when_stale(session) -> None:
    campaign = campaign_store.create(session, "spring", now=NOW)
    phone = _phone(session, campaign, "+12125550100")
    for days in (50, 20):
        session.add(models.RegistryScrub(source="us-national",
                                         imported_at=NOW - dt.timedelta(days=days), numbers=10))
    session.add(models.RegistryScrub(source="uk-tps", imported_at=NOW - dt.timedelta(days=40)))
    session.flush()
    scrubs = store.latest_scrubs(session)
    assert scrubs == {"us-national": NOW - dt.timedelta(days=20),
                      "uk-tps": NOW - dt.timedelta(days=40)}
    rules = calling_hours.calling_rules.default_rules()
    assert calling_hours.registry_block("telemarketing", scrubs, rules, NOW,
                                        store.campaign_countries(session, campaign.id)) is None
    later = NOW + dt.timedelta(days=12)
    target = store.load_target(session, campaign, later, phone=phone)
    assert calling_hours.may_dial(target, later).reasons == ("registry_stale:US-national-DNC",)


@pytest.mark.req("B5")
def test_suspension_is_audited_and_reaches_targets(session) -> None:
    campaign = campaign_store.create(session, "spring", now=NOW)
    phone = _phone(session, campaign, "+15045550100")
    row = store.add_suspension(session, "US-LA", NOW - dt.timedelta(hours=1),
                               NOW + dt.timedelta(days=2), reason="hurricane", created_by="ops",
                               now=NOW)
    events = audit.events(session, entity="hours_suspension", entity_id=row.id)
    assert [(e.action, e.actor, e.details["jurisdiction"]) for e in events] == [
        ("hours.suspend", "ops", "US-LA")]
    target = store.load_target(session, campaign, NOW, phone=phone, is_registry_checked=False)
    assert calling_hours.may_dial(target, NOW).reasons == ("suspended:US-LA-emergency",)
    assert store.suspensions(session, NOW + dt.timedelta(days=3)) == []


@pytest.mark.req("B3", "B11")
def test_stored_record_with_unreadable_zone_is_zone_unknown(session) -> None:
    campaign = campaign_store.create(session, "spring", now=NOW,
                                     window_start=dt.time(10), window_end=dt.time(18),
                                     dialing_mode=DialingMode.PREDICTIVE)
    bad = _phone(session, campaign, "+12125550100", tz="Moon/Base")
    target = store.load_target(session, campaign, NOW, phone=bad, is_registry_checked=False)
    assert calling_hours.may_dial(target, NOW).reasons == ("zone_unknown",)
    good = _phone(session, campaign, "+12125550101", tz="America/Los_Angeles")
    target = store.load_target(session, campaign, NOW, phone=good, is_registry_checked=False)
    assert target.is_autodialed and target.window == (dt.time(10), dt.time(18))
    assert calling_hours.may_dial(target, NOW).reasons == ("campaign_window",)  # 09:00 in LA


@pytest.mark.req("B15")
def test_abandonment_counts_per_day_in_the_campaign_zone_and_30_days(session) -> None:
    campaign = campaign_store.create(session, "spring", now=NOW, centre_tz="America/New_York",
                                     amd_false_positive_rate=0.1)
    today = dt.datetime(2026, 7, 1, 5, 0, tzinfo=UTC)  # 01:00 in New York, July 1
    yesterday = dt.datetime(2026, 7, 1, 3, 0, tzinfo=UTC)  # 23:00 in New York, June 30
    answered = {"outcome": CallOutcome.ANSWERED, "answered_at": today}
    for _ in range(8):
        _attempt(session, campaign.id, "+12125550100", today, **answered)
    _attempt(session, campaign.id, "+12125550100", today, is_abandoned=True, **answered)
    for _ in range(10):
        _attempt(session, campaign.id, "+12125550100", today, outcome=CallOutcome.MACHINE)
    _attempt(session, campaign.id, "+12125550100", yesterday, is_abandoned=True, **answered)
    _attempt(session, campaign.id, "+12125550100", NOW - dt.timedelta(days=40),
             is_abandoned=True, **answered)
    report = store.abandonment_report(session, campaign, NOW)
    assert report["day"] == {"connected": 8, "abandoned": 1, "machine": 10}
    assert report["period_30d"] == {"connected": 8, "abandoned": 2, "machine": 10}
    assert report["us_rate_day"] == pytest.approx(1 / 9)
    assert report["us_rate_30d"] == pytest.approx(0.2)
    assert report["uk_rate_day"] == pytest.approx((1 + 1) / (9 + 1))
    assert report["is_over_cap"] is True
    start, end = abandonment.day_bounds(dt.date(2026, 7, 1), "America/New_York")
    assert store.abandonment_counts(session, campaign.id, start, end).live_answers == 9


# -------------------------------------------------------------------------- batch path

_BATCH_NUMBERS = [
    # (number, state, tz, zip, stored metadata from phonenumbers?)
    ("+13055550100", "FL", "", "", True),
    ("+13055550101", "", "", "", True),
    ("+13055550102", "", "", "", False),
    ("+18505550100", "", "", "", True),   # split area code: two zones
    ("+18505550101", "", "", "32501", True),
    ("+15045550100", "LA", "", "", True),  # Louisiana: holidays closed, suspension below
    ("+12055550100", "AL", "", "", True),  # Alabama holidays
    ("+12155550100", "PA", "", "", True),
    ("+12125550100", "", "Moon/Base", "", True),  # unreadable zone: zone_unknown
    ("+12125550101", "", "America/Los_Angeles", "", True),
    ("+14165550100", "", "", "", True),
    ("+442079460958", "", "", "", True),
    ("+447911123456", "", "", "", True),
    ("+18005550100", "", "", "", True),  # toll free: no zone
]


def _batch_campaigns(session):
    plain = campaign_store.create(session, "tm", now=NOW)
    collect = campaign_store.create(session, "debt", now=NOW, call_category="debt_collection",
                                    dialing_mode=DialingMode.PREDICTIVE,
                                    window_start=dt.time(9), window_end=dt.time(19),
                                    schedule_days=["mon", "tue", "wed", "thu", "fri"])
    survey = campaign_store.create(session, "survey", now=NOW, call_category="research",
                                   allow_requested_callbacks_outside_hours=True)
    return [plain, collect, survey]


def _stored_phone(session, campaign, number, state, tz, zip_code, is_described):
    from campaigns import phones

    phone = _phone(session, campaign, number, state=state, tz=tz, zip_code=zip_code)
    if is_described:
        described = phones.normalise(number)
        phone.region, phone.line_type = described.region, described.line_type
        phone.zones, phone.is_valid = list(described.zones), described.is_valid
    else:
        phone.region, phone.line_type, phone.zones = "", "", []
    session.flush()
    return phone


def _batch_history(session, campaigns, phones) -> None:
    survey = campaigns[2]
    for index, phone in enumerate(phones):
        for hours in range(index % 4):  # 0-3 attempts: frequency limits for some
            _attempt(session, phone.campaign_id, phone.e164, NOW - dt.timedelta(hours=hours + 1),
                     record_id=phone.record_id)
        if index % 3 == 0:
            _attempt(session, survey.id, phone.e164, NOW - dt.timedelta(hours=5))
        if index % 5 == 0:
            _attempt(session, phone.campaign_id, phone.e164, NOW - dt.timedelta(hours=2),
                     is_abandoned=True, record_id=phone.record_id)
        if index % 4 == 1:
            _attempt(session, phone.campaign_id, phone.e164, NOW - dt.timedelta(days=3),
                     disposition="not_interested", record_id=phone.record_id)
        if index % 6 == 2:
            _attempt(session, phone.campaign_id, "+19999999999", NOW - dt.timedelta(hours=3),
                     record_id=phone.record_id)  # another number of the same record
    session.add(models.DncEntry(e164=phones[1].e164, scope="global", added_at=NOW))
    session.add(models.DncEntry(e164=phones[2].e164, campaign_id=phones[2].campaign_id,
                                scope=f"campaign:{phones[2].campaign_id}", added_at=NOW))
    session.add(models.DncEntry(e164=phones[3].e164, scope="global", added_at=NOW,
                                expires_at=NOW - dt.timedelta(days=1)))
    session.add(models.RegistryScrub(source="us-national", imported_at=NOW - dt.timedelta(days=3)))
    store.add_suspension(session, "US-LA", NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=5),
                         reason="storm", created_by="ops", now=NOW)
    store.add_suspension(session, "US-FL", NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=2),
                         reason="storm", created_by="ops", now=NOW)
    session.flush()


@pytest.mark.req("D11", "B8", "B9")
@pytest.mark.parametrize("at", [NOW, dt.datetime(2026, 12, 25, 17, 0, tzinfo=UTC),
                                dt.datetime(2026, 5, 25, 3, 0, tzinfo=UTC)],
                         ids=["summer-noon", "christmas", "memorial-day-night"])
def test_batch_targets_equal_the_per_record_path(session, at) -> None:
    from campaigns.store import compliance_batch

    campaigns = _batch_campaigns(session)
    phones = [_stored_phone(session, campaigns[i % 3], *spec)
              for i, spec in enumerate(_BATCH_NUMBERS)]
    # the same numbers again in the other campaigns (shared shapes, other histories)
    phones += [_stored_phone(session, campaigns[(i + 1) % 3], *spec)
               for i, spec in enumerate(_BATCH_NUMBERS)]
    _batch_history(session, campaigns, phones)
    by_id = {c.id: c for c in campaigns}
    subjects = compliance_batch.subjects_for_phones(session, [p.id for p in phones])
    batch = compliance_batch.load_targets(session, by_id, [subjects[p.id] for p in phones], at)
    single = [store.load_target(session, by_id[p.campaign_id], at, phone=p) for p in phones]
    assert batch == single
    verdicts = compliance_batch.judge(batch, at, horizon=dt.timedelta(days=14))
    reasons = set()
    for target, verdict in zip(single, verdicts, strict=True):
        decision = calling_hours.may_dial(target, at)
        assert verdict.decision == decision
        reasons.update(r.split(":")[0] for r in decision.reasons)
        if not decision.is_allowed:
            assert verdict.opening == calling_hours.next_dialable_at(target, at,
                                                                     dt.timedelta(days=14))
    # the records cover what the test claims to cover
    assert {"dnc", "zone_unknown"} <= reasons
    assert reasons & {"frequency", "outside_hours", "holiday", "suspended", "campaign_window",
                      "operating_schedule"}


@pytest.mark.req("D11", "B8")
def test_batch_numbers_of_one_place_share_a_target_unless_called_or_listed(session) -> None:
    from campaigns.store import compliance_batch

    campaigns = _batch_campaigns(session)
    tm, survey = campaigns[0], campaigns[2]
    phones = [_stored_phone(session, tm, f"+1305555{i:04d}", "FL", "", "", True) for i in range(8)]
    _attempt(session, tm.id, phones[1].e164, NOW - dt.timedelta(hours=1),
             record_id=phones[1].record_id)
    _attempt(session, tm.id, "+19999999999", NOW - dt.timedelta(hours=2),
             record_id=phones[2].record_id)  # its record, on another number
    _attempt(session, survey.id, phones[3].e164, NOW - dt.timedelta(hours=3))
    session.add(models.DncEntry(e164=phones[4].e164, scope="global", added_at=NOW))
    session.add(models.DncEntry(e164=phones[5].e164, campaign_id=tm.id, scope=f"campaign:{tm.id}",
                                added_at=NOW))
    session.flush()
    by_id = {c.id: c for c in campaigns}
    subjects = compliance_batch.subjects_for_phones(session, [p.id for p in phones])
    ordered = [subjects[p.id] for p in phones]
    shapes = compliance_batch.load_shapes(session, by_id, ordered, NOW)
    first = shapes[0][0]
    assert [shape is first for shape, _number in shapes] == [True] + [False] * 5 + [True, True]
    assert [number for _shape, number in shapes] == [p.e164 for p in phones]
    single = [store.load_target(session, tm, NOW, phone=p) for p in phones]
    assert compliance_batch.load_targets(session, by_id, ordered, NOW) == single
    assert len({id(t) for t in single}) == 8 and single[0] != single[1]

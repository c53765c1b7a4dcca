"""may_dial / next_dialable_at / dialable_windows: what the rules mean (B4-B13)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from campaigns import calling_hours as ch
from campaigns import calling_rules, errors

UTC = dt.UTC
DAY = dt.timedelta(days=1)


def at_local(zone: str, *args: int) -> dt.datetime:
    """The UTC instant of a local wall time."""
    return dt.datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


NY = "America/New_York"


@pytest.mark.req("B4")
def test_windows_are_half_open() -> None:
    target = ch.resolve_target("+12125550100")  # New York: federal 08:00-21:00 only
    assert not ch.may_dial(target, at_local(NY, 2026, 7, 1, 7, 59, 59)).is_allowed
    assert ch.may_dial(target, at_local(NY, 2026, 7, 1, 8, 0, 0)).is_allowed
    assert ch.may_dial(target, at_local(NY, 2026, 7, 1, 20, 59, 59)).is_allowed
    decision = ch.may_dial(target, at_local(NY, 2026, 7, 1, 21, 0, 0))
    assert not decision.is_allowed
    assert decision.reasons == ("outside_hours:US-TCPA-hours", "outside_hours:US-TSR-hours")


@pytest.mark.req("B4", "B12")
def test_allowed_until_is_the_end_of_the_window() -> None:
    target = ch.resolve_target("+12125550100")
    decision = ch.may_dial(target, at_local(NY, 2026, 7, 1, 20, 15, 30))
    assert decision.allowed_until == at_local(NY, 2026, 7, 1, 21, 0)


@pytest.mark.req("B4")
def test_an_empty_day_means_no_calls_that_day() -> None:
    target = ch.resolve_target("+18015550100")  # Utah: sun = ""
    sunday_noon = at_local("America/Denver", 2026, 3, 15, 12, 0)
    decision = ch.may_dial(target, sunday_noon)
    assert decision.reasons == ("outside_hours:US-UT-hours",)
    assert ch.next_dialable_at(target, sunday_noon, DAY * 3) \
        == at_local("America/Denver", 2026, 3, 16, 8, 0)


@pytest.mark.req("B5")
def test_disputed_rules_apply() -> None:
    target = ch.resolve_target("+17025550100")  # Nevada, vendor 09:00-20:00 (disputed)
    decision = ch.may_dial(target, at_local("America/Los_Angeles", 2026, 7, 1, 20, 30))
    assert decision.reasons == ("outside_hours:US-NV-hours-vendor",)


@pytest.mark.req("B5")
def test_superseded_rules_never_apply() -> None:
    # PA 2019 allowed 20:00 on weekdays; Act 47 of 2026 (in force) ends at 19:00.
    target = ch.resolve_target("+12155550100")
    decision = ch.may_dial(target, at_local(NY, 2026, 3, 17, 20, 0))
    assert "outside_hours:US-PA-hours-2026" in decision.reasons
    assert not any("2019" in r for r in decision.reasons)


@pytest.mark.req("B5")
def test_pending_rule_applies_from_its_effective_date() -> None:
    text = calling_rules.shipped_text() + '''
[[rule]]
id = "US-NY-future"
jurisdiction = "US-NY"
kind = "window"
status = "pending"
scope = ["telemarketing"]
mon = "10:00-18:00"
effective_from = "2027-01-01"
'''
    rules = calling_rules.parse(text)
    target = ch.resolve_target("+12125550100", rules=rules)
    assert ch.may_dial(target, at_local(NY, 2026, 12, 28, 9, 0)).is_allowed
    assert ch.may_dial(target, at_local(NY, 2027, 1, 4, 9, 0)).reasons == (
        "outside_hours:US-NY-future",)


@pytest.mark.req("B5")
def test_time_basis_mississippi_counts_central_standard_time_all_year() -> None:
    target = ch.resolve_target("+16015550100")
    chicago = "America/Chicago"
    # July: 08:30 CDT is 07:30 CST -> closed; 20:30 CDT is 19:30 CST -> open.
    assert ch.may_dial(target, at_local(chicago, 2026, 7, 1, 8, 30)).reasons == (
        "outside_hours:US-MS-hours",)
    assert ch.may_dial(target, at_local(chicago, 2026, 7, 1, 20, 30)).is_allowed
    # January: CST is local time, 20:30 is closed.
    assert not ch.may_dial(target, at_local(chicago, 2026, 1, 14, 20, 30)).is_allowed


@pytest.mark.req("B5")
def test_suspension_switches_the_rule_on_for_its_scope() -> None:
    start, end = dt.datetime(2026, 8, 1, tzinfo=UTC), dt.datetime(2026, 8, 5, tzinfo=UTC)
    stop = (ch.Suspension("US-LA", start, end, "hurricane"),)
    noon = at_local("America/Chicago", 2026, 8, 3, 12, 0)
    sales = ch.resolve_target("+15045550100", suspensions=stop)
    assert ch.may_dial(sales, noon).reasons == ("suspended:US-LA-emergency",)
    assert ch.next_dialable_at(sales, noon, DAY * 5) == end  # 19:00 local, inside the hours
    before = ch.may_dial(sales, at_local("America/Chicago", 2026, 7, 31, 12, 0))
    assert before.allowed_until == start
    collections = ch.resolve_target("+15045550100", category="debt_collection", suspensions=stop)
    assert ch.may_dial(collections, noon).is_allowed


@pytest.mark.req("B6")
def test_holiday_closes_only_where_a_rule_says_so() -> None:
    pioneer_day = at_local("America/Denver", 2026, 7, 24, 12, 0)
    assert ch.may_dial(ch.resolve_target("+18015550100"), pioneer_day).reasons == (
        "holiday:US-UT-hours",)
    # Florida has no holiday rule: open on Independence Day.
    assert ch.may_dial(ch.resolve_target("+13055550100"), at_local(NY, 2026, 7, 4, 12)).is_allowed
    # Observed holiday: July 4 2026 is a Saturday, Utah closes Friday July 3 as well.
    assert not ch.may_dial(ch.resolve_target("+18015550100"),
                           at_local("America/Denver", 2026, 7, 3, 12, 0)).is_allowed


@pytest.mark.req("B7")
def test_scope_selects_rules_by_category_and_dialing_mode() -> None:
    half_past_eight = at_local("America/Los_Angeles", 2026, 7, 1, 8, 30)
    preview = ch.resolve_target("+14155550100")
    predictive = ch.resolve_target("+14155550100", dialing_mode="predictive")
    recorded = ch.resolve_target("+14155550100", is_prerecorded=True, category="research")
    assert ch.may_dial(preview, half_past_eight).is_allowed
    assert ch.may_dial(predictive, half_past_eight).reasons == ("outside_hours:US-CA-adad-hours",)
    assert ch.may_dial(recorded, half_past_eight).reasons == ("outside_hours:US-CA-adad-hours",)
    informational = ch.resolve_target("+14155550100", category="informational")
    assert ch.may_dial(informational, at_local("America/Los_Angeles", 2026, 7, 1, 6, 0)).is_allowed


@pytest.mark.req("B7")
def test_securities_rules_apply_only_to_securities_campaigns() -> None:
    sunday_eleven = at_local("America/Chicago", 2026, 3, 15, 11, 0)
    broker = ch.resolve_target("+13125550100", category="securities_solicitation")
    assert ch.may_dial(broker, sunday_eleven).reasons == ("outside_hours:US-IL-securities-hours",)
    assert ch.may_dial(ch.resolve_target("+13125550100"), sunday_eleven).is_allowed


@pytest.mark.req("B8")
def test_three_calls_in_24_hours_in_florida() -> None:
    noon = at_local(NY, 2026, 7, 1, 12, 0)
    tries = [noon - dt.timedelta(hours=h) for h in (20, 5, 1)]
    target = ch.resolve_target("+13055550100", attempts_at=tries)
    assert ch.may_dial(target, noon).reasons == ("frequency:US-FL-frequency",)
    assert ch.next_dialable_at(target, noon, DAY * 2) == tries[0] + dt.timedelta(hours=24)
    assert ch.may_dial(ch.resolve_target("+13055550100", attempts_at=tries[1:]), noon).is_allowed


@pytest.mark.req("B8")
def test_seven_in_seven_days_for_debt_collection_only() -> None:
    noon = at_local(NY, 2026, 7, 8, 12, 0)
    tries = [noon - dt.timedelta(hours=20 * i + 1) for i in range(7)]
    collector = ch.resolve_target("+12125550100", category="debt_collection", attempts_at=tries)
    assert ch.may_dial(collector, noon).reasons == ("frequency:US-RegF-frequency",)
    assert ch.may_dial(ch.resolve_target("+12125550100", attempts_at=tries), noon).is_allowed


@pytest.mark.req("B8")
def test_oregon_counts_other_campaigns_florida_only_the_same_subject() -> None:
    noon = at_local("America/Los_Angeles", 2026, 7, 1, 12, 0)
    elsewhere = [noon - dt.timedelta(hours=h) for h in (3, 2, 1)]
    oregon = ch.resolve_target("+15035550100", other_attempts_at=elsewhere)
    florida = ch.resolve_target("+13055550100", other_attempts_at=elsewhere)
    assert ch.may_dial(oregon, noon).reasons == ("frequency:US-OR-frequency",)
    assert ch.may_dial(florida, noon + dt.timedelta(hours=3)).is_allowed


@pytest.mark.req("B8")
def test_uk_72_hour_redial_block_after_an_abandoned_call() -> None:
    london = "Europe/London"
    dropped = at_local(london, 2026, 7, 1, 11, 0)
    target = ch.resolve_target("+442079460000", dialing_mode="predictive",
                               abandoned_at=[dropped])
    decision = ch.may_dial(target, dropped + dt.timedelta(hours=71))
    assert decision.reasons == ("redial_block:GB-Ofcom-72h",)
    assert ch.next_dialable_at(target, dropped + DAY, DAY * 5) == dropped + dt.timedelta(hours=72)


@pytest.mark.req("B9")
def test_dnc_is_never_dialled() -> None:
    target = ch.resolve_target("+12125550100", is_dnc=True)
    noon = at_local(NY, 2026, 7, 1, 12)
    assert ch.may_dial(target, noon).reasons == ("dnc",)
    assert ch.next_dialable_at(target, noon, DAY * 30) is None


@pytest.mark.req("B9")
def test_stale_registry_scrub_stops_dialing() -> None:
    noon = at_local(NY, 2026, 7, 1, 12)
    scrubbed = noon - DAY * 31 + dt.timedelta(hours=2)
    fresh = ch.resolve_target("+12125550100", registry_scrubs={"us-national": scrubbed})
    decision = ch.may_dial(fresh, noon)
    assert decision.is_allowed and decision.allowed_until == noon + dt.timedelta(hours=2)
    stale = dataclasses.replace(fresh, registry_scrubs=(("us-national", noon - DAY * 32),))
    assert ch.may_dial(stale, noon).reasons == ("registry_stale:US-national-DNC",)
    assert ch.next_dialable_at(stale, noon, DAY * 30) is None
    missing = dataclasses.replace(fresh, registry_scrubs=())
    assert ch.may_dial(missing, noon).reasons == ("registry_missing:US-national-DNC",)
    # Collections are not telemarketing: the registry rule does not reach them.
    collector = dataclasses.replace(stale, category="debt_collection")
    assert ch.may_dial(collector, noon).is_allowed


@pytest.mark.req("B9")
def test_registry_block_for_campaign_start() -> None:
    now = dt.datetime(2026, 11, 21, tzinfo=UTC)
    rules = calling_rules.default_rules()
    scrubs = {"us-national": now - DAY * 31, "uk-tps": now - DAY}
    assert ch.registry_block("telemarketing", scrubs, rules, now, ["US"]) \
        == "registry_stale:US-national-DNC"
    assert ch.registry_block("telemarketing", scrubs, rules, now, ["GB"]) is None
    assert ch.registry_block("telemarketing", {}, rules, now, ["CA"]) == "registry_missing:CA-DNCL"
    assert ch.registry_block("informational", {}, rules, now) is None


@pytest.mark.req("B10")
def test_customer_requested_time_outside_hours_where_the_file_allows_it() -> None:
    late = at_local(NY, 2026, 7, 1, 20, 30)  # after Florida's 20:00
    requested = (late - dt.timedelta(minutes=15), late + dt.timedelta(minutes=15))
    allowed = ch.resolve_target("+13055550100", is_customer_requested=True,
                                requested_window=requested, can_call_outside_hours_on_request=True)
    assert ch.may_dial(allowed, late).is_allowed
    assert ch.may_dial(allowed, late).allowed_until == requested[1]
    # Outside the window the customer chose, the default hours apply again.
    assert not ch.may_dial(allowed, requested[1]).is_allowed
    # Off by default: the campaign setting must allow it.
    refused = dataclasses.replace(allowed, can_call_outside_hours_on_request=False)
    assert ch.may_dial(refused, late).reasons == ("outside_hours:US-FL-hours",)


@pytest.mark.req("B10")
def test_customer_request_does_not_lift_rules_without_the_exemption() -> None:
    late = at_local("America/Chicago", 2026, 7, 1, 20, 30)  # Louisiana closes at 20:00
    target = ch.resolve_target("+15045550100", is_customer_requested=True,
                               can_call_outside_hours_on_request=True)
    assert ch.may_dial(target, late).reasons == ("outside_hours:US-LA-hours",)


@pytest.mark.req("B11")
def test_campaign_window_only_narrows() -> None:
    window = (dt.time(10, 0), dt.time(22, 0))
    target = ch.resolve_target("+12125550100", window=window)
    assert ch.may_dial(target, at_local(NY, 2026, 7, 1, 9, 30)).reasons == ("campaign_window",)
    # 21:30 is outside the law even though the campaign window says yes.
    assert not ch.may_dial(target, at_local(NY, 2026, 7, 1, 21, 30)).is_allowed


@pytest.mark.req("B11")
def test_operating_schedule_in_the_call_centre_zone() -> None:
    schedule = ch.Schedule("Europe/London", (0, 1, 2, 3, 4), dt.time(9), dt.time(17),
                           end_date=dt.date(2026, 7, 31))
    target = ch.resolve_target("+12125550100", schedule=schedule)
    # 12:30 in New York is 17:30 in London: the centre is closed.
    assert ch.may_dial(target, at_local(NY, 2026, 7, 1, 12, 30)).reasons == ("operating_schedule",)
    assert ch.may_dial(target, at_local(NY, 2026, 7, 1, 11, 0)).is_allowed
    # Saturday, and after the end date.
    assert not ch.may_dial(target, at_local(NY, 2026, 7, 4, 11, 0)).is_allowed
    assert ch.next_dialable_at(target, at_local(NY, 2026, 8, 3, 11, 0), DAY * 30) is None


@pytest.mark.req("B3", "B11")
def test_window_ending_before_it_starts_is_an_error() -> None:
    with pytest.raises(errors.InvalidInput, match="campaign window ends"):
        ch.resolve_target("+12125550100", window=(dt.time(18), dt.time(9)))
    with pytest.raises(errors.InvalidInput, match="operating schedule ends"):
        ch.Schedule("UTC", start=dt.time(17), end=dt.time(9))


@pytest.mark.req("B3")
def test_zone_unknown_is_not_dialable_and_naive_instants_are_refused() -> None:
    target = ch.resolve_target("+18005550100")
    noon = dt.datetime(2026, 7, 1, 16, tzinfo=UTC)
    assert ch.may_dial(target, noon) == ch.Decision(False, ("zone_unknown",), None)
    assert ch.next_dialable_at(target, noon, DAY) is None
    with pytest.raises(errors.InvalidInput, match="no zone or offset"):
        ch.may_dial(ch.resolve_target("+12125550100"), dt.datetime(2026, 7, 1, 12))


@pytest.mark.req("B2")
def test_decision_holds_under_every_jurisdiction() -> None:
    # A Florida number whose owner lives in Dallas: Texas opens at noon on Sunday,
    # Florida closes at 20:00; both Eastern (the number) and Central (the ZIP) count.
    target = ch.resolve_target("+13055550100", zip_code="75201")
    assert target.zones == ("America/Chicago", "America/New_York")
    assert target.jurisdictions == ("US", "US-FL", "US-TX")
    sunday = (2026, 3, 15)
    assert ch.may_dial(target, at_local("America/Chicago", *sunday, 11, 30)).reasons == (
        "outside_hours:US-TX-hours",)
    assert ch.may_dial(target, at_local("America/Chicago", *sunday, 19, 30)).reasons == (
        "outside_hours:US-FL-hours",)
    assert ch.may_dial(target, at_local("America/Chicago", *sunday, 12, 0)).is_allowed


@pytest.mark.req("B12")
def test_next_dialable_at_returns_after_when_allowed() -> None:
    target = ch.resolve_target("+12125550100")
    noon = at_local(NY, 2026, 7, 1, 12, 0, 0)
    assert ch.next_dialable_at(target, noon, dt.timedelta(0)) == noon
    assert ch.next_dialable_at(target, at_local(NY, 2026, 7, 1, 22), dt.timedelta(hours=1)) is None


@pytest.mark.req("B13")
def test_dialable_windows_over_a_range() -> None:
    target = ch.resolve_target("+18015550100")  # Utah: no Sunday
    start = at_local("America/Denver", 2026, 3, 14, 0, 0)  # Saturday
    found = ch.dialable_windows(target, start, start + DAY * 3)
    assert found == [
        (at_local("America/Denver", 2026, 3, 14, 8), at_local("America/Denver", 2026, 3, 14, 21)),
        (at_local("America/Denver", 2026, 3, 16, 8), at_local("America/Denver", 2026, 3, 16, 21)),
    ]


@pytest.mark.req("B13")
def test_empty_intersection_names_the_earliest_legal_time_and_rule() -> None:
    target = ch.resolve_target("+18015550100")
    sunday = at_local("America/Denver", 2026, 3, 15, 10, 0)
    with pytest.raises(ch.NoLegalMinute) as caught:
        ch.dialable_windows(target, sunday, sunday + dt.timedelta(hours=4))
    error = caught.value
    assert error.error_id == "no-legal-minute" and error.is_input_error
    assert error.earliest_legal_at == at_local("America/Denver", 2026, 3, 16, 8)
    assert error.rule == "outside_hours:US-UT-hours"
    assert "2026-03-16T14:00:00Z" in str(error) and "US-UT-hours" in str(error)


@pytest.mark.req("B10")
def test_consent_evidence_records_who_when_window_and_channel() -> None:
    asked = dt.datetime(2026, 7, 1, 15, tzinfo=UTC)
    evidence = ch.consent_evidence(asked_by="Ann Lee (customer)", asked_at=asked,
                                   window_start=asked + DAY, window_end=asked + DAY * 1.5,
                                   channel="call")
    assert evidence == {"asked_by": "Ann Lee (customer)", "asked_at": "2026-07-01T15:00:00Z",
                        "window_start": "2026-07-02T15:00:00Z",
                        "window_end": "2026-07-03T03:00:00Z", "channel": "call"}
    with pytest.raises(errors.InvalidInput, match="ends"):
        ch.consent_evidence(asked_by="x", asked_at=asked, window_start=asked, window_end=asked,
                            channel="call")
    with pytest.raises(errors.InvalidInput, match="channel"):
        ch.consent_evidence(asked_by="x", asked_at=asked, window_start=asked,
                            window_end=asked + DAY, channel="pigeon")


@pytest.mark.req("B12")
@pytest.mark.parametrize("module", ["calling_hours", "calling_plan", "calling_rules", "zones",
                                    "abandonment"])
def test_engine_modules_do_no_io(module: str) -> None:
    import ast
    import importlib
    from pathlib import Path

    source = Path(importlib.import_module(f"campaigns.{module}").__file__ or "")
    tree = ast.parse(source.read_text("utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert not imported & {"sqlalchemy", "asyncio", "fastapi", "pjsua2", "asterisk", "socket",
                           "requests", "httpx", "time"}


@pytest.mark.req("B11")
def test_operating_schedule_dates_bound_the_campaign() -> None:
    schedule = ch.Schedule("America/New_York", start=dt.time(9), end=dt.time(17),
                           start_date=dt.date(2026, 7, 6), end_date=dt.date(2026, 7, 10))
    target = ch.resolve_target("+12125550100", schedule=schedule)
    assert ch.may_dial(target, at_local(NY, 2026, 7, 3, 12)).reasons == ("operating_schedule",)
    assert ch.next_dialable_at(target, at_local(NY, 2026, 7, 3, 12), DAY * 7) \
        == at_local(NY, 2026, 7, 6, 9)
    assert ch.may_dial(target, at_local(NY, 2026, 7, 8, 12)).allowed_until \
        == at_local(NY, 2026, 7, 8, 17)
    assert ch.may_dial(target, at_local(NY, 2026, 7, 10, 16, 59)).is_allowed
    assert not ch.may_dial(target, at_local(NY, 2026, 7, 11, 12)).is_allowed

"""The engine's side: the missed ladder step by step (E9), the dial-time re-check (E17),
the KPI report (E18)."""

from __future__ import annotations

import datetime as dt

import pytest

from campaigns import callbacks, models
from campaigns.callbacks import Step
from campaigns.enums import CallbackStatus as S
from campaigns.store import dnc as dnc_store
from campaigns.store import hopper
from dialer import callbacks_engine as engine
from dialer import callbacks_messages, callbacks_report
from dialer import callbacks_portal as portal
from dialer import callbacks_service as service
from tests.callbacks.conftest import CFG, NOW, deliver, ny

EMAIL = callbacks_messages.Notify(channels=["email"])


def _schedule(session, world, record=None, **kw):
    values = {"record_id": (record or world.record).id, "actor": "admin", "now": NOW,
                  "start_at": ny(24, 10), "end_at": ny(24, 12), "how": EMAIL}
    values.update(kw)
    return service.schedule(session, CFG, **values)


@pytest.mark.req("E9")
def test_the_ladder_retries_hands_off_moves_a_day_notifies_then_closes(lite, lworld,
                                                                       smtp_server):
    callback = _schedule(lite, lworld, owner="bob")
    token = callbacks_messages.link_url(CFG, callback, NOW).rsplit("/", 1)[1]
    # missed inside the window: retry 10 minutes later
    engine.on_missed(lite, CFG, callback.id, now=ny(24, 10, 5), why="no answer")
    assert (callback.status, callback.ladder_step) == (S.MISSED, 0)
    assert engine.sweep(lite, CFG, ny(24, 10, 14))["ladder_steps"] == 0
    assert engine.sweep(lite, CFG, ny(24, 10, 15))["ladder_steps"] == 1
    assert (callback.status, callback.ladder_step) == (S.DUE, Step.RETRY)
    # missed again after the hand-off delay: anyone may take it now
    engine.on_missed(lite, CFG, callback.id, now=ny(24, 10, 20))
    assert (callback.status, callback.owner_id, callback.ladder_step) == (S.DUE, None,
                                                                          Step.HANDOFF)
    # missed again: the same window tomorrow, once this one has ended
    engine.on_missed(lite, CFG, callback.id, now=ny(24, 11))
    assert engine.sweep(lite, CFG, ny(24, 11, 59))["ladder_steps"] == 0
    engine.sweep(lite, CFG, ny(24, 12))
    assert (callback.status, callback.window_start_at, callback.window_end_at) == (
        S.SCHEDULED, ny(25, 10), ny(25, 12))
    # tomorrow's window passes without a call: the customer hears "we missed you"
    deliver(lite, smtp_server, ny(24, 12))
    assert engine.sweep(lite, CFG, ny(25, 12)) == {"missed": 1, "ladder_steps": 1}
    assert (callback.status, callback.ladder_step) == (S.REQUESTED, Step.NOTIFY)
    missed_mail = [m for m in deliver(lite, smtp_server, ny(25, 12))
                   if m["X-Dialer-Event"] == "callback_missed"]
    assert len(missed_mail) == 1 and missed_mail[0]["To"] == "ana@example.com"
    # no new time within a week: closed, and the customer's links stop working
    assert engine.sweep(lite, CFG, ny(25, 12) + dt.timedelta(days=7))["ladder_steps"] == 1
    assert (callback.status, callback.ladder_step) == (S.MISSED, Step.CLOSE)
    with pytest.raises(callbacks.LinkExpired):
        portal.resolve(lite, CFG, token, ny(25, 13))
    actions = [h["action"] for h in service.show(lite, callback)["history"]]
    assert actions[1:] == ["missed", "ladder_retry", "missed", "ladder_handoff", "missed",
                           "ladder_next_day", "missed", "ladder_notify", "ladder_closed"]


@pytest.mark.req("E9")
def test_this_call_did_not_happen_marks_a_callback_missed_by_hand(lite, lworld):
    callback = _schedule(lite, lworld)
    engine.on_missed(lite, CFG, callback.id, now=ny(24, 10, 30), actor="bob",
                     why="this call did not happen")
    event = service.show(lite, callback)["history"][-1]
    assert (event["action"], event["actor"], event["why"]) == ("missed", "bob",
                                                               "this call did not happen")
    assert callback.missed_at == ny(24, 10, 30)


@pytest.mark.parametrize("done,missed,has_owner,expected", [
    (0, (10, 5), True, (Step.RETRY, (10, 15))),
    (0, (11, 55), False, (Step.NEXT_DAY, (12, 0))),
    (0, (11, 55), True, (Step.HANDOFF, (11, 55))),
    (1, (10, 5), True, (Step.HANDOFF, (10, 15))),
    (1, (10, 5), False, (Step.NEXT_DAY, (12, 0))),
    (3, (12, 0), False, (Step.NOTIFY, (12, 0))),
])
@pytest.mark.req("E9")
def test_ladder_steps_and_their_timing(done, missed, has_owner, expected):
    planned = callbacks.next_step(done=done, missed_at=ny(24, *missed),
                                  window_start_at=ny(24, 10), window_end_at=ny(24, 12),
                                  has_owner=has_owner, ladder=CFG.ladder)
    assert (planned.step, planned.at) == (expected[0], ny(24, *expected[1]))


@pytest.mark.req("E9")
def test_next_day_keeps_the_wall_clock_across_dst():
    start, end = callbacks.next_day(ny(7, 10, month=3), ny(7, 12, month=3), "America/New_York")
    assert (start, end) == (ny(8, 10, month=3), ny(8, 12, month=3))
    assert start - ny(7, 10, month=3) == dt.timedelta(hours=23)


def _claim(session, world, at):
    # a fresh national registry scrub, or the registry rule blocks every call
    session.add(models.RegistryScrub(source="us-national", imported_at=at - dt.timedelta(days=1),
                                     numbers=1))
    session.flush()
    return hopper.claim(session, world.campaign.id, engine_id="e1", now=at,
                        lease=dt.timedelta(minutes=2), limit=5)


@pytest.mark.req("E17")
def test_a_claimed_callback_dials_its_own_number_not_the_records_primary(session, world):
    callback = _schedule(session, world, number="+12125550199")
    [work] = [w for w in _claim(session, world, ny(24, 10, 1)) if w.kind == "callback"]
    check = engine.dial_check(session, work, ny(24, 10, 1))
    assert (work.callback_id, work.number_e164) == (callback.id, "+12125550199")
    assert (check.is_allowed, check.number_e164) == (True, "+12125550199")
    assert world.record.phones[0].e164 != check.number_e164


@pytest.mark.req("E17")
def test_dnc_added_after_scheduling_blocks_the_dial(session, world):
    _schedule(session, world, number="+12125550199")
    [work] = [w for w in _claim(session, world, ny(24, 10, 1)) if w.kind == "callback"]
    dnc_store.add(session, ["+12125550199"], campaign_id=None, source="manual", now=ny(24, 10))
    check = engine.dial_check(session, work, ny(24, 10, 1))
    assert check.is_allowed is False
    assert "dnc" in check.reasons


@pytest.mark.req("E17")
def test_calling_hours_are_rechecked_at_dial_time(session, world):
    callback = _schedule(session, world, start_at=ny(24, 19), end_at=ny(24, 21))
    [work] = [w for w in _claim(session, world, ny(24, 20, 59)) if w.kind == "callback"]
    assert engine.dial_check(session, work, ny(24, 20, 59)).is_allowed is True
    late = engine.dial_check(session, work, ny(24, 21, 1))
    assert late.is_allowed is False
    assert any(r.startswith("outside_hours") for r in late.reasons)
    assert "outside_callback_window" in late.reasons
    assert callback.number_e164 == late.number_e164


@pytest.mark.req("E18")
def test_report_counts_per_campaign_and_agent(lite, lworld):
    on_time = _schedule(lite, lworld, owner="bob")
    service.complete(lite, CFG, on_time.id, actor="bob", now=ny(24, 11, 50), outcome="ok",
                     time_taken_s=300)
    late = _schedule(lite, lworld, owner="bob")
    service.complete(lite, CFG, late.id, actor="bob", now=ny(24, 12, 30), outcome="ok",
                     time_taken_s=600)
    cancelled = _schedule(lite, lworld, owner="bob")
    service.cancel(lite, CFG, cancelled.id, actor="admin", now=NOW, reason="duplicate")
    shown = _schedule(lite, lworld, record=lworld.other)
    service.reschedule(lite, CFG, shown.id, actor="admin", now=NOW, start_at=ny(25, 10),
                       end_at=ny(25, 11), how=EMAIL)
    service.no_show(lite, CFG, shown.id, actor="admin", now=ny(25, 10, 30))
    missed = _schedule(lite, lworld, record=lworld.other)
    engine.on_missed(lite, CFG, missed.id, now=ny(24, 11, 55))
    [campaign] = callbacks_report.report(lite)["campaigns"]
    assert (campaign["callbacks"], campaign["completed"], campaign["kept_on_time"],
            campaign["missed"], campaign["rescheduled"], campaign["no_show"],
            campaign["cancelled"]) == (5, 2, 1, 1, 1, 1, 1)
    assert campaign["lateness"]["on_time"] == 1 and campaign["lateness"]["<=60m"] == 1
    bob = next(a for a in campaign["agents"] if a["agent"] == "bob")
    anyone = next(a for a in campaign["agents"] if a["agent"] == "(anyone)")
    assert (bob["callbacks"], bob["kept_on_time"], bob["cancelled"]) == (3, 1, 1)
    assert (anyone["callbacks"], anyone["no_show"], anyone["rescheduled"]) == (2, 1, 1)


@pytest.mark.req("E9")
def test_a_campaigns_own_ladder_timing_wins_over_the_defaults(lite, lworld):
    lworld.campaign.callback_policy = {"ladder_retry_after_s": 120}
    callback = _schedule(lite, lworld)
    engine.on_missed(lite, CFG, callback.id, now=ny(24, 10, 5))
    assert engine.sweep(lite, CFG, ny(24, 10, 6, ))["ladder_steps"] == 0
    assert engine.sweep(lite, CFG, ny(24, 10, 7))["ladder_steps"] == 1
    assert callback.status is S.DUE


@pytest.mark.req("E9")
def test_a_call_without_contact_is_a_miss_and_a_contact_completes(lite, lworld):
    missed = _schedule(lite, lworld)
    engine.on_call_finished(lite, CFG, missed.id, now=ny(24, 10, 5), is_contact=False,
                            disposition="no_answer")
    assert (missed.status, missed.missed_at) == (S.MISSED, ny(24, 10, 5))
    kept = _schedule(lite, lworld, record=lworld.other)
    engine.on_call_finished(lite, CFG, kept.id, now=ny(24, 10, 9), is_contact=True,
                            disposition="sale", time_taken_s=240)
    assert (kept.status, kept.outcome, kept.time_taken_s) == (S.COMPLETED, "sale", 240)


@pytest.mark.req("E9")
def test_an_in_progress_callback_left_by_a_dead_engine_becomes_missed(session, world):
    callback = _schedule(session, world)
    _claim(session, world, ny(24, 11, 58))
    session.refresh(callback)
    assert callback.status is S.IN_PROGRESS
    assert engine.sweep(session, CFG, ny(24, 11, 59))["missed"] == 0
    assert engine.sweep(session, CFG, ny(24, 12, 1))["missed"] == 1
    session.refresh(callback)
    assert callback.status is S.SCHEDULED and callback.window_start_at == ny(25, 10)


@pytest.mark.req("E16")
def test_every_lifecycle_change_posts_a_webhook_event(lite, lworld):
    import json

    from campaigns.store import webhooks

    webhooks.add_endpoint(lite, campaign_id=lworld.campaign.id, url="http://127.0.0.1:9/h",
                          secret="s" * 32, now=NOW)
    callback = _schedule(lite, lworld)
    service.cancel(lite, CFG, callback.id, actor="admin", now=NOW, reason="duplicate")
    sent = sorted(webhooks.deliveries(lite), key=lambda d: d.id)
    assert [d.event for d in sent] == ["callback.scheduled", "callback.cancelled"]
    body = json.loads(sent[1].body)
    assert (body["data"]["callback"]["id"], body["data"]["callback"]["status"]) == (
        callback.id, "cancelled")


@pytest.mark.req("E17")
def test_a_personal_callback_waits_for_its_owner_until_the_campaigns_handoff_delay(lite,
                                                                                   lworld):
    from dialer import callbacks_slots

    lworld.campaign.callback_policy = {"ladder_handoff_after_s": 600}
    callback = _schedule(lite, lworld, owner="bob")
    handoff = callbacks_slots.policy(lite, CFG, lworld.campaign.id).ladder.handoff_after

    def claim(at, owners=()):
        return [w.callback_id for w in hopper.claim(
            lite, lworld.campaign.id, engine_id="e1", now=at, lease=dt.timedelta(seconds=30),
            limit=5, owner_ids=owners, handoff_after=handoff) if w.kind == "callback"]

    assert claim(ny(24, 10, 9), owners=(lworld.ana.id,)) == []
    assert claim(ny(24, 10, 9), owners=(lworld.bob.id,)) == [callback.id]
    hopper.release(lite, hopper.Work("callback", lworld.campaign.id, callback.record_id,
                                     callback.number_e164, callback.phone_number_id,
                                     callback_id=callback.id), engine_id="e1")
    lite.expire_all()
    assert claim(ny(24, 10, 10), owners=(lworld.ana.id,)) == [callback.id]


class _Statements:
    """The SQL statements a block runs on a connection's engine (verb -> count)."""

    def __init__(self, session):
        self.engine = session.get_bind().engine if hasattr(session.get_bind(), "engine") \
            else session.get_bind()
        self.verbs: list[str] = []

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        self.verbs.append(statement.lstrip().split(None, 1)[0].upper())

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._seen)

    @property
    def writes(self) -> list[str]:
        return [v for v in self.verbs if v in ("INSERT", "UPDATE", "DELETE")]


@pytest.mark.req("E9")
def test_a_periodic_sweep_is_idempotent_and_cheap_when_nothing_changed(session, world):
    waiting = _schedule(session, world, owner="bob")
    for hour in (13, 14, 15, 16):  # later callbacks the sweep has nothing to do with
        _schedule(session, world, record=world.other, start_at=ny(24, hour),
                  end_at=ny(24, hour, 30))
    engine.on_missed(session, CFG, waiting.id, now=ny(24, 10, 5))
    session.flush()
    # nothing due yet (the retry step comes at 10:15): two reads, no write, however often
    for _ in range(3):
        with _Statements(session) as seen:
            assert engine.sweep(session, CFG, ny(24, 10, 10)) == {"missed": 0,
                                                                    "ladder_steps": 0}
        assert seen.writes == [] and len(seen.verbs) <= 2
    assert engine.sweep(session, CFG, ny(24, 10, 15)) == {"missed": 0, "ladder_steps": 1}
    session.flush()
    # the same instant again: already done
    with _Statements(session) as seen:
        assert engine.sweep(session, CFG, ny(24, 10, 15)) == {"missed": 0, "ladder_steps": 0}
    assert seen.writes == []
    history = [h["action"] for h in service.show(session, waiting)["history"]]
    assert history.count("ladder_retry") == 1


@pytest.mark.postgres
@pytest.mark.req("E9")
def test_two_engines_sweeping_at_once_mark_a_callback_missed_once(pg_url):
    import threading

    from sqlalchemy import text

    from campaigns import db
    from tests.callbacks.conftest import make_world

    eng = db.make_engine(pg_url)
    factory = db.make_sessionmaker(eng)
    with db.unit_of_work(factory) as session:
        callback_id = _schedule(session, make_world(session)).id
    first, second = factory(), factory()
    result: dict[str, dict[str, int]] = {}
    try:
        assert engine.sweep(first, CFG, ny(24, 12, 1))["missed"] == 1  # holds the row's lock
        pid = second.execute(text("select pg_backend_pid()")).scalar()
        thread = threading.Thread(
            target=lambda: result.setdefault("second", engine.sweep(second, CFG, ny(24, 12, 1))))
        thread.start()
        _wait_until_blocked(eng, pid)
        first.commit()
        thread.join(timeout=30)
        assert not thread.is_alive()
        second.commit()
    finally:
        first.close()
        second.close()
    assert result["second"]["missed"] == 0
    with factory() as session:
        actions = [h["action"] for h in service.show(session, session.get(
            models.Callback, callback_id))["history"]]
    eng.dispose()
    assert actions.count("missed") == 1


def _wait_until_blocked(eng, pid: int, deadline_s: float = 30.0) -> None:
    """Wait (with a deadline) until backend ``pid`` waits for a lock."""
    import time

    from sqlalchemy import text

    until = time.monotonic() + deadline_s
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        while time.monotonic() < until:  # each statement its own transaction: fresh statistics
            waiting = conn.execute(text(
                "select wait_event_type from pg_stat_activity where pid = :pid"),
                {"pid": pid}).scalar()
            if waiting == "Lock":
                return
            time.sleep(0.02)
    raise AssertionError("the second sweep never waited for the first one's lock")

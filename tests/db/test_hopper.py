"""The hopper's claims: order, leases, owner-only callbacks, and two claimers never overlapping."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from campaigns import db, models
from campaigns.enums import PhoneKind, RecordStatus
from campaigns.store import hopper

NOW = dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=2)


def _campaign(session, *, records: int = 5, list_priority: int = 0) -> models.Campaign:
    campaign = models.Campaign(name=f"c{list_priority}", created_at=NOW, updated_at=NOW)
    session.add(campaign)
    session.flush()
    _list(session, campaign, "base", list_priority, records)
    return campaign


def _list(session, campaign, name, priority, records, *, is_active=True, expires_on=None):
    calling_list = models.CallingList(campaign_id=campaign.id, name=name, priority=priority,
                                      is_active=is_active, expires_on=expires_on, created_at=NOW)
    session.add(calling_list)
    session.flush()
    for index in range(records):
        record = models.Record(campaign_id=campaign.id, list_id=calling_list.id,
                               created_at=NOW, updated_at=NOW, priority=0)
        session.add(record)
        session.flush()
        session.add(models.PhoneNumber(record_id=record.id, campaign_id=campaign.id,
                                       e164=f"+1212555{calling_list.id:01d}{index:03d}",
                                       kind=PhoneKind.PRIMARY, created_at=NOW))
    session.flush()
    return calling_list


def _records(session, campaign):
    return list(session.scalars(select(models.Record).where(models.Record.campaign_id == campaign.id)
                                .order_by(models.Record.id)))


@pytest.mark.req("D2")
def test_order_is_callbacks_then_retries_then_new_by_list_priority(session) -> None:
    campaign = _campaign(session, records=3)
    urgent = _list(session, campaign, "urgent", 9, 2)
    records = _records(session, campaign)
    callback_record, retry_record = records[0], records[1]
    retry_record.status = RecordStatus.RETRY
    callback_record.status = RecordStatus.CALLBACK
    phone = callback_record.phones[0]
    session.add_all([
        models.Callback(campaign_id=campaign.id, record_id=callback_record.id,
                        number_e164="+13125550199", window_start_at=NOW - dt.timedelta(minutes=1),
                        window_end_at=NOW + dt.timedelta(hours=1), tz="America/Chicago",
                        created_at=NOW, updated_at=NOW),
        models.Retry(campaign_id=campaign.id, record_id=retry_record.id,
                     phone_number_id=retry_record.phones[0].id,
                     earliest_at=NOW - dt.timedelta(seconds=5), created_at=NOW),
    ])
    session.flush()
    work = hopper.claim(session, campaign.id, engine_id="e1", now=NOW, lease=LEASE, limit=10)
    assert [w.kind for w in work] == ["callback", "retry", "new", "new", "new"]
    assert work[0].number_e164 == "+13125550199" and work[0].number_e164 != phone.e164
    urgent_ids = {r.id for r in _records(session, campaign) if r.list_id == urgent.id}
    assert {w.record_id for w in work[2:4]} == urgent_ids
    assert hopper.claim(session, campaign.id, engine_id="e2", now=NOW, lease=LEASE, limit=10) == []


@pytest.mark.req("D2")
def test_expired_lease_is_claimable_again(session) -> None:
    campaign = _campaign(session, records=1)
    first = hopper.claim(session, campaign.id, engine_id="e1", now=NOW, lease=LEASE, limit=5)
    assert len(first) == 1
    assert hopper.claim(session, campaign.id, engine_id="e2", now=NOW + dt.timedelta(minutes=1),
                        lease=LEASE, limit=5) == []
    again = hopper.claim(session, campaign.id, engine_id="e2", now=NOW + dt.timedelta(minutes=3),
                         lease=LEASE, limit=5)
    assert [w.record_id for w in again] == [first[0].record_id]


@pytest.mark.req("D2")
def test_inactive_and_expired_lists_and_future_retries_are_skipped(session) -> None:
    campaign = _campaign(session, records=0)
    _list(session, campaign, "off", 5, 2, is_active=False)
    _list(session, campaign, "old", 5, 2, expires_on=NOW.date() - dt.timedelta(days=1))
    live = _list(session, campaign, "live", 1, 1)
    work = hopper.claim(session, campaign.id, engine_id="e1", now=NOW, lease=LEASE, limit=10)
    assert [w.kind for w in work] == ["new"]
    assert session.get(models.Record, work[0].record_id).list_id == live.id


@pytest.mark.req("D2")
@pytest.mark.req("E17")
def test_personal_callback_waits_for_its_owner_then_goes_to_anyone(session) -> None:
    campaign = _campaign(session, records=1)
    record = _records(session, campaign)[0]
    record.status = RecordStatus.CALLBACK
    owner = models.User(name="ann", role="agent", created_at=NOW)
    session.add(owner)
    session.flush()
    session.add(models.Callback(campaign_id=campaign.id, record_id=record.id, owner_id=owner.id,
                                number_e164="+13125550199", window_start_at=NOW,
                                window_end_at=NOW + dt.timedelta(hours=1), tz="America/Chicago",
                                created_at=NOW, updated_at=NOW))
    session.flush()
    handoff = dt.timedelta(minutes=10)
    assert hopper.claim(session, campaign.id, engine_id="e", now=NOW + dt.timedelta(minutes=1),
                        lease=LEASE, limit=1, handoff_after=handoff, owner_ids=[]) == []
    owned = hopper.claim(session, campaign.id, engine_id="e", now=NOW + dt.timedelta(minutes=1),
                         lease=LEASE, limit=1, handoff_after=handoff, owner_ids=[owner.id])
    assert owned and owned[0].owner_id == owner.id
    hopper.release(session, owned[0], engine_id="e")
    later = hopper.claim(session, campaign.id, engine_id="e", now=NOW + dt.timedelta(minutes=11),
                         lease=LEASE, limit=1, handoff_after=handoff, owner_ids=[])
    assert later and later[0].kind == "callback"


@pytest.mark.req("D2")
def test_release_moves_work_forward(session) -> None:
    campaign = _campaign(session, records=1)
    work = hopper.claim(session, campaign.id, engine_id="e1", now=NOW, lease=LEASE, limit=1)
    hopper.release(session, work[0], engine_id="e1", not_before=NOW + dt.timedelta(hours=3))
    assert hopper.claim(session, campaign.id, engine_id="e1", now=NOW + dt.timedelta(hours=1),
                        lease=LEASE, limit=1) == []
    assert len(hopper.claim(session, campaign.id, engine_id="e1", now=NOW + dt.timedelta(hours=3),
                            lease=LEASE, limit=1)) == 1


@pytest.mark.postgres
@pytest.mark.req("D2")
def test_two_claimers_on_postgresql_never_share_a_record(pg_url) -> None:
    engine = db.make_engine(pg_url, pool_size=4)
    factory = db.make_sessionmaker(engine)
    with db.unit_of_work(factory) as session:
        campaign_id = _campaign(session, records=400).id
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        barrier.wait()
        while True:
            with db.unit_of_work(factory) as session:
                work = hopper.claim(session, campaign_id, engine_id=name, now=NOW, lease=LEASE,
                                    limit=7)
            if not work:
                return
            claimed[name] += [w.record_id for w in work]

    threads = [threading.Thread(target=worker, args=(n,)) for n in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    engine.dispose()
    assert not set(claimed["a"]) & set(claimed["b"])
    assert len(claimed["a"]) + len(claimed["b"]) == 400
    assert claimed["a"] and claimed["b"]


# --------------------------------------------------------------------------- the engine's hopper


def _db_hopper(world, cfg=None):
    from campaigns import calling_rules
    from dialer import db_hopper

    return db_hopper.DbHopper(None, world.campaign.id, engine_id="e1", now=lambda: NOW,
                              rules=calling_rules.default_rules(),
                              lease=dt.timedelta(minutes=2), callbacks_cfg=cfg)


def _fresh_registry(session, at):
    # a fresh national registry scrub, or the registry rule blocks every call
    session.add(models.RegistryScrub(source="us-national", imported_at=at - dt.timedelta(days=1),
                                     numbers=1))
    session.flush()


@pytest.mark.req("E17")
def test_the_engines_hopper_waits_the_callback_policys_handoff_delay(session) -> None:
    from dialer import callbacks_service
    from tests.callbacks.conftest import CFG, make_world, ny

    world = make_world(session)
    _fresh_registry(session, ny(24, 10))
    callback = callbacks_service.schedule(session, CFG, record_id=world.record.id,
                                          actor="admin", now=ny(23, 10), start_at=ny(24, 10),
                                          end_at=ny(24, 12), owner="bob")
    engine_hopper = _db_hopper(world, CFG)
    assert engine_hopper.handoff_after(world.campaign) == dt.timedelta(seconds=900)  # [callbacks]

    def dialled(at, owners):
        return [d.callback_id for d, _ in engine_hopper._claim(session, 5, at, owners)
                if d.kind == "callback"]

    # hopper.claim's own default (5 minutes) would hand it over at 10:05
    assert dialled(ny(24, 10, 14), (world.ana.id,)) == []
    assert dialled(ny(24, 10, 15), (world.ana.id,)) == [callback.id]
    # a campaign's own policy wins over the file
    world.campaign.callback_policy = {"ladder_handoff_after_s": 120}
    other = callbacks_service.schedule(session, CFG, record_id=world.other.id, actor="admin",
                                       now=ny(23, 10), start_at=ny(24, 11), end_at=ny(24, 12),
                                       owner="bob")
    assert dialled(ny(24, 11, 1), (world.ana.id,)) == []
    assert dialled(ny(24, 11, 2), (world.ana.id,)) == [other.id]
    assert dialled(ny(24, 11, 2), (world.bob.id,)) == []  # both are in progress now


@pytest.mark.req("E17")
def test_a_callback_whose_number_is_now_on_dnc_is_cancelled_at_dial_time(session) -> None:
    from campaigns.enums import CallbackStatus
    from campaigns.store import dnc as dnc_store
    from dialer import callbacks_service
    from tests.callbacks.conftest import CFG, make_world, ny

    world = make_world(session)
    _fresh_registry(session, ny(24, 10))
    kept = callbacks_service.schedule(session, CFG, record_id=world.record.id, actor="admin",
                                      now=ny(23, 10), start_at=ny(24, 10), end_at=ny(24, 12),
                                      number="+12125550199")
    alone = callbacks_service.schedule(session, CFG, record_id=world.other.id, actor="admin",
                                       now=ny(23, 10), start_at=ny(24, 10), end_at=ny(24, 12))
    dnc_store.add(session, ["+12125550199", "+12125550177"], campaign_id=None, source="manual",
                  now=ny(24, 9))
    session.flush()

    assert _db_hopper(world, CFG)._claim(session, 5, ny(24, 10, 1), ()) == []

    for callback in (kept, alone):
        session.refresh(callback)
        assert (callback.status, callback.cancel_reason) == (CallbackStatus.CANCELLED, "dnc")
        event = callbacks_service.show(session, callback)["history"][-1]
        assert (event["action"], event["actor"], event["why"]) == ("cancelled", "engine", "dnc")
        assert not [m for m in session.scalars(select(models.OutboxMessage).where(
            models.OutboxMessage.callback_id == callback.id))
            if "cancel" in m.event]  # nobody tells a DNC customer anything
    session.refresh(world.record)
    session.refresh(world.other)
    # the first customer still has a number we may call; the second has none left
    assert world.record.status is RecordStatus.CALLBACK
    assert world.other.status is RecordStatus.DNC
    assert world.record.claimed_by is None and world.other.claimed_by is None

"""Data of the callback, customer-page and agent tests: customers in campaign ``alpha``,
agents with shifts, callbacks made through the workflow, and the link secret."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from campaigns import db, localtime, models, shifts
from campaigns.enums import PhoneKind
from campaigns.store import users as user_store
from dialer import callbacks_config
from dialer import callbacks_service as service
from tests.api.conftest import Web

SECRET = "s" * 40
BASE = "http://127.0.0.1"
NY = "America/New_York"
#: Monday 23 November 2026 (the fixtures' clock is Saturday 21st, 10:00 in New York).
MONDAY = dt.date(2026, 11, 23)
_SERIAL = itertools.count()
SETTINGS = {"callbacks": {"link_secret": SECRET, "public_base_url": BASE}}


def make_web(url: str, tmp_path: Path, **kwargs: Any) -> Web:
    return Web(url, tmp_path, settings_overrides=SETTINGS, **kwargs)


def ny(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return localtime.localize(dt.datetime.combine(day, dt.time(hour, minute)), NY)


def add_record(web: Web, campaign: str = "alpha", *, first: str = "Ana", last: str = "Lopez",
               language: str = "en", tz: str = NY,
               numbers: tuple[str, ...] = ()) -> int:
    """A customer with ``numbers`` (default: two fresh 555-01xx numbers) in ``campaign``."""
    now = web.clock[0]
    if not numbers:
        n = next(_SERIAL) % 50
        numbers = (f"+1212555{100 + 2 * n:04d}", f"+1212555{101 + 2 * n:04d}")
    with db.unit_of_work(web.factory) as session:
        campaign_id = web.ids[campaign]
        calling_list = models.CallingList(campaign_id=campaign_id, name=f"list-{first}",
                                          created_at=now)
        session.add(calling_list)
        session.flush()
        record = models.Record(campaign_id=campaign_id, list_id=calling_list.id,
                               first_name=first, last_name=last, email=f"{first}@example.com",
                               language=language, raw_tz=tz, created_at=now, updated_at=now,
                               fields={"account": "A-1"})
        session.add(record)
        session.flush()
        for position, e164 in enumerate(numbers):
            session.add(models.PhoneNumber(
                record_id=record.id, campaign_id=campaign_id, e164=e164, position=position,
                kind=PhoneKind.PRIMARY if position == 0 else PhoneKind.ALTERNATE,
                line_type="mobile", region="US", zones=[tz], created_at=now))
        return record.id


def give_shift(web: Web, name: str, campaign: str = "alpha",
               week: str = "mon-fri 09:00-17:00", tz: str = NY) -> None:
    """``name`` works ``week`` (in ``tz``) and is a member of ``campaign``."""
    with db.unit_of_work(web.factory) as session:
        user = user_store.get_by_name(session, name)
        user.tz = tz
        user_store.set_shifts(session, user, shifts.parse_shift(week), [])
        user_store.join(session, user, session.get(models.Campaign, web.ids[campaign]))


def add_callback(web: Web, record_id: int, *, owner: str | None = "agent1",
                 start: dt.datetime | None = None, hours: int = 2) -> int:
    """A scheduled callback through the workflow; its id."""
    start = start or ny(MONDAY, 10)
    with db.unit_of_work(web.factory) as session:
        callback = service.schedule(
            session, callbacks_config.settings_of(web.settings), record_id=record_id,
            actor="test", now=web.clock[0], start_at=start,
            end_at=start + dt.timedelta(hours=hours), tz=NY, owner=owner)
        return callback.id


def link_of(web: Web, callback_id: int) -> str:
    """The customer's token of ``callback_id`` (the path after ``/c/``)."""
    from campaigns.store import callbacks as store
    from dialer import callbacks_messages

    with db.unit_of_work(web.factory) as session:
        url = callbacks_messages.link_url(callbacks_config.settings_of(web.settings),
                                          store.get(session, callback_id), web.clock[0])
    return url.removeprefix(f"{BASE}/c/")


def error_of(response: Any) -> dict[str, Any]:
    """The one error shape (F3)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"id", "message", "fields"}, body
    return body["error"]


def load_default_rules(web: Web, campaign: str = "alpha") -> None:
    """The shipped disposition rules on ``campaign``."""
    from campaigns import dispositions
    from campaigns.store import rules as rule_store

    with db.unit_of_work(web.factory) as session:
        rule_store.replace(session, session.get(models.Campaign, web.ids[campaign]),
                           dispositions.parse_rules(dispositions.default_rules_text()))


def add_attempt(web: Web, record_id: int, *, agent: str = "agent1", disposition: str | None = None,
                notes: str = "", minutes_ago: int = 30) -> int:
    """An answered, ended attempt of ``record_id`` taken by ``agent``; its id."""
    from campaigns.enums import CallOutcome

    started = web.clock[0] - dt.timedelta(minutes=minutes_ago)
    with db.unit_of_work(web.factory) as session:
        record = session.get(models.Record, record_id)
        attempt = models.Attempt(
            campaign_id=record.campaign_id, record_id=record.id,
            phone_number_id=record.phones[0].id, number_e164=record.phones[0].e164,
            started_at=started, answered_at=started, connected_at=started,
            ended_at=started + dt.timedelta(minutes=2), outcome=CallOutcome.ANSWERED,
            agent_id=web.ids[agent], disposition=disposition, notes=notes)
        session.add(attempt)
        session.flush()
        return attempt.id

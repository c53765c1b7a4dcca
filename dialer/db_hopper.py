"""The engine's hopper over the database: claim, re-check compliance, choose a caller ID, open.

:class:`DbHopper` implements :class:`dialer.orchestrator.Hopper`.  One
``claim(count)`` is one unit of work on the engine's
:class:`~dialer.db_thread.DatabaseThread` (never on the event loop):

1. :func:`campaigns.store.hopper.claim` takes the next work with a lease
   (callbacks, then retries, then new records; ``SKIP LOCKED`` on PostgreSQL);
2. each claim is judged again just before dialling (D2): the target is loaded
   now (``store.compliance.load_target``) and ``calling_hours.may_dial`` must
   allow it, else the claim goes back with ``not_before = next_dialable_at``;
   a due callback is checked by the callbacks workflow's ``dial_check`` (its own
   number and window), and cancelled (reason ``dnc``) when its number is on a
   do-not-call list now.  A personal callback is claimed for its owner when
   ready, by anyone after the campaign's hand-off delay (E17);
3. the caller ID is chosen from the campaign's pool (local presence, daily
   caps) and stored on the attempt (D6);
4. the attempt is opened (``engine_id``, ``caller_id``) before the backend is
   asked, so a crash leaves a row to close (D15).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from campaigns import abandonment, caller_ids, calling_hours, calling_rules, models
from campaigns.store import caller_ids as caller_id_store
from campaigns.store import compliance, engine_queries, hopper, outcomes
from dialer import (
    callbacks_config,
    callbacks_engine,
    db_thread,
    orchestrator,
)

logger = logging.getLogger(__name__)

HORIZON = dt.timedelta(days=14)
#: how long a claim waits when nothing in the horizon allows the call (re-judged then).
BLOCKED_RETRY = dt.timedelta(hours=12)


@dataclass(frozen=True)
class Dialled:
    """What the engine remembers about an attempt it opened (for the recorder)."""

    attempt_id: int
    campaign_id: int
    record_id: int
    caller_id: str
    kind: str
    callback_id: int | None = None


@dataclass
class HopperCounts:
    claimed: int = 0
    dialled: int = 0
    refused: int = 0


class DbHopper:
    """Claims work of one campaign for one engine; see the module docstring."""

    def __init__(self, database: db_thread.DatabaseThread, campaign_id: int, *, engine_id: str,
                 now: Callable[[], dt.datetime], rules: calling_rules.RuleSet,
                 lease: dt.timedelta = dt.timedelta(minutes=30),
                 owner_ids: Callable[[], Iterable[int]] = tuple,
                 on_dialled: Callable[[Dialled], None] | None = None,
                 callbacks_cfg: callbacks_config.CallbacksSettings | None = None) -> None:
        self.database = database
        self.campaign_id = campaign_id
        self.engine_id = engine_id
        self.now = now
        self.rules = rules
        self.lease = lease
        self.owner_ids = owner_ids
        self.on_dialled = on_dialled
        #: ``[callbacks]``: the hand-off delay (as the campaign's policy sets it) and DNC cancels.
        self.callbacks_cfg = callbacks_cfg or callbacks_config.settings_of(None)
        self.counts = HopperCounts()

    async def claim(self, count: int) -> list[orchestrator.DialTarget]:
        if count <= 0:
            return []
        now, owners = self.now(), tuple(self.owner_ids())
        dialled = await self.database.call(lambda session: self._claim(session, count, now, owners),
                                           key=self.campaign_id)
        targets = []
        for item, number in dialled:
            if self.on_dialled is not None:
                self.on_dialled(item)
            targets.append(orchestrator.DialTarget(number, item.record_id, item.attempt_id))
        self.counts.dialled += len(targets)
        return targets

    def _claim(self, session: Session, count: int, now: dt.datetime,
               owners: tuple[int, ...]) -> list[tuple[Dialled, str]]:
        campaign = session.get(models.Campaign, self.campaign_id)
        work = hopper.claim(session, self.campaign_id, engine_id=self.engine_id, now=now,
                            lease=self.lease, limit=count, owner_ids=owners,
                            handoff_after=self.handoff_after(campaign))
        self.counts.claimed += len(work)
        if not work:
            return []
        chooser = _CallerIds(session, campaign, now)
        out = []
        for item in work:
            number, phone_id, states = self._judge(session, campaign, item, now)
            if number is None:
                self.counts.refused += 1
                continue
            caller_id = chooser.choose(number, states)
            if caller_id is None:  # every pool number is at its daily cap
                hopper.release(session, item, engine_id=self.engine_id,
                               not_before=now + BLOCKED_RETRY)
                self.counts.refused += 1
                continue
            attempt = outcomes.open_attempt(
                session, campaign_id=self.campaign_id, record_id=item.record_id,
                phone_number_id=phone_id, number_e164=number, caller_id=caller_id,
                started_at=now, engine_id=self.engine_id)
            out.append((Dialled(attempt.id, self.campaign_id, item.record_id, caller_id,
                                item.kind, item.callback_id), number))
        return out

    def handoff_after(self, campaign: models.Campaign) -> dt.timedelta:
        """How long a personal callback waits for its owner before anyone may take it (E17):
        the ``[callbacks]`` delay as the campaign's ``callback_policy`` sets it."""
        if not campaign.callback_policy:
            return self.callbacks_cfg.ladder.handoff_after
        policy = callbacks_config.for_campaign(self.callbacks_cfg, campaign.callback_policy)
        return policy.ladder.handoff_after

    def _judge(self, session: Session, campaign: models.Campaign, item: hopper.Work,
               now: dt.datetime) -> tuple[str | None, int | None, tuple[str, ...]]:
        """(number, phone id, callee states) when the claim may be dialled now, else released."""
        if item.kind == "callback" and item.callback_id is not None:
            check = callbacks_engine.dial_check(session, item, now)
            if check.is_allowed:
                return check.number_e164, check.phone_number_id, ()
            if "dnc" in check.reasons:  # on a do-not-call list since it was booked: cancelled
                callbacks_engine.cancel_for_dnc(session, self.callbacks_cfg, item.callback_id,
                                                now=now)
            hopper.release(session, item, engine_id=self.engine_id)
            logger.debug("callback claim refused: %s", ",".join(check.reasons),
                         extra={"campaign_id": self.campaign_id, "record_id": item.record_id})
            return None, None, ()
        phone = session.get(models.PhoneNumber, item.phone_number_id) \
            if item.phone_number_id is not None else None
        target = compliance.load_target(session, campaign, now, phone=phone,
                                        number=item.number_e164, rules=self.rules)
        decision = calling_hours.may_dial(target, now)
        if decision.is_allowed:
            return target.e164, item.phone_number_id, tuple(target.jurisdictions)
        if "dnc" in decision.reasons and item.kind != "callback":
            engine_queries.dnc_block(session, item.record_id, now)
            return None, None, ()
        opening = calling_hours.next_dialable_at(target, now, HORIZON)
        hopper.release(session, item, engine_id=self.engine_id,
                       not_before=opening or now + BLOCKED_RETRY)
        logger.debug("claim released: %s", ",".join(decision.reasons),
                     extra={"campaign_id": self.campaign_id, "record_id": item.record_id})
        return None, None, ()


class _CallerIds:
    """The campaign's pool and today's use, loaded once per claim."""

    def __init__(self, session: Session, campaign: models.Campaign, now: dt.datetime) -> None:
        self.pool = caller_id_store.pool(session, campaign.id)
        self.default = campaign.caller_id or ""
        zone = campaign.centre_tz or "UTC"  # caps are per day of the call centre
        day_start, _ = abandonment.day_bounds(abandonment.local_day(now, zone), zone)
        self.used = caller_id_store.used_since(session, campaign.id, day_start) if self.pool else {}

    def choose(self, number: str, states: tuple[str, ...]) -> str | None:
        choice = caller_ids.choose(self.pool, callee_e164=number, callee_states=states,
                                   used_today=self.used, default=self.default)
        if choice.match == "capped":
            return None
        chosen = choice.e164 or ""
        if chosen:
            self.used[chosen] = self.used.get(chosen, 0) + 1
        return chosen

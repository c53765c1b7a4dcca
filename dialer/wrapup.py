"""Agent dispositions: what an agent says about a call in wrap-up, applied to the record.

The system sets the disposition of calls that never reach an agent
(:mod:`dialer.recording`); a call that did waits for the agent's.  Simulated
agents answer through :class:`SimulatedDesk` (a configurable distribution of
codes); real agents answer through the agent desktop, which calls
:func:`submit_disposition`.  A callback disposition goes through the callbacks
workflow (validated against calling hours, clipped, audited, notified).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from campaigns import calling_hours, db, errors, models
from campaigns.enums import RuleAction
from campaigns.store import outcomes
from campaigns.store import rules as rule_store
from dialer import callbacks_config, callbacks_service, db_thread, recording

logger = logging.getLogger(__name__)

#: the simulated agents' dispositions when none are configured (codes of the default rules).
DEFAULT_DISTRIBUTION: Mapping[str, float] = {"sale": 0.25, "not_interested": 0.6,
                                             "callback": 0.1, "do_not_call": 0.05}


class AlreadyDisposed(errors.InvalidInput):
    """The attempt already has a disposition."""

    error_id = "already-disposed"


#: a callback the agent gave no window for opens this long after wrap-up (unless the
#: campaign's ``callback`` rule has a ``delay_s``) ...
DEFAULT_CALLBACK_DELAY = dt.timedelta(hours=1)
#: ... and lasts this long.
DEFAULT_CALLBACK_WINDOW = dt.timedelta(hours=2)
#: the keys of the ``callback`` dict wrap-up takes.
CALLBACK_KEYS = frozenset({"start_at", "end_at", "tz", "number", "note", "owner"})


def apply_agent_disposition(session: Session, attempt_id: int, code: str, *, now: dt.datetime,
                            notes: str = "",
                            callback: Mapping[str, Any] | outcomes.CallbackRequest | None = None,
                            actor: str = "", cfg: Any = None,
                            callback_delay: dt.timedelta = DEFAULT_CALLBACK_DELAY,
                            on_retry: Callable[[dt.datetime], None] | None = None,
                            ) -> outcomes.Applied:
    """Apply the agent's ``code`` to a closed attempt (in the caller's transaction).

    A code whose rule is a callback goes through the callbacks workflow (E1, E2):
    the window the agent chose (``callback``: ``start_at``, ``end_at`` aware,
    ``tz`` IANA, ``number``, ``note``, ``owner`` name or id; each optional) or,
    without one, the rule's default (``delay_s``, else ``callback_delay``, for
    two hours) is validated against calling hours and clipped
    (``callbacks_service.wrap_up_request``), stored, then audited, posted and
    notified (``callbacks_service.adopt``).  A callback the call itself was for
    is completed or missed (:func:`dialer.recording.apply`).

    Raises
    ------
    campaigns.errors.NotFound
        No such attempt.
    AlreadyDisposed
        The attempt has a disposition already (a second submit is refused, not applied twice).
    campaigns.errors.InvalidInput
        An unknown code, a bad callback window, number, zone or owner.
    campaigns.calling_hours.NoLegalMinute
        The chosen window has no legal minute (``no-legal-minute``).
    """
    attempt = session.get(models.Attempt, attempt_id)
    if attempt is None:
        raise errors.NotFound("attempt", attempt_id)
    if attempt.disposition is not None:
        raise AlreadyDisposed(f"attempt {attempt_id} already has disposition "
                              f"{attempt.disposition!r}", fields={"attempt": "disposed"})
    actor = actor or _agent_name(session, attempt)
    request, is_clipped = _callback_request(session, attempt, code, callback, now=now,
                                            delay=callback_delay)
    applied = recording.apply(session, attempt, code, now=now, notes=notes, callback=request,
                              on_retry=on_retry, callbacks_cfg=cfg, is_strict=True)
    assert applied is not None  # strict: errors raise
    if applied.callback_id is not None:
        callbacks_service.adopt(session, callbacks_config.settings_of(None) if cfg is None
                                else cfg, applied.callback_id, actor=actor, now=now,
                                is_clipped=is_clipped)
    return applied


def _agent_name(session: Session, attempt: models.Attempt) -> str:
    agent = session.get(models.User, attempt.agent_id) if attempt.agent_id else None
    return agent.name if agent is not None else "agent"


def _callback_request(session: Session, attempt: models.Attempt, code: str,
                      callback: Mapping[str, Any] | outcomes.CallbackRequest | None, *,
                      now: dt.datetime, delay: dt.timedelta,
                      ) -> tuple[outcomes.CallbackRequest | None, bool]:
    """The validated, clipped request when ``code`` leads to a callback; and was it clipped."""
    rule = (rule_store.for_campaign(session, attempt.campaign_id).get(code)
            if attempt.campaign_id is not None else None)
    if rule is None or rule.action is not RuleAction.CALLBACK or attempt.record_id is None:
        return None, False
    asked = _as_dict(callback)
    unknown = sorted(set(asked) - CALLBACK_KEYS)
    if unknown:
        raise errors.InvalidInput(f"unknown callback keys: {', '.join(unknown)}",
                                  fields={k: "unknown" for k in unknown},
                                  error_id="invalid-callback")
    is_default = "start_at" not in asked
    start = asked.get("start_at") or now + (dt.timedelta(seconds=rule.delay_s)
                                            if rule.delay_s else delay)
    end = asked.get("end_at") or start + DEFAULT_CALLBACK_WINDOW
    values = {"record_id": attempt.record_id, "now": now, "tz": asked.get("tz") or "",
              "number": asked.get("number") or attempt.number_e164 or "",
              "owner": asked.get("owner"), "note": asked.get("note") or ""}
    try:
        request = callbacks_service.wrap_up_request(session, start_at=start, end_at=end,
                                                    **values)
    except calling_hours.NoLegalMinute as exc:
        if not is_default or exc.earliest_legal_at is None:
            raise
        # the default window is the system's choice: take the first legal time instead.
        start = exc.earliest_legal_at
        end = start + DEFAULT_CALLBACK_WINDOW
        request = callbacks_service.wrap_up_request(session, start_at=start, end_at=end,
                                                    **values)
        return request, False
    is_clipped = (request.window_start_at, request.window_end_at) != (max(start, now), end)
    return request, is_clipped


def _as_dict(callback: Mapping[str, Any] | outcomes.CallbackRequest | None) -> dict[str, Any]:
    if callback is None:
        return {}
    if isinstance(callback, outcomes.CallbackRequest):
        return {"start_at": callback.window_start_at, "end_at": callback.window_end_at,
                "tz": callback.tz, "number": callback.number_e164, "owner": callback.owner_id,
                "note": callback.notes}
    return {k: v for k, v in callback.items() if v is not None and v != ""}


def submit_disposition(session_factory: sessionmaker[Session], attempt_id: int, code: str,
                       notes: str = "",
                       callback: Mapping[str, Any] | outcomes.CallbackRequest | None = None, *,
                       now: dt.datetime | None = None, actor: str = "", note: str = "",
                       cfg: Any = None,
                       on_retry: Callable[[dt.datetime], None] | None = None,
                       ) -> outcomes.Applied:
    """The agent desktop's entry point: one unit of work that applies an agent's disposition.

    ``note`` is another name for ``notes`` (the disposition's note); ``callback``
    as :func:`apply_agent_disposition` takes it.  Raises as
    :func:`apply_agent_disposition` (nothing is stored then).
    """
    with db.unit_of_work(session_factory) as session:
        return apply_agent_disposition(session, attempt_id, code, now=now or db.utcnow(),
                                       notes=notes or note, callback=callback, actor=actor,
                                       cfg=cfg, on_retry=on_retry)


class SimulatedDesk:
    """The engine's :class:`~dialer.orchestrator.AgentDesk` for simulated agents.

    At each wrap-up it draws a disposition from ``distribution`` and applies it
    (through the engine's database thread, after the call's attempt is closed),
    then lets the simulated workforce finish the wrap-up in its own time.
    """

    def __init__(self, recorder: recording.RecordingBackend, database: db_thread.DatabaseThread,
                 *, now: Callable[[], dt.datetime], rng: random.Random,
                 distribution: Mapping[str, float] | None = None,
                 callback_delay: dt.timedelta = dt.timedelta(seconds=5),
                 workforce: object | None = None,
                 to_workforce: Callable[[int], int] = lambda agent_id: agent_id) -> None:
        self.recorder, self.database = recorder, database
        self.now, self.rng = now, rng
        self.distribution = dict(distribution or DEFAULT_DISTRIBUTION)
        self.callback_delay = callback_delay
        self.workforce = workforce
        self.to_workforce = to_workforce
        self.disposed = 0

    def on_wrap_up(self, agent_id: int, call_id: str) -> None:
        attempt_id = self.recorder.awaiting_agent.pop(call_id, None)
        if attempt_id is not None:
            code = self._draw()
            self.database.submit(_AgentJob(self, attempt_id, code, self.now(), agent_id),
                                 key=attempt_id)
        if self.workforce is not None:
            self.workforce.on_wrap_up(self.to_workforce(agent_id), call_id)

    def on_not_ready(self, agent_id: int, reason: str) -> None:
        if self.workforce is not None:
            self.workforce.on_not_ready(self.to_workforce(agent_id), reason)

    def _draw(self) -> str:
        codes = list(self.distribution)
        return self.rng.choices(codes, weights=[self.distribution[c] for c in codes])[0]


class _AgentJob:
    def __init__(self, desk: SimulatedDesk, attempt_id: int, code: str, now: dt.datetime,
                 agent_id: int) -> None:
        self.desk, self.attempt_id, self.code, self.now = desk, attempt_id, code, now
        self.agent_id = agent_id
        self.__name__ = f"disposition {code} of attempt {attempt_id}"

    def __call__(self, session: Session) -> None:
        attempt = session.get(models.Attempt, self.attempt_id)
        if attempt is None or attempt.disposition is not None or attempt.campaign_id is None:
            return
        desk = self.desk
        try:
            # validation comes before any write: a refused disposition leaves nothing behind
            apply_agent_disposition(session, self.attempt_id, self.code, now=self.now,
                                    notes="simulated agent", actor="simulated agent",
                                    cfg=desk.recorder.callbacks_cfg,
                                    callback_delay=desk.callback_delay,
                                    on_retry=desk.recorder.on_retry)
        except errors.InvalidInput as exc:
            logger.warning("disposition %r not applied: %s", self.code, exc,
                           extra={"campaign_id": attempt.campaign_id,
                                  "record_id": attempt.record_id})
            return
        desk.disposed += 1

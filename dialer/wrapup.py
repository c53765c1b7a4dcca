"""Agent dispositions: what an agent says about a call in wrap-up, applied to the record.

The system sets the disposition of calls that never reach an agent
(:mod:`dialer.recording`); a call that did waits for the agent's.  Simulated
agents answer through :class:`SimulatedDesk` (a configurable distribution of
codes); real agents will answer through the web desktop, which calls
:func:`submit_disposition`.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from campaigns import db, errors, models
from campaigns.enums import RuleAction
from campaigns.store import outcomes
from campaigns.store import rules as rule_store
from dialer import db_thread, recording

logger = logging.getLogger(__name__)

#: the simulated agents' dispositions when none are configured (codes of the default rules).
DEFAULT_DISTRIBUTION: Mapping[str, float] = {"sale": 0.25, "not_interested": 0.6,
                                             "callback": 0.1, "do_not_call": 0.05}


class AlreadyDisposed(errors.InvalidInput):
    """The attempt already has a disposition."""

    error_id = "already-disposed"


def apply_agent_disposition(session: Session, attempt_id: int, code: str, *, now: dt.datetime,
                            notes: str = "",
                            callback: outcomes.CallbackRequest | None = None,
                            ) -> outcomes.Applied:
    """Apply the agent's ``code`` to a closed attempt (in the caller's transaction).

    Raises
    ------
    campaigns.errors.NotFound
        No such attempt.
    AlreadyDisposed
        The attempt has a disposition already (a second submit is refused, not applied twice).
    campaigns.errors.InvalidInput
        An unknown code, or a callback code without a callback request.
    """
    attempt = session.get(models.Attempt, attempt_id)
    if attempt is None:
        raise errors.NotFound("attempt", attempt_id)
    if attempt.disposition is not None:
        raise AlreadyDisposed(f"attempt {attempt_id} already has disposition "
                              f"{attempt.disposition!r}", fields={"attempt": "disposed"})
    return outcomes.apply_disposition(session, attempt, code, now=now, notes=notes,
                                      callback=callback)


def submit_disposition(session_factory: sessionmaker[Session], attempt_id: int, code: str,
                       notes: str = "", callback: outcomes.CallbackRequest | None = None, *,
                       now: dt.datetime | None = None) -> outcomes.Applied:
    """The web desktop's entry point: one unit of work that applies an agent's disposition.

    A callback request should first go through the callbacks workflow's
    validation (``callbacks_service.wrap_up_request``).  Raises as
    :func:`apply_agent_disposition`.
    """
    with db.unit_of_work(session_factory) as session:
        return apply_agent_disposition(session, attempt_id, code, now=now or db.utcnow(),
                                       notes=notes, callback=callback)


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
        callback = None
        rule = rule_store.for_campaign(session, attempt.campaign_id).get(self.code)
        if rule is not None and rule.action is RuleAction.CALLBACK:
            start = self.now + self.desk.callback_delay
            callback = outcomes.CallbackRequest(start, start + dt.timedelta(hours=2), "UTC",
                                                attempt.number_e164, notes="simulated agent")
        recording.apply(session, attempt, self.code, now=self.now, notes="simulated agent",
                        callback=callback, on_retry=self.desk.recorder.on_retry,
                        callbacks_cfg=self.desk.recorder.callbacks_cfg)
        self.desk.disposed += 1

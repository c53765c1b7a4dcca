"""A backend wrapper that records what passes through it: attempts closed, system dispositions.

:class:`RecordingBackend` wraps any :class:`telephony.base.Backend` (sim, sip,
ami).  It reads the inner backend's one event stream, writes what each event
says about the call's attempt, and hands the event on to the campaign that
placed the call; each campaign's orchestrator talks to a :class:`CampaignLine`
(itself a ``Backend``) obtained from :meth:`RecordingBackend.line`.

What it observes:

- ``originate``: the attempt id and the caller ID the hopper chose (the
  orchestrator's request carries the campaign default; the chosen one is put in);
- ``answered`` / ``machine_detected``: when the callee picked up;
- ``bridge``: connected, and to which agent;
- ``play`` of the campaign's abandon message: the call is abandoned (D4);
- ``ended``: the attempt is closed with the outcome and the raw codes, then a
  call that never reached an agent gets its system disposition (busy,
  no_answer, machine, amd_hangup, abandoned, ...) through
  ``outcomes.apply_disposition``; a call that reached an agent waits for the
  agent's disposition (the desk, or :func:`dialer.wrapup.submit_disposition`).

All database work goes through the engine's
:class:`~dialer.db_thread.DatabaseThread`, in event order.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaigns import errors as campaign_errors
from campaigns import models
from campaigns.enums import CallbackStatus, CallOutcome
from campaigns.store import outcomes
from campaigns.store import rules as rule_store
from dialer import callbacks_config, callbacks_engine, db_hopper, db_thread
from telephony import base
from telephony.base import EventKind

logger = logging.getLogger(__name__)

#: the system disposition of a call that never reached an agent, by outcome.
ABANDONED, AMD_HANGUP = "abandoned", "amd_hangup"
AWAITING_AGENT_MAX = 10_000


@dataclass
class _Track:
    """What the recorder knows about one live call."""

    campaign_id: int
    attempt_id: int | None
    dialled: db_hopper.Dialled | None = None
    answered_at: dt.datetime | None = None
    connected_at: dt.datetime | None = None
    agent_id: int | None = None
    is_machine_detected: bool = False
    is_abandoned: bool = False


@dataclass(frozen=True)
class Closed:
    """How one attempt ended, as recorded (the agent's disposition may follow)."""

    attempt_id: int
    outcome: CallOutcome
    system_disposition: str | None
    agent_id: int | None


class RecordingBackend:
    """Wraps a backend; see the module docstring."""

    def __init__(self, inner: base.Backend, database: db_thread.DatabaseThread, *,
                 now: Callable[[], dt.datetime],
                 on_retry: Callable[[dt.datetime], None] | None = None,
                 callbacks_cfg: object | None = None) -> None:
        self.inner = inner
        #: the ``[callbacks]`` section handed to the callbacks workflow (None: its defaults).
        self.callbacks_cfg = callbacks_cfg
        self.database = database
        self.now = now
        self.on_retry = on_retry
        self.capabilities = inner.capabilities
        self._lines: dict[int, CampaignLine] = {}
        self._calls: dict[str, _Track] = {}
        self._legs: dict[str, int] = {}
        self._dialled: dict[int, db_hopper.Dialled] = {}
        self._pump: asyncio.Task[None] | None = None
        #: call id -> attempt id of calls that reached an agent (the desk takes them).
        self.awaiting_agent: dict[str, int] = {}
        #: the latest attempts closed (a window, for inspection: the database has them all).
        self.closed: collections.deque[Closed] = collections.deque(maxlen=1000)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.inner.start()
        self._pump = asyncio.create_task(self._read_events(), name="dialer-recorder")

    async def close(self) -> None:
        """Close the inner backend (it ends every call: those ends are recorded too)."""
        await self.inner.close()
        if self._pump is not None:
            await self._pump
            self._pump = None
        for line in self._lines.values():
            line.queue.put_nowait(None)

    def line(self, campaign_id: int, *, abandon_media: str) -> CampaignLine:
        """The backend one campaign's orchestrator uses."""
        line = self._lines.get(campaign_id)
        if line is None or line.is_closed:
            line = self._lines[campaign_id] = CampaignLine(self, campaign_id, abandon_media)
        return line

    def note_dialled(self, dialled: db_hopper.Dialled) -> None:
        """The hopper opened an attempt (called before the orchestrator originates it)."""
        self._dialled[dialled.attempt_id] = dialled

    @property
    def live_calls(self) -> int:
        return len(self._calls)

    # -- calls, on behalf of a campaign line -------------------------------------------------

    async def _originate(self, line: CampaignLine, request: base.CallRequest) -> base.CallHandle:
        dialled = self._dialled.pop(request.attempt_id, None) if request.attempt_id else None
        if dialled is not None and dialled.caller_id:
            request = dataclasses.replace(request, caller_id=dialled.caller_id)
        try:
            handle = await self.inner.originate(request)
        except Exception:
            if request.attempt_id is not None:
                self._close_unplaced(line.campaign_id, request.attempt_id)
            raise
        self._calls[handle.call_id] = _Track(line.campaign_id, request.attempt_id, dialled)
        return handle

    async def _bridge(self, handle: base.CallHandle, leg: base.AgentLeg) -> None:
        await self.inner.bridge(handle, leg)
        track = self._calls.get(handle.call_id)
        if track is not None:
            track.connected_at, track.agent_id = self.now(), leg.agent.agent_id

    async def _play(self, line: CampaignLine, handle: base.CallHandle, media: str) -> None:
        await self.inner.play(handle, media)
        track = self._calls.get(handle.call_id)
        if track is not None and media == line.abandon_media:
            track.is_abandoned = True

    async def _agent_login(self, line: CampaignLine, agent: base.Agent) -> base.AgentLeg:
        leg = await self.inner.agent_login(agent)
        self._legs[leg.leg_id] = line.campaign_id
        return leg

    async def _agent_logout(self, leg: base.AgentLeg) -> None:
        self._legs.pop(leg.leg_id, None)
        await self.inner.agent_logout(leg)

    # -- events ------------------------------------------------------------------------------

    async def _read_events(self) -> None:
        async for event in self.inner.events():
            campaign_id = self._observe(event)
            line = self._lines.get(campaign_id) if campaign_id is not None else None
            if line is not None and not line.is_closed:
                line.queue.put_nowait(event)

    def _observe(self, event: base.CallEvent) -> int | None:
        """Record ``event``; the campaign it belongs to (None: not ours)."""
        track = self._calls.get(event.call_id)
        if track is None:
            return self._legs.get(event.call_id)
        if event.kind in (EventKind.ANSWERED, EventKind.MACHINE_DETECTED):
            track.answered_at = track.answered_at or event.at
            track.is_machine_detected = event.kind is EventKind.MACHINE_DETECTED
        elif event.kind is EventKind.ENDED:
            del self._calls[event.call_id]
            if track.attempt_id is not None and track.connected_at is not None:
                self._await_agent(event.call_id, track.attempt_id)
            if track.attempt_id is not None:
                self.database.submit(_Closer(self, track, event), key=track.attempt_id)
        return track.campaign_id

    def _await_agent(self, call_id: str, attempt_id: int) -> None:
        # Without a desk (real agents before the web desktop) nobody takes these:
        # keep a bounded window; submit_disposition works from the attempt id anyway.
        if len(self.awaiting_agent) >= AWAITING_AGENT_MAX:
            self.awaiting_agent.pop(next(iter(self.awaiting_agent)))
        self.awaiting_agent[call_id] = attempt_id

    def _close_unplaced(self, campaign_id: int, attempt_id: int) -> None:
        event = base.CallEvent("", EventKind.ENDED, self.now(), outcome=CallOutcome.FAILED,
                               cause="not_placed")
        self.database.submit(_Closer(self, _Track(campaign_id, attempt_id), event), key=attempt_id)


def system_disposition(outcome: CallOutcome, *, is_connected: bool, is_abandoned: bool,
                       is_machine_detected: bool) -> str | None:
    """The disposition the system sets, or None when an agent will set one.

    >>> system_disposition(CallOutcome.BUSY, is_connected=False, is_abandoned=False,
    ...                    is_machine_detected=False)
    'busy'
    >>> system_disposition(CallOutcome.ANSWERED, is_connected=False, is_abandoned=False,
    ...                    is_machine_detected=False)
    'abandoned'
    >>> system_disposition(CallOutcome.ANSWERED, is_connected=True, is_abandoned=False,
    ...                    is_machine_detected=False) is None
    True
    """
    if is_connected:
        return None
    if is_machine_detected:
        return AMD_HANGUP
    if is_abandoned or outcome is CallOutcome.ANSWERED:
        # answered and never connected: the callee waited for an agent that never came.
        return ABANDONED
    return outcome.value


class _Closer:
    """The database job that closes one attempt (and applies its system disposition)."""

    def __init__(self, recorder: RecordingBackend, track: _Track, event: base.CallEvent) -> None:
        self.recorder, self.track, self.event = recorder, track, event
        self.__name__ = f"close attempt {track.attempt_id}"

    def __call__(self, session: Session) -> None:
        track, event = self.track, self.event
        attempt = session.get(models.Attempt, track.attempt_id)
        if attempt is None or attempt.ended_at is not None:
            return
        outcome = CallOutcome(event.outcome or CallOutcome.FAILED)
        is_connected = track.connected_at is not None
        code = system_disposition(outcome, is_connected=is_connected,
                                  is_abandoned=track.is_abandoned,
                                  is_machine_detected=track.is_machine_detected)
        is_abandoned = code == ABANDONED
        outcomes.close_attempt(
            session, attempt, outcome=outcome, ended_at=event.at, answered_at=track.answered_at,
            connected_at=track.connected_at, sip_status=event.sip_status,
            q850_cause=event.q850_cause, cause=event.cause, is_abandoned=is_abandoned,
            agent_id=track.agent_id)
        self.recorder.closed.append(Closed(attempt.id, outcome, code, track.agent_id))
        if code is not None and attempt.record_id is not None:
            apply(session, attempt, code, now=event.at, on_retry=self.recorder.on_retry,
                  is_callback_call=track.dialled is None or track.dialled.kind == "callback",
                  callbacks_cfg=self.recorder.callbacks_cfg)


def apply(session: Session, attempt: models.Attempt, code: str, *, now: dt.datetime,
          notes: str = "", callback: outcomes.CallbackRequest | None = None,
          on_retry: Callable[[dt.datetime], None] | None = None,
          is_callback_call: bool = True,
          callbacks_cfg: object | None = None,
          is_strict: bool = False) -> outcomes.Applied | None:
    """Apply a disposition; finish the callback the call was for; tell the timer what is due.

    ``is_callback_call`` False (the hopper claimed a retry or a new record) skips
    looking for the callback the call was for.  A disposition the rules refuse
    is logged and skipped (None), or raised when ``is_strict`` (an agent's).
    """
    callback_id = _claimed_callback(session, attempt) if is_callback_call else None
    try:
        applied = outcomes.apply_disposition(session, attempt, code, now=now, notes=notes,
                                             callback=callback)
    except campaign_errors.InvalidInput as exc:
        if is_strict:
            raise
        logger.warning("disposition %r not applied: %s", code, exc,
                       extra={"campaign_id": attempt.campaign_id, "record_id": attempt.record_id})
        return None
    if callback_id is not None and callback_id != applied.callback_id:
        rule = rule_store.for_campaign(session, attempt.campaign_id).get(code)
        _finish_callback(session, callback_id, now=now, disposition=code,
                         is_contact=bool(rule and rule.is_contact), cfg=callbacks_cfg)
    if applied.next_attempt_at is not None and on_retry is not None:
        on_retry(applied.next_attempt_at)
    return applied


def _claimed_callback(session: Session, attempt: models.Attempt) -> int | None:
    """The callback this attempt's engine claimed for the record, if any."""
    return session.scalar(select(models.Callback.id).where(
        models.Callback.record_id == attempt.record_id,
        models.Callback.status == CallbackStatus.IN_PROGRESS).limit(1))


def _finish_callback(session: Session, callback_id: int, *, now: dt.datetime, disposition: str,
                     is_contact: bool, cfg: object | None = None) -> None:
    """Hand the finished callback call to the callbacks workflow (completed, or missed)."""
    callbacks_engine.on_call_finished(session, cfg or callbacks_config.settings_of(None),
                                      callback_id, now=now, is_contact=is_contact,
                                      disposition=disposition)


class CampaignLine:
    """One campaign's view of the shared backend: its own calls' events only."""

    def __init__(self, recorder: RecordingBackend, campaign_id: int, abandon_media: str) -> None:
        self.recorder = recorder
        self.campaign_id = campaign_id
        self.abandon_media = abandon_media
        self.capabilities = recorder.capabilities
        self.queue: asyncio.Queue[base.CallEvent | None] = asyncio.Queue()
        self.is_closed = False

    async def start(self) -> None:
        """The shared backend is started by the engine."""

    async def close(self) -> None:
        self.is_closed = True
        self.queue.put_nowait(None)

    async def events(self) -> AsyncIterator[base.CallEvent]:
        while True:
            event = await self.queue.get()
            if event is None:
                return
            yield event

    async def originate(self, request: base.CallRequest) -> base.CallHandle:
        return await self.recorder._originate(self, request)

    async def hangup(self, handle: base.CallHandle) -> None:
        await self.recorder.inner.hangup(handle)

    async def bridge(self, handle: base.CallHandle, agent_leg: base.AgentLeg) -> None:
        await self.recorder._bridge(handle, agent_leg)

    async def play(self, handle: base.CallHandle, media: str) -> None:
        await self.recorder._play(self, handle, media)

    async def agent_login(self, agent: base.Agent) -> base.AgentLeg:
        return await self.recorder._agent_login(self, agent)

    async def agent_logout(self, agent_leg: base.AgentLeg) -> None:
        await self.recorder._agent_logout(agent_leg)

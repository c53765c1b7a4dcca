"""``dialer call NUMBER``: an operator's test call through any backend, recorded and audited.

It dials outside any campaign (no calling hours, no DNC: the operator is
testing the line), prints how the call ended and records an attempt with
``is_test`` set.  Exit status: 0 once the call was placed, whatever its
outcome; 2 on bad input or configuration; 3 when the backend could not place it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import time
from dataclasses import asdict, dataclass
from typing import Any

import click

import telephony
from campaigns import phones
from campaigns.enums import CallOutcome
from campaigns.store import attempts
from dialer.cli import common
from telephony import base, errors

#: exit status when the backend could not place the call.
EXIT_NOT_PLACED = 3
_GRACE_S = 30.0


@dataclass
class CallReport:
    outcome: str
    sip_status: int | None
    q850_cause: int | None
    ring_s: float
    talk_s: float
    call_id: str | None
    cause: str = ""


def dial_string(raw: str) -> str:
    """E.164 when the value parses as a valid number, otherwise the string as given.

    >>> dial_string("(202) 456-1111")
    '+12024561111'
    >>> dial_string("agent-7")
    'agent-7'
    """
    parsed = phones.normalise(raw)
    return parsed.e164 if parsed is not None and parsed.is_valid else raw.strip()


async def place_test_call(backend: base.Backend, request: base.CallRequest,
                          talk_s: float) -> CallReport:
    """Start the backend, place one call, hang up ``talk_s`` after an answer, close.

    Raises
    ------
    telephony.errors.TelephonyError
        When the backend cannot start or refuses the call.
    """
    await backend.start()
    events: asyncio.Queue[base.CallEvent] = asyncio.Queue()
    # one task owns the iterator: cancelling a pending anext() would end the generator
    pump = asyncio.create_task(_pump(backend, events))
    try:
        handle = await backend.originate(request)
        return await _follow(backend, events, handle, talk_s)
    finally:
        await backend.close()
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)


async def _pump(backend: base.Backend, queue: asyncio.Queue[base.CallEvent]) -> None:
    async for event in backend.events():
        queue.put_nowait(event)


async def _follow(backend: base.Backend, events: asyncio.Queue[base.CallEvent],
                  handle: base.CallHandle, talk_s: float) -> CallReport:
    started = time.monotonic()
    deadline = started + handle.request.ring_timeout_s + talk_s + _GRACE_S
    answered: float | None = None
    hangup_at: float | None = None
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise errors.TelephonyError("the call did not end in time", error_id="call-stuck")
        wait = deadline - now if hangup_at is None else max(0.0, hangup_at - now)
        try:
            event = await asyncio.wait_for(events.get(), wait)
        except TimeoutError:
            if hangup_at is not None and time.monotonic() >= hangup_at:
                hangup_at = None
                await backend.hangup(handle)
            continue
        if event.call_id != handle.call_id:
            continue
        if event.kind in (base.EventKind.ANSWERED, base.EventKind.MACHINE_DETECTED):
            if answered is None:
                answered = time.monotonic()
                hangup_at = answered + talk_s
        elif event.kind is base.EventKind.ENDED:
            ended = time.monotonic()
            return CallReport(
                outcome=(event.outcome or base.CallOutcome.FAILED).value,
                sip_status=event.sip_status, q850_cause=event.q850_cause,
                ring_s=round((answered or ended) - started, 3),
                talk_s=round(ended - answered, 3) if answered is not None else 0.0,
                call_id=handle.call_id, cause=event.cause)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@click.command("call")
@click.argument("number")
@click.option("--backend", "backend_name", type=click.Choice(sorted(telephony.BACKENDS)),
              default=None, help="Backend to use (default: [telephony] backend).")
@click.option("--talk-s", type=click.FloatRange(min=0, max=3600), default=5.0,
              show_default=True, help="Hang up this long after an answer.")
@click.option("--caller-id", default=None, help="Caller ID (default: the backend's).")
@common.common_options
@click.pass_context
def command(ctx: click.Context, number: str, backend_name: str | None, talk_s: float,
            caller_id: str | None) -> None:
    """Place a test call to NUMBER outside any campaign and record it."""
    if not number.strip():
        raise common.usage_error("NUMBER is empty", "number")
    app = common.app()
    settings = app.settings.telephony
    name = backend_name or settings.backend
    backend = telephony.make_backend(settings, name)
    section = getattr(settings, name)
    request = base.CallRequest(number=dial_string(number),
                               caller_id=caller_id or getattr(section, "caller_id", ""),
                               ring_timeout_s=float(getattr(section, "ring_timeout_s", 20.0)))
    actor = getpass.getuser()
    with app.session() as session:
        attempt_id = attempts.open_test_attempt(session, number=request.number,
                                                caller_id=request.caller_id, backend=name,
                                                actor=actor, now=_now()).id
    try:
        result = asyncio.run(place_test_call(backend, request, talk_s))
    except errors.TelephonyError as exc:
        if exc.is_input_error:
            raise
        result = CallReport("failed", None, None, 0.0, 0.0, None, cause=exc.error_id)
        _close(app, attempt_id, result, actor)
        common.print_error(exc.error_id, str(exc), exc.fields, False)
        app.emit(_payload(result, attempt_id, name), lambda: _text(result))
        ctx.exit(EXIT_NOT_PLACED)
        return
    _close(app, attempt_id, result, actor)
    app.emit(_payload(result, attempt_id, name), lambda: _text(result))


def _close(app: common.App, attempt_id: int, result: CallReport, actor: str) -> None:
    ended = _now()
    answered = (ended - dt.timedelta(seconds=result.talk_s)
                if result.outcome in ("answered", "machine") else None)
    with app.session() as session:
        attempts.close_test_attempt(session, attempt_id, outcome=CallOutcome(result.outcome),
                                    sip_status=result.sip_status,
                                    q850_cause=result.q850_cause, cause=result.cause,
                                    answered_at=answered, ended_at=ended, actor=actor)


def _payload(result: CallReport, attempt_id: int, backend: str) -> dict[str, Any]:
    payload = asdict(result)
    payload.update(attempt_id=attempt_id, backend=backend)
    return payload


def _text(result: CallReport) -> str:
    codes = ", ".join(f"{k} {v}" for k, v in (("SIP", result.sip_status),
                                              ("Q.850", result.q850_cause)) if v is not None)
    return (f"{result.outcome}{f' ({codes})' if codes else ''}: rang {result.ring_s:.1f} s, "
            f"talked {result.talk_s:.1f} s, call {result.call_id or '-'}")

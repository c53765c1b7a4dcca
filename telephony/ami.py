"""The Asterisk backend: calls placed with AMI ``Originate`` through the ``asterisk-ami`` client.

Correlation is by our own ids, never by channel name: every Originate carries
our ``ActionID`` (matched by ``OriginateResponse``, whose failed form says
``Uniqueid: <unknown>`` and repeats the dial string as ``Channel``) and our
``ChannelId``/``OtherChannelId`` (the Uniqueid of the channel, and of the ``;2``
half of a Local channel); the far channels a dialplan ``Dial()`` creates share
our ``Linkedid``.  A call ends when its ``OriginateResponse`` has arrived and
every channel seen for it has hung up; the outcome combines the response's
``Reason``, the ``Hangup`` causes of every half and ``DialEnd``
(:func:`telephony.causes.outcome_from_ami`).

asterisk-ami reads on its own thread; listener callbacks only hand packets to
the event loop (``call_soon_threadsafe``).  The connection is checked with
``Ping``; when it drops, the backend reconnects with back-off and reconciles its
in-flight calls with ``CoreShowChannels``.  At start it hangs up channels that
carry ``DIALER_ATTEMPT`` but belong to no live attempt (an engine restart).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asterisk.ami import Action, AMIClient

from telephony import base, causes, errors
from telephony.config import AmiSettings

logger = logging.getLogger(__name__)

_ACTION_TIMEOUT_S = 10.0
_KEEPALIVE_S = 5.0
_BACKOFF_MAX_S = 5.0
#: the variable that marks our channels (also listed in manager.conf ``channelvars``).
ATTEMPT_VARIABLE = "DIALER_ATTEMPT"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(eq=False)
class _AmiCall:
    call_id: str
    action_id: str
    channel_ids: tuple[str, str]
    handle: base.CallHandle | None = None
    leg: base.AgentLeg | None = None
    #: uniqueid -> channel name of every channel still up.
    alive: dict[str, str] = field(default_factory=dict)
    #: every channel name ever seen (for Hangup/Redirect).
    names: dict[str, str] = field(default_factory=dict)
    hangup_causes: list[int] = field(default_factory=list)
    reason: int | None = None
    dial_status: str | None = None
    is_answered: bool = False
    is_ringing: bool = False
    is_machine: bool = False
    is_hangup_requested: bool = False
    is_ended: bool = False
    answered: asyncio.Future[bool] | None = None

    def owns(self, keys: dict[str, Any]) -> bool:
        ids = self.channel_ids
        return (keys.get("Uniqueid") in ids or keys.get("Linkedid") in ids
                or keys.get("Uniqueid") in self.alive)

    @property
    def main_channel(self) -> str | None:
        return self.names.get(self.channel_ids[0])


class AmiBackend:
    """:class:`~telephony.base.Backend` over the Asterisk Manager Interface."""

    def __init__(self, settings: AmiSettings, *,
                 live_attempts: Callable[[], Iterable[int]] | None = None,
                 record_to: str | Path | None = None, agent_context: str = "dialer-agents") -> None:
        self.settings = settings
        self.capabilities = base.Capabilities(supports_amd=settings.amd)
        self.live_attempts = live_attempts or (lambda: ())
        self.record_to = Path(record_to) if record_to else None
        self.agent_context = agent_context
        self._client: AMIClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[base.CallEvent] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._calls: dict[str, _AmiCall] = {}
        self._by_action: dict[str, _AmiCall] = {}
        self._replies: dict[str, asyncio.Future[Any]] = {}
        self._lists: dict[str, list[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connected = asyncio.Event()
        self._is_closing = False
        self.reconnects = 0
        self.orphans_hung_up: list[str] = []

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and log in, then hang up orphan channels of a previous engine.

        Raises
        ------
        telephony.errors.TelephonyError
            When Asterisk cannot be reached or refuses the login.
        """
        self._loop = asyncio.get_running_loop()
        await self._connect()
        await self.hangup_orphans(set(self.live_attempts()))
        self._spawn(self._keepalive())

    async def close(self) -> None:
        """Hang up our calls that are still up, log off, stop the reader thread."""
        if self._connected.is_set():
            for call in list(self._calls.values()):
                call.is_hangup_requested = True
                await self._hangup_channels(call)
        self._is_closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None and self._connected.is_set():
            try:
                await asyncio.wait_for(self._send("Logoff", {}), 2.0)
            except (errors.TelephonyError, TimeoutError):
                pass
        self._connected.clear()
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(_disconnect, client)

    async def _connect(self) -> None:
        client = AMIClient(address=self.settings.host, port=self.settings.port,
                           timeout=_KEEPALIVE_S * 4)
        client.add_listener(on_event=self._from_thread(self._on_event_packet),
                            on_response=self._from_thread(self._on_response),
                            on_disconnect=self._from_thread(self._on_disconnect))
        try:
            await asyncio.to_thread(client.connect)
        except OSError as exc:
            sock = getattr(client, "_socket", None)
            if sock is not None:
                sock.close()
            raise errors.TelephonyError(f"AMI {self.settings.host}:{self.settings.port}: {exc}",
                                        error_id="ami-unreachable") from exc
        self._client = client
        reply = await self._send("Login", {"Username": self.settings.username,
                                           "Secret": self.settings.secret}, connected=False)
        if reply.get("Response", "").lower() != "success":
            self._client = None
            await asyncio.to_thread(_disconnect, client)
            raise errors.BackendConfigError(
                f"AMI login refused: {reply.get('Message', '')}",
                fields={"telephony.ami.secret": "refused"}, error_id="ami-login-refused")
        self._connected.set()

    def _from_thread(self, handler: Callable[..., None]) -> Callable[..., None]:
        """Wrap a loop-side handler so the reader thread can call it."""
        def callback(source: AMIClient, **kwargs: Any) -> None:
            loop = self._loop
            if loop is None or loop.is_closed():
                return
            try:
                loop.call_soon_threadsafe(handler, source, kwargs)
            except RuntimeError:
                pass  # the loop closed meanwhile: the backend is gone
        return callback

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- actions ---------------------------------------------------------------------------

    async def _send(self, name: str, keys: dict[str, Any], variables: dict[str, str] | None = None,
                    *, connected: bool = True, collect: bool = False) -> dict[str, Any]:
        """Send one action with our ActionID and await its response (and list, with ``collect``)."""
        if connected and not self._connected.is_set():
            raise errors.CallNotPlaced("AMI is not connected", error_id="ami-disconnected")
        client = self._client
        if client is None:
            raise errors.CallNotPlaced("AMI is not connected", error_id="ami-disconnected")
        assert self._loop is not None
        action_id = f"dialer-{next(self._ids)}"
        future: asyncio.Future[Any] = self._loop.create_future()
        self._replies[action_id] = future
        if collect:
            self._lists[action_id] = []
        action = Action(name, dict(keys, ActionID=action_id), variables or {})
        self._record(">>", str(action))
        try:
            client.send(action)
        except OSError as exc:
            self._replies.pop(action_id, None)
            raise errors.CallNotPlaced(f"AMI {name}: {exc}", error_id="ami-disconnected") from exc
        try:
            return await asyncio.wait_for(future, _ACTION_TIMEOUT_S)
        except TimeoutError as exc:
            raise errors.TelephonyError(f"AMI {name}: no response", error_id="ami-timeout") from exc
        finally:
            self._replies.pop(action_id, None)

    def _on_response(self, _source: AMIClient, kwargs: dict[str, Any]) -> None:
        response = kwargs["response"]
        keys = dict(response.keys, Response=response.status)
        self._record("<<", str(response))
        action_id = keys.get("ActionID", "")
        future = self._replies.get(action_id)
        if future is None or future.done():
            return
        if action_id in self._lists and keys.get("EventList", "").lower() == "start":
            return  # the list follows as events; the Complete event resolves the future
        future.set_result(keys)

    # -- the Backend protocol --------------------------------------------------------------

    async def originate(self, request: base.CallRequest) -> base.CallHandle:
        """Originate ``channel`` (template) into ``context``/``exten``, Async, with our ids.

        Raises
        ------
        telephony.errors.BackendConfigError
            AMD asked for while ``telephony.ami.amd`` is off.
        telephony.errors.CallNotPlaced
            When Asterisk refuses the action or the connection is down.
        """
        if request.amd and not self.settings.amd:
            raise errors.BackendConfigError(
                "campaign amd: telephony.ami.amd is off (the dialplan runs AMD())",
                fields={"telephony.ami.amd": "off"}, error_id="amd-unsupported")
        call_id = f"c{next(self._ids)}"
        handle = base.CallHandle(call_id=call_id, request=request)
        variables = {ATTEMPT_VARIABLE: str(request.attempt_id) if request.attempt_id is not None
                     else f"test-{call_id}",
                     "DIALER_CAMPAIGN": str(request.campaign_id or ""),
                     "DIALER_CALL": call_id, "DIALER_AMD": "1" if request.amd else "0",
                     **{str(k): str(v) for k, v in request.variables.items()}}
        keys = {"Channel": self.settings.channel.format(number=request.number),
                "Context": self.settings.context, "Exten": self.settings.exten,
                "Priority": self.settings.priority,
                "Timeout": int(request.ring_timeout_s * 1000),
                "CallerID": request.caller_id or self.settings.caller_id}
        await self._originate(call_id, keys, variables, handle=handle)
        return handle

    async def _originate(self, call_id: str, keys: dict[str, Any], variables: dict[str, str],
                         **extra: Any) -> _AmiCall:
        assert self._loop is not None
        ids = (f"dialer-{call_id}", f"dialer-{call_id}-2")
        call = _AmiCall(call_id, action_id="", channel_ids=ids,
                        answered=self._loop.create_future(), **extra)
        self._calls[call_id] = call
        keys = {k: v for k, v in keys.items() if v not in ("", None)}
        keys.update({"Async": "true", "ChannelId": ids[0], "OtherChannelId": ids[1]})
        action_id = f"dialer-{next(self._ids)}"
        call.action_id = action_id
        self._by_action[action_id] = call
        reply = await self._send_with_id("Originate", keys, variables, action_id)
        if reply.get("Response", "").lower() != "success":
            self._forget(call)
            raise errors.CallNotPlaced(f"AMI Originate refused: {reply.get('Message', '')}",
                                       error_id="ami-originate-refused")
        return call

    async def _send_with_id(self, name: str, keys: dict[str, Any], variables: dict[str, str],
                            action_id: str) -> dict[str, Any]:
        # Originate needs its ActionID known before the response: OriginateResponse may
        # arrive on the reader thread before this coroutine resumes.
        if not self._connected.is_set() or self._client is None:
            raise errors.CallNotPlaced("AMI is not connected", error_id="ami-disconnected")
        assert self._loop is not None
        future: asyncio.Future[Any] = self._loop.create_future()
        self._replies[action_id] = future
        action = Action(name, dict(keys, ActionID=action_id), variables)
        self._record(">>", str(action))
        try:
            self._client.send(action)
            return await asyncio.wait_for(future, _ACTION_TIMEOUT_S)
        except OSError as exc:
            raise errors.CallNotPlaced(f"AMI {name}: {exc}", error_id="ami-disconnected") from exc
        except TimeoutError as exc:
            raise errors.CallNotPlaced(f"AMI {name}: no response", error_id="ami-timeout") from exc
        finally:
            self._replies.pop(action_id, None)

    async def hangup(self, handle: base.CallHandle) -> None:
        call = self._calls.get(handle.call_id)
        if call is None:
            return
        call.is_hangup_requested = True
        await self._hangup_channels(call)

    async def _hangup_channels(self, call: _AmiCall) -> None:
        for name in list(call.alive.values()):
            try:
                await self._send("Hangup", {"Channel": name, "Cause": 16})
            except errors.TelephonyError as exc:
                logger.warning("AMI hangup of %s failed: %s", name, exc)

    async def events(self) -> AsyncIterator[base.CallEvent]:  # type: ignore[override]
        while True:
            yield await self._queue.get()

    async def bridge(self, handle: base.CallHandle, agent_leg: base.AgentLeg) -> None:
        """Redirect the answered call into the agent's conference (``agent-<id>``)."""
        call = self._calls.get(handle.call_id)
        if call is None or call.main_channel is None:
            raise errors.CallNotPlaced("bridge: the call is gone", error_id="no-such-call")
        reply = await self._send("Redirect", {"Channel": call.main_channel,
                                              "Context": self.agent_context,
                                              "Exten": f"agent-{agent_leg.agent.agent_id}",
                                              "Priority": 1})
        if reply.get("Response", "").lower() != "success":
            raise errors.CallNotPlaced(f"bridge: {reply.get('Message', '')}",
                                       error_id="bridge-failed")
        self._emit(call.call_id, base.EventKind.BRIDGED, leg_id=agent_leg.leg_id)

    async def play(self, handle: base.CallHandle, media: str) -> None:
        """Set ``DIALER_MEDIA`` and redirect the call to ``play`` in the agent context."""
        call = self._calls.get(handle.call_id)
        if call is None or call.main_channel is None:
            raise errors.CallNotPlaced("play: the call is gone", error_id="no-such-call")
        await self._send("Setvar", {"Channel": call.main_channel, "Variable": "DIALER_MEDIA",
                                    "Value": media})
        await self._send("Redirect", {"Channel": call.main_channel, "Context": self.agent_context,
                                      "Exten": "play", "Priority": 1})

    async def agent_login(self, agent: base.Agent) -> base.AgentLeg:
        """Originate the agent's phone into its conference ``agent-<id>`` and wait for the answer."""
        leg_id = f"a{next(self._ids)}"
        leg = base.AgentLeg(leg_id=leg_id, agent=agent)
        call = await self._originate(
            leg_id, {"Channel": agent.address, "Context": self.agent_context,
                     "Exten": f"agent-{agent.agent_id}", "Priority": 1,
                     "Timeout": int(self.settings.ring_timeout_s * 1000)},
            {ATTEMPT_VARIABLE: f"agent-{agent.agent_id}"}, leg=leg)
        assert call.answered is not None
        if not await asyncio.wait_for(asyncio.shield(call.answered), self.settings.ring_timeout_s
                                      + _ACTION_TIMEOUT_S):
            raise errors.CallNotPlaced(f"agent {agent.agent_id}: the phone did not answer",
                                       error_id="agent-not-reached")
        return leg

    async def agent_logout(self, agent_leg: base.AgentLeg) -> None:
        call = self._calls.get(agent_leg.leg_id)
        if call is not None:
            call.is_hangup_requested = True
            await self._hangup_channels(call)

    # -- events ----------------------------------------------------------------------------

    def _emit(self, call_id: str, kind: base.EventKind, **values: Any) -> None:
        self._queue.put_nowait(base.CallEvent(call_id=call_id, kind=kind, at=_now(), **values))

    def _on_event_packet(self, _source: AMIClient, kwargs: dict[str, Any]) -> None:
        event = kwargs["event"]
        keys = dict(event.keys)
        self._record("<<", f"Event: {event.name} {keys}")
        self.on_event(event.name, keys)

    def on_event(self, name: str, keys: dict[str, Any]) -> None:
        """Apply one AMI event (public for replaying recorded transcripts)."""
        action_id = keys.get("ActionID", "")
        if action_id in self._lists:
            self._on_list_event(action_id, name, keys)
            return
        if name == "OriginateResponse":
            call = self._by_action.get(action_id)
            if call is not None:
                self._on_originate_response(call, keys)
            return
        call = self._owner(keys)
        if call is None:
            return
        if name == "Newchannel":
            call.alive[keys["Uniqueid"]] = keys.get("Channel", "")
            call.names[keys["Uniqueid"]] = keys.get("Channel", "")
            if call.is_hangup_requested and self._loop is not None:
                self._spawn(self._hangup_channels(call))
        elif name == "Newstate":
            if keys.get("ChannelStateDesc") == "Ringing" or keys.get("ChannelState") == "5":
                self._ringing(call)
        elif name == "DialEnd":
            call.dial_status = keys.get("DialStatus") or call.dial_status
        elif name == "UserEvent" and keys.get("UserEvent") == "DialerAMD":
            if keys.get("AMDStatus", "").upper() == "MACHINE" and not call.is_machine:
                call.is_machine = True
                self._emit(call.call_id, base.EventKind.MACHINE_DETECTED)
        elif name == "Hangup":
            call.alive.pop(keys.get("Uniqueid", ""), None)
            try:
                call.hangup_causes.append(int(keys.get("Cause", "")))
            except ValueError:
                pass
            self._maybe_end(call)

    def _owner(self, keys: dict[str, Any]) -> _AmiCall | None:
        for candidate in (keys.get("Uniqueid"), keys.get("Linkedid")):
            if candidate and candidate.startswith("dialer-"):
                call_id = candidate[len("dialer-"):].removesuffix("-2")
                call = self._calls.get(call_id)
                if call is not None:
                    return call
        return None

    def _ringing(self, call: _AmiCall) -> None:
        if not call.is_ringing and not call.is_answered:
            call.is_ringing = True
            if call.handle is not None:
                self._emit(call.call_id, base.EventKind.RINGING)

    def _on_originate_response(self, call: _AmiCall, keys: dict[str, Any]) -> None:
        try:
            call.reason = int(keys.get("Reason", "0"))
        except ValueError:
            call.reason = 0
        if keys.get("Response", "").lower() == "success" or call.reason == 4:
            call.is_answered = True
            if call.answered is not None and not call.answered.done():
                call.answered.set_result(True)
            if call.handle is not None:
                self._emit(call.call_id, base.EventKind.ANSWERED)
        self._maybe_end(call)

    def _maybe_end(self, call: _AmiCall) -> None:
        if call.is_ended or call.reason is None or call.alive:
            return
        self._end(call, cause="")

    def _end(self, call: _AmiCall, cause: str) -> None:
        call.is_ended = True
        self._forget(call)
        if call.answered is not None and not call.answered.done():
            call.answered.set_result(False)
        q850 = causes.most_informative_cause(call.hangup_causes)
        if call.is_machine:
            outcome = base.CallOutcome.MACHINE
        elif call.is_hangup_requested and not call.is_answered:
            outcome = base.CallOutcome.CANCELLED
        else:
            outcome = causes.outcome_from_ami(call.reason, call.hangup_causes, call.dial_status,
                                              is_answered=call.is_answered)
        if not cause and call.reason == 3:
            cause = "ring_timeout"
        self._emit(call.call_id, base.EventKind.ENDED, outcome=outcome, q850_cause=q850,
                   cause=cause or (call.dial_status or "").lower(),
                   leg_id=call.leg.leg_id if call.leg else None)

    def _forget(self, call: _AmiCall) -> None:
        self._calls.pop(call.call_id, None)
        self._by_action.pop(call.action_id, None)

    def _on_list_event(self, action_id: str, name: str, keys: dict[str, Any]) -> None:
        items = self._lists[action_id]
        if keys.get("EventList", "").lower() == "complete" or name.endswith("Complete"):
            self._lists.pop(action_id, None)
            future = self._replies.get(action_id)
            if future is not None and not future.done():
                future.set_result({"Response": "Success", "items": items})
            return
        items.append(dict(keys, Event=name))

    # -- connection health, reconciliation, orphans ----------------------------------------

    def _on_disconnect(self, source: AMIClient, _kwargs: dict[str, Any]) -> None:
        if self._is_closing or source is not self._client:
            return
        logger.warning("AMI connection to %s:%s dropped; reconnecting", self.settings.host,
                       self.settings.port)
        self._connected.clear()
        self._client = None
        for future in self._replies.values():
            if not future.done():
                future.set_exception(errors.CallNotPlaced("AMI connection dropped",
                                                          error_id="ami-disconnected"))
        self._spawn(asyncio.to_thread(_disconnect, source))
        self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.1
        while not self._is_closing:
            try:
                await self._connect()
            except errors.TelephonyError as exc:
                logger.info("AMI reconnect failed (%s); next try in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX_S)
                continue
            self.reconnects += 1
            await self.reconcile()
            return

    async def _keepalive(self) -> None:
        while not self._is_closing:
            await asyncio.sleep(_KEEPALIVE_S)
            if not self._connected.is_set():
                continue
            client = self._client
            try:
                await self._send("Ping", {})
            except errors.TelephonyError:
                if client is not None and client is self._client:
                    await asyncio.to_thread(_disconnect, client)  # on_disconnect reconnects

    async def channels(self) -> list[dict[str, Any]]:
        """Every channel Asterisk has now (``CoreShowChannels``)."""
        reply = await self._send("CoreShowChannels", {}, collect=True)
        return [item for item in reply.get("items", []) if item.get("Event") == "CoreShowChannel"]

    async def reconcile(self) -> None:
        """After a reconnect: end every in-flight call whose channels Asterisk no longer has."""
        present = {item.get("Uniqueid") for item in await self.channels()}
        present |= {item.get("Linkedid") for item in await self.channels()}
        for call in list(self._calls.values()):
            if call.is_ended:
                continue
            for uniqueid in list(call.alive):
                if uniqueid not in present:
                    call.alive.pop(uniqueid)
            if not call.alive and not (set(call.channel_ids) & present):
                if call.reason is None:
                    call.reason = 4 if call.is_answered else 0
                self._end(call, cause="lost_during_reconnect")

    async def hangup_orphans(self, live_attempts: set[int]) -> list[str]:
        """Hang up channels carrying ``DIALER_ATTEMPT`` that is not a live attempt; their names."""
        hung_up = []
        for item in await self.channels():
            name = item.get("Channel", "")
            value = (item.get("ChanVariable") or {}).get(ATTEMPT_VARIABLE)
            if value is None:
                reply = await self._send("Getvar", {"Channel": name, "Variable": ATTEMPT_VARIABLE})
                value = reply.get("Value", "")
            if not value or value.startswith("agent-") or _as_int(value) in live_attempts:
                continue
            if any(name in call.names.values() for call in self._calls.values()):
                continue
            await self._send("Hangup", {"Channel": name, "Cause": 16})
            hung_up.append(name)
        if hung_up:
            logger.warning("hung up %d orphan channel(s) of a previous engine", len(hung_up))
        self.orphans_hung_up.extend(hung_up)
        return hung_up

    def _record(self, direction: str, text: str) -> None:
        if self.record_to is None:
            return
        with self.record_to.open("a", encoding="utf-8") as handle:
            handle.write(f"{direction} {text.strip()}\n\n")


def _disconnect(client: AMIClient) -> None:
    """Close the client's socket so that its reader thread wakes up and ends (then join it)."""
    sock = getattr(client, "_socket", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by the peer
    client.disconnect()


def _as_int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None

"""A small asyncio AMI server that speaks the protocol as Asterisk 22 does.

It drives the real ``asterisk-ami`` client in the tests: banner
``Asterisk Call Manager/11.0.0``, ``Login``, ``Ping``, ``Originate`` (Async, with
``ChannelId``/``OtherChannelId``), ``Hangup``, ``CoreShowChannels``, ``Getvar``,
``Setvar``, ``Redirect``, ``Logoff``; every response carries the client's
``ActionID``.  What a call does is chosen, as in the sipp carrier scenario, by
the last four digits of the number in the dial string (``0486`` busy, ``0603``
declined, ``0404`` unknown, ``0503`` congestion, ``0180`` rings until the
timeout, ``0200``/``0183`` answer then the far end hangs up, ``0777`` a
machine (with AMD), ``0000`` the channel cannot be created, anything else
answers and stays up until hung up, at most 10 s).  Events of one call come in
varying orders from call to call (the ``OriginateResponse`` before or after
the ``Hangup`` events, ``DialEnd`` before or after the far ``Hangup``), the way
a loaded Asterisk interleaves them.

``Local/`` dial strings make two halves (``;1`` = ChannelId, ``;2`` =
OtherChannelId) and a far trunk channel sharing the Linkedid; the far half
carries the real cause while the near half shows 0.  Any other technology is
one channel whose cause and Reason tell everything.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

BANNER = "Asterisk Call Manager/11.0.0\r\n"

# (reason when the near half fails, far cause, DialEnd status)
FAILURES = {
    "0486": (5, 17, "BUSY"),
    "0603": (1, 21, "BUSY"),
    "0404": (0, 1, "CHANUNAVAIL"),
    "0503": (8, 34, "CONGESTION"),
}


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    variables: dict[str, str] = field(default_factory=dict)
    state: int = 0
    context: str = ""
    exten: str = ""


_STATES = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}


class FakeAsterisk:
    """The server; ``await start()`` returns the port; every call's events go to every session."""

    def __init__(self, username: str = "dialer", secret: str = "s3cret") -> None:
        self.username = username
        self.secret = secret
        self.channels: dict[str, Channel] = {}
        self.actions: list[dict[str, Any]] = []
        self.sessions: set[asyncio.StreamWriter] = set()
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self._seq = itertools.count()
        self._trunk = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._hangup_waiters: dict[str, asyncio.Event] = {}

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.drop_connections()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def drop_connections(self) -> None:
        """Close every AMI session, as a network cut or an Asterisk restart would."""
        for writer in list(self.sessions):
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        self.sessions.clear()

    def add_channel(self, name: str, uniqueid: str, variables: dict[str, str]) -> Channel:
        """A channel already up (left over by a previous engine)."""
        channel = Channel(name, uniqueid, uniqueid, dict(variables), state=6)
        self.channels[uniqueid] = channel
        return channel

    def kill_silently(self, uniqueid: str) -> None:
        """Drop a channel without any event (it ended while nobody was connected)."""
        self.channels.pop(uniqueid, None)
        waiter = self._hangup_waiters.get(uniqueid)
        if waiter is not None:
            waiter.set()

    def actions_named(self, name: str) -> list[dict[str, Any]]:
        return [a for a in self.actions if a.get("Action", "").lower() == name.lower()]

    # -- wire ------------------------------------------------------------------------------

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER.encode())
        is_authenticated = False
        try:
            while True:
                packet = await reader.readuntil(b"\r\n\r\n")
                action = _parse(packet.decode())
                self.actions.append(action)
                name = action.get("Action", "").lower()
                if name == "login":
                    is_authenticated = self._login(writer, action)
                    if is_authenticated:
                        self.sessions.add(writer)
                elif not is_authenticated:
                    self._respond(writer, action, "Error", Message="Permission denied")
                elif name == "logoff":
                    self._respond(writer, action, "Goodbye", Message="Thanks for all the fish.")
                    break
                else:
                    await self._dispatch(writer, name, action)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.sessions.discard(writer)
            writer.close()

    def _login(self, writer: asyncio.StreamWriter, action: dict[str, Any]) -> bool:
        if action.get("Username") == self.username and action.get("Secret") == self.secret:
            self._respond(writer, action, "Success", Message="Authentication accepted")
            self._write(writer, "FullyBooted", {"Privilege": "system,all", "Uptime": "15",
                                                "LastReload": "15", "Status": "Fully Booted"})
            return True
        self._respond(writer, action, "Error", Message="Authentication failed")
        return False

    def _respond(self, writer: asyncio.StreamWriter, action: dict[str, Any], status: str,
                 **keys: Any) -> None:
        lines = [f"Response: {status}"]
        if "ActionID" in action:
            lines.append(f"ActionID: {action['ActionID']}")
        lines += [f"{k}: {v}" for k, v in keys.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def _write(self, writer: asyncio.StreamWriter, event: str, keys: dict[str, Any]) -> None:
        lines = [f"Event: {event}"] + [f"{k}: {v}" for k, v in keys.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def _broadcast(self, event: str, keys: dict[str, Any]) -> None:
        for writer in list(self.sessions):
            if not writer.is_closing():
                self._write(writer, event, keys)

    def _channel_event(self, event: str, channel: Channel, **extra: Any) -> None:
        self._broadcast(event, {"Privilege": "call,all", **_snapshot(channel), **extra})

    # -- actions ---------------------------------------------------------------------------

    async def _dispatch(self, writer: asyncio.StreamWriter, name: str,
                        action: dict[str, Any]) -> None:
        if name == "ping":
            self._respond(writer, action, "Success", Ping="Pong", Timestamp=f"{time.time():.6f}")
        elif name == "originate":
            self._originate(writer, action)
        elif name == "hangup":
            channel = self._by_name(action.get("Channel", ""))
            if channel is None:
                self._respond(writer, action, "Error", Message="No such channel")
                return
            self._respond(writer, action, "Success", Message="Channel Hungup")
            self._request_hangup(channel)
        elif name == "coreshowchannels":
            self._show_channels(writer, action)
        elif name == "getvar":
            channel = self._by_name(action.get("Channel", ""))
            if channel is None:
                self._respond(writer, action, "Error", Message="No such channel")
                return
            variable = _single(action.get("Variable"))
            self._respond(writer, action, "Success", Variable=variable,
                          Value=channel.variables.get(variable, ""))
        elif name == "setvar":
            channel = self._by_name(action.get("Channel", ""))
            if channel is not None:
                channel.variables[_single(action.get("Variable"))] = action.get("Value", "")
            self._respond(writer, action, "Success", Message="Variable Set")
        elif name == "redirect":
            channel = self._by_name(action.get("Channel", ""))
            if channel is None:
                self._respond(writer, action, "Error", Message="Channel specified does not exist")
                return
            channel.context, channel.exten = action.get("Context", ""), action.get("Exten", "")
            self._respond(writer, action, "Success", Message="Redirect successful")
        else:
            self._respond(writer, action, "Error",
                          Message="Invalid/unknown command: %s. Use Action: ListCommands to show "
                                  "available commands." % action.get("Action"))

    def _by_name(self, name: str) -> Channel | None:
        return next((c for c in self.channels.values() if c.name == name), None)

    def _show_channels(self, writer: asyncio.StreamWriter, action: dict[str, Any]) -> None:
        self._respond(writer, action, "Success", EventList="start",
                      Message="Channels will follow")
        for channel in list(self.channels.values()):
            self._write(writer, "CoreShowChannel", {
                "ActionID": action.get("ActionID", ""), **_snapshot(channel),
                "Application": "AppDial", "ApplicationData": "(Outgoing Line)",
                "Duration": "00:00:05", "BridgeId": ""})
        self._write(writer, "CoreShowChannelsComplete", {
            "ActionID": action.get("ActionID", ""), "EventList": "Complete",
            "ListItems": len(self.channels)})

    def _originate(self, writer: asyncio.StreamWriter, action: dict[str, Any]) -> None:
        if action.get("Async", "").lower() not in ("true", "yes", "1"):
            self._respond(writer, action, "Error", Message="This test server wants Async")
            return
        self._respond(writer, action, "Success", Message="Originate successfully queued")
        task = asyncio.create_task(self._run_call(action, next(self._seq)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- calls -----------------------------------------------------------------------------

    async def _run_call(self, action: dict[str, Any], seq: int) -> None:
        dial = action.get("Channel", "")
        number = re.sub(r"^[A-Za-z]+/", "", dial).split("@")[0]
        kind = number[-4:]
        variables = dict(v.split("=", 1) for v in action.get("Variable", []) if "=" in v)
        ids = (action.get("ChannelId") or f"{time.time():.0f}.{seq}",
               action.get("OtherChannelId") or f"{time.time():.0f}.{seq}b")
        if kind == "0000":
            await asyncio.sleep(0.01)
            self._originate_response(action, "Failure", 0, "<unknown>", dial)
            return
        halves = self._create(dial, ids, variables)
        far = halves[-1]
        await asyncio.sleep(0.02)
        if kind in FAILURES:
            await self._fail(action, dial, halves, FAILURES[kind], seq)
        elif kind == "0180":
            await self._ring_out(action, dial, halves)
        else:
            await self._answer(action, dial, halves, far, kind, variables, seq)

    def _create(self, dial: str, ids: tuple[str, str], variables: dict[str, str]) -> list[Channel]:
        if dial.startswith("Local/"):
            near = Channel(f"{dial};1", ids[0], ids[0], dict(variables))
            other = Channel(f"{dial};2", ids[1], ids[0], dict(variables))
            trunk = Channel(f"PJSIP/trunk-{next(self._trunk):08x}",
                            f"{time.time():.0f}.{next(self._seq)}", ids[0])
            halves = [near, other, trunk]
        else:
            halves = [Channel(f"{dial.split('@')[0]}-{next(self._trunk):08x}", ids[0], ids[0],
                              dict(variables))]
        for channel in halves:
            self.channels[channel.uniqueid] = channel
            self._channel_event("Newchannel", channel)
        if len(halves) == 3:
            self._channel_event("DialBegin", halves[1], **_dest(halves[2]), DialString="trunk")
        return halves

    def _set_state(self, channel: Channel, state: int) -> None:
        channel.state = state
        self._channel_event("Newstate", channel)

    def _hangup(self, channel: Channel, cause: int) -> None:
        if self.channels.pop(channel.uniqueid, None) is None:
            return
        self._channel_event("Hangup", channel, Cause=cause, **{"Cause-txt": _CAUSE_TEXT.get(
            cause, "Unknown")})
        waiter = self._hangup_waiters.get(channel.uniqueid)
        if waiter is not None:
            waiter.set()

    def _originate_response(self, action: dict[str, Any], response: str, reason: int,
                            uniqueid: str, channel: str) -> None:
        self._broadcast("OriginateResponse", {
            "Privilege": "call,all", "ActionID": action.get("ActionID", ""),
            "Response": response, "Channel": channel, "Context": action.get("Context", ""),
            "Exten": action.get("Exten", ""), "Application": "", "Data": "", "Reason": reason,
            "Uniqueid": uniqueid, "CallerIDNum": action.get("CallerID", "<unknown>"),
            "CallerIDName": "<unknown>"})

    async def _fail(self, action: dict[str, Any], dial: str, halves: list[Channel],
                    failure: tuple[int, int, str], seq: int) -> None:
        reason, cause, status = failure
        far = halves[-1]
        self._set_state(far, 5)
        await asyncio.sleep(0.02)
        steps: list[Any] = []
        if len(halves) == 3:
            near_reason = 1 if reason not in (5, 8) else reason
            dial_end = lambda: self._channel_event("DialEnd", halves[1], **_dest(far),
                                                   DialStatus=status)
            hangups = [lambda: self._hangup(far, cause), lambda: self._hangup(halves[1], cause),
                       lambda: self._hangup(halves[0], 0)]
            response = lambda: self._originate_response(action, "Failure", near_reason,
                                                        "<unknown>", dial)
            steps = ([dial_end, *hangups, response] if seq % 3 == 0 else
                     [hangups[0], dial_end, response, *hangups[1:]] if seq % 3 == 1 else
                     [response, hangups[0], dial_end, *hangups[1:]])
        else:
            hangup = lambda: self._hangup(far, cause)
            response = lambda: self._originate_response(action, "Failure", reason,
                                                        "<unknown>", dial)
            steps = [hangup, response] if seq % 2 else [response, hangup]
        for step in steps:
            step()
            await asyncio.sleep(0.005)

    async def _ring_out(self, action: dict[str, Any], dial: str, halves: list[Channel]) -> None:
        for channel in halves:
            self._set_state(channel, 5)
        timeout_s = int(action.get("Timeout", "30000")) / 1000
        if await self._wait_hangup(halves[0], timeout_s):
            # hung up by the client while ringing: the far half is cancelled.
            for channel in halves[1:]:
                if len(halves) == 3 and channel is halves[-1]:
                    self._channel_event("DialEnd", halves[1], **_dest(channel),
                                        DialStatus="CANCEL")
                self._hangup(channel, 16)
            self._originate_response(action, "Failure", 1, "<unknown>", dial)
            return
        # ring timeout: no DialEnd, the near half goes first.
        self._originate_response(action, "Failure", 3, "<unknown>", dial)
        for channel in halves:
            self._hangup(channel, 0 if channel is halves[0] else 16)

    async def _answer(self, action: dict[str, Any], dial: str, halves: list[Channel],
                      far: Channel, kind: str, variables: dict[str, str], seq: int) -> None:
        self._set_state(far, 5)
        await asyncio.sleep(0.05)
        if len(halves) == 3:
            self._channel_event("DialEnd", halves[1], **_dest(far), DialStatus="ANSWER")
        for channel in (far, *halves[:-1]) if seq % 2 else (*halves[:-1], far):
            self._set_state(channel, 6)
        self._originate_response(action, "Success", 4, halves[0].uniqueid, halves[0].name)
        if kind == "0777" and variables.get("DIALER_AMD") == "1":
            await asyncio.sleep(0.05)
            self._channel_event("UserEvent", halves[0], UserEvent="DialerAMD",
                                AMDStatus="MACHINE", AMDCause="LONGGREETING-2000-1500")
        hold_s = 10.0
        if kind in ("0200", "0183", "0777"):
            hold_s = 0.3
        if await self._wait_hangup(halves[0], hold_s):
            for channel in halves[1:]:
                self._hangup(channel, 16)
            return
        order = list(reversed(halves)) if seq % 2 else list(halves)
        for channel in order:
            self._hangup(channel, 16)

    async def _wait_hangup(self, channel: Channel, timeout_s: float) -> bool:
        """Wait until the client hangs ``channel`` up (True) or ``timeout_s`` passes (False)."""
        event = self._hangup_waiters.setdefault(channel.uniqueid, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
            return True
        except TimeoutError:
            return False
        finally:
            self._hangup_waiters.pop(channel.uniqueid, None)

    def _request_hangup(self, channel: Channel) -> None:
        self._hangup(channel, 16)


def _snapshot(channel: Channel) -> dict[str, Any]:
    return {"Channel": channel.name, "ChannelState": channel.state,
            "ChannelStateDesc": _STATES.get(channel.state, "Unknown"),
            "CallerIDNum": "<unknown>", "CallerIDName": "<unknown>",
            "ConnectedLineNum": "<unknown>", "ConnectedLineName": "<unknown>",
            "Language": "en", "AccountCode": "", "Context": channel.context or "dialer-test",
            "Exten": channel.exten or "s", "Priority": "1", "Uniqueid": channel.uniqueid,
            "Linkedid": channel.linkedid}


def _dest(channel: Channel) -> dict[str, Any]:
    return {f"Dest{k}": v for k, v in _snapshot(channel).items()}


def _single(value: Any) -> str:
    """``Variable`` of Getvar/Setvar (one name), parsed like Originate's list of ``k=v``."""
    if isinstance(value, list):
        return value[0] if value else ""
    return str(value or "")


def _parse(packet: str) -> dict[str, Any]:
    action: dict[str, Any] = {"Variable": []}
    for line in packet.split("\r\n"):
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        key, value = key.strip(), value.strip()
        if key.lower() == "variable":
            action["Variable"].extend(part for part in value.split(",") if part)
        else:
            action[key] = value
    return action


_CAUSE_TEXT = {0: "Unknown", 1: "Unallocated (unassigned) number", 16: "Normal Clearing",
               17: "User busy", 21: "Call Rejected", 34: "Circuit/channel congestion"}

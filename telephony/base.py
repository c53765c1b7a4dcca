"""The telephony seam: one ``Backend`` protocol, its requests, handles, events and outcomes.

The engine only ever sees these types.  Adapters (``sip``, ``ami``, ``sim``)
normalise at the edge: a SIP status or an Asterisk cause becomes one
:class:`CallOutcome`, with the raw code kept beside it for the record.
Busy and no-answer are values; :class:`telephony.errors.TelephonyError` means
the backend itself failed.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class CallOutcome(str, enum.Enum):
    """How a call ended, whatever technology placed it."""

    #: a person (or an undetected machine) answered.
    ANSWERED = "answered"
    #: answering-machine detection said machine.
    MACHINE = "machine"
    BUSY = "busy"
    #: rang until the ring timeout, or the far end said no answer (408/480).
    NO_ANSWER = "no_answer"
    #: the callee declined (603).
    REJECTED = "rejected"
    #: the number does not exist (404/484/604, Q.850 1).
    INVALID_NUMBER = "invalid_number"
    #: the network had no capacity (502/503/504, Q.850 34).
    CONGESTION = "congestion"
    #: anything else, or our side failed.
    FAILED = "failed"
    #: we hung up before an answer; not an attempt.
    CANCELLED = "cancelled"


class EventKind(str, enum.Enum):
    """What a backend reports about a call (and nothing more: no hidden truth)."""

    RINGING = "ringing"
    ANSWERED = "answered"
    MACHINE_DETECTED = "machine_detected"
    #: the agent leg was connected to the call.
    BRIDGED = "bridged"
    ENDED = "ended"


@dataclass(frozen=True)
class CallRequest:
    """One call to place."""

    #: E.164 when the number parses, otherwise the dial string as given.
    number: str
    caller_id: str = ""
    ring_timeout_s: float = 20.0
    campaign_id: int | None = None
    attempt_id: int | None = None
    #: ask for answering-machine detection (refused by backends without it).
    amd: bool = False
    #: extra channel variables / headers.
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallHandle:
    """A placed call; ``call_id`` is unique within the backend and is chosen by us."""

    call_id: str
    request: CallRequest


@dataclass(frozen=True)
class Agent:
    """An agent whose phone the backend calls at login."""

    agent_id: int
    #: a SIP URI (``sip:1001@10.0.0.5``) or an Asterisk channel (``PJSIP/1001``).
    address: str
    name: str = ""


@dataclass(frozen=True)
class AgentLeg:
    """The agent's always-on connection to the dialer."""

    leg_id: str
    agent: Agent


@dataclass(frozen=True)
class CallEvent:
    """Something that happened to a call, as the backend saw it."""

    call_id: str
    kind: EventKind
    at: dt.datetime
    #: set on ``ended``.
    outcome: CallOutcome | None = None
    #: the raw final SIP status, when SIP was involved.
    sip_status: int | None = None
    #: the raw Q.850 cause, when known.
    q850_cause: int | None = None
    #: free text beside the codes (``ring_timeout``, ``worker_died``, ``engine_restart``...).
    cause: str = ""
    #: the agent leg bridged to the call (``bridged``); also set on the ``ended`` event of an
    #: agent leg itself (then ``call_id == leg_id``: the agent's phone hung up, or its worker died).
    leg_id: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do."""

    supports_amd: bool = False
    supports_bridge: bool = True
    supports_play: bool = True
    #: concurrent calls this backend can carry (None = no fixed limit).
    max_calls: int | None = None


@runtime_checkable
class Backend(Protocol):
    """What the engine needs from a telephony technology."""

    capabilities: Capabilities

    async def start(self) -> None:
        """Connect, register, spawn workers; ready to originate when it returns."""

    async def close(self) -> None:
        """Hang up everything and release every resource (processes, sockets)."""

    async def originate(self, request: CallRequest) -> CallHandle:
        """Start a call; its progress arrives as events.  Raises TelephonyError."""

    async def hangup(self, handle: CallHandle) -> None:
        """End a call (CANCEL before answer, BYE after)."""

    def events(self) -> AsyncIterator[CallEvent]:
        """Every event of every call, in the order the backend saw them.

        Iterate it from one task for the backend's lifetime: cancelling a pending
        ``anext()`` (``asyncio.wait_for`` around it) ends an async generator for good.
        """

    async def bridge(self, handle: CallHandle, agent_leg: AgentLeg) -> None:
        """Connect an answered call to an agent's leg."""

    async def play(self, handle: CallHandle, media: str) -> None:
        """Play a recorded message (file path or backend media name) to the call."""

    async def agent_login(self, agent: Agent) -> AgentLeg:
        """Call the agent's phone and keep the leg up."""

    async def agent_logout(self, agent_leg: AgentLeg) -> None:
        """Hang up the agent's leg."""

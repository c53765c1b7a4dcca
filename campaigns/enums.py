"""Closed sets of the domain, persisted as their lowercase string values."""

from __future__ import annotations

import enum

from telephony.base import CallOutcome  # noqa: F401  (one enum for outcomes, owned by telephony)


class DialingMode(str, enum.Enum):
    """How calls are paced."""

    #: the agent sees the record first and decides to dial or skip.
    PREVIEW = "preview"
    #: one call per ready agent.
    PROGRESSIVE = "progressive"
    #: a fixed ratio of calls per ready agent.
    POWER = "power"
    #: the pacer decides from live estimates, under the abandon cap.
    PREDICTIVE = "predictive"


class CallCategory(str, enum.Enum):
    """What kind of call a campaign makes; selects the compliance rules."""

    TELEMARKETING = "telemarketing"
    DEBT_COLLECTION = "debt_collection"
    RESEARCH = "research"
    SECURITIES_SOLICITATION = "securities_solicitation"
    INFORMATIONAL = "informational"


class CampaignStatus(str, enum.Enum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"


class RecordStatus(str, enum.Enum):
    """Where a record stands."""

    #: loaded, never dialled.
    NEW = "new"
    #: claimed by an engine, a call may be in progress.
    IN_PROGRESS = "in_progress"
    #: a retry row says when it is tried again.
    RETRY = "retry"
    #: a callback row says when it is called back.
    CALLBACK = "callback"
    #: final, with a successful disposition.
    DONE_SUCCESS = "done_success"
    #: final, without success.
    DONE_FAILURE = "done_failure"
    #: every attempt allowed was used.
    EXHAUSTED = "exhausted"
    #: on a do-not-call list.
    DNC = "dnc"


class PhoneKind(str, enum.Enum):
    PRIMARY = "primary"
    ALTERNATE = "alternate"


class RuleAction(str, enum.Enum):
    """What a disposition leads to."""

    RETRY = "retry"
    NEXT_NUMBER = "next_number"
    CALLBACK = "callback"
    FINAL_SUCCESS = "final_success"
    FINAL_FAILURE = "final_failure"
    DNC = "dnc"


class DispositionSource(str, enum.Enum):
    #: set by the system from the telephony outcome.
    SYSTEM = "system"
    #: chosen by the agent in wrap-up.
    AGENT = "agent"


class Role(str, enum.Enum):
    ADMINISTRATOR = "administrator"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class RetryStatus(str, enum.Enum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"


class CallbackStatus(str, enum.Enum):
    """The lifecycle of a callback appointment."""

    REQUESTED = "requested"
    PROPOSED = "proposed"
    SCHEDULED = "scheduled"
    DUE = "due"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    MISSED = "missed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    REOPENED = "reopened"


class RejectReason(str, enum.Enum):
    """Why a list row was not imported."""

    NO_VALID_NUMBER = "no_valid_number"
    DUPLICATE = "duplicate"
    DNC = "dnc"
    MALFORMED_ROW = "malformed_row"
    #: no number left to import, and one was erased on a person's request (F4).
    ERASED = "erased"


class AgentState(str, enum.Enum):
    """Where an agent stands (the engine's state machine keeps every change)."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVED = "reserved"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class MessageStatus(str, enum.Enum):
    """An outbox message or a webhook delivery."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    RETRYING = "retrying"


class Channel(str, enum.Enum):
    EMAIL = "email"
    SMS = "sms"

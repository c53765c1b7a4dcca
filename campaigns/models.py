"""SQLAlchemy 2 tables: columns and relationships only.

Instants are ``*_at`` columns of type :class:`campaigns.db.UTCDateTime` (aware
UTC on every engine); local windows keep their IANA zone name beside them.
Retry and callback rows are the truth about what happens next to a record;
``Record.next_attempt_at`` is a cache written in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Computed,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from campaigns.db import RetrySlot, UTCDateTime
from campaigns.enums import (
    AgentState,
    CallbackStatus,
    CallCategory,
    CallOutcome,
    CampaignStatus,
    Channel,
    DialingMode,
    DispositionSource,
    MessageStatus,
    PhoneKind,
    RecordStatus,
    RetryStatus,
    Role,
    RuleAction,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(cls: type[enum.Enum]) -> SAEnum:
    return SAEnum(cls, native_enum=False, create_constraint=False, length=32,
                  values_callable=lambda members: [m.value for m in members],
                  validate_strings=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Campaign(Base):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    dialing_mode: Mapped[DialingMode] = mapped_column(_enum(DialingMode), default=DialingMode.PREVIEW)
    call_category: Mapped[CallCategory] = mapped_column(_enum(CallCategory),
                                                        default=CallCategory.TELEMARKETING)
    caller_id: Mapped[str] = mapped_column(String(32), default="")
    ring_timeout_s: Mapped[int] = mapped_column(Integer, default=20)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    #: the call centre's zone, in which the operating schedule is read.
    centre_tz: Mapped[str] = mapped_column(String(64), default="UTC")
    #: operating days, e.g. ["mon", "tue", "wed", "thu", "fri"].
    schedule_days: Mapped[list[Any]] = mapped_column(default=list)
    schedule_start: Mapped[dt.time] = mapped_column(Time, default=dt.time(8, 0))
    schedule_end: Mapped[dt.time] = mapped_column(Time, default=dt.time(21, 0))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    #: the campaign's own window in the callee's local time; only narrows the legal one.
    window_start: Mapped[dt.time | None] = mapped_column(Time)
    window_end: Mapped[dt.time | None] = mapped_column(Time)
    abandon_cap: Mapped[float] = mapped_column(Float, default=0.03)
    abandon_message: Mapped[str] = mapped_column(Text, default="")
    amd: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the campaign's estimate of AMD false positives (live answers taken for machines).
    amd_false_positive_rate: Mapped[float] = mapped_column(Float, default=0.0)
    #: may a time the customer asked for fall outside the default hours (where the law allows).
    allow_requested_callbacks_outside_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus), default=CampaignStatus.DRAFT)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    #: the campaign's own callback policy: overrides of some ``[callbacks]`` keys (ladder
    #: timings, reminder offsets, cancel reasons, notify_on_reassign).
    callback_policy: Mapped[dict[str, Any]] = mapped_column(default=dict)

    lists: Mapped[list[CallingList]] = relationship(back_populates="campaign",
                                                      cascade="all, delete-orphan")


class CallingList(Base):
    __tablename__ = "calling_list"
    __table_args__ = (UniqueConstraint("campaign_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    source_file: Mapped[str] = mapped_column(Text, default="")
    #: field -> column name used when the list was loaded.
    column_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    #: passes made over the list (recycling).
    passes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]

    campaign: Mapped[Campaign] = relationship(back_populates="lists")


class Record(Base):
    """One customer of a list."""

    __tablename__ = "record"
    __table_args__ = (Index("ix_record_campaign_status", "campaign_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("calling_list.id", ondelete="CASCADE"), index=True)
    #: the row's number in its file (1 = first data row).
    source_row: Mapped[int] = mapped_column(Integer, default=0)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    #: as given in the list; the compliance engine derives zones from them.
    raw_state: Mapped[str] = mapped_column(String(64), default="")
    raw_zip: Mapped[str] = mapped_column(String(16), default="")
    raw_tz: Mapped[str] = mapped_column(String(64), default="")
    #: other recognised fields (address, city, company...).
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: columns the loader did not recognise, kept as they came.
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[RecordStatus] = mapped_column(_enum(RecordStatus), default=RecordStatus.NEW)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts_count: Mapped[int] = mapped_column(Integer, default=0)
    #: cache of the earliest pending retry or callback, written with them.
    next_attempt_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    phones: Mapped[list[PhoneNumber]] = relationship(back_populates="record",
                                                       cascade="all, delete-orphan",
                                                       order_by="PhoneNumber.position")


class PhoneNumber(Base):
    __tablename__ = "phone_number"
    # One index with random keys (numbers), which serves look-ups by number and
    # by number and campaign; every index costs a list load one B-tree insert per
    # number.  No index on campaign_id alone: what reads a whole campaign's numbers
    # (a load's start, the startup checks, a campaign's removal) scans once.
    __table_args__ = (UniqueConstraint("e164", "campaign_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20))
    raw: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[PhoneKind] = mapped_column(_enum(PhoneKind), default=PhoneKind.PRIMARY)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: phonenumbers' PhoneNumberType name in lowercase (mobile, fixed_line, ...).
    line_type: Mapped[str] = mapped_column(String(32), default="")
    #: ISO 3166-1 region of the number (US, CA, GB...).
    region: Mapped[str] = mapped_column(String(8), default="")
    #: phonenumbers' candidate IANA zones for the number.
    zones: Mapped[list[Any]] = mapped_column(default=list)
    is_valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]

    record: Mapped[Record] = relationship(back_populates="phones")


class Attempt(Base):
    """One dialled call."""

    __tablename__ = "attempt"
    __table_args__ = (Index("ix_attempt_number_started", "number_e164", "started_at"),
                      Index("ix_attempt_campaign_started", "campaign_id", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"),
                                                  index=True)
    #: indexed: deleting a number (an erasure, a campaign's removal) finds its rows by it.
    phone_number_id: Mapped[int | None] = mapped_column(
        ForeignKey("phone_number.id", ondelete="SET NULL"), index=True)
    number_e164: Mapped[str] = mapped_column(String(64))
    caller_id: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]
    connected_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    outcome: Mapped[CallOutcome | None] = mapped_column(_enum(CallOutcome))
    sip_status: Mapped[int | None] = mapped_column(Integer)
    q850_cause: Mapped[int | None] = mapped_column(Integer)
    #: free-text cause beside the codes (e.g. ``engine_restart``).
    cause: Mapped[str] = mapped_column(String(64), default="")
    is_abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    disposition: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str] = mapped_column(Text, default="")
    #: False for calls that do not count (cancelled before answer, operator test calls).
    counts_as_attempt: Mapped[bool] = mapped_column(Boolean, default=True)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    engine_id: Mapped[str | None] = mapped_column(String(64))


class Retry(Base):
    """The next attempt of a record, as the disposition rules decided it."""

    __tablename__ = "retry"
    # Pending rows by their slot (the hour they come due, or their day's first hour
    # while they are far off), then by age: a retry joins its slot's tail instead of
    # a random place among all the pending rows (with (status, earliest_at), every
    # add of a batch dirtied a page of its own).
    __table_args__ = (Index("ix_retry_status_due", "status", "due_hour"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    #: indexed: deleting a number (an erasure, a campaign's removal) finds its rows by it.
    phone_number_id: Mapped[int | None] = mapped_column(
        ForeignKey("phone_number.id", ondelete="SET NULL"), index=True)
    earliest_at: Mapped[dt.datetime]
    window_end_at: Mapped[dt.datetime | None]
    tz: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[RetryStatus] = mapped_column(_enum(RetryStatus), default=RetryStatus.PENDING)
    #: the row's slot (:func:`campaigns.db.slot_sql`): the UTC hour ``earliest_at`` falls
    #: in, or the first hour of its day while the row is far off; computed by the
    #: database (virtual on SQLite, stored on PostgreSQL); never written.
    due_hour: Mapped[int] = mapped_column(Computed(RetrySlot()))
    #: set once the row's day is near (:func:`campaigns.store.retry_queue.refine_slots`):
    #: it has its own hour's slot from then on.
    hourly: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class Callback(Base):
    """An appointment with a customer: call this number inside this window."""

    __tablename__ = "callback"
    __table_args__ = (
        Index("ix_callback_status_start", "status", "window_start_at"),
        # Open callbacks by the end of their window (each timer pass looks for passed ones).
        Index("ix_callback_open_end", "window_end_at",
              sqlite_where=text("status IN ('scheduled', 'due', 'reopened')"),
              postgresql_where=text("status IN ('scheduled', 'due', 'reopened')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    #: indexed: deleting a number (an erasure, a campaign's removal) finds its rows by it.
    phone_number_id: Mapped[int | None] = mapped_column(
        ForeignKey("phone_number.id", ondelete="SET NULL"), index=True)
    number_e164: Mapped[str] = mapped_column(String(20))
    window_start_at: Mapped[dt.datetime]
    window_end_at: Mapped[dt.datetime]
    #: the IANA zone the window was asked in.
    tz: Mapped[str] = mapped_column(String(64))
    #: the personal owner; None = anyone in the campaign.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    status: Mapped[CallbackStatus] = mapped_column(_enum(CallbackStatus),
                                                   default=CallbackStatus.SCHEDULED)
    notes: Mapped[str] = mapped_column(Text, default="")
    #: who asked, when, the window asked for, the channel (customer-requested callbacks).
    consent: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_clipped: Mapped[bool] = mapped_column(Boolean, default=False)
    earliest_legal_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(200), default="")
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    #: offered windows [[start, end], ...] as ISO UTC strings while ``proposed``.
    proposed_slots: Mapped[list[Any]] = mapped_column(default=list)
    #: a time the customer suggested, waiting for an agent to accept it.
    suggested_start_at: Mapped[dt.datetime | None]
    suggested_end_at: Mapped[dt.datetime | None]
    #: the customer's last answer (``none_of_these``, a free message...).
    customer_answer: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    #: completion: outcome remark, reason and the time the call took.
    outcome: Mapped[str] = mapped_column(Text, default="")
    completion_reason: Mapped[str] = mapped_column(String(200), default="")
    time_taken_s: Mapped[int | None] = mapped_column(Integer)
    completed_at: Mapped[dt.datetime | None]
    #: the step of the missed-callback ladder reached (0 = never missed).
    ladder_step: Mapped[int] = mapped_column(Integer, default=0)
    missed_at: Mapped[dt.datetime | None]
    #: customer links carry this version; bumping it revokes every link given so far.
    link_version: Mapped[int] = mapped_column(Integer, default=1)
    #: times rescheduled (by anyone), for the reports.
    reschedule_count: Mapped[int] = mapped_column(Integer, default=0)


class CallbackNote(Base):
    """An internal note on a callback (never shown to the customer); editable."""

    __tablename__ = "callback_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callback.id", ondelete="CASCADE"),
                                             index=True)
    author: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class DispositionRule(Base):
    """What a disposition leads to, for one campaign."""

    __tablename__ = "disposition_rule"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[DispositionSource] = mapped_column(_enum(DispositionSource))
    action: Mapped[RuleAction] = mapped_column(_enum(RuleAction))
    #: first retry delay.
    delay_s: Mapped[int] = mapped_column(Integer, default=0)
    #: each further retry waits delay_s * backoff ** (n - 1), up to max_delay_s.
    backoff: Mapped[float] = mapped_column(Float, default=1.0)
    max_delay_s: Mapped[int | None] = mapped_column(Integer)
    #: at most this many attempts ending with this disposition per record.
    max_per_record: Mapped[int | None] = mapped_column(Integer)
    #: what happens when the cap is reached.
    on_cap: Mapped[RuleAction] = mapped_column(_enum(RuleAction), default=RuleAction.FINAL_FAILURE)
    counts_as_attempt: Mapped[bool] = mapped_column(Boolean, default=True)
    is_contact: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    role: Mapped[Role] = mapped_column(_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    #: a SIP URI or an Asterisk channel.
    phone_address: Mapped[str] = mapped_column(String(255), default="")
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]

    shifts: Mapped[list[WorkShift]] = relationship(cascade="all, delete-orphan",
                                                     order_by="(WorkShift.weekday, WorkShift.start)")
    exceptions: Mapped[list[ShiftException]] = relationship(cascade="all, delete-orphan",
                                                              order_by="ShiftException.on_date")


class WorkShift(Base):
    """A weekly work period of an agent, in the agent's zone."""

    __tablename__ = "work_shift"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    #: 0 = Monday.
    weekday: Mapped[int] = mapped_column(Integer)
    start: Mapped[dt.time] = mapped_column(Time)
    end: Mapped[dt.time] = mapped_column(Time)


class ShiftException(Base):
    """A day that differs from the weekly shifts: off (no times) or other hours."""

    __tablename__ = "shift_exception"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    on_date: Mapped[dt.date] = mapped_column(Date)
    start: Mapped[dt.time | None] = mapped_column(Time)
    end: Mapped[dt.time | None] = mapped_column(Time)
    reason: Mapped[str] = mapped_column(String(200), default="")


class CampaignMember(Base):
    """An agent's membership of a campaign."""

    __tablename__ = "campaign_member"
    __table_args__ = (UniqueConstraint("campaign_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))


class DncEntry(Base):
    """A number not to call, everywhere (campaign_id None) or in one campaign."""

    __tablename__ = "dnc_entry"
    __table_args__ = (UniqueConstraint("e164", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    e164: Mapped[str] = mapped_column(String(20), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    #: "global" or "campaign:<id>": one key so uniqueness holds without NULL tricks.
    scope: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64), default="manual")
    added_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]


class RegistryScrub(Base):
    """An import of a national do-not-call registry, and when it was made."""

    __tablename__ = "registry_scrub"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    imported_at: Mapped[dt.datetime]
    numbers: Mapped[int] = mapped_column(Integer, default=0)


class HoursSuspension(Base):
    """An event-driven ban on calls into a jurisdiction (state of emergency...)."""

    __tablename__ = "hours_suspension"

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(16), index=True)
    from_at: Mapped[dt.datetime]
    to_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime]


class AuditEvent(Base):
    """An append-only trace of who changed what."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200), default="system")
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AgentStateChange(Base):
    """One change of an agent's state, kept for reports and audits."""

    __tablename__ = "agent_state_change"
    __table_args__ = (Index("ix_agent_state_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"))
    state: Mapped[AgentState] = mapped_column(_enum(AgentState))
    #: not-ready reason code, or who forced the change.
    reason: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[dt.datetime]


class CallerIdNumber(Base):
    """A number of a campaign's caller-ID pool (local presence by area code or state)."""

    __tablename__ = "caller_id_number"
    __table_args__ = (UniqueConstraint("campaign_id", "e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20))
    #: the NANP area code or the state it presents locally ("" = anywhere).
    area_code: Mapped[str] = mapped_column(String(8), default="")
    state: Mapped[str] = mapped_column(String(8), default="")
    #: calls a day with this number at most (None = no cap).
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class OutboxMessage(Base):
    """A message to a customer or an agent: queued, sent, retried, never lost silently."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callback.id", ondelete="CASCADE"),
                                                    index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    recipient: Mapped[str] = mapped_column(String(320))
    #: the event that caused it (callback.rescheduled, callback.reminder...).
    event: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16), default="en")
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus), default=MessageStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


class WebhookEndpoint(Base):
    """Where a campaign's callback events are posted, signed with the endpoint's secret."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"),
                                             index=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(200))
    #: event names it receives (empty = all).
    events: Mapped[list[Any]] = mapped_column(default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]


class WebhookDelivery(Base):
    """One event posted (or to be posted) to one endpoint: the delivery log."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"),
                                             index=True)
    event: Mapped[str] = mapped_column(String(64))
    #: the exact JSON body that is signed and sent.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus), default=MessageStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]


class WebSession(Base):
    """A browser session: the cookie holds the token, the row only its SHA-256."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    #: the CSRF token the session's forms and scripts must echo.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]


class ApiToken(Base):
    """A bearer token for integrations, stored as its SHA-256 only."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class ImportJob(Base):
    """A list upload imported in the background: its progress and summary."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"),
                                             index=True)
    list_name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    #: where the upload was streamed to.
    path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    #: queued, running, done, failed.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    #: the column mapping chosen in the page (field -> column).
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    bytes_read: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    #: reason -> count.
    rejected: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reject_file: Mapped[str] = mapped_column(Text, default="")
    list_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


class ErasureSuppression(Base):
    """A number erased on a person's request, kept only as a keyed hash so the list
    loader never imports it again by accident (``dialer privacy erase``)."""

    __tablename__ = "erasure_suppression"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: hex HMAC-SHA256 of the E.164 number under the database's privacy key.
    number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    erased_at: Mapped[dt.datetime]


class PrivacyKey(Base):
    """The database's random key of the suppression hashes (one row, made at first use)."""

    __tablename__ = "privacy_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hex: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime]

"""Retention (F4): delete each kind of data once it is older than its period.

Kinds: finished call attempts (by start), sent or failed outbox messages (by
creation), delivered or failed webhook deliveries, the reject files and uploads
of finished background list imports (the files are removed, the job row stays
without them), and audit events (through :func:`campaigns.store.audit.purge_before`,
the one deletion the append-only audit allows).  Nothing still in flight is
touched.  A run is itself audited.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from campaigns import models
from campaigns.enums import MessageStatus
from campaigns.store import audit

logger = logging.getLogger(__name__)

KINDS = ("attempts", "notifications", "webhook_deliveries", "reject_files", "audit")
_DONE = (MessageStatus.SENT, MessageStatus.FAILED)


class Periods(Protocol):
    """What retention needs of the ``[retention]`` settings."""

    def period(self, kind: str) -> dt.timedelta | None: ...


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def run(session: Session, periods: Periods, *, now: dt.datetime, is_dry_run: bool = False,
        actor: str = "system") -> dict[str, Any]:
    """Delete (or with ``is_dry_run`` count) what is past its period, kind by kind.

    Returns ``{"dry_run", "cutoffs": {kind: iso | None}, "deleted": {kind: n}}``
    (a None cutoff: that kind is kept forever).
    """
    cutoffs = {kind: (now - p if (p := periods.period(kind)) is not None else None)
               for kind in KINDS}
    deleted: dict[str, int] = {}
    for kind in KINDS:
        cutoff = cutoffs[kind]
        deleted[kind] = 0 if cutoff is None else _PURGES[kind](session, cutoff, is_dry_run)
    result = {"dry_run": is_dry_run, "cutoffs": {k: _iso(v) for k, v in cutoffs.items()},
              "deleted": deleted}
    if not is_dry_run:
        audit.record(session, action="retention.run", entity="retention", actor=actor, at=now,
                     details={"cutoffs": result["cutoffs"], "deleted": deleted})
    return result


def _count_or_delete(session: Session, table: Any, condition: Any, is_dry_run: bool) -> int:
    if is_dry_run:
        return int(session.scalar(select(func.count()).select_from(table).where(condition)) or 0)
    result = session.execute(delete(table).where(condition)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def _attempts(session: Session, cutoff: dt.datetime, is_dry_run: bool) -> int:
    attempt = models.Attempt
    return _count_or_delete(session, attempt, (attempt.started_at < cutoff)
                            & attempt.ended_at.is_not(None), is_dry_run)


def _notifications(session: Session, cutoff: dt.datetime, is_dry_run: bool) -> int:
    msg = models.OutboxMessage
    return _count_or_delete(session, msg, (msg.created_at < cutoff) & msg.status.in_(_DONE),
                            is_dry_run)


def _webhook_deliveries(session: Session, cutoff: dt.datetime, is_dry_run: bool) -> int:
    delivery = models.WebhookDelivery
    return _count_or_delete(session, delivery, (delivery.created_at < cutoff)
                            & delivery.status.in_(_DONE), is_dry_run)


def _reject_files(session: Session, cutoff: dt.datetime, is_dry_run: bool) -> int:
    """Remove the reject files and uploads of imports finished before ``cutoff``."""
    job = models.ImportJob
    rows = session.scalars(select(job).where(job.finished_at.is_not(None),
                                             job.finished_at < cutoff,
                                             (job.reject_file != "") | (job.path != "")))
    removed = 0
    for row in rows:
        for name in ("reject_file", "path"):
            path = Path(getattr(row, name)) if getattr(row, name) else None
            if path is None:
                continue
            if path.is_file():
                removed += 1
                if not is_dry_run:
                    path.unlink(missing_ok=True)
            if not is_dry_run:
                setattr(row, name, "")
    session.flush()
    return removed


def _audit(session: Session, cutoff: dt.datetime, is_dry_run: bool) -> int:
    return audit.purge_before(session, cutoff, is_dry_run=is_dry_run)


_PURGES = {"attempts": _attempts, "notifications": _notifications,
           "webhook_deliveries": _webhook_deliveries, "reject_files": _reject_files,
           "audit": _audit}

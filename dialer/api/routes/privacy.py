"""``/api/privacy``: export or erase everything about one person (F4), as ``dialer privacy`` does.

A person is named by ``phone`` (any format; every record holding the number, in any campaign)
or by ``record_id``.  ``POST /api/privacy/export`` returns the export document;
``POST /api/privacy/erase`` needs ``"confirm": true``, removes the personal data, keeps the
attempt rows without it and a keyed hash of each number, so a list load rejects the number
(reason ``erased``).  Both are audited with the user as actor.  Administrators only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from campaigns import errors as campaign_errors
from campaigns.store import privacy
from dialer.api import auth
from dialer.api.context import WebContext

router = APIRouter(tags=["privacy"])


class SubjectIn(BaseModel):
    """One of ``phone`` (any format; ``[lists] default_region`` without a country code) or
    ``record_id``."""

    phone: str | None = Field(None, min_length=1, max_length=64)
    record_id: int | None = Field(None, ge=1)


class EraseIn(SubjectIn):
    #: erasing cannot be undone: it must be ``true`` (a JSON boolean; "yes" is refused).
    confirm: bool = Field(False, strict=True)


def _subject(body: SubjectIn, ctx: WebContext) -> dict[str, Any]:
    return privacy.subject(body.phone, body.record_id, ctx.settings.lists.default_region)


@router.post("/api/privacy/export")
def export_person(body: SubjectIn, session: auth.Db, user: auth.Admin,
                  ctx: auth.Ctx) -> dict[str, Any]:
    """Everything stored about a person: records, numbers, attempts, callbacks and their
    notes, notifications, webhook deliveries and the audit lines that mention them."""
    subject, now = _subject(body, ctx), ctx.now()
    document = privacy.export(session, now=now, **subject)
    privacy.record_export(session, document, actor=user.actor, out="api", now=now)
    return document


@router.post("/api/privacy/erase")
def erase_person(body: EraseIn, session: auth.Db, user: auth.Admin,
                 ctx: auth.Ctx) -> dict[str, Any]:
    """Erase a person's personal data; returns the erased record ids and the counts."""
    subject = _subject(body, ctx)
    if not body.confirm:
        raise campaign_errors.InvalidInput("erasing cannot be undone: send \"confirm\": true",
                                           fields={"confirm": "must be true"})
    return privacy.erase(session, actor=user.actor, now=ctx.now(), **subject)

"""``/c/{token}``: the customer's self-service page of one callback (F15).

The link (``[callbacks] public_base_url`` + ``/c/<token>``, see ``dialer callbacks link``)
opens a small page in the customer's language (the record's ``language``): the callback's
time in the customer's zone, the legal free slots as buttons, a form to suggest a time and
one to cancel with an optional reason.  Everything goes through
:mod:`dialer.callbacks_portal`, which resolves the token to exactly one callback.  An
expired or revoked link answers 410, a malformed or tampered one 404, with one sentence and
nothing else.  The customer has no session: the forms carry a token derived from the link
token with HMAC (:func:`form_token`) instead of the session's CSRF token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from campaigns import callbacks, calling_hours, errors, localtime, models
from dialer import callbacks_config, callbacks_portal
from dialer.api.context import WebContext
from dialer.api.routes import _forms
from dialer.web import customer_text as text

router = APIRouter(include_in_schema=False)
#: slots shown on the page (the earliest first): enough days to choose from on a phone.
SLOTS_SHOWN = 48


def form_token(secret: str, token: str) -> str:
    """The forms' anti-forgery token of one link (HMAC of the link token).

    >>> len(form_token("k" * 32, "1.1.2.x"))
    43
    """
    digest = hmac.new(secret.encode(), f"customer-form:{token}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def _ctx(request: Request) -> WebContext:
    return request.app.state.ctx


def _browser_language(request: Request) -> str:
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0]
    return text.language_of(first.strip())


def _message_page(request: Request, key: str, status: int, language: str = "") -> Response:
    """One sentence, nothing else (expired, tampered, revoked, forged)."""
    lang = language or _browser_language(request)
    return _render(request, "customer/message.html",
                   {"lang": lang, "message": text.say(lang, key), "is_error": True}, status)


def _render(request: Request, name: str, values: dict[str, Any], status: int = 200) -> Response:
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return request.app.state.templates.TemplateResponse(request, name, values,
                                                        status_code=status, headers=headers)


def _local(text_value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text_value) if text_value else None


def _view(session: Any, cfg: Any, token: str, now: dt.datetime) -> dict[str, Any]:
    view = callbacks_portal.customer_view(session, cfg, token, now)
    callback = session.get(models.Callback, view["callback"]["id"])
    record = session.get(models.Record, callback.record_id)
    return {**view, "language": text.language_of(record.language)}


def _days(slots: list[dict[str, Any]], lang: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """Slots grouped by local day, each with its label."""
    days: dict[str, list[dict[str, Any]]] = {}
    for slot in slots:
        start, end = _local(slot["start"]), _local(slot["end"])
        days.setdefault(text.day(start, lang), []).append(
            {**slot, "label": f"{start:%H:%M}–{end:%H:%M}"})
    return list(days.items())


def _page(request: Request, token: str, view: dict[str, Any], *, error: str = "",
          status: int = 200) -> Response:
    lang, shown = view["language"], view["callback"]
    start, end = _local(shown["window_start"]), _local(shown["window_end"])
    status_text = {"scheduled": "scheduled", "due": "scheduled", "reopened": "scheduled",
                   "requested": "requested", "proposed": "proposed"}.get(shown["status"],
                                                                          "pending")
    suggested = _local(shown["suggested_start"])
    values = {
        "lang": lang, "t": text.TEXTS[lang], "token": token, "error": error,
        "form_token": form_token(callbacks_config.settings_of(_ctx(request).settings)
                                 .link_secret, token),
        "title": text.say(lang, "title", company=shown["company"]),
        "when": text.window(start, end, lang) if start else "",
        "status_line": text.say(lang, status_text, when=text.window(start, end, lang)),
        "suggested": text.say(lang, "suggested", when=text.window(
            suggested, _local(shown["suggested_end"]), lang)) if suggested else "",
        "number": text.say(lang, "number", digits=shown["number_last_digits"]),
        "zone": text.say(lang, "zone", tz=shown["tz"]),
        "days": _days(view["slots"][:SLOTS_SHOWN], lang), "today": start.date().isoformat() if start else "",
    }
    return _render(request, "customer/callback.html", values, status)


async def _load(request: Request, token: str) -> dict[str, Any] | Response:
    ctx = _ctx(request)
    cfg = callbacks_config.settings_of(ctx.settings)
    try:
        return await ctx.run(lambda s: _view(s, cfg, token, ctx.now()))
    except callbacks.LinkExpired:
        return _message_page(request, "expired", 410)
    except callbacks.LinkError:
        return _message_page(request, "invalid", 404)


@router.get("/c/{token}", response_class=HTMLResponse)
async def callback_page(request: Request, token: str) -> Response:
    """The callback's time, free slots, suggest and cancel forms."""
    view = await _load(request, token)
    return view if isinstance(view, Response) else _page(request, token, view)


def _error_key(exc: errors.InvalidInput, tz: str, lang: str) -> str:
    """The customer's sentence for a refused action."""
    if isinstance(exc, calling_hours.NoLegalMinute) and exc.earliest_legal_at is not None:
        local = localtime.to_local(exc.earliest_legal_at, tz).replace(tzinfo=None)
        return text.say(lang, "no_legal_minute", when=text.window(local, None, lang))
    if exc.error_id == "slot-unavailable":
        return text.say(lang, "slot_unavailable")
    return text.say(lang, "bad_time")


async def _act(request: Request, token: str, sent_form_token: str, action: Any,
               done_key: str) -> Response:
    """Check the form token, run ``action(session, cfg, now)`` and confirm, or show why not."""
    ctx = _ctx(request)
    cfg = callbacks_config.settings_of(ctx.settings)
    view = await _load(request, token)
    if isinstance(view, Response):
        return view
    if not cfg.link_secret or not hmac.compare_digest(sent_form_token,
                                                      form_token(cfg.link_secret, token)):
        return _message_page(request, "form_expired", 403, view["language"])
    lang, tz = view["language"], view["callback"]["tz"]
    try:
        callback = await ctx.run(lambda s: _done(action(s, cfg, ctx.now()), tz))
    except (callbacks.LinkError, callbacks.LinkExpired):
        return _message_page(request, "expired", 410, lang)
    except errors.InvalidInput as exc:
        fresh = await _load(request, token)
        if isinstance(fresh, Response):
            return fresh
        return _page(request, token, fresh, error=_error_key(exc, tz, lang), status=422)
    when = text.window(callback[0], callback[1], lang) if callback[0] else ""
    return _render(request, "customer/message.html",
                   {"lang": lang, "message": text.say(lang, done_key, when=when),
                    "is_error": False})


def _done(callback: models.Callback, tz: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The local window the confirmation names (the suggestion when one waits)."""
    start = callback.suggested_start_at or callback.window_start_at
    end = callback.suggested_end_at or callback.window_end_at
    return (localtime.to_local(start, tz).replace(tzinfo=None),
            localtime.to_local(end, tz).replace(tzinfo=None))


@router.post("/c/{token}/pick", response_class=HTMLResponse)
async def pick(request: Request, token: str, slot: str = Form(""),
               form_token_: str = Form("", alias="form_token")) -> Response:
    """Book one of the offered slots."""
    try:
        start_at = dt.datetime.fromisoformat(slot)
    except ValueError:
        start_at = dt.datetime.min.replace(tzinfo=dt.UTC)
    return await _act(request, token, form_token_, lambda s, cfg, now: callbacks_portal
                      .customer_pick(s, cfg, token, start_at, now), "picked")


@router.post("/c/{token}/suggest", response_class=HTMLResponse)
async def suggest(request: Request, token: str, date: str = Form(""), start: str = Form(""),
                  end: str = Form(""), message: str = Form(""),
                  form_token_: str = Form("", alias="form_token")) -> Response:
    """Suggest another time (in the customer's zone); an agent confirms it."""
    def action(session: Any, cfg: Any, now: dt.datetime) -> models.Callback:
        callback = callbacks_portal.resolve(session, cfg, token, now)
        start_at, end_at = _forms.window(date, start, end, callback.tz)
        return callbacks_portal.customer_suggest(session, cfg, token, start_at=start_at,
                                                 end_at=end_at, now=now, message=message[:2000])

    return await _act(request, token, form_token_, action, "suggested_done")


@router.post("/c/{token}/cancel", response_class=HTMLResponse)
async def cancel(request: Request, token: str, reason: str = Form(""),
                 form_token_: str = Form("", alias="form_token")) -> Response:
    """Cancel the call, with an optional reason."""
    return await _act(request, token, form_token_, lambda s, cfg, now: callbacks_portal
                      .customer_cancel(s, cfg, token, now=now, reason=reason[:200]),
                      "cancelled")

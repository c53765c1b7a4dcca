"""Errors of the HTTP API and the one table that maps every error to an HTTP status (F3).

Every error leaves as ``{"error": {"id": "<slug>", "message": "…", "fields": {"name": "message"}}}``.
Domain errors (``campaigns.errors``, ``dialer.errors``, ``telephony.errors``) carry their own
``error_id``, ``fields`` and ``is_input_error``; the status comes from :func:`status_of`, never
from the domain exception.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from campaigns import errors as campaign_errors
from dialer import errors as dialer_errors

logger = logging.getLogger(__name__)


class ApiError(dialer_errors.DialerError):
    """The request cannot be served."""

    error_id = "bad-request"
    is_input_error = True
    status = 400


class NotAuthenticated(ApiError):
    """Log in first (or send an API token)."""

    error_id = "not-authenticated"
    status = 401


class Forbidden(ApiError):
    """Your role does not allow this."""

    error_id = "forbidden"
    status = 403


class CsrfFailed(ApiError):
    """The CSRF token is missing or wrong: reload the page."""

    error_id = "csrf-failed"
    status = 403


class TooManyLogins(ApiError):
    """Too many failed logins: wait and try again."""

    error_id = "too-many-logins"
    status = 429


class NotFound(ApiError, LookupError):
    """No such object."""

    error_id = "not-found"
    status = 404

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key!r}", fields={kind: "not found"},
                         error_id=f"no-such-{kind.replace('_', '-')}")


class Conflict(ApiError):
    """The object is not in a state that allows this."""

    error_id = "conflict"
    status = 409


class TooLarge(ApiError):
    """The upload is larger than allowed."""

    error_id = "too-large"
    status = 413


#: error_id slug -> HTTP status, for domain errors whose class says nothing more.
STATUS_BY_ID: dict[str, int] = {
    "engine-not-running": 503,
    "not-logged-in": 409,
    "not-your-call": 403,
    "not-a-member": 403,
}


def status_of(exc: BaseException) -> int:
    """The HTTP status of an error.

    >>> status_of(Forbidden())
    403
    >>> status_of(campaign_errors.NotFound("campaign", "x"))
    404
    >>> status_of(campaign_errors.AlreadyExists("campaign", "x"))
    409
    >>> status_of(campaign_errors.InvalidInput("bad"))
    422
    >>> status_of(RuntimeError())
    500
    """
    if isinstance(exc, ApiError):
        return exc.status
    error_id = getattr(exc, "error_id", "")
    if error_id in STATUS_BY_ID:
        return STATUS_BY_ID[error_id]
    if isinstance(exc, LookupError) and getattr(exc, "is_input_error", False):
        return 404
    if isinstance(exc, campaign_errors.AlreadyExists) or error_id.endswith("-exists"):
        return 409
    if getattr(exc, "is_input_error", False):
        return 422
    return 500


def body(error_id: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The one error shape.

    >>> body("x", "y")
    {'error': {'id': 'x', 'message': 'y', 'fields': {}}}
    """
    return {"error": {"id": error_id, "message": message, "fields": dict(fields or {})}}


def _domain(request: Request, exc: Exception) -> JSONResponse:
    status = status_of(exc)
    if status == 500:  # unexpected: the log has the details, the client a generic answer
        logger.error("request failed: %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(body("internal-error", "the server failed; see its log"), status)
    message = getattr(exc, "message", "") or str(exc)
    return JSONResponse(body(exc.error_id, message, getattr(exc, "fields", {})),  # type: ignore[attr-defined]
                        status)


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path",
                                                                         "form", "header")]
        fields[".".join(loc) or "body"] = error.get("msg", "invalid")
    first = next(iter(fields.items()), ("body", "invalid"))
    return JSONResponse(body("invalid-input", f"{first[0]}: {first[1]}", fields), 422)


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return JSONResponse(body(slug, str(exc.detail)), exc.status_code, headers=exc.headers)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("request failed: %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(body("internal-error", "the server failed; see its log"), 500)


def install(app: FastAPI) -> None:
    """Route every error through the one shape."""
    for cls in (campaign_errors.CampaignError, dialer_errors.DialerError):
        app.add_exception_handler(cls, _domain)  # type: ignore[arg-type]
    try:
        from telephony import errors as telephony_errors

        app.add_exception_handler(telephony_errors.TelephonyError, _domain)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - telephony always ships
        pass
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)

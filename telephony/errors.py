"""Errors of the telephony package: the backend itself failed (not busy, not no-answer)."""

from __future__ import annotations


class TelephonyError(Exception):
    """The telephony backend failed."""

    error_id = "telephony-error"
    is_input_error = False

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None,
                 error_id: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())
        self.fields = dict(fields or {})
        if error_id:
            self.error_id = error_id


class BackendConfigError(TelephonyError):
    """The backend's configuration is not usable."""

    error_id = "telephony-config-invalid"
    is_input_error = True


class CallNotPlaced(TelephonyError):
    """The backend could not place the call."""

    error_id = "call-not-placed"

"""Errors of the dialer package (configuration, command line, engine)."""

from __future__ import annotations


class DialerError(Exception):
    """The dialer failed."""

    error_id = "dialer-error"
    is_input_error = False

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None,
                 error_id: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())
        self.fields = dict(fields or {})
        if error_id:
            self.error_id = error_id

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(DialerError):
    """The configuration is not valid."""

    error_id = "config-invalid"
    is_input_error = True


class UsageError(DialerError):
    """The command was not used as documented."""

    error_id = "usage"
    is_input_error = True

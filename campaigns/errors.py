"""Errors of the campaigns package.

Every error carries a stable ``error_id`` slug, a human message and optional
``fields`` (name -> message).  ``is_input_error`` tells the command line and the
API whether the caller gave bad input (exit 2, HTTP 4xx) or the system failed
(exit 1, HTTP 5xx).
"""

from __future__ import annotations


class CampaignError(Exception):
    """A campaign operation failed."""

    error_id = "campaign-error"
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


class InvalidInput(CampaignError):
    """The input is not valid."""

    error_id = "invalid-input"
    is_input_error = True


class NotFound(CampaignError, LookupError):
    """No such object."""

    error_id = "not-found"
    is_input_error = True

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} named {key!r}", fields={kind: "not found"},
                         error_id=f"no-such-{kind.replace('_', '-')}")
        self.kind = kind
        self.key = key


class AlreadyExists(CampaignError):
    """The object exists already."""

    error_id = "already-exists"
    is_input_error = True

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} exists already", fields={kind: "exists already"},
                         error_id=f"{kind.replace('_', '-')}-exists")


class ListFileError(InvalidInput):
    """The calling-list file cannot be used."""

    error_id = "list-file-unusable"


class RulesFileError(InvalidInput):
    """The disposition rules file is not valid."""

    error_id = "rules-file-invalid"

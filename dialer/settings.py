"""The one ``Settings`` object: a TOML file, then ``DIALER_…`` environment overrides.

Order of precedence (last wins): built-in defaults, the TOML file
(``--config FILE``, else ``$DIALER_CONFIG``, else none), environment variables
``DIALER_<SECTION>__<KEY>`` (``__`` separates nesting levels, e.g.
``DIALER_DATABASE__URL`` or ``DIALER_TELEPHONY__SIP__PASSWORD``), then
command-line flags such as ``--db``.  Validation happens once, at start, and an
error names the key (``database.url``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from campaigns import compliance_config
from dialer import callbacks_config, errors, retention_config, web_config
from dialer.notify import config as notify_config
from telephony import config as telephony_config

ENV_PREFIX = "DIALER_"
ENV_DELIMITER = "__"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    """``[database]``."""

    #: SQLAlchemy URL: ``sqlite:///dialer.db`` (embedded) or ``postgresql+psycopg://…``.
    url: str = "sqlite:///dialer.db"
    #: how long SQLite waits for a lock before failing.
    busy_timeout_s: float = Field(default=30.0, gt=0)
    #: connections kept by the pool (PostgreSQL).
    pool_size: int = Field(default=5, ge=1, le=100)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// SQLAlchemy URL")
        return value


class LoggingSettings(_Section):
    """``[logging]``."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    #: a logging.config dictConfig file (TOML) that replaces the default set-up.
    config_file: str = ""


class ListSettings(_Section):
    """``[lists]``: list loading."""

    #: region assumed for numbers written without a country code.
    default_region: str = "US"
    #: rows written per database batch.
    batch_size: int = Field(default=5000, ge=100, le=100_000)
    #: worker processes that parse and normalise rows (0 = one per core but one: this
    #: process writes).
    workers: int = Field(default=0, ge=0, le=64)

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        import phonenumbers

        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r}")
        return value


class Settings(_Section):
    """Every section of the configuration file."""

    database: DatabaseSettings = DatabaseSettings()
    logging: LoggingSettings = LoggingSettings()
    lists: ListSettings = ListSettings()
    telephony: telephony_config.TelephonySettings = telephony_config.TelephonySettings()
    compliance: compliance_config.ComplianceSettings = compliance_config.ComplianceSettings()
    notifications: notify_config.NotificationSettings = notify_config.NotificationSettings()
    callbacks: callbacks_config.CallbacksSettings = callbacks_config.CallbacksSettings()
    web: web_config.WebSettings = web_config.WebSettings()
    retention: retention_config.RetentionSettings = retention_config.RetentionSettings()


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Nested dict from ``DIALER_SECTION__KEY`` variables.

    >>> _env_overrides({"DIALER_DATABASE__URL": "sqlite://", "DIALER_X": "1"})
    {'database': {'url': 'sqlite://'}}
    """
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or ENV_DELIMITER not in name:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX):].split(ENV_DELIMITER)]
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise errors.ConfigError(f"config key {'.'.join(path)}: conflicts with a value",
                                         fields={".".join(path): "conflicts"})
        node[path[-1]] = value
    return tree


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise errors.ConfigError(f"config file {path} does not exist",
                                 fields={"config": "not found"}) from exc
    except tomllib.TOMLDecodeError as exc:
        raise errors.ConfigError(f"config file {path}: {exc}", fields={"config": str(exc)}) from exc


def load_settings(config_file: str | os.PathLike[str] | None = None, *,
                  overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate the configuration.

    Parameters
    ----------
    config_file:
        A TOML file; ``None`` reads ``$DIALER_CONFIG`` when set, else nothing.
    overrides:
        Values from command-line flags, as a nested dict (``{"database": {"url": …}}``).
    environ:
        The environment (``os.environ`` by default).

    Raises
    ------
    dialer.errors.ConfigError
        When a key is unknown or a value is invalid; the message names the key.
    """
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get("DIALER_CONFIG"):
        config_file = environ["DIALER_CONFIG"]
    data: dict[str, Any] = _read_toml(Path(config_file)) if config_file else {}
    data = _merge(data, _env_overrides(environ))
    data = _merge(data, overrides or {})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        raise errors.ConfigError(f"config key {key}: {message}",
                                 fields={key: message}) from exc

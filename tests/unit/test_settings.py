"""Configuration: the example file documents every key; environment overrides; errors name keys."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from dialer import errors, settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "dialer.example.toml"


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _keys(annotation, key + ".")
        else:
            keys.add(key)
    return keys


def _flatten(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, value in data.items():
        if isinstance(value, dict):
            keys |= _flatten(value, prefix + key + ".")
        else:
            keys.add(prefix + key)
    return keys


@pytest.mark.req("A4")
def test_example_file_has_every_key_and_documents_it() -> None:
    data = tomllib.loads(EXAMPLE.read_text("utf-8"))
    assert _flatten(data) == _keys(settings.Settings)
    lines = EXAMPLE.read_text("utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+\s*=", line):
            previous = lines[number - 1]
            assert previous.startswith("#") or re.match(r"^[a-z_]+\s*=", previous), (
                f"key on line {number + 1} has no comment above it")


@pytest.mark.req("A4")
def test_example_file_values_are_the_defaults() -> None:
    loaded = settings.load_settings(EXAMPLE, environ={})
    assert loaded == settings.Settings()


@pytest.mark.req("A4")
def test_precedence_file_then_environment_then_flags(tmp_path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[database]\nurl = "sqlite:///file.db"\n[telephony.sip]\nworkers = 2\n')
    env = {"DIALER_TELEPHONY__SIP__WORKERS": "8", "DIALER_DATABASE__URL": "sqlite:///env.db"}
    loaded = settings.load_settings(path, environ=env)
    assert loaded.telephony.sip.workers == 8
    assert loaded.database.url == "sqlite:///env.db"
    flagged = settings.load_settings(path, environ=env,
                                     overrides={"database": {"url": "sqlite:///flag.db"}})
    assert flagged.database.url == "sqlite:///flag.db"
    assert settings.load_settings(environ={"DIALER_CONFIG": str(path)}).telephony.sip.workers == 2


@pytest.mark.req("A4")
@pytest.mark.parametrize("content, env, key", [
    ('[database]\nurl = "mysql://x"\n', {}, "database.url"),
    ('[telephony.sip]\nmax_cps_per_worker = 60\n', {}, "telephony.sip.max_cps_per_worker"),
    ('[telephony]\nbackend = "skype"\n', {}, "telephony.backend"),
    ('[lists]\ndefault_region = "XX"\n', {}, "lists.default_region"),
    ("", {"DIALER_TELEPHONY__SIP__RING_TIMEOUT_S": "5"}, "telephony.sip.ring_timeout_s"),
    ('[nonsense]\nx = 1\n', {}, "nonsense"),
])
def test_invalid_configuration_names_the_key(tmp_path, content, env, key) -> None:
    path = tmp_path / "d.toml"
    path.write_text(content)
    with pytest.raises(errors.ConfigError) as caught:
        settings.load_settings(path, environ=env)
    assert key in str(caught.value)
    assert key in caught.value.fields


@pytest.mark.req("A4")
@pytest.mark.req("A5")
def test_config_errors_exit_2_on_the_command_line(cli, tmp_path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[database]\npool_size = "many"\n')
    result = cli("campaign", "list", "--config", str(path), "--json", db=False)
    assert result.code == 2
    assert result.json()["error"]["id"] == "config-invalid"
    assert "database.pool_size" in result.err
    missing = cli("campaign", "list", "--config", str(tmp_path / "none.toml"), db=False)
    assert missing.code == 2 and "does not exist" in missing.err


@pytest.mark.req("A4")
def test_db_flag_works_on_every_command(cli, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    assert cli("campaign", "create", "x", "--db", url, db=False).code == 0
    assert cli("campaign", "list", "--json").json() == {"campaigns": []}
    assert len(cli("campaign", "list", "--json", "--db", url, db=False).json()["campaigns"]) == 1

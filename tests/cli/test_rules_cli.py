"""``dialer rules load|show``: all or nothing."""

from __future__ import annotations

import pytest

from campaigns import dispositions


@pytest.mark.req("A13")
def test_new_campaign_has_default_rules(cli) -> None:
    assert cli("campaign", "create", "c").code == 0
    shown = cli("rules", "show", "--campaign", "c", "--json").json()
    codes = {r["code"] for r in shown["rules"]}
    assert set(dispositions.REQUIRED_SYSTEM_CODES) <= codes


@pytest.mark.req("A13")
def test_load_valid_file_replaces_rules(cli, tmp_path) -> None:
    assert cli("campaign", "create", "c").code == 0
    text = dispositions.default_rules_text().replace('code = "sale"', 'code = "appointment"')
    path = tmp_path / "rules.toml"
    path.write_text(text)
    result = cli("rules", "load", "--campaign", "c", str(path), "--json")
    assert result.code == 0, result.err
    codes = {r["code"] for r in cli("rules", "show", "--campaign", "c", "--json").json()["rules"]}
    assert "appointment" in codes and "sale" not in codes


@pytest.mark.req("A13")
def test_bad_file_is_refused_and_nothing_is_stored(cli, tmp_path) -> None:
    assert cli("campaign", "create", "c").code == 0
    before = cli("rules", "show", "--campaign", "c", "--json").json()
    text = dispositions.default_rules_text().replace('code = "sale"', 'code = "appointment"')
    text = text.replace('action = "dnc"', 'action = "blacklist"')
    path = tmp_path / "rules.toml"
    path.write_text(text)
    result = cli("rules", "load", "--campaign", "c", str(path), "--json")
    assert result.code == 2
    error = result.json()["error"]
    assert error["id"] == "rules-file-invalid"
    line = int(error["fields"]["line"])
    assert 'action = "blacklist"' in text.splitlines()[line - 1]
    assert cli("rules", "show", "--campaign", "c", "--json").json() == before

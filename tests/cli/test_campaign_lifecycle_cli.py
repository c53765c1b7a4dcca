"""``dialer campaign start|pause|stop`` and the checks made at start."""

from __future__ import annotations

import pytest


@pytest.mark.req("D1")
def test_start_pause_stop_are_audited_transitions(cli) -> None:
    assert cli("campaign", "create", "c").code == 0
    assert cli("campaign", "start", "c", "--json").json()["status"] == "active"
    assert cli("campaign", "pause", "c", "--json").json()["status"] == "paused"
    assert cli("campaign", "stop", "c", "--json").json()["status"] == "stopped"


@pytest.mark.req("C7")
def test_amd_with_the_sip_backend_is_refused_at_start(cli, monkeypatch) -> None:
    assert cli("campaign", "create", "c", "--amd").code == 0
    monkeypatch.setenv("DIALER_TELEPHONY__BACKEND", "sip")
    result = cli("campaign", "start", "c", "--json")
    assert result.code == 2
    error = result.json()["error"]
    assert error["id"] == "campaign-not-startable"
    assert "amd" in error["fields"] and "telephony.backend" in error["fields"]
    monkeypatch.setenv("DIALER_TELEPHONY__BACKEND", "ami")
    assert cli("campaign", "start", "c", "--json").json()["status"] == "active"


@pytest.mark.req("B9")
def test_telemarketing_refuses_to_start_without_a_fresh_registry_scrub(cli, tmp_path) -> None:
    assert cli("campaign", "create", "tm").code == 0
    path = tmp_path / "list.csv"
    path.write_text("first name,phone\nAnn,(212) 555-0101\n")
    assert cli("list", "load", "--campaign", "tm", str(path)).code == 0
    refused = cli("campaign", "start", "tm", "--json")
    assert refused.code == 2
    assert refused.json()["error"]["id"] == "registry-scrub-required"
    registry = tmp_path / "registry.txt"
    registry.write_text("+12125550199\n")
    imported = cli("dnc", "import", str(registry), "--source", "us-national")
    assert imported.code == 0, imported.err
    assert cli("campaign", "start", "tm", "--json").json()["status"] == "active"
    # Research calls are not covered by the registry rule.
    assert cli("campaign", "create", "survey", "--category", "research").code == 0
    assert cli("list", "load", "--campaign", "survey", str(path), "--name", "s2").code == 0
    assert cli("campaign", "start", "survey", "--json").json()["status"] == "active"

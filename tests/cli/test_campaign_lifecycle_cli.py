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

"""Caller-ID pools: local presence first, daily caps, load spread."""

from __future__ import annotations

import pytest

from campaigns import caller_ids
from campaigns.caller_ids import PoolNumber

POOL = [PoolNumber("+13055550100", "305", "US-FL", 2), PoolNumber("+18505550100", "850", "US-FL", 2),
        PoolNumber("+12125550100", "212", "US-NY", None)]


@pytest.mark.req("D6")
@pytest.mark.parametrize("callee, states, used, expected", [
    ("+18505551234", ["US-FL"], {}, ("+18505550100", "area_code")),
    ("+17275551234", ["US-FL"], {}, ("+13055550100", "state")),
    ("+17275551234", ["US-FL"], {"+13055550100": 1}, ("+18505550100", "state")),
    ("+18505551234", ["US-FL"], {"+18505550100": 2}, ("+13055550100", "state")),
    ("+14155551234", ["US-CA"], {}, ("+12125550100", "any")),
    ("+442079460958", [], {}, ("+12125550100", "any")),
])
def test_local_presence_and_caps(callee, states, used, expected) -> None:
    choice = caller_ids.choose(POOL, callee_e164=callee, callee_states=states, used_today=used,
                               default="+10000000000")
    assert (choice.e164, choice.match) == expected


@pytest.mark.req("D6")
def test_all_capped_means_no_caller_id() -> None:
    pool = [PoolNumber("+13055550100", "305", "US-FL", 1)]
    choice = caller_ids.choose(pool, callee_e164="+13055551234", callee_states=["US-FL"],
                               used_today={"+13055550100": 1}, default="+12125550100")
    assert choice == caller_ids.Choice(None, "capped")


@pytest.mark.req("D6")
def test_empty_pool_uses_the_campaign_caller_id() -> None:
    choice = caller_ids.choose([], callee_e164="+13055551234", callee_states=[], used_today={},
                               default="+12125550100")
    assert choice == caller_ids.Choice("+12125550100", "campaign_default")


@pytest.mark.req("D6")
def test_pool_cli_derives_area_code_and_state(cli) -> None:
    assert cli("campaign", "create", "c").code == 0
    result = cli("campaign", "callerid", "add", "c", "850-555-0100", "+1 212 555 0100",
                 "--daily-cap", "50", "--json")
    assert result.code == 0, result.err
    pool = {row["e164"]: row for row in result.json()["pool"]}
    assert pool["+18505550100"]["area_code"] == "850" and pool["+18505550100"]["state"] == "US-FL"
    assert pool["+12125550100"]["state"] == "US-NY" and pool["+12125550100"]["daily_cap"] == 50
    bad = cli("campaign", "callerid", "add", "c", "12")
    assert bad.code == 2
    assert cli("campaign", "callerid", "remove", "c", "+18505550100", "--json").json()["removed"] == 1

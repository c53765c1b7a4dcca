"""Caller-ID pools: which of a campaign's numbers to present to a callee (pure).

Local presence: a number with the callee's area code first, then one in the
callee's state or province, then any; each number has an optional daily cap,
and among equals the least used today wins, so the load spreads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PoolNumber:
    e164: str
    #: NANP area code it presents locally ("" = none).
    area_code: str = ""
    #: ISO 3166-2 subdivision it presents locally (``US-FL``; "" = none).
    state: str = ""
    #: calls a day at most (None = no cap).
    daily_cap: int | None = None


@dataclass(frozen=True)
class Choice:
    #: the number to present, or None when every number is capped.
    e164: str | None
    #: ``area_code``, ``state``, ``any``, ``campaign_default`` or ``capped``.
    match: str


def nanp_area_code(e164: str) -> str:
    """The area code of a NANP number, else "".

    >>> nanp_area_code("+18505550100"), nanp_area_code("+442079460958")
    ('850', '')
    """
    return e164[2:5] if e164.startswith("+1") and len(e164) == 12 else ""


def choose(pool: Sequence[PoolNumber], *, callee_e164: str, callee_states: Sequence[str],
           used_today: Mapping[str, int], default: str) -> Choice:
    """The caller ID for one call.

    Parameters
    ----------
    pool:
        The campaign's active pool numbers (empty = use ``default``).
    callee_e164:
        The number being dialled.
    callee_states:
        The callee's subdivisions (``US-FL``...), from the number and the address.
    used_today:
        Calls already placed today with each pool number.
    default:
        The campaign's caller ID, used when the pool is empty.

    >>> pool = [PoolNumber("+13055550100", "305", "US-FL"), PoolNumber("+18505550100", "850", "US-FL")]
    >>> choose(pool, callee_e164="+18505551234", callee_states=["US-FL"], used_today={}, default="")
    Choice(e164='+18505550100', match='area_code')
    """
    if not pool:
        return Choice(default or None, "campaign_default")
    available = [n for n in pool if n.daily_cap is None or used_today.get(n.e164, 0) < n.daily_cap]
    if not available:
        return Choice(None, "capped")
    area = nanp_area_code(callee_e164)
    states = set(callee_states)
    for match, keep in (("area_code", lambda n: area and n.area_code == area),
                        ("state", lambda n: n.state and n.state in states),
                        ("any", lambda n: True)):
        candidates = [n for n in available if keep(n)]
        if candidates:
            best = min(candidates, key=lambda n: (used_today.get(n.e164, 0), n.e164))
            return Choice(best.e164, match)
    raise AssertionError("unreachable: 'any' matches every available number")

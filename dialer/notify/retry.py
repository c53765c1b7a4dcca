"""What happens after a failed send: try again later, or give up (pure).

The wait doubles after every failure, from ``base_delay`` up to ``max_delay``;
after ``max_attempts`` attempts, or on a permanent error, the item is failed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from campaigns.enums import MessageStatus


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_delay: dt.timedelta
    max_delay: dt.timedelta


@dataclass(frozen=True)
class RetryDecision:
    """``status`` is ``retrying`` (with ``next_attempt_at``) or ``failed``."""

    status: MessageStatus
    next_attempt_at: dt.datetime | None


def backoff(attempts: int, policy: RetryPolicy) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt.

    >>> p = RetryPolicy(10, dt.timedelta(seconds=60), dt.timedelta(minutes=5))
    >>> [backoff(n, p).total_seconds() for n in (1, 2, 3, 4)]
    [60.0, 120.0, 240.0, 300.0]
    """
    factor = 2 ** min(max(attempts - 1, 0), 32)
    return min(policy.base_delay * factor, policy.max_delay)


def decide(attempts: int, policy: RetryPolicy, now: dt.datetime, *,
           is_permanent: bool = False) -> RetryDecision:
    """After ``attempts`` attempts (the failed one included), retry or fail.

    >>> p = RetryPolicy(3, dt.timedelta(seconds=10), dt.timedelta(hours=1))
    >>> now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> decide(2, p, now).next_attempt_at.isoformat()
    '2026-01-01T00:00:20+00:00'
    >>> decide(3, p, now).status.value, decide(1, p, now, is_permanent=True).status.value
    ('failed', 'failed')
    """
    if is_permanent or attempts >= policy.max_attempts:
        return RetryDecision(MessageStatus.FAILED, None)
    return RetryDecision(MessageStatus.RETRYING, now + backoff(attempts, policy))

"""Webhook signatures (pure): ``X-Dialer-Signature: t=<unix>,v1=<hex HMAC-SHA256>``.

The signed text is ``"<t>.<body>"``: the timestamp, a dot and the exact JSON
body sent, so a receiver can refuse a replayed request by its age (five
minutes by default) as well as a tampered one.  A header may carry several
``v1`` values (one per secret while a secret is being rotated); one match is
enough.

>>> header = sign("whsec_test", '{"type":"callback.cancelled"}', 1795000000)
>>> header
't=1795000000,v1=7088002c6f033fb0dd69f9a535ff44322d04726f69899008fc1f5870b9e24c63'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

#: the HTTP header that carries the signature.
HEADER = "X-Dialer-Signature"
#: receivers refuse a signature older (or further in the future) than this.
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, body: str | bytes, t: int) -> str:
    """The ``X-Dialer-Signature`` value for ``body`` sent at unix time ``t``.

    >>> sign("s", "{}", 0)
    't=0,v1=e79b1f685c78e46b2e3f94b5fbf00964e3e3d5ed4d1e270dcf671ac4cd2233fa'
    """
    return f"t={int(t)},v1={_digest(secret, body, int(t))}"


def verify(secret: str, header: str, body: str | bytes, now: dt.datetime,
           tolerance_s: float = DEFAULT_TOLERANCE_S) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance_s`` old.

    A malformed header, a wrong signature, a modified body, or a timestamp more
    than ``tolerance_s`` away from ``now`` (aware) all give ``False``.

    >>> now = dt.datetime.fromtimestamp(1795000000, dt.timezone.utc)
    >>> header = sign("s", '{"a":1}', 1795000000)
    >>> verify("s", header, '{"a":1}', now)
    True
    >>> verify("s", header, '{"a":2}', now), verify("other", header, '{"a":1}', now)
    (False, False)
    >>> verify("s", header, '{"a":1}', now + dt.timedelta(minutes=5, seconds=1))
    False
    >>> verify("s", "v1=abc", '{"a":1}', now)
    False
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime: now must be aware")
    parsed = _parse(header)
    if parsed is None:
        return False
    t, signatures = parsed
    if abs(now.timestamp() - t) > tolerance_s:
        return False
    expected = _digest(secret, body, t)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


def _parse(header: str) -> tuple[int, list[str]] | None:
    """``(t, [v1 signatures])`` of a header, ``None`` when malformed.

    >>> _parse("t=12,v1=ab,v1=cd,v0=zz")
    (12, ['ab', 'cd'])
    >>> _parse("t=x,v1=ab") is None, _parse("t=12") is None
    (True, True)
    """
    t: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            return None
        if key == "t":
            if not value.isdigit():
                return None
            t = int(value)
        elif key == "v1":
            signatures.append(value.lower())
    if t is None or not signatures:
        return None
    return t, signatures


def _digest(secret: str, body: str | bytes, t: int) -> str:
    payload = body.encode("utf-8") if isinstance(body, str) else body
    return hmac.new(secret.encode("utf-8"), f"{t}.".encode("ascii") + payload,
                    hashlib.sha256).hexdigest()

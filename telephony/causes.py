"""SIP final statuses, Q.850 causes and AMI ``OriginateResponse`` reasons -> :class:`CallOutcome`.

Pure tables and the rules that combine them.  Adapters call these at the edge;
no other module ever sees a SIP code or an AMI header.

>>> outcome_from_sip(486)
<CallOutcome.BUSY: 'busy'>
>>> outcome_from_q850(34)
<CallOutcome.CONGESTION: 'congestion'>
"""

from __future__ import annotations

from collections.abc import Iterable

from telephony.base import CallOutcome

O = CallOutcome

#: SIP final responses to an INVITE that did not lead to an answer.
SIP_OUTCOMES: dict[int, CallOutcome] = {
    486: O.BUSY,             # Busy Here
    600: O.BUSY,             # Busy Everywhere
    408: O.NO_ANSWER,        # Request Timeout
    480: O.NO_ANSWER,        # Temporarily Unavailable
    603: O.REJECTED,         # Decline
    404: O.INVALID_NUMBER,   # Not Found
    484: O.INVALID_NUMBER,   # Address Incomplete
    604: O.INVALID_NUMBER,   # Does Not Exist Anywhere
    410: O.INVALID_NUMBER,   # Gone
    502: O.CONGESTION,       # Bad Gateway
    503: O.CONGESTION,       # Service Unavailable
    504: O.CONGESTION,       # Server Time-out
    487: O.CANCELLED,        # Request Terminated (our CANCEL)
}

#: Q.850 (ISDN) cause values, as Asterisk reports them in ``Hangup`` ``Cause``.
Q850_OUTCOMES: dict[int, CallOutcome] = {
    1: O.INVALID_NUMBER,     # unallocated number
    2: O.INVALID_NUMBER,     # no route to transit network
    3: O.INVALID_NUMBER,     # no route to destination
    22: O.INVALID_NUMBER,    # number changed
    28: O.INVALID_NUMBER,    # invalid number format
    16: O.ANSWERED,          # normal clearing (only meaningful after an answer)
    17: O.BUSY,              # user busy
    18: O.NO_ANSWER,         # no user responding
    19: O.NO_ANSWER,         # no answer from user (user alerted)
    20: O.NO_ANSWER,         # subscriber absent
    21: O.REJECTED,          # call rejected
    34: O.CONGESTION,        # no circuit/channel available
    38: O.CONGESTION,        # network out of order
    41: O.CONGESTION,        # temporary failure
    42: O.CONGESTION,        # switching equipment congestion
    44: O.CONGESTION,        # requested channel not available
    27: O.FAILED,            # destination out of order
    31: O.FAILED,            # normal, unspecified
    127: O.FAILED,           # interworking, unspecified
}

#: AMI ``OriginateResponse`` ``Reason`` (Asterisk's AST_CONTROL_* value of the outbound half).
AMI_REASONS: dict[int, CallOutcome] = {
    0: O.FAILED,             # no such extension / channel could not be created
    1: O.NO_ANSWER,          # hung up before answer (remote end hung up)
    3: O.NO_ANSWER,          # ringing until the originate timeout
    4: O.ANSWERED,
    5: O.BUSY,
    8: O.CONGESTION,
}

#: DialEnd ``DialStatus`` of the far half.
DIAL_STATUSES: dict[str, CallOutcome] = {
    "ANSWER": O.ANSWERED,
    "BUSY": O.BUSY,
    "NOANSWER": O.NO_ANSWER,
    "CONGESTION": O.CONGESTION,
    "CHANUNAVAIL": O.FAILED,
    "CANCEL": O.CANCELLED,
    "INVALIDARGS": O.FAILED,
}

#: Q.850 causes that carry no information about why a call failed.
_UNINFORMATIVE_CAUSES = frozenset({0, 16, 31, 127})


def outcome_from_sip(status: int, *, is_answered: bool = False) -> CallOutcome:
    """The outcome of an INVITE whose final response was ``status``.

    >>> outcome_from_sip(200)
    <CallOutcome.ANSWERED: 'answered'>
    >>> outcome_from_sip(500)
    <CallOutcome.FAILED: 'failed'>
    """
    if is_answered or 200 <= status < 300:
        return O.ANSWERED
    return SIP_OUTCOMES.get(status, O.FAILED)


def outcome_from_q850(cause: int, *, is_answered: bool = False) -> CallOutcome:
    """The outcome a Q.850 hangup cause stands for (``failed`` when unknown).

    >>> outcome_from_q850(17)
    <CallOutcome.BUSY: 'busy'>
    >>> outcome_from_q850(16, is_answered=False)
    <CallOutcome.FAILED: 'failed'>
    """
    if is_answered:
        return O.ANSWERED
    outcome = Q850_OUTCOMES.get(cause, O.FAILED)
    return O.FAILED if outcome is O.ANSWERED else outcome


def most_informative_cause(causes: Iterable[int | None]) -> int | None:
    """The first cause that says why a call failed; the near half often shows 0 or 16.

    >>> most_informative_cause([0, None, 17])
    17
    >>> most_informative_cause([16, 0])
    16
    >>> most_informative_cause([])
    """
    known = [c for c in causes if c is not None]
    for cause in known:
        if cause not in _UNINFORMATIVE_CAUSES:
            return cause
    return max(known) if known else None


def outcome_from_ami(reason: int | None, causes: Iterable[int | None] = (),
                     dial_status: str | None = None, *, is_answered: bool = False,
                     is_ring_timeout: bool = False) -> CallOutcome:
    """Combine an ``OriginateResponse`` reason, the ``Hangup`` causes of both halves and ``DialEnd``.

    The far half may carry the busy (17) or congestion (34) cause while the near
    half shows 0 and the reason only says failure (0): the most specific
    evidence wins, in this order: an answer, a ring timeout, an informative
    Q.850 cause (it tells 603/21 from 486/17, which DialEnd may both call BUSY),
    the reason's busy (5) or congestion (8), the DialEnd status, the reason.

    >>> outcome_from_ami(0, [0, 17])
    <CallOutcome.BUSY: 'busy'>
    >>> outcome_from_ami(5, [])
    <CallOutcome.BUSY: 'busy'>
    >>> outcome_from_ami(3, [0], is_ring_timeout=True)
    <CallOutcome.NO_ANSWER: 'no_answer'>
    >>> outcome_from_ami(0, [0], "CONGESTION")
    <CallOutcome.CONGESTION: 'congestion'>
    """
    if is_answered or reason == 4 or dial_status == "ANSWER":
        return O.ANSWERED
    if is_ring_timeout or reason == 3:
        return O.NO_ANSWER
    cause = most_informative_cause(causes)
    if cause is not None and cause not in _UNINFORMATIVE_CAUSES:
        return outcome_from_q850(cause)
    if reason in (5, 8):
        return AMI_REASONS[reason]
    if dial_status in DIAL_STATUSES and DIAL_STATUSES[dial_status] is not O.FAILED:
        return DIAL_STATUSES[dial_status]
    if reason is None:
        return O.FAILED
    return AMI_REASONS.get(reason, O.FAILED)

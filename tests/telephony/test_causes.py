"""The mapping tables of ``telephony.causes``, row by row."""

from __future__ import annotations

import pytest

from telephony import causes
from telephony.base import CallOutcome as O


@pytest.mark.req("C8")
@pytest.mark.parametrize("status, outcome", [
    (200, O.ANSWERED), (486, O.BUSY), (600, O.BUSY), (408, O.NO_ANSWER), (480, O.NO_ANSWER),
    (603, O.REJECTED), (404, O.INVALID_NUMBER), (484, O.INVALID_NUMBER),
    (604, O.INVALID_NUMBER), (410, O.INVALID_NUMBER), (502, O.CONGESTION), (503, O.CONGESTION),
    (504, O.CONGESTION), (487, O.CANCELLED), (500, O.FAILED), (403, O.FAILED), (488, O.FAILED),
    (0, O.FAILED),
])
def test_sip_status_maps_to_outcome(status: int, outcome: O) -> None:
    assert causes.outcome_from_sip(status) is outcome


@pytest.mark.req("C8")
def test_every_sip_table_row_is_a_final_failure_status() -> None:
    assert all(400 <= status < 700 for status in causes.SIP_OUTCOMES)


@pytest.mark.req("C1")
@pytest.mark.parametrize("cause, outcome", [
    (1, O.INVALID_NUMBER), (3, O.INVALID_NUMBER), (28, O.INVALID_NUMBER), (17, O.BUSY),
    (18, O.NO_ANSWER), (19, O.NO_ANSWER), (20, O.NO_ANSWER), (21, O.REJECTED),
    (34, O.CONGESTION), (38, O.CONGESTION), (41, O.CONGESTION), (42, O.CONGESTION),
    (27, O.FAILED), (16, O.FAILED), (0, O.FAILED), (99, O.FAILED),
])
def test_q850_cause_maps_to_outcome(cause: int, outcome: O) -> None:
    assert causes.outcome_from_q850(cause) is outcome


@pytest.mark.req("C1")
def test_normal_clearing_after_answer_is_answered() -> None:
    assert causes.outcome_from_q850(16, is_answered=True) is O.ANSWERED


@pytest.mark.req("C12")
@pytest.mark.parametrize("reason, hangup_causes, dial_status, outcome", [
    (4, [16, 16], "ANSWER", O.ANSWERED),
    (5, [17], None, O.BUSY),
    (8, [34], None, O.CONGESTION),
    (3, [0], None, O.NO_ANSWER),          # ring timeout: no DialEnd
    (1, [0, 17, 17], "BUSY", O.BUSY),     # busy only on the far half
    (0, [0, 17], None, O.BUSY),           # near half shows 0, far half 17, no DialEnd yet
    (1, [0, 34], None, O.CONGESTION),
    (1, [0, 21, 21], "BUSY", O.REJECTED),  # DialEnd says BUSY for a decline; the cause is exact
    (0, [0, 1], "CHANUNAVAIL", O.INVALID_NUMBER),
    (0, [], None, O.FAILED),              # channel could not be created (Uniqueid <unknown>)
    (1, [16], "NOANSWER", O.NO_ANSWER),
    (1, [0], "CONGESTION", O.CONGESTION),
    (None, [], None, O.FAILED),
])
def test_ami_reason_causes_and_dial_status_combine(reason: int | None, hangup_causes: list[int],
                                                   dial_status: str | None, outcome: O) -> None:
    assert causes.outcome_from_ami(reason, hangup_causes, dial_status) is outcome


@pytest.mark.req("C12")
@pytest.mark.parametrize("reason, outcome", sorted(causes.AMI_REASONS.items()))
def test_ami_reason_alone_maps_to_outcome(reason: int, outcome: O) -> None:
    assert causes.outcome_from_ami(reason) is outcome


@pytest.mark.req("C12")
def test_order_of_hangup_causes_does_not_matter() -> None:
    assert causes.most_informative_cause([17, 0]) == causes.most_informative_cause([0, 17]) == 17

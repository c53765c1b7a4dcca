"""Logging masks phone numbers at INFO and above."""

from __future__ import annotations

import io
import logging

import pytest

from dialer import logs


@pytest.mark.req("A6")
@pytest.mark.parametrize("text, expected", [
    ("calling +14155552671 now", "calling ***2671 now"),
    ("number (415) 555-2671 busy", "number ***2671 busy"),
    ("uk +44 20 7946 0958", "uk ***0958"),
    ("record 12345 attempt 7", "record 12345 attempt 7"),
    ("at 2026-11-21T14:39:08.048161+00:00", "at 2026-11-21T14:39:08.048161+00:00"),
    ("rtp 127.0.0.1:20000", "rtp 127.0.0.1:20000"),
])
def test_mask_text(text, expected) -> None:
    assert logs.mask_text(text) == expected


@pytest.mark.req("A6")
def test_filter_masks_info_but_keeps_debug() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.MaskingFilter())
    logger = logging.getLogger("test.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.info("dialling %s for record %d", "+14155552671", 42)
        logger.debug("dialling %s", "+14155552671")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines == ["dialling ***2671 for record 42", "dialling +14155552671"]

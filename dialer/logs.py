"""Logging set-up through the standard library, with phone numbers masked at INFO and above."""

from __future__ import annotations

import logging
import logging.config
import re
import tomllib
from typing import Any

# A phone number: 7 or more digits, possibly with +, spaces, dots, dashes and parentheses.
# Not after a colon or a digit group with a dot (times such as 14:39:08.048161 are no numbers).
_NUMBER = re.compile(r"(?<![\w:.])(?:\+|\()?\d(?:[ ().-]*\d){6,}(?![\w:])")


def mask_number(number: str) -> str:
    """Keep only the last four digits.

    >>> mask_number("+1 (415) 555-2671")
    '***2671'
    """
    digits = re.sub(r"\D", "", number)
    return "***" + digits[-4:]


def mask_text(text: str) -> str:
    """Mask every phone number in ``text``.

    >>> mask_text("dialling +14155552671 for record 12")
    'dialling ***2671 for record 12'
    """
    return _NUMBER.sub(lambda m: mask_number(m.group(0)), text)


class MaskingFilter(logging.Filter):
    """Masks phone numbers in records at INFO and above (DEBUG keeps them for diagnosis)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            message = record.getMessage()
            masked = mask_text(message)
            if masked != message:
                record.msg, record.args = masked, None
        return True


def configure(section: Any) -> None:
    """Configure the root logger from the ``[logging]`` section (once per process)."""
    root = logging.getLogger()
    if getattr(root, "_dialer_configured", False):
        return
    if section.config_file:
        with open(section.config_file, "rb") as handle:
            logging.config.dictConfig(tomllib.load(handle))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(section.level)
    # Alembic reports every migration step at INFO; the commands say what they did.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for handler in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
    root._dialer_configured = True  # type: ignore[attr-defined]

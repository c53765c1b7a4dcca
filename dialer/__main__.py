"""``python -m dialer``: the same as the ``dialer`` command."""

import sys

from dialer.cli import run

sys.exit(run())

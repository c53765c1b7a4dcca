"""The ``dialer`` command: finds its sub-commands and turns every failure into an exit code.

Exit codes: 0 success, 2 bad input or usage (one line on stderr, never a
traceback), 1 a runtime failure.  With ``--json`` an error is also printed as
``{"error": {"id", "message", "fields"}}`` on stdout.  Each module of this
package (but ``common``) exposes a click command or group named ``command``.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys

import click

from dialer.cli import common

logger = logging.getLogger(__name__)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@common.common_options
def main() -> None:
    """Outbound campaign dialer and callback scheduler."""


def _register() -> None:
    package = sys.modules[__name__]
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            main.add_command(command)


_register()


def run(argv: list[str] | None = None) -> int:
    """Entry point of the ``dialer`` console script; returns (and exits with) the code."""
    return _invoke(list(sys.argv[1:] if argv is None else argv))


def _invoke(argv: list[str]) -> int:
    as_json = common.json_requested(argv)
    try:
        result = main.main(args=argv, prog_name="dialer", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        common.print_error("aborted", "aborted", {}, as_json)
        return 1
    except click.ClickException as exc:
        field = getattr(getattr(exc, "param", None), "name", None)
        common.print_error("usage", exc.format_message(), {field: exc.format_message()}
                           if field else {}, as_json)
        return 2
    except (KeyboardInterrupt, BrokenPipeError):
        return 1
    except Exception as exc:  # the outermost boundary: one line, an exit code, no traceback
        is_input = bool(getattr(exc, "is_input_error", False))
        error_id = getattr(exc, "error_id", "internal-error")
        fields = getattr(exc, "fields", {}) or {}
        message = str(exc) or type(exc).__name__
        if not hasattr(exc, "error_id"):
            message = f"{type(exc).__name__}: {message}"
            if os.environ.get("DIALER_DEBUG"):
                logger.exception("unexpected error")
        common.print_error(error_id, message, fields, as_json)
        return 2 if is_input else 1

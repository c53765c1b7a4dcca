"""``dialer bench …``: benchmarks that print one JSON object.

Each module of :mod:`dialer.benchmarks` exposes a click command named ``command``.
"""

from __future__ import annotations

import importlib
import pkgutil

import click

from dialer import benchmarks


@click.group("bench")
def command() -> None:
    """Benchmarks (JSON on stdout, ratios against a baseline measured in the same run)."""


for _info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
    _module = importlib.import_module(f"{benchmarks.__name__}.{_info.name}")
    if isinstance(getattr(_module, "command", None), click.Command):
        command.add_command(_module.command)

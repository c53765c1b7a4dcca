"""Real components the tests need: skip locally when one is missing, fail when CI is set."""

from __future__ import annotations

import os
import shutil

import pytest


def is_ci() -> bool:
    return bool(os.environ.get("CI"))


def missing(what: str) -> None:
    """Skip (developer machine) or fail (CI) because ``what`` is not available."""
    if is_ci():
        pytest.fail(f"{what} is required in CI but is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


def binary(name: str, *candidates: str) -> str:
    """The path of an executable, or skip/fail."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate)
        if found:
            return found
    missing(f"the {name!r} executable")
    raise AssertionError("unreachable")

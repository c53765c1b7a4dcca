"""Traceability: every requirement id of an issue in progress or done has a test marked with it."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "requirements.md"
_SECTION = re.compile(r"^## Issue (\d+) — .*\(status: (done|in progress|planned)\)\s*$")
_LINE = re.compile(r"^- ([A-Z]\d+)( \(pending\))?: \S")


def documented() -> dict[str, str]:
    """Requirement id -> status of its issue (``pending`` for a pending id of an issue in progress)."""
    ids: dict[str, str] = {}
    status = None
    for line in DOC.read_text("utf-8").splitlines():
        section = _SECTION.match(line)
        if section:
            status = section.group(2)
            continue
        if line.startswith("- "):
            match = _LINE.match(line)
            assert match and status, f"malformed requirement line: {line!r}"
            assert match.group(1) not in ids, f"{match.group(1)} is listed twice"
            is_pending = bool(match.group(2))
            assert not (is_pending and status == "done"), f"{match.group(1)}: pending in a done issue"
            ids[match.group(1)] = "pending" if is_pending else status
    return ids


@functools.lru_cache(maxsize=1)
def marked_ids() -> frozenset[str]:
    """Ids used in req marks by collected tests (through pytest, so a mark must be real)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-p", "tests.req_report", str(ROOT / "tests")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    found = set(re.findall(r"^REQ ([A-Z]\d+)$", result.stdout, re.MULTILINE))
    assert found, f"collection found no req marks:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return frozenset(found)


def test_requirements_doc_is_well_formed() -> None:
    ids = documented()
    assert {"A1", "B1", "C1", "D1", "E1", "F1"} <= set(ids)


def test_every_active_requirement_has_a_test() -> None:
    ids = documented()
    marked = marked_ids()
    missing = sorted((i for i, s in ids.items() if s in ("done", "in progress") and i not in marked),
                     key=lambda i: (i[0], int(i[1:])))
    assert not missing, f"requirement ids with no @pytest.mark.req test: {missing}"
    stale = sorted(i for i, s in ids.items() if s == "pending" and i in marked)
    assert not stale, f"ids marked (pending) that have tests now: {stale}"
    unknown = sorted(marked - set(ids))
    assert not unknown, f"req marks naming ids not in docs/requirements.md: {unknown}"

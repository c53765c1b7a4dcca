"""Do-not-call files: one number a line, any format, imported in batches.

``dialer dnc import`` and ``POST /api/dnc/import`` both call :func:`import_file`;
they differ only in how the file arrives and how errors are shown.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from campaigns import phones
from campaigns.store import audit
from campaigns.store import dnc as dnc_store

#: region of numbers without a country code, per registry.
REGISTRY_REGIONS = {"us-national": "US", "ca-dncl": "CA", "uk-tps": "GB"}
#: numbers added (and records marked) per statement.
BATCH = 5000


def numbers_of(path: Path, encoding: str, region: str, counts: dict[str, int],
               unreadable: list[int]) -> Iterator[str]:
    """One number a line, any format; blank lines and ``#`` comments skipped.

    Counts the lines read in ``counts["lines"]`` and appends the numbers of the lines
    that hold no phone number to ``unreadable``.
    """
    normalise = phones.Normaliser(region)
    with path.open(encoding=encoding, newline="") as handle:
        for line_no, line in enumerate(handle, 1):
            value = line.split("#", 1)[0].replace(",", "").strip()
            if not value:
                continue
            counts["lines"] += 1
            number = normalise(value)
            if number is None:
                unreadable.append(line_no)
            else:
                yield number.e164


def import_file(session: Session, path: Path, *, encoding: str, region: str, source: str,
                campaign_id: int | None, now: dt.datetime, label: str,
                actor: str = "system") -> dict[str, Any]:
    """Add every number of the file at ``path`` to a DNC list; mark the records it holds.

    ``label`` names the file in the audit event (the client's name, not a server path).
    Returns the summary both front ends print: scope, source, lines, added,
    already_listed, records_marked, unreadable and the first 20 unreadable lines.
    """
    counts = {"lines": 0, "added": 0, "already_listed": 0, "records_marked": 0}
    unreadable: list[int] = []
    numbers = numbers_of(path, encoding, region, counts, unreadable)
    while batch := list(itertools.islice(numbers, BATCH)):
        added = dnc_store.add(session, batch, campaign_id=campaign_id, source=source, now=now)
        counts["added"] += len(added)
        counts["already_listed"] += len(set(batch)) - len(added)
        counts["records_marked"] += dnc_store.mark_records(session, added,
                                                           campaign_id=campaign_id, now=now)
    scope = dnc_store.scope_for(campaign_id)
    if source in dnc_store.REGISTRY_SOURCES:
        dnc_store.record_scrub(session, source, counts["lines"] - len(unreadable), now)
    audit.record(session, action="dnc.import", entity="dnc_entry", entity_id=scope,
                 actor=actor, at=now, details={"file": label, "source": source, **counts,
                                               "unreadable": len(unreadable)})
    return {"scope": scope, "source": source, **counts, "unreadable": len(unreadable),
            "unreadable_lines": unreadable[:20]}

"""A pytest plugin printing ``REQ <id>`` for every req mark of the collected tests."""

from __future__ import annotations


def pytest_collection_finish(session) -> None:
    ids = set()
    for item in session.items:
        for mark in item.iter_markers("req"):
            ids.update(mark.args)
    for req_id in sorted(ids):
        print(f"REQ {req_id}")

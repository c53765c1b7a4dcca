"""``dialer demo`` (what ``make demo`` runs): a fresh database, campaign, agents and sample list."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from campaigns import db, models
from dialer.cli import demo


@pytest.mark.req("A2")
def test_demo_builds_everything_from_nothing(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("demo", "--setup-only", "--json", db=False)
    assert result.code == 0, result.err
    shown = result.json()
    assert shown["database"] == f"sqlite:///{demo.DEMO_DB}"
    assert shown["list"]["rows"] >= 100
    assert shown["list"]["imported"] > 0 and shown["list"]["rows"] > shown["list"]["imported"]
    assert sum(shown["list"]["rejected"].values()) == shown["list"]["rows"] - shown["list"]["imported"]
    imported = sum(load["imported"] for load in shown["lists"])
    assert shown["dialable"]["allowed_now"] + sum(shown["dialable"]["waiting"].values()) == imported
    assert shown["registries"] == {"us-national": 4, "uk-tps": 2, "ca-dncl": 2}
    assert shown["admin"].startswith("admin:") and shown["agent"].startswith("agent1:")
    engine = db.make_engine(shown["database"])
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(models.Record)) == imported
        assert connection.scalar(select(func.count()).select_from(models.User)) == 3
        assert connection.scalar(select(func.count()).select_from(models.CallingList)) == 2
        assert connection.scalar(select(func.count()).select_from(models.DispositionRule)) > 10
    engine.dispose()
    # A second run starts fresh rather than failing on the existing campaign.
    again = cli("demo", "--setup-only", "--json", db=False)
    assert again.code == 0, again.err
    assert again.json()["list"]["imported"] == shown["list"]["imported"]

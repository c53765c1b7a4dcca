"""far-off retries wait in their day's first hour until their day is near

With (status, due_hour) by the hour, a batch of adds spread over a week went
to the tails of up to 168 hours: about 170 pages of the index written by each
commit of 500 adds at 1M pending, a third of the add's time.  A retry added two
or more UTC days before its day now waits in the first hour of that day (a
coarse slot) until a timer's pass the day before refines it (``hourly`` set).
``due_hour`` is never after the row's own hour, so the passes' conditions
hold as before.
The expressions are those of campaigns.db.slot_sql and far_sql when this was written.

Revision ID: d11c7a8b9c0d
Revises: d11b5e6f7a8b
Create Date: 2026-11-22 08:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = 'd11c7a8b9c0d'
down_revision = 'd11b5e6f7a8b'
branch_labels = None
depends_on = None

HOUR = {"sqlite": "(CAST(strftime('%s', {}) AS INTEGER) / 3600)",
        "postgresql": "CAST(floor(extract(epoch FROM (({}) AT TIME ZONE 'UTC')) / 3600) AS INTEGER)"}
FAR = {"sqlite": "NOT hourly AND earliest_at >= date(created_at, '+2 days')",
       "postgresql": "NOT hourly AND (earliest_at AT TIME ZONE 'UTC') >= "
                     "date_trunc('day', created_at AT TIME ZONE 'UTC') + interval '2 days'"}


def _due_hour(dialect: str, expression: str) -> None:
    op.drop_index('ix_retry_status_due', table_name='retry')
    op.execute("ALTER TABLE retry DROP COLUMN due_hour")
    # SQLite adds only virtual generated columns to a table that exists.
    kind = "VIRTUAL" if dialect == "sqlite" else "STORED"
    op.execute(f"ALTER TABLE retry ADD COLUMN due_hour INTEGER GENERATED ALWAYS AS ({expression}) "
               f"{kind}")
    op.create_index('ix_retry_status_due', 'retry', ['status', 'due_hour'], unique=False)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    false = "0" if dialect == "sqlite" else "false"
    op.execute(f"ALTER TABLE retry ADD COLUMN hourly BOOLEAN DEFAULT {false} NOT NULL")
    due = HOUR[dialect].format("earliest_at")
    _due_hour(dialect, f"CASE WHEN {FAR[dialect]} THEN {due} / 24 * 24 ELSE {due} END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _due_hour(dialect, HOUR[dialect].format("earliest_at"))
    op.execute("ALTER TABLE retry DROP COLUMN hourly")

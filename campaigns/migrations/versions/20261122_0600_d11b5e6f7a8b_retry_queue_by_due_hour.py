"""pending retries indexed by the hour they come due, then by age

Through (status, earliest_at) every add went to a random place among all the
pending rows: a batch of 500 adds dirtied about 670 pages of that index (93 % of
what its commit wrote at 1M pending).  ``due_hour``, a generated column (the
whole UTC hours since 1970 of ``earliest_at``; virtual on SQLite, stored on
PostgreSQL), puts each add at the tail of its hour: (status, due_hour) then the
row id.  The expressions are those of campaigns.db.hour_sql when this was written.

Revision ID: d11b5e6f7a8b
Revises: d11a2b3c4d5e
Create Date: 2026-11-22 06:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = 'd11b5e6f7a8b'
down_revision = 'd11a2b3c4d5e'
branch_labels = None
depends_on = None

SQLITE = "(CAST(strftime('%s', earliest_at) AS INTEGER) / 3600)"
POSTGRESQL = "CAST(floor(extract(epoch FROM ((earliest_at) AT TIME ZONE 'UTC')) / 3600) AS INTEGER)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds only virtual generated columns to a table that exists.
        op.execute(f"ALTER TABLE retry ADD COLUMN due_hour INTEGER GENERATED ALWAYS AS ({SQLITE}) "
                   "VIRTUAL")
    else:
        op.execute(f"ALTER TABLE retry ADD COLUMN due_hour INTEGER GENERATED ALWAYS AS "
                   f"({POSTGRESQL}) STORED")
    op.drop_index('ix_retry_status_earliest', table_name='retry')
    op.create_index('ix_retry_status_due', 'retry', ['status', 'due_hour'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_retry_status_due', table_name='retry')
    op.create_index('ix_retry_status_earliest', 'retry', ['status', 'earliest_at'], unique=False)
    op.execute("ALTER TABLE retry DROP COLUMN due_hour")

"""index the due retries and the passed callbacks

Each timer pass (campaigns.store.retry_queue.release_due) looks for the
earliest pending retries nobody has claimed or released, and for the open
callbacks whose window has passed.  Through (status, earliest_at) a pass
walked past every row earlier passes had released (they stay pending until the
hopper claims them): the n-th pass of a backlog read n times the rows it
handled.  Through (status, window_start_at) it read every open callback.

Revision ID: d11a2b3c4d5e
Revises: 5c1d2e3f4a5b
Create Date: 2026-11-22 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'd11a2b3c4d5e'
down_revision = '5c1d2e3f4a5b'
branch_labels = None
depends_on = None

DUE = "status = 'pending' AND claimed_by IS NULL"
OPEN = "status IN ('scheduled', 'due', 'reopened')"


def upgrade() -> None:
    op.create_index('ix_retry_due', 'retry', ['earliest_at', 'id'], unique=False,
                    sqlite_where=sa.text(DUE), postgresql_where=sa.text(DUE))
    op.create_index('ix_callback_open_end', 'callback', ['window_end_at'], unique=False,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index('ix_callback_open_end', table_name='callback')
    op.drop_index('ix_retry_due', table_name='retry')

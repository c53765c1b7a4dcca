"""index the open callbacks by the end of their window

Each timer pass (campaigns.store.retry_queue.release_due) looks for the open
callbacks whose window has passed.  Through (status, window_start_at) it read
every open callback (50,000 of them in the queue benchmark, each pass).

Revision ID: d11a2b3c4d5e
Revises: a20b1c2d3e4f
Create Date: 2026-11-22 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'd11a2b3c4d5e'
down_revision = 'a20b1c2d3e4f'
branch_labels = None
depends_on = None

OPEN = "status IN ('scheduled', 'due', 'reopened')"


def upgrade() -> None:
    op.create_index('ix_callback_open_end', 'callback', ['window_end_at'], unique=False,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index('ix_callback_open_end', table_name='callback')

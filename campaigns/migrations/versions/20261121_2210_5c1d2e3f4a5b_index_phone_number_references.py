"""index the references to phone numbers

attempt, retry and callback point at phone_number with ON DELETE SET NULL.
Without an index on those columns every deleted number (an erasure, the
removal of a campaign with a million numbers) scans the whole attempt, retry
and callback tables.

Revision ID: 5c1d2e3f4a5b
Revises: aac98a1eb76c
Create Date: 2026-11-21 22:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '5c1d2e3f4a5b'
down_revision = 'aac98a1eb76c'
branch_labels = None
depends_on = None

TABLES = ('attempt', 'retry', 'callback')


def upgrade() -> None:
    for table in TABLES:
        op.create_index(op.f(f'ix_{table}_phone_number_id'), table, ['phone_number_id'],
                        unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(op.f(f'ix_{table}_phone_number_id'), table_name=table)

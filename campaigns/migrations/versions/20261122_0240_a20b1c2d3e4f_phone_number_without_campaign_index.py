"""phone numbers: no index on campaign_id alone

A list load inserts one entry per number into every index of phone_number;
the index on campaign_id alone served only reads of a whole campaign's numbers
(a load's start, the startup checks, a campaign's removal), which scan the
unique (e164, campaign_id) index or the table once instead.  At 1M rows the
load's inserts and its checkpoint cost about 2 s less.

Revision ID: a20b1c2d3e4f
Revises: 5c1d2e3f4a5b
Create Date: 2026-11-22 02:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = 'a20b1c2d3e4f'
down_revision = '5c1d2e3f4a5b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f('ix_phone_number_campaign_id'), table_name='phone_number')


def downgrade() -> None:
    op.create_index(op.f('ix_phone_number_campaign_id'), 'phone_number', ['campaign_id'],
                    unique=False)

"""phone numbers: one unique index by number, then campaign

The unique (campaign_id, e164) constraint and the index on e164 were two
random-key indexes, each walked once per number a list load inserts.  One
unique (e164, campaign_id) serves the look-ups of both; campaign_id gets its
own index (its keys grow at the end).  On SQLite the table is copied.

Revision ID: aac98a1eb76c
Revises: d5412f0db95c
Create Date: 2026-11-21 19:58:11.494798
"""

from __future__ import annotations

from alembic import op


revision = 'aac98a1eb76c'
down_revision = 'd5412f0db95c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('phone_number', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phone_number_e164'))
        batch_op.drop_constraint(batch_op.f('uq_phone_number_campaign_id'), type_='unique')
        batch_op.create_index(batch_op.f('ix_phone_number_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_phone_number_e164'), ['e164', 'campaign_id'])


def downgrade() -> None:
    with op.batch_alter_table('phone_number', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_phone_number_e164'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_phone_number_campaign_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_phone_number_campaign_id'), ['campaign_id', 'e164'])
        batch_op.create_index(batch_op.f('ix_phone_number_e164'), ['e164'], unique=False)

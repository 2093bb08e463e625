"""the outbox: messages Coopbot sends first, and sealed chat addresses

Revision ID: 0005_outbox
Revises: 0004_user_region
Create Date: 2026-12-02 13:45:00

Two new tables, nothing else changed.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_outbox'
down_revision: str | None = '0004_user_region'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('user_key', sa.String(length=128), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('message', sa.JSON(), nullable=False),
        sa.Column('render', sa.JSON(), nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('workshop_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('claimed_by', sa.BigInteger(), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key'),
    )
    op.create_index('ix_outbox_state_due', 'outbox', ['state', 'channel', 'due_at'])
    op.create_index(op.f('ix_outbox_user_key'), 'outbox', ['user_key'])
    op.create_index(op.f('ix_outbox_workshop_id'), 'outbox', ['workshop_id'])
    op.create_table(
        'chat_addresses',
        sa.Column('user_key', sa.String(length=128), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('sealed', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('unreachable_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('user_key', 'channel'),
    )


def downgrade() -> None:
    op.drop_table('chat_addresses')
    op.drop_index(op.f('ix_outbox_workshop_id'), table_name='outbox')
    op.drop_index(op.f('ix_outbox_user_key'), table_name='outbox')
    op.drop_index('ix_outbox_state_due', table_name='outbox')
    op.drop_table('outbox')

"""replies kept until the channel has delivered them

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:00:00

A process killed after the commit of a message but before its replies reached the
platform used to drop the redelivered event as a duplicate: the person never saw
the next question. The replies are now stored with the event, with the key of
the person they are for (so that « /oublier » finds them) and the number of the
worker sending them (see storage/liveness.py), and cleared once the channel has
sent them.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replies', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('owner', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('handler', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.drop_column('handler')
        batch_op.drop_column('owner')
        batch_op.drop_column('replies')

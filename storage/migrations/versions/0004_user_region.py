"""where the person said they are: users.territory

Revision ID: 0004_user_region
Revises: 0003
Create Date: 2026-12-02 14:00:00

« Qui contacter ? » depends on the region: a person says it once with ``/region``
and contact answers name their regional bodies. The place is kept with the person
(a department code such as « 35 » or « 2A », else a region id such as
« bretagne »), shown by ``/mesdonnees`` and deleted with the row by ``/oublier``.
A nullable column of its own: no data to move, and a downgrade only drops it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_user_region'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('territory', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('territory')

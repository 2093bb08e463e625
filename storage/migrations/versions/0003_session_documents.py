"""a session is one row; invitations get their own table

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00

A message reads and writes exactly one flow session. Its answers (one row each in
``answers``) and its summary (a row in ``summaries``) become JSON documents in the
session's own row: one row read and one row written per message instead of a join,
a diff and an upsert per answer. The person's active session, kept inside the
``state`` JSON, becomes a column (``users.active_session_id``) so that the person
and their session are read in one query. Co-facilitation invitations move from
``key_values`` rows (``cofac:<token>`` → ``<id>|<expiry>``) to a table of their own.
"""
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INVITE_PREFIX = "cofac:"


def _iso(moment: Any) -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def upgrade() -> None:
    op.add_column('users', sa.Column('active_session_id', sa.Integer(), nullable=True))
    op.add_column('flow_sessions', sa.Column('answers', sa.JSON(), nullable=True))
    op.add_column('flow_sessions', sa.Column('summary', sa.JSON(), nullable=True))
    invitations = op.create_table(
        'workshop_invitations',
        sa.Column('token', sa.String(length=16), nullable=False),
        sa.Column('workshop_id', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token'),
    )
    op.create_index(op.f('ix_workshop_invitations_workshop_id'), 'workshop_invitations',
                    ['workshop_id'], unique=False)
    _move_data(op.get_bind(), invitations)
    op.drop_table('answers')
    op.drop_table('summaries')
    with op.batch_alter_table('flow_sessions', schema=None) as batch_op:
        batch_op.alter_column('answers', existing_type=sa.JSON(), nullable=False)


def _move_data(bind: sa.engine.Connection, invitations: sa.Table) -> None:
    meta = sa.MetaData()
    answers = sa.Table('answers', meta, autoload_with=bind)
    summaries = sa.Table('summaries', meta, autoload_with=bind)
    sessions = sa.Table('flow_sessions', meta, autoload_with=bind)
    users = sa.Table('users', meta, autoload_with=bind)
    key_values = sa.Table('key_values', meta, autoload_with=bind)

    documents: dict[int, dict[str, Any]] = {}
    for row in bind.execute(sa.select(answers).order_by(answers.c.id)):
        answer = {"value": row.value, "at": _iso(row.answered_at)}
        if row.comment:
            answer["comment"] = row.comment
        documents.setdefault(row.session_id, {})[row.step_id] = answer
    kept = {row.session_id: row.data for row in bind.execute(sa.select(summaries))}
    for (session_id,) in bind.execute(sa.select(sessions.c.id)).all():
        bind.execute(sessions.update().where(sessions.c.id == session_id).values(
            answers=documents.get(session_id, {}), summary=kept.get(session_id)))

    for user_id, state in bind.execute(sa.select(users.c.id, users.c.state)).all():
        state = dict(state or {})
        active = state.pop("session_id", None)
        bind.execute(users.update().where(users.c.id == user_id).values(
            state=state, active_session_id=int(active) if active else None))

    workshops = {row[0] for row in bind.execute(sa.text("SELECT id FROM workshops"))}
    rows = bind.execute(sa.select(key_values.c.key, key_values.c.value).where(
        key_values.c.key.startswith(_INVITE_PREFIX))).all()
    for key, value in rows:
        workshop_id, _, expires = value.partition("|")
        if workshop_id.isdigit() and int(workshop_id) in workshops and expires:
            bind.execute(invitations.insert().values(
                token=key[len(_INVITE_PREFIX):], workshop_id=int(workshop_id),
                expires_at=datetime.fromisoformat(expires)))
    bind.execute(key_values.delete().where(key_values.c.key.startswith(_INVITE_PREFIX)))


def downgrade() -> None:
    bind = op.get_bind()
    answers = op.create_table(
        'answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('step_id', sa.String(length=32), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['flow_sessions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'step_id'),
    )
    summaries = op.create_table(
        'summaries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['flow_sessions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id'),
    )
    meta = sa.MetaData()
    sessions = sa.Table('flow_sessions', meta, autoload_with=bind)
    users = sa.Table('users', meta, autoload_with=bind)
    key_values = sa.Table('key_values', meta, autoload_with=bind)
    invitations = sa.Table('workshop_invitations', meta, autoload_with=bind)
    for row in bind.execute(sa.select(sessions)).all():
        for step_id, answer in (row.answers or {}).items():
            bind.execute(answers.insert().values(
                session_id=row.id, step_id=step_id, value=answer.get("value"),
                comment=answer.get("comment"),
                answered_at=datetime.fromisoformat(answer["at"])))
        if row.summary is not None:
            bind.execute(summaries.insert().values(session_id=row.id, data=row.summary,
                                                   created_at=row.updated_at))
    for user_id, state, active in bind.execute(
            sa.select(users.c.id, users.c.state, users.c.active_session_id)).all():
        if active:
            bind.execute(users.update().where(users.c.id == user_id).values(
                state={**(state or {}), "session_id": active}))
    for token, workshop_id, expires in bind.execute(sa.select(invitations)).all():
        bind.execute(key_values.insert().values(
            key=_INVITE_PREFIX + token, value=f"{workshop_id}|{_iso(expires)}",
            updated_at=datetime.now(UTC)))
    op.drop_index(op.f('ix_workshop_invitations_workshop_id'),
                  table_name='workshop_invitations')
    op.drop_table('workshop_invitations')
    with op.batch_alter_table('flow_sessions', schema=None) as batch_op:
        batch_op.drop_column('summary')
        batch_op.drop_column('answers')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('active_session_id')

"""The tables: everything Coopbot remembers, declared once with typed columns.

People are known only by a pseudonymous ``key`` (see ``bot.identity``). A flow
session is one row holding its whole state — the answers included, as one JSON
document — because a message reads and writes exactly one session: one row read
and one row written per message, instead of a row per answer to join, diff and
upsert. Queries are written with SQLAlchemy Core on these tables (``Model.__table__``);
no ORM session is used, so nothing is loaded lazily behind anyone's back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in UTC, aware on the way out whatever the backend.

    SQLite keeps no time zone: without this every reader had to remember to add
    UTC back (``as_utc`` was called in eleven places).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's declared mapping
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UtcDateTime,
    }


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Conversation context outside flows: offered choices, a pending yes/no question…"""
    active_session_id: Mapped[int | None] = mapped_column(Integer, default=None)
    """The session the person's next answer goes to (no foreign key: ``flow_sessions``
    already points here, and a pointer left dangling only means « none »)."""
    territory: Mapped[str | None] = mapped_column(String(40), default=None)
    """Where the person said they are (``/region``): a department code, else a region id."""


class Workshop(Base):
    __tablename__ = "workshops"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    flow_id: Mapped[str] = mapped_column(String(32))
    facilitator_key: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    closes_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkshopFacilitator(Base):
    """Co-facilitators: people the facilitator allowed to read the synthesis."""

    __tablename__ = "workshop_facilitators"

    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), primary_key=True
    )
    user_key: Mapped[str] = mapped_column(String(128), primary_key=True)


class WorkshopInvitation(Base):
    """A one-time co-facilitation invitation: 12 characters, 48 hours, one use."""

    __tablename__ = "workshop_invitations"

    token: Mapped[str] = mapped_column(String(16), primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column()


class FlowSession(Base):
    __tablename__ = "flow_sessions"
    __table_args__ = (Index("ix_flow_sessions_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    flow_id: Mapped[str] = mapped_column(String(32))
    flow_version: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    history: Mapped[list[Any]] = mapped_column(default=list)
    selection: Mapped[list[Any]] = mapped_column(default=list)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Step id → ``{"value": …, "at": ISO moment, "comment": …}`` (comment only if typed)."""
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """What the flow's summariser computed when the session was completed."""
    workshop_id: Mapped[int | None] = mapped_column(
        ForeignKey("workshops.id", ondelete="SET NULL"), default=None, index=True
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedEvent(Base):
    """Platform events already handled: a redelivered update is answered once."""

    __tablename__ = "processed_events"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    replies: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    """The replies (texts and buttons) until the channel has delivered them, then NULL:
    an event redelivered after a crash between the commit and the sending gets
    them again instead of nothing."""
    owner: Mapped[str | None] = mapped_column(String(128), default=None)
    """Key of the person the stored ``replies`` are for (forgetting clears them)."""
    handler: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The worker sending them: while it lives, a redelivery does not send them again."""


class KeyValue(Base):
    """Small channel state: Matrix sync token and device, the pseudonym secret…"""

    __tablename__ = "key_values"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbGap(Base):
    """A question Coopbot could not answer, or an answer rated unhelpful (no user key)."""

    __tablename__ = "kb_gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WrongCodeAttempt(Base):
    """Recent wrong workshop codes per user, to slow down guessing."""

    __tablename__ = "wrong_code_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_key: Mapped[str] = mapped_column(String(128), index=True)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A message Coopbot sends first (a reminder, a closing notice, a chart to follow).

    Queued in the transaction that decides it, sent by ``coopbot run``; see
    :mod:`storage.delivery` for the states and the delivery guarantee.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_due", "state", "channel", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_key: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column()
    message: Mapped[list[Any]] = mapped_column()
    """The bubbles in the stored form of ``bot.messages.stored_form``."""
    render: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """A picture to draw just before sending (``{"chart": flow, "session": id}``)."""
    kind: Mapped[str] = mapped_column(String(32))
    workshop_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    """The workshop it is about (no foreign key: the counts outlive nothing, and a
    deleted workshop's rows are deleted with it by storage)."""
    state: Mapped[str] = mapped_column(String(16), default="pending")
    claimed_by: Mapped[int | None] = mapped_column(BigInteger, default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatAddress(Base):
    """Where to reach a person on a channel, sealed (AES-GCM, key from ``COOPBOT_SECRET``).

    Kept only while the person has something pending; erased by the housekeeping when
    nothing is, and by ``/oublier``.
    """

    __tablename__ = "chat_addresses"

    user_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    unreachable_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the platform said the person cannot be reached (blocked the bot)."""


users = cast(Table, User.__table__)
workshops = cast(Table, Workshop.__table__)
workshop_facilitators = cast(Table, WorkshopFacilitator.__table__)
workshop_invitations = cast(Table, WorkshopInvitation.__table__)
flow_sessions = cast(Table, FlowSession.__table__)
processed_events = cast(Table, ProcessedEvent.__table__)
key_values = cast(Table, KeyValue.__table__)
kb_gaps = cast(Table, KbGap.__table__)
wrong_code_attempts = cast(Table, WrongCodeAttempt.__table__)
outbox = cast(Table, OutboxMessage.__table__)
chat_addresses = cast(Table, ChatAddress.__table__)

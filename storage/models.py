"""Typed SQLAlchemy models: everything Coopbot remembers.

People are known only by a pseudonymous ``key`` (see ``bot.identity``). Relationships
are ``lazy="raise"``: in async code a lazy load raises ``MissingGreenlet`` far from
its cause, so every query says what it loads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's declared mapping
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Conversation context outside flows: active session, last offered choices…"""

    sessions: Mapped[list[FlowSession]] = relationship(
        back_populates="user", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


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
    workshop_id: Mapped[int | None] = mapped_column(
        ForeignKey("workshops.id", ondelete="SET NULL"), default=None, index=True
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="sessions", lazy="raise")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="session",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Answer.id",
    )
    summary: Mapped[Summary | None] = relationship(
        back_populates="session", lazy="raise", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("session_id", "step_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("flow_sessions.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[FlowSession] = relationship(back_populates="answers", lazy="raise")


class Summary(Base):
    __tablename__ = "summaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("flow_sessions.id", ondelete="CASCADE"), unique=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[FlowSession] = relationship(back_populates="summary", lazy="raise")


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


__all__ = [
    "Answer",
    "Base",
    "FlowSession",
    "KbGap",
    "KeyValue",
    "ProcessedEvent",
    "Summary",
    "User",
    "Workshop",
    "WorkshopFacilitator",
    "WrongCodeAttempt",
]

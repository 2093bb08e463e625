"""The outbox on SQL: queuing inside a transaction, claiming and marking for the sender.

Claims lock the rows they take (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: two workers
claiming at once take different rows and never wait for each other; on SQLite the
statement has no lock clause and ``BEGIN IMMEDIATE`` already serialises the claiming
transactions). See :mod:`storage.delivery` for the guarantee.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, false, func, or_, select
from sqlalchemy.engine import Connection

from storage.delivery import MAX_ATTEMPTS, retry_delay
from storage.models import chat_addresses, flow_sessions, outbox, users, workshops
from storage.records import ClaimedMessage, DeliveryCounts, QueuedMessage
from storage.sealed import SealedBox
from storage.sql.dialect import insert

log = logging.getLogger(__name__)
O = outbox.c  # noqa: E741 - the table's initial
A = chat_addresses.c
REMINDER_KINDS = ("reminder", "auto-reminder")
_ADDRESS = select(A.sealed, A.unreachable_at).where(
    A.user_key == bindparam("b_key"), A.channel == bindparam("b_channel"))

_REACHABLE = (select(A.channel)
              .where(A.user_key == bindparam("b_key"), A.unreachable_at.is_(None))
              .order_by(A.updated_at.desc(), A.channel).limit(1))
_REMINDED = select(O.id).where(
    O.user_key == bindparam("b_key"), O.workshop_id == bindparam("b_workshop"),
    O.kind.in_(REMINDER_KINDS), O.state != "cancelled", O.created_at >= bindparam("b_since"),
).limit(1)


# Statements built once per dialect (as in :mod:`storage.sql.conversation`): building
# them per call cost a millisecond each, 1.3 s for a /relancer of a thousand people.
@cache
def _queue(dialect: str) -> Any:
    return insert(dialect, outbox).values(
        idempotency_key=bindparam("b_key"), user_key=bindparam("b_user"),
        channel=bindparam("b_channel"), due_at=bindparam("b_due"),
        message=bindparam("b_message", type_=outbox.c.message.type),
        render=bindparam("b_render", type_=outbox.c.render.type), kind=bindparam("b_kind"),
        workshop_id=bindparam("b_workshop"), state="pending", attempts=0,
        created_at=bindparam("b_now"),
    ).on_conflict_do_nothing(index_elements=["idempotency_key"])


@cache
def _keep_address(dialect: str) -> Any:
    stmt = insert(dialect, chat_addresses).values(
        user_key=bindparam("b_key"), channel=bindparam("b_channel"),
        sealed=bindparam("b_sealed"), updated_at=bindparam("b_now"), unreachable_at=None)
    return stmt.on_conflict_do_update(
        index_elements=["user_key", "channel"],
        set_={"sealed": stmt.excluded.sealed, "updated_at": stmt.excluded.updated_at,
              "unreachable_at": None})


class SqlQueue:
    """:class:`storage.protocols.MessageQueue` bound to one transaction."""

    def __init__(self, connection: Connection, now: datetime, box: SealedBox | None) -> None:
        self._c = connection
        self.now = now
        self._box = box

    def queue(self, message: QueuedMessage) -> bool:
        done = self._c.execute(_queue(self._c.dialect.name), {
            "b_key": message.idempotency_key, "b_user": message.user_key,
            "b_channel": message.channel, "b_due": message.due_at, "b_message": message.message,
            "b_render": dict(message.render) if message.render else None,
            "b_kind": message.kind, "b_workshop": message.workshop_id, "b_now": self.now})
        return bool(done.rowcount)

    def remember_address(self, user_key: str, channel: str, chat_id: str) -> None:
        if self._box is None:
            raise RuntimeError("no secret to seal chat addresses with (use_secret)")
        row = self._c.execute(_ADDRESS, {"b_key": user_key, "b_channel": channel}).first()
        if row is not None and row.unreachable_at is None and _opens(self._box,
                                                                       row.sealed) == chat_id:
            return  # unchanged: nothing written
        self._c.execute(_keep_address(self._c.dialect.name), {
            "b_key": user_key, "b_channel": channel, "b_sealed": self._box.seal(chat_id),
            "b_now": self.now})

    def reachable_channel(self, user_key: str) -> str | None:
        return self._c.execute(_REACHABLE, {"b_key": user_key}).scalar()

    def cancel(self, user_key: str, kind: str, workshop_id: int | None = None) -> int:
        query = outbox.update().where(O.user_key == user_key, O.state == "pending",
                                      O.kind == kind)
        if workshop_id is not None:
            query = query.where(O.workshop_id == workshop_id)
        return int(self._c.execute(query.values(state="cancelled")).rowcount or 0)

    def workshop_counts(self, workshop_id: int) -> DeliveryCounts:
        rows = self._c.execute(
            select(O.state, func.count(func.distinct(O.user_key)), func.count(O.id))
            .where(O.workshop_id == workshop_id, O.kind.in_(REMINDER_KINDS))
            .group_by(O.state)).all()
        by_state = {state: (people, messages) for state, people, messages in rows}
        return DeliveryCounts(
            reminders_sent=by_state.get("sent", (0, 0))[1],
            reminders_pending=sum(by_state.get(s, (0, 0))[1] for s in ("pending", "claimed")),
            unreachable=by_state.get("unreachable", (0, 0))[0])


    def reminded_since(self, user_key: str, workshop_id: int, since: datetime) -> bool:
        return self._c.execute(_REMINDED, {"b_key": user_key, "b_workshop": workshop_id,
                                           "b_since": since}).first() is not None


def _opens(box: SealedBox, sealed: str) -> str | None:
    try:
        return box.open(sealed)
    except ValueError:  # sealed under another secret: as good as no address
        return None


# --- the sender's side --------------------------------------------------------------------


def claimers(c: Connection, channel: str) -> list[int]:
    """Workers holding claims on ``channel`` (to ask which of them are dead)."""
    return [w for (w,) in c.execute(select(O.claimed_by).distinct().where(
        O.channel == channel, O.state == "claimed", O.claimed_by.is_not(None)))]


def claim(c: Connection, channel: str, now: datetime, worker: int, dead: Iterable[int],
          box: SealedBox, limit: int) -> list[ClaimedMessage]:
    dead = list(dead)
    due = or_(and_(O.state == "pending", O.due_at <= now),
              and_(O.state == "claimed", O.claimed_by.in_(dead)) if dead else false())
    picked = c.execute(
        select(O.id, O.user_key, O.message, O.kind, O.attempts, O.workshop_id, O.render)
        .where(O.channel == channel, due).order_by(O.due_at, O.id).limit(limit)
        .with_for_update(skip_locked=True)).all()
    if not picked:
        return []
    ids = [row.id for row in picked]
    c.execute(outbox.update().where(O.id.in_(ids)).values(
        state="claimed", claimed_by=worker, claimed_at=now, attempts=O.attempts + 1))
    keys = {row.user_key for row in picked}
    addresses = {key: (sealed, gone) for key, sealed, gone in c.execute(
        select(A.user_key, A.sealed, A.unreachable_at)
        .where(A.channel == channel, A.user_key.in_(keys)))}
    claimed, unreachable = [], []
    for row in picked:
        sealed, gone = addresses.get(row.user_key, (None, None))
        chat_id = _opens(box, sealed) if sealed is not None and gone is None else None
        if chat_id is None:  # no address (erased, blocked, another secret): cannot send
            unreachable.append(row.id)
            continue
        claimed.append(ClaimedMessage(row.id, row.user_key, channel, chat_id,
                                      list(row.message), row.kind, row.attempts + 1,
                                      row.workshop_id, row.render))
    if unreachable:
        c.execute(outbox.update().where(O.id.in_(unreachable)).values(state="unreachable"))
    return claimed


def mark_sent(c: Connection, message_id: int, now: datetime) -> None:
    c.execute(outbox.update().where(O.id == message_id).values(
        state="sent", sent_at=now, claimed_by=None))


def mark_failed(c: Connection, message_id: int, now: datetime) -> None:
    attempts = c.execute(select(O.attempts).where(O.id == message_id)).scalar()
    if attempts is None:
        return
    if attempts >= MAX_ATTEMPTS:
        values = {"state": "failed", "claimed_by": None}
    else:
        values = {"state": "pending", "claimed_by": None,
                  "due_at": now + retry_delay(attempts)}
    c.execute(outbox.update().where(O.id == message_id).values(**values))


def mark_unreachable(c: Connection, message_id: int, now: datetime) -> None:
    row = c.execute(select(O.user_key, O.channel).where(O.id == message_id)).first()
    if row is None:
        return
    c.execute(outbox.update().where(O.id == message_id).values(
        state="unreachable", claimed_by=None))
    # The person's other pending messages on this channel would only be refused too.
    c.execute(outbox.update().where(O.user_key == row.user_key, O.channel == row.channel,
                                    O.state == "pending").values(state="unreachable"))
    c.execute(chat_addresses.update().where(A.user_key == row.user_key,
                                            A.channel == row.channel)
              .values(unreachable_at=now))


def erase_idle_addresses(c: Connection, now: datetime) -> int:
    """Addresses of people with nothing pending: no queued message, no unfinished
    session of an open workshop, no open workshop with a closing date they facilitate."""
    S, W = flow_sessions.c, workshops.c
    open_ = and_(W.status == "open", or_(W.closes_at.is_(None), W.closes_at > now))
    queued = exists().where(O.user_key == A.user_key, O.state.in_(("pending", "claimed")))
    joined = exists(
        select(S.id).join(users, users.c.id == S.user_id).join(workshops,
                                                                 W.id == S.workshop_id)
        .where(users.c.key == A.user_key, S.status == "in_progress", open_))
    facilitating = exists(select(W.id).where(W.facilitator_key == A.user_key, open_,
                                             W.closes_at.is_not(None)))
    return int(c.execute(delete(chat_addresses).where(
        ~queued, ~joined, ~facilitating)).rowcount or 0)


def forget(c: Connection, user_key: str) -> None:
    c.execute(delete(outbox).where(O.user_key == user_key))
    c.execute(delete(chat_addresses).where(A.user_key == user_key))


def personal(c: Connection, user_key: str) -> dict[str, object]:
    """What the outbox keeps about a person, for ``/mesdonnees``."""
    pending = c.execute(select(O.kind, O.due_at).where(
        O.user_key == user_key, O.state.in_(("pending", "claimed"))).order_by(O.due_at)).all()
    channels = [ch for (ch,) in c.execute(select(A.channel).where(A.user_key == user_key)
                                          .order_by(A.channel))]
    return {"messages_queued": [{"kind": kind, "due_at": at.isoformat()}
                                for kind, at in pending],
            "chat_addresses_kept": channels}

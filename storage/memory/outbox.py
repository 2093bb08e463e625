"""The outbox in memory: the behaviour of :mod:`storage.sql.outbox`, on the tables' copy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from storage.delivery import MAX_ATTEMPTS, retry_delay
from storage.memory.data import Tables
from storage.records import ClaimedMessage, DeliveryCounts, QueuedMessage
from storage.sealed import SealedBox

REMINDER_KINDS = ("reminder", "auto-reminder")


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    message: QueuedMessage
    state: str = "pending"
    due_at: datetime | None = None
    claimed_by: int | None = None
    attempts: int = 0
    sent_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AddressRow:
    sealed: str
    updated_at: datetime
    unreachable_at: datetime | None = None


def _opens(box: SealedBox, sealed: str) -> str | None:
    try:
        return box.open(sealed)
    except ValueError:
        return None


class MemoryQueue:
    def __init__(self, tables: Tables, now: datetime, box: SealedBox | None) -> None:
        self._t = tables
        self.now = now
        self._box = box

    def queue(self, message: QueuedMessage) -> bool:
        if any(r.message.idempotency_key == message.idempotency_key
               for r in self._t.outbox.values()):
            return False
        row_id = self._t.next_id()
        self._t.outbox[row_id] = OutboxRow(row_id, message, due_at=message.due_at,
                                           created_at=self.now)
        return True

    def remember_address(self, user_key: str, channel: str, chat_id: str) -> None:
        if self._box is None:
            raise RuntimeError("no secret to seal chat addresses with (use_secret)")
        known = self._t.addresses.get((user_key, channel))
        if known is not None and known.unreachable_at is None and _opens(
                self._box, known.sealed) == chat_id:
            return
        self._t.addresses[(user_key, channel)] = AddressRow(self._box.seal(chat_id), self.now)

    def reachable_channel(self, user_key: str) -> str | None:
        found = sorted(((a.updated_at, ch) for (k, ch), a in self._t.addresses.items()
                        if k == user_key and a.unreachable_at is None),
                       key=lambda item: (-item[0].timestamp(), item[1]))
        return found[0][1] if found else None

    def cancel(self, user_key: str, kind: str, workshop_id: int | None = None) -> int:
        count = 0
        for i, r in list(self._t.outbox.items()):
            m = r.message
            if (m.user_key == user_key and r.state == "pending" and m.kind == kind
                    and (workshop_id is None or m.workshop_id == workshop_id)):
                self._t.outbox[i] = replace(r, state="cancelled")
                count += 1
        return count

    def workshop_counts(self, workshop_id: int) -> DeliveryCounts:
        rows = [r for r in self._t.outbox.values()
                if r.message.workshop_id == workshop_id and r.message.kind in REMINDER_KINDS]
        return DeliveryCounts(
            reminders_sent=sum(1 for r in rows if r.state == "sent"),
            reminders_pending=sum(1 for r in rows if r.state in ("pending", "claimed")),
            unreachable=len({r.message.user_key for r in rows if r.state == "unreachable"}))


    def reminded_since(self, user_key: str, workshop_id: int, since: datetime) -> bool:
        return any(r.message.user_key == user_key and r.message.workshop_id == workshop_id
                   and r.message.kind in REMINDER_KINDS and r.state != "cancelled"
                   and r.created_at is not None and r.created_at >= since
                   for r in self._t.outbox.values())


def claim(t: Tables, channel: str, now: datetime, worker: int, dead: Iterable[int],
          box: SealedBox, limit: int) -> list[ClaimedMessage]:
    dead = set(dead)
    due = sorted((r for r in t.outbox.values() if r.message.channel == channel and (
        (r.state == "pending" and r.due_at is not None and r.due_at <= now)
        or (r.state == "claimed" and r.claimed_by in dead))),
        key=lambda r: (r.due_at, r.id))[:limit]
    claimed = []
    for r in due:
        m = r.message
        address = t.addresses.get((m.user_key, channel))
        chat_id = (_opens(box, address.sealed)
                   if address is not None and address.unreachable_at is None else None)
        if chat_id is None:
            t.outbox[r.id] = replace(r, state="unreachable", attempts=r.attempts + 1)
            continue
        t.outbox[r.id] = replace(r, state="claimed", claimed_by=worker, attempts=r.attempts + 1)
        claimed.append(ClaimedMessage(r.id, m.user_key, channel, chat_id, list(m.message),
                                      m.kind, r.attempts + 1, m.workshop_id, m.render))
    return claimed


def claimers(t: Tables, channel: str) -> list[int]:
    return sorted({r.claimed_by for r in t.outbox.values() if r.message.channel == channel
                   and r.state == "claimed" and r.claimed_by is not None})


def mark_sent(t: Tables, message_id: int, now: datetime) -> None:
    r = t.outbox.get(message_id)
    if r is not None:
        t.outbox[message_id] = replace(r, state="sent", sent_at=now, claimed_by=None)


def mark_failed(t: Tables, message_id: int, now: datetime) -> None:
    r = t.outbox.get(message_id)
    if r is None:
        return
    if r.attempts >= MAX_ATTEMPTS:
        t.outbox[message_id] = replace(r, state="failed", claimed_by=None)
    else:
        t.outbox[message_id] = replace(r, state="pending", claimed_by=None,
                                       due_at=now + retry_delay(r.attempts))


def mark_unreachable(t: Tables, message_id: int, now: datetime) -> None:
    r = t.outbox.get(message_id)
    if r is None:
        return
    key, channel = r.message.user_key, r.message.channel
    t.outbox[message_id] = replace(r, state="unreachable", claimed_by=None)
    for i, other in list(t.outbox.items()):
        if (other.message.user_key, other.message.channel) == (key, channel) and \
                other.state == "pending":
            t.outbox[i] = replace(other, state="unreachable")
    address = t.addresses.get((key, channel))
    if address is not None:
        t.addresses[(key, channel)] = replace(address, unreachable_at=now)


def erase_idle_addresses(t: Tables, now: datetime) -> int:
    def is_open(workshop_id: int | None) -> bool:
        w = t.workshops.get(workshop_id) if workshop_id is not None else None
        return w is not None and w.is_open(now)

    busy = {r.message.user_key for r in t.outbox.values() if r.state in ("pending", "claimed")}
    ids = {u.id: k for k, u in t.users.items()}
    busy |= {ids[s.user_id] for s in t.sessions.values()
             if s.status == "in_progress" and is_open(s.workshop_id) and s.user_id in ids}
    busy |= {w.facilitator_key for w in t.workshops.values()
             if w.closes_at is not None and w.is_open(now)}
    idle = [k for k in t.addresses if k[0] not in busy]
    for k in idle:
        del t.addresses[k]
    return len(idle)


def forget(t: Tables, user_key: str) -> None:
    t.outbox = {i: r for i, r in t.outbox.items() if r.message.user_key != user_key}
    t.addresses = {k: a for k, a in t.addresses.items() if k[0] != user_key}


def delete_workshop(t: Tables, workshop_id: int) -> None:
    t.outbox = {i: r for i, r in t.outbox.items() if r.message.workshop_id != workshop_id}


def purge(t: Tables, now: datetime) -> None:
    t.outbox = {i: r for i, r in t.outbox.items()
                if r.state in ("pending", "claimed")
                or (r.due_at is not None and r.due_at >= now - timedelta(days=7))}
    erase_idle_addresses(t, now)


def personal(t: Tables, user_key: str) -> dict[str, Any]:
    pending = sorted((r.due_at, r.message.kind) for r in t.outbox.values()
                     if r.message.user_key == user_key and r.state in ("pending", "claimed"))
    return {"messages_queued": [{"kind": kind, "due_at": at.isoformat()}
                                for at, kind in pending],
            "chat_addresses_kept": sorted(ch for k, ch in t.addresses if k == user_key)}

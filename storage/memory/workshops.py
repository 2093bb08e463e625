"""Workshops in memory: the behaviour of :class:`storage.sql.workshops.SqlWorkshops`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from storage.memory.data import Tables
from storage.protocols import REMINDERS_OFF
from storage.records import Participant, Participation, WorkshopRecord
from storage.shared import WorkshopAccess
from storage.workshop_codes import (
    WRONG_CODE_LIMIT,
    WRONG_CODE_WINDOW,
    new_code,
    normalise_code,
)


class MemoryWorkshops(WorkshopAccess):
    def __init__(self, tables: Tables, now: datetime) -> None:
        self._t = tables
        self.now = now

    def create(self, title: str, flow_id: str, facilitator_key: str,
               closes_at: datetime | None = None) -> WorkshopRecord:
        taken = {w.code for w in self._t.workshops.values()}
        code = new_code()
        while code in taken:  # pragma: no cover - 31⁹ codes
            code = new_code()
        workshop = WorkshopRecord(self._t.next_id(), code, title, flow_id, facilitator_key,
                                  "open", closes_at, self.now)
        self._t.workshops[workshop.id] = workshop
        return workshop

    def find(self, typed_code: str) -> WorkshopRecord | None:
        code = normalise_code(typed_code)
        return next((w for w in self._t.workshops.values() if w.code == code), None)

    def get(self, workshop_id: int) -> WorkshopRecord | None:
        return self._t.workshops.get(workshop_id)

    def _is_cofacilitator(self, workshop: WorkshopRecord, user_key: str) -> bool:
        return (workshop.id, user_key) in self._t.cofacilitators

    def _add(self, workshop: WorkshopRecord, user_key: str) -> None:
        self._t.cofacilitators.add((workshop.id, user_key))

    def close(self, workshop: WorkshopRecord) -> None:
        self._t.workshops[workshop.id] = replace(workshop, status="closed")

    def set_closing(self, workshop: WorkshopRecord, closes_at: datetime) -> WorkshopRecord:
        closes_at = closes_at.astimezone(UTC)  # SQLite keeps no zone: always UTC
        changed = replace(self._t.workshops[workshop.id], closes_at=closes_at)
        self._t.workshops[workshop.id] = changed
        return changed

    def participants(self, workshop_id: int) -> list[Participant]:
        keys = {u.id: u for u in self._t.users.values()}
        latest = {}
        for session in sorted(self._t.sessions.values(), key=lambda s: s.id):
            if session.workshop_id == workshop_id and session.status != "cancelled":
                latest[session.user_id] = session
        result = []
        for s in sorted(latest.values(), key=lambda s: s.id):
            user = keys.get(s.user_id)
            if user is not None:
                off = user.state.get(REMINDERS_OFF) or ()
                result.append(Participant(user.key, s.status,
                                          "*" in off or workshop_id in off, s.started_at))
        return result

    def cofacilitators(self, workshop_id: int) -> list[str]:
        return sorted(k for i, k in self._t.cofacilitators if i == workshop_id)

    def closing_by(self, moment: datetime) -> list[WorkshopRecord]:
        return sorted((w for w in self._t.workshops.values() if w.status == "open"
                       and w.closes_at is not None and w.closes_at <= moment),
                      key=lambda w: (w.closes_at, w.id))

    def participations(self, workshop_id: int) -> list[Participation]:
        latest = {}
        for session in sorted(self._t.sessions.values(), key=lambda s: s.id):
            if session.workshop_id == workshop_id and session.status != "cancelled":
                latest[session.user_id] = session
        return [
            Participation(s.status, {k: a.value for k, a in s.answers.items()},
                          {k: a.comment for k, a in s.answers.items() if a.comment})
            for s in sorted(latest.values(), key=lambda s: s.id)
        ]

    def has_joined(self, workshop_id: int, user_key: str) -> str | None:
        user = self._t.users.get(user_key)
        if user is None:
            return None
        mine = [s for s in self._t.user_sessions(user.id) if s.workshop_id == workshop_id]
        return mine[-1].status if mine else None

    def facilitated_by(self, user_key: str) -> list[WorkshopRecord]:
        return sorted((w for w in self._t.workshops.values()
                       if w.facilitator_key == user_key), key=lambda w: w.id)

    def wait_before_next_code(self, user_key: str) -> timedelta | None:
        since = self.now - WRONG_CODE_WINDOW
        recent = sorted((at for key, at in self._t.wrong_codes
                         if key == user_key and at >= since), reverse=True)[:WRONG_CODE_LIMIT]
        if len(recent) < WRONG_CODE_LIMIT:
            return None
        return max(recent[-1] + WRONG_CODE_WINDOW - self.now, timedelta(seconds=1))

    def record_wrong_code(self, user_key: str) -> None:
        since = self.now - WRONG_CODE_WINDOW
        self._t.wrong_codes = [(k, at) for k, at in self._t.wrong_codes
                               if k != user_key or at >= since]
        self._t.wrong_codes.append((user_key, self.now))

    def invite(self, workshop: WorkshopRecord, token: str, expires_at: datetime) -> None:
        self._t.invitations[token] = (workshop.id, expires_at)

    def invitation(self, token: str) -> WorkshopRecord | None:
        found = self._t.invitations.get(token)
        if found is None or found[1] <= self.now:
            return None
        return self._t.workshops.get(found[0])

    def drop_invitation(self, token: str) -> None:
        self._t.invitations.pop(token, None)

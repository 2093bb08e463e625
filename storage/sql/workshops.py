"""Workshops on SQL: codes, joining, who may read, the wrong-code brake, invitations.

Bound to the connection of the transaction that uses it: in chat that is the
message's transaction, which already holds the person's lock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.engine import Connection

from storage.models import (
    flow_sessions,
    users,
    workshop_facilitators,
    workshop_invitations,
    workshops,
    wrong_code_attempts,
)
from storage.protocols import REMINDERS_OFF
from storage.records import Answers, Participant, Participation, WorkshopRecord
from storage.shared import WorkshopAccess
from storage.workshop_codes import (
    WRONG_CODE_LIMIT,
    WRONG_CODE_WINDOW,
    new_code,
    normalise_code,
)

W = workshops.c
F = workshop_facilitators.c
S = flow_sessions.c


def workshop_record(row: Row[Any]) -> WorkshopRecord:
    return WorkshopRecord(id=row.id, code=row.code, title=row.title, flow_id=row.flow_id,
                          facilitator_key=row.facilitator_key, status=row.status,
                          closes_at=row.closes_at, created_at=row.created_at)


class SqlWorkshops(WorkshopAccess):
    def __init__(self, connection: Connection, now: datetime) -> None:
        self._c = connection
        self.now = now

    def create(self, title: str, flow_id: str, facilitator_key: str,
               closes_at: datetime | None = None) -> WorkshopRecord:
        """Insert under an unused code (a collision is retried, never reused)."""
        for _ in range(20):
            code = new_code()
            if self._c.execute(select(W.id).where(W.code == code)).first() is None:
                break
        else:  # pragma: no cover - 31⁹ codes: unreachable in practice
            raise RuntimeError("no free workshop code")
        row = self._c.execute(workshops.insert().values(
            code=code, title=title, flow_id=flow_id, facilitator_key=facilitator_key,
            status="open", closes_at=closes_at, created_at=self.now,
        ).returning(*workshops.c)).one()
        return workshop_record(row)

    def find(self, typed_code: str) -> WorkshopRecord | None:
        code = normalise_code(typed_code)
        if code is None:
            return None
        row = self._c.execute(select(workshops).where(W.code == code)).first()
        return workshop_record(row) if row is not None else None

    def get(self, workshop_id: int) -> WorkshopRecord | None:
        row = self._c.execute(select(workshops).where(W.id == workshop_id)).first()
        return workshop_record(row) if row is not None else None

    def _is_cofacilitator(self, workshop: WorkshopRecord, user_key: str) -> bool:
        found = self._c.execute(select(F.user_key).where(
            F.workshop_id == workshop.id, F.user_key == user_key)).first()
        return found is not None

    def _add(self, workshop: WorkshopRecord, user_key: str) -> None:
        self._c.execute(workshop_facilitators.insert().values(
            workshop_id=workshop.id, user_key=user_key))

    def close(self, workshop: WorkshopRecord) -> None:
        self._c.execute(workshops.update().where(W.id == workshop.id).values(status="closed"))

    def set_closing(self, workshop: WorkshopRecord, closes_at: datetime) -> WorkshopRecord:
        closes_at = closes_at.astimezone(UTC)  # SQLite keeps no zone: always UTC
        self._c.execute(workshops.update().where(W.id == workshop.id)
                        .values(closes_at=closes_at))
        return replace(workshop, closes_at=closes_at)

    def participations(self, workshop_id: int) -> list[Participation]:
        """Each participant's latest session of the workshop, cancelled ones left out.

        A person who joins again after finishing starts a new session; the newest one
        speaks for them, so nobody counts twice. A cancelled session means the person
        withdrew: their answers stay theirs (``/export``) but leave the synthesis.
        """
        rows = self._c.execute(
            select(S.id, S.user_id, S.status, S.answers)
            .where(S.workshop_id == workshop_id, S.status != "cancelled")
            .order_by(S.user_id, S.id)
        )
        latest: dict[int, Any] = {}
        for row in rows:
            latest[row.user_id] = row
        result = []
        for row in sorted(latest.values(), key=lambda r: r.id):
            answers = Answers(row.answers)
            result.append(Participation(
                row.status, {k: a.value for k, a in answers.items()},
                {k: a.comment for k, a in answers.items() if a.comment}))
        return result

    def participants(self, workshop_id: int) -> list[Participant]:
        rows = self._c.execute(
            select(S.id, S.status, S.started_at, users.c.key, users.c.state)
            .join(users, S.user_id == users.c.id)
            .where(S.workshop_id == workshop_id, S.status != "cancelled")
            .order_by(S.user_id, S.id))
        latest = {row.key: row for row in rows}
        return [Participant(row.key, row.status, _quiet(row.state, workshop_id),
                            row.started_at)
                for row in sorted(latest.values(), key=lambda r: r.id)]

    def cofacilitators(self, workshop_id: int) -> list[str]:
        return [key for (key,) in self._c.execute(
            select(F.user_key).where(F.workshop_id == workshop_id).order_by(F.user_key))]

    def closing_by(self, moment: datetime) -> list[WorkshopRecord]:
        rows = self._c.execute(select(workshops).where(
            W.status == "open", W.closes_at.is_not(None), W.closes_at <= moment,
        ).order_by(W.closes_at, W.id))
        return [workshop_record(row) for row in rows]

    def has_joined(self, workshop_id: int, user_key: str) -> str | None:
        """Status of the person's latest session in this workshop, if any."""
        found = self._c.execute(
            select(S.status).join(users, S.user_id == users.c.id)
            .where(S.workshop_id == workshop_id, users.c.key == user_key)
            .order_by(S.id.desc()).limit(1)
        ).first()
        return found[0] if found is not None else None

    def facilitated_by(self, user_key: str) -> list[WorkshopRecord]:
        rows = self._c.execute(
            select(workshops).where(W.facilitator_key == user_key).order_by(W.id))
        return [workshop_record(row) for row in rows]

    # --- the wrong-code brake ---------------------------------------------------------

    def wait_before_next_code(self, user_key: str) -> timedelta | None:
        """How long this person must wait before any code is read again; None if free."""
        A = wrong_code_attempts.c
        recent = [row[0] for row in self._c.execute(
            select(A.attempted_at)
            .where(A.user_key == user_key, A.attempted_at >= self.now - WRONG_CODE_WINDOW)
            .order_by(A.attempted_at.desc()).limit(WRONG_CODE_LIMIT)
        )]
        if len(recent) < WRONG_CODE_LIMIT:
            return None
        # Free again when the oldest of the last LIMIT attempts leaves the window.
        return max(recent[-1] + WRONG_CODE_WINDOW - self.now, timedelta(seconds=1))

    def record_wrong_code(self, user_key: str) -> None:
        A = wrong_code_attempts.c
        self._c.execute(wrong_code_attempts.insert().values(
            user_key=user_key, attempted_at=self.now))
        # Old attempts are useless to the brake: keep the table small as we go.
        self._c.execute(delete(wrong_code_attempts).where(
            A.user_key == user_key, A.attempted_at < self.now - WRONG_CODE_WINDOW))

    # --- co-facilitation invitations ----------------------------------------------------

    def invite(self, workshop: WorkshopRecord, token: str, expires_at: datetime) -> None:
        self._c.execute(workshop_invitations.insert().values(
            token=token, workshop_id=workshop.id, expires_at=expires_at))

    def invitation(self, token: str) -> WorkshopRecord | None:
        I = workshop_invitations.c  # noqa: E741 - the table's initial, like W and F
        row = self._c.execute(
            select(workshops).join(workshop_invitations, I.workshop_id == W.id)
            .where(I.token == token, I.expires_at > self.now)
        ).first()
        return workshop_record(row) if row is not None else None

    def drop_invitation(self, token: str) -> None:
        self._c.execute(delete(workshop_invitations).where(
            workshop_invitations.c.token == token))


def _quiet(state: Any, workshop_id: int) -> bool:
    """Whether the person asked for no reminder of this workshop (or of any)."""
    off = (state or {}).get(REMINDERS_OFF) or ()
    return "*" in off or workshop_id in off

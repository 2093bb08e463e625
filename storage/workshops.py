"""Workshops in storage: join codes, joining, access control, participants' answers.

Every function takes the caller's ``AsyncSession``: in chat that is the turn's
transaction (``turn.conv.db``), which already holds the person's lock — opening a
second connection there would wait on our own SQLite write lock.

Join codes are 9 characters from a 31-character alphabet without the look-alikes
0/O, 1/I/L (31⁹ ≈ 2⁴⁴·⁶, so about 44 bits: far beyond guessing at the pace the
wrong-code brake allows), shown in three groups (``K7Q-M3X-PW9``) and read in any
case, with or without dashes or spaces. Wrong codes are recorded per person and,
past ``WRONG_CODE_LIMIT`` within ``WRONG_CODE_WINDOW``, every code from that person
is refused until the window slides, the right one included, so the brake cannot
be used to probe codes either.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    FlowSession,
    User,
    Workshop,
    WorkshopFacilitator,
    WrongCodeAttempt,
    utcnow,
)
from storage.repository import as_utc

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 9
GROUP = 3
WRONG_CODE_LIMIT = 5
WRONG_CODE_WINDOW = timedelta(minutes=15)
INVITE_PREFIX = "cofac:"
"""``key_values`` rows ``cofac:<token>`` → ``<workshop id>|<expiry>``: co-facilitator
invitations (see ``bot.workshop_routes.cofacilitator``)."""
INVITE_LIFETIME = timedelta(hours=48)
_SEPARATORS = re.compile(r"[\s\-_.·–—]+")

assert len(set(ALPHABET)) == len(ALPHABET) == 31
assert not set("0O1IL") & set(ALPHABET)


def new_code() -> str:
    """A fresh normalised code (no dashes), from the OS's cryptographic generator."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """``k7q-m3x pw9`` → ``K7QM3XPW9``; None when it cannot be a join code."""
    code = _SEPARATORS.sub("", text or "").upper()
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def display_code(code: str) -> str:
    """``K7QM3XPW9`` → ``K7Q-M3X-PW9``: easier to read aloud and to copy."""
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def is_open(workshop: Workshop, now: datetime | None = None) -> bool:
    if workshop.status != "open":
        return False
    if workshop.closes_at is None:
        return True
    return as_utc(workshop.closes_at) > (now or utcnow())


async def create_workshop(db: AsyncSession, title: str, flow_id: str, facilitator_key: str,
                          closes_at: datetime | None = None) -> Workshop:
    """Insert a workshop under an unused code (a collision is retried, never reused)."""
    for _ in range(20):
        code = new_code()
        taken = await db.execute(select(Workshop.id).where(Workshop.code == code))
        if taken.scalar_one_or_none() is None:
            break
    else:  # pragma: no cover - 31⁹ codes: unreachable in practice
        raise RuntimeError("no free workshop code")
    workshop = Workshop(code=code, title=title, flow_id=flow_id,
                        facilitator_key=facilitator_key, status="open", closes_at=closes_at,
                        created_at=utcnow())
    db.add(workshop)
    await db.flush()
    return workshop


async def find_workshop(db: AsyncSession, typed_code: str) -> Workshop | None:
    code = normalise_code(typed_code)
    if code is None:
        return None
    found = await db.execute(select(Workshop).where(Workshop.code == code))
    return found.scalar_one_or_none()


async def get_workshop(db: AsyncSession, workshop_id: int) -> Workshop | None:
    return await db.get(Workshop, workshop_id)


# --- the wrong-code brake ----------------------------------------------------------------


async def wait_before_next_code(db: AsyncSession, user_key: str) -> timedelta | None:
    """How long this person must wait before any code is read again; None if not braked."""
    since = utcnow() - WRONG_CODE_WINDOW
    rows = await db.execute(
        select(WrongCodeAttempt.attempted_at)
        .where(WrongCodeAttempt.user_key == user_key, WrongCodeAttempt.attempted_at >= since)
        .order_by(WrongCodeAttempt.attempted_at.desc())
        .limit(WRONG_CODE_LIMIT)
    )
    recent = [as_utc(t) for t in rows.scalars()]
    if len(recent) < WRONG_CODE_LIMIT:
        return None
    # Free again when the oldest of the last LIMIT attempts leaves the window.
    return max(recent[-1] + WRONG_CODE_WINDOW - utcnow(), timedelta(seconds=1))


async def record_wrong_code(db: AsyncSession, user_key: str) -> None:
    db.add(WrongCodeAttempt(user_key=user_key, attempted_at=utcnow()))
    # Old attempts are useless to the brake: keep the table small as we go.
    await db.execute(
        delete(WrongCodeAttempt).where(
            WrongCodeAttempt.user_key == user_key,
            WrongCodeAttempt.attempted_at < utcnow() - WRONG_CODE_WINDOW,
        )
    )


# --- who may read a workshop ---------------------------------------------------------------


async def can_read(db: AsyncSession, workshop: Workshop, user_key: str) -> bool:
    """The facilitator and the co-facilitators they added; nobody else."""
    if workshop.facilitator_key == user_key:
        return True
    found = await db.execute(
        select(WorkshopFacilitator.user_key).where(
            WorkshopFacilitator.workshop_id == workshop.id,
            WorkshopFacilitator.user_key == user_key,
        )
    )
    return found.scalar_one_or_none() is not None


async def readable_workshop(db: AsyncSession, typed_code: str, user_key: str) -> Workshop | None:
    """The workshop if this person may read it. None says nothing more on purpose:
    an unknown code and someone else's workshop must look the same to the asker."""
    workshop = await find_workshop(db, typed_code)
    if workshop is None or not await can_read(db, workshop, user_key):
        return None
    return workshop


async def add_cofacilitator(db: AsyncSession, workshop: Workshop, user_key: str) -> bool:
    """True when added; False when already facilitator or co-facilitator."""
    if await can_read(db, workshop, user_key):
        return False
    db.add(WorkshopFacilitator(workshop_id=workshop.id, user_key=user_key))
    await db.flush()
    return True


async def cofacilitators(db: AsyncSession, workshop_id: int) -> list[str]:
    rows = await db.execute(
        select(WorkshopFacilitator.user_key)
        .where(WorkshopFacilitator.workshop_id == workshop_id)
        .order_by(WorkshopFacilitator.user_key)
    )
    return list(rows.scalars())


async def close_workshop(db: AsyncSession, workshop: Workshop) -> None:
    workshop.status = "closed"


# --- participants ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Participation:
    """One participant's answers to the workshop, without who they are."""

    status: str
    answers: dict[str, Any]
    comments: dict[str, str]


async def participations(db: AsyncSession, workshop_id: int) -> list[Participation]:
    """Each participant's latest session of the workshop, cancelled ones left out.

    A person who joins again after finishing starts a new session; the newest one
    speaks for them, so nobody counts twice. A cancelled session means the person
    withdrew: their answers stay theirs (``/export``) but leave the synthesis.
    """
    rows = await db.execute(
        select(FlowSession)
        .where(FlowSession.workshop_id == workshop_id, FlowSession.status != "cancelled")
        .options(selectinload(FlowSession.answers))
        .order_by(FlowSession.user_id, FlowSession.id)
    )
    latest: dict[int, FlowSession] = {}
    for row in rows.scalars():
        latest[row.user_id] = row
    result = []
    for row in sorted(latest.values(), key=lambda r: r.id):
        answers = {a.step_id: a.value for a in row.answers}
        comments = {a.step_id: a.comment for a in row.answers if a.comment}
        result.append(Participation(row.status, answers, comments))
    return result


async def has_joined(db: AsyncSession, workshop_id: int, user_key: str) -> str | None:
    """Status of the person's latest session in this workshop, if any."""
    found = await db.execute(
        select(FlowSession.status)
        .join(User, FlowSession.user_id == User.id)
        .where(FlowSession.workshop_id == workshop_id, User.key == user_key)
        .order_by(FlowSession.id.desc())
        .limit(1)
    )
    return found.scalar_one_or_none()


async def workshops_of(db: AsyncSession, user_key: str) -> list[Workshop]:
    """Workshops this person facilitates (not co-facilitates)."""
    rows = await db.execute(
        select(Workshop).where(Workshop.facilitator_key == user_key).order_by(Workshop.id)
    )
    return list(rows.scalars())


async def count_participants(db: AsyncSession, workshop_id: int) -> int:
    found = await db.execute(
        select(func.count(func.distinct(FlowSession.user_id))).where(
            FlowSession.workshop_id == workshop_id, FlowSession.status != "cancelled"
        )
    )
    return int(found.scalar_one())

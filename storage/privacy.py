"""Participants' data rights: everything stored about a person, forgetting, retention.

What Coopbot keeps about a person is found from their pseudonymous key alone:
the ``users`` row (with its conversation ``state``), their sessions, answers and
summaries (cascaded from ``users``), the workshops they facilitate, the
co-facilitations they were given, and their recent wrong join codes.
Other tables hold no key: ``kb_gaps`` keeps unanswered questions without their
author; ``processed_events`` keeps platform event ids for deduplication (and,
for the moment between the commit of a message and the sending of its replies,
those replies with the person's key: forgetting clears them, and the retention
purge clears any left after a day, when no platform redelivers an event);
``key_values`` keeps channel state (Matrix sync token, room digests).

Forgetting a facilitator (decision, documented in ``docs/workshops.md``): each
workshop they facilitate passes to its first co-facilitator if there is one;
otherwise the workshop is deleted, and its participants' answers stay with their
authors as ordinary sessions (their own ``/export`` still shows them), no longer
attached to any workshop nor readable by anyone else.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    Answer,
    FlowSession,
    KbGap,
    KeyValue,
    ProcessedEvent,
    Summary,
    User,
    Workshop,
    WorkshopFacilitator,
    WrongCodeAttempt,
    utcnow,
)
from storage.repository import as_utc
from storage.workshops import INVITE_LIFETIME, INVITE_PREFIX, WRONG_CODE_WINDOW, display_code


def _iso(moment: Any) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


async def user_data(db: AsyncSession, user_key: str) -> dict[str, Any]:
    """Everything stored about this key, as plain JSON-ready data."""
    user = (await db.execute(select(User).where(User.key == user_key))).scalar_one_or_none()
    data: dict[str, Any] = {"user": None, "sessions": [], "workshops_facilitated": [],
                            "workshops_cofacilitated": [], "wrong_code_attempts": [],
                            "replies_not_yet_sent": []}
    if user is not None:
        data["user"] = {"key": user.key, "created_at": _iso(user.created_at),
                        "last_seen_at": _iso(user.last_seen_at), "state": dict(user.state or {})}
        rows = await db.execute(
            select(FlowSession)
            .where(FlowSession.user_id == user.id)
            .options(selectinload(FlowSession.answers), selectinload(FlowSession.summary))
            .order_by(FlowSession.id)
        )
        titles = await _workshop_titles(db)
        for row in rows.scalars():
            data["sessions"].append({
                "id": row.id,
                "flow": row.flow_id,
                "status": row.status,
                "started_at": _iso(row.started_at),
                "updated_at": _iso(row.updated_at),
                "workshop": titles.get(row.workshop_id) if row.workshop_id else None,
                "answers": [
                    {"step": a.step_id, "value": a.value, "answered_at": _iso(a.answered_at),
                     **({"comment": a.comment} if a.comment else {})}
                    for a in row.answers
                ],
                "summary": row.summary.data if row.summary else None,
            })
    own = await db.execute(
        select(Workshop).where(Workshop.facilitator_key == user_key).order_by(Workshop.id)
    )
    for workshop in own.scalars():
        helpers = await db.execute(
            select(WorkshopFacilitator.user_key).where(
                WorkshopFacilitator.workshop_id == workshop.id)
        )
        data["workshops_facilitated"].append({
            "code": display_code(workshop.code), "title": workshop.title,
            "flow": workshop.flow_id, "status": workshop.status,
            "created_at": _iso(workshop.created_at), "closes_at": _iso(workshop.closes_at),
            # Other people's identifiers are theirs: a count says enough.
            "cofacilitators": len(list(helpers.scalars())),
        })
    shared = await db.execute(
        select(Workshop)
        .join(WorkshopFacilitator, WorkshopFacilitator.workshop_id == Workshop.id)
        .where(WorkshopFacilitator.user_key == user_key)
        .order_by(Workshop.id)
    )
    data["workshops_cofacilitated"] = [
        {"code": display_code(w.code), "title": w.title} for w in shared.scalars()
    ]
    attempts = await db.execute(
        select(WrongCodeAttempt.attempted_at)
        .where(WrongCodeAttempt.user_key == user_key)
        .order_by(WrongCodeAttempt.attempted_at)
    )
    data["wrong_code_attempts"] = [_iso(t) for t in attempts.scalars()]
    waiting = await db.execute(
        select(ProcessedEvent.processed_at, ProcessedEvent.replies)
        .where(ProcessedEvent.owner == user_key, ProcessedEvent.replies.is_not(None))
        .order_by(ProcessedEvent.processed_at)
    )
    data["replies_not_yet_sent"] = [
        {"received_at": _iso(at), "replies": [r.get("text", "") for r in replies or ()]}
        for at, replies in waiting.all() if replies
    ]
    return data


async def _workshop_titles(db: AsyncSession) -> dict[int, dict[str, str]]:
    rows = await db.execute(select(Workshop.id, Workshop.code, Workshop.title))
    return {i: {"code": display_code(c), "title": t} for i, c, t in rows.all()}


async def forget_user(db: AsyncSession, user_key: str) -> None:
    """Delete every trace of this key, in the caller's transaction."""
    await db.flush()
    await _release_workshops(db, user_key)
    await db.execute(delete(WorkshopFacilitator).where(WorkshopFacilitator.user_key == user_key))
    await db.execute(delete(WrongCodeAttempt).where(WrongCodeAttempt.user_key == user_key))
    await db.execute(
        update(ProcessedEvent).where(ProcessedEvent.owner == user_key)
        .values(replies=null(), owner=None)
    )
    user_id = (await db.execute(select(User.id).where(User.key == user_key))).scalar_one_or_none()
    if user_id is None:
        return
    sessions = select(FlowSession.id).where(FlowSession.user_id == user_id)
    # Explicit, not only ON DELETE CASCADE: the result must not depend on a pragma.
    await db.execute(delete(Answer).where(Answer.session_id.in_(sessions)))
    await db.execute(delete(Summary).where(Summary.session_id.in_(sessions)))
    await db.execute(delete(FlowSession).where(FlowSession.user_id == user_id))
    await db.execute(delete(User).where(User.id == user_id))
    _expunge_rows_of(db, user_id)


def _expunge_rows_of(db: AsyncSession, user_id: int) -> None:
    """Loaded objects of deleted rows must not be flushed again at commit."""
    for obj in list(db.sync_session.identity_map.values()):
        if (isinstance(obj, User) and obj.id == user_id) or (
            isinstance(obj, FlowSession) and obj.user_id == user_id
        ) or isinstance(obj, Answer | Summary):
            db.expunge(obj)


async def _release_workshops(db: AsyncSession, user_key: str) -> None:
    own = await db.execute(select(Workshop).where(Workshop.facilitator_key == user_key))
    for workshop in list(own.scalars()):
        heir = (await db.execute(
            select(WorkshopFacilitator.user_key)
            .where(WorkshopFacilitator.workshop_id == workshop.id,
                   WorkshopFacilitator.user_key != user_key)
            .order_by(WorkshopFacilitator.user_key)
            .limit(1)
        )).scalar_one_or_none()
        if heir is not None:
            workshop.facilitator_key = heir
            await db.execute(delete(WorkshopFacilitator).where(
                WorkshopFacilitator.workshop_id == workshop.id,
                WorkshopFacilitator.user_key == heir))
            await db.flush()
        else:
            await delete_workshop(db, workshop.id)


async def delete_workshop(db: AsyncSession, workshop_id: int) -> None:
    """Remove a workshop; its participants keep their answers as ordinary sessions."""
    await db.execute(
        update(FlowSession).where(FlowSession.workshop_id == workshop_id).values(workshop_id=None)
    )
    await db.execute(
        delete(WorkshopFacilitator).where(WorkshopFacilitator.workshop_id == workshop_id)
    )
    await db.execute(delete(KeyValue).where(KeyValue.key.startswith(INVITE_PREFIX),
                                            KeyValue.value.startswith(f"{workshop_id}|")))
    for obj in list(db.sync_session.identity_map.values()):
        if isinstance(obj, Workshop) and obj.id == workshop_id:
            db.expunge(obj)
    await db.execute(delete(Workshop).where(Workshop.id == workshop_id))


UNSENT_REPLIES_KEPT = timedelta(days=1)
"""Telegram keeps an unconfirmed update for 24 hours; Matrix resends from the stored
sync token at the next start."""


async def purge(db: AsyncSession, days: int) -> dict[str, int]:
    """Retention: forget people inactive for ``days`` days and workshops created before.

    Also drops unanswered questions and processed event ids older than that, and
    wrong join codes once the brake no longer needs them. Returns counts per kind.
    """
    cutoff = utcnow() - timedelta(days=days)
    counts = {"users": 0, "workshops": 0, "wrong_code_attempts": 0, "kb_gaps": 0,
              "processed_events": 0, "invitations": 0}
    stale_users = await db.execute(select(User.key).where(User.last_seen_at < cutoff))
    for key in list(stale_users.scalars()):
        await forget_user(db, key)
        counts["users"] += 1
    old = await db.execute(select(Workshop.id).where(Workshop.created_at < cutoff))
    for workshop_id in list(old.scalars()):
        await delete_workshop(db, workshop_id)
        counts["workshops"] += 1
    for table, column, limit, name in (
        (WrongCodeAttempt, WrongCodeAttempt.attempted_at, utcnow() - WRONG_CODE_WINDOW,
         "wrong_code_attempts"),
        (KbGap, KbGap.created_at, cutoff, "kb_gaps"),
        (KeyValue, KeyValue.updated_at, utcnow() - INVITE_LIFETIME, "invitations"),
        (ProcessedEvent, ProcessedEvent.processed_at, cutoff, "processed_events"),
    ):
        stmt = delete(table).where(column < limit)
        if table is KeyValue:  # only expired invitations: the rest is channel state
            stmt = stmt.where(KeyValue.key.startswith(INVITE_PREFIX))
        result = await db.execute(stmt)
        counts[name] = int(result.rowcount or 0)
    # Replies never confirmed as sent: no platform redelivers an event after a day.
    await db.execute(
        update(ProcessedEvent)
        .where(ProcessedEvent.processed_at < utcnow() - UNSENT_REPLIES_KEPT,
               ProcessedEvent.replies.is_not(None))
        .values(replies=null(), owner=None)
    )
    return counts

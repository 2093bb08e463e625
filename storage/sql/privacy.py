"""Participants' data rights on SQL: everything stored about a person, forgetting, retention.

What Coopbot keeps about a person is found from their pseudonymous key alone: the
``users`` row (with its conversation ``state``), their sessions (answers and
summaries inside), the workshops they facilitate, the co-facilitations they were
given, and their recent wrong join codes. Other tables hold no key: ``kb_gaps``
keeps unanswered questions without their author; ``processed_events`` keeps
platform event ids for deduplication (and, between the commit of a message and
the sending of its replies, those replies with the person's key: forgetting clears
them, and the retention purge clears any left after a day, when no platform
redelivers an event); ``key_values`` keeps channel state. The outbox (``outbox``,
``chat_addresses``) holds the person's key with each queued message and their sealed
chat address: forgetting deletes both.

Forgetting a facilitator (decision, documented in ``docs/workshops.md``): each
workshop they facilitate passes to its first co-facilitator if there is one;
otherwise the workshop is deleted, and its participants' answers stay with their
authors as ordinary sessions, no longer attached to any workshop.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, null, select
from sqlalchemy.engine import Connection

from storage.models import (
    flow_sessions,
    kb_gaps,
    outbox,
    processed_events,
    users,
    workshop_facilitators,
    workshop_invitations,
    workshops,
    wrong_code_attempts,
)
from storage.records import Answers, PurgeCounts
from storage.retention import UNSENT_REPLIES_KEPT
from storage.shared import empty_personal_data
from storage.sql import outbox as outbox_rows
from storage.workshop_codes import WRONG_CODE_WINDOW, display_code

W = workshops.c
F = workshop_facilitators.c
S = flow_sessions.c
E = processed_events.c


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def personal_data(c: Connection, user_key: str) -> dict[str, Any]:
    """Everything stored about this key, as plain JSON-ready data."""
    data = empty_personal_data()
    user = c.execute(select(users).where(users.c.key == user_key)).first()
    if user is not None:
        data["user"] = {"key": user.key, "created_at": _iso(user.created_at),
                        "last_seen_at": _iso(user.last_seen_at), "state": dict(user.state or {}),
                        "territory": user.territory}
        titles = {row.id: {"code": display_code(row.code), "title": row.title}
                  for row in c.execute(select(W.id, W.code, W.title))}
        for row in c.execute(select(flow_sessions).where(S.user_id == user.id).order_by(S.id)):
            answers = Answers(row.answers)
            data["sessions"].append({
                "id": row.id, "flow": row.flow_id, "status": row.status,
                "started_at": _iso(row.started_at), "updated_at": _iso(row.updated_at),
                "workshop": titles.get(row.workshop_id) if row.workshop_id else None,
                "answers": [{"step": step, "value": a.value, "answered_at": a.at,
                             **({"comment": a.comment} if a.comment else {})}
                            for step, a in answers.items()],
                "summary": row.summary,
            })
    for row in c.execute(select(workshops).where(W.facilitator_key == user_key).order_by(W.id)):
        helpers = c.execute(select(F.user_key).where(F.workshop_id == row.id)).all()
        data["workshops_facilitated"].append({
            "code": display_code(row.code), "title": row.title, "flow": row.flow_id,
            "status": row.status, "created_at": _iso(row.created_at),
            "closes_at": _iso(row.closes_at),
            # Other people's identifiers are theirs: a count says enough.
            "cofacilitators": len(helpers),
        })
    shared = c.execute(select(W.code, W.title).join(workshop_facilitators, F.workshop_id == W.id)
                       .where(F.user_key == user_key).order_by(W.id))
    data["workshops_cofacilitated"] = [{"code": display_code(code), "title": title}
                                       for code, title in shared]
    A = wrong_code_attempts.c
    data["wrong_code_attempts"] = [_iso(row[0]) for row in c.execute(
        select(A.attempted_at).where(A.user_key == user_key).order_by(A.attempted_at))]
    waiting = c.execute(select(E.processed_at, E.replies)
                        .where(E.owner == user_key, E.replies.is_not(None))
                        .order_by(E.processed_at))
    data["replies_not_yet_sent"] = [
        {"received_at": _iso(at), "replies": [r.get("text", "") for r in replies or ()]}
        for at, replies in waiting if replies
    ]
    data["outbox"] = outbox_rows.personal(c, user_key)
    return data


def forget_user(c: Connection, user_key: str) -> None:
    """Delete every trace of this key, in the caller's transaction."""
    _release_workshops(c, user_key)
    c.execute(delete(workshop_facilitators).where(F.user_key == user_key))
    c.execute(delete(wrong_code_attempts).where(wrong_code_attempts.c.user_key == user_key))
    c.execute(processed_events.update().where(E.owner == user_key)
              .values(replies=null(), owner=None))
    outbox_rows.forget(c, user_key)
    user_id = c.execute(select(users.c.id).where(users.c.key == user_key)).scalar()
    if user_id is None:
        return
    # Explicit, not only ON DELETE CASCADE: the result must not depend on a pragma.
    c.execute(delete(flow_sessions).where(S.user_id == user_id))
    c.execute(delete(users).where(users.c.id == user_id))


def _release_workshops(c: Connection, user_key: str) -> None:
    for (workshop_id,) in c.execute(select(W.id).where(W.facilitator_key == user_key)).all():
        heir = c.execute(
            select(F.user_key).where(F.workshop_id == workshop_id, F.user_key != user_key)
            .order_by(F.user_key).limit(1)
        ).scalar()
        if heir is not None:
            c.execute(workshops.update().where(W.id == workshop_id)
                      .values(facilitator_key=heir))
            c.execute(delete(workshop_facilitators).where(
                F.workshop_id == workshop_id, F.user_key == heir))
        else:
            delete_workshop(c, workshop_id)


def delete_workshop(c: Connection, workshop_id: int) -> None:
    """Remove a workshop; its participants keep their answers as ordinary sessions."""
    c.execute(flow_sessions.update().where(S.workshop_id == workshop_id)
              .values(workshop_id=None))
    c.execute(delete(workshop_facilitators).where(F.workshop_id == workshop_id))
    c.execute(delete(workshop_invitations).where(
        workshop_invitations.c.workshop_id == workshop_id))
    c.execute(delete(outbox).where(outbox.c.workshop_id == workshop_id))
    c.execute(delete(workshops).where(W.id == workshop_id))


def purge(c: Connection, days: int, now: datetime) -> PurgeCounts:
    """Retention: forget people inactive for ``days`` days and workshops created before.

    Also drops unanswered questions and processed event ids older than that, wrong
    join codes once the brake no longer needs them, and expired invitations.
    """
    cutoff = now - timedelta(days=days)
    stale = [key for (key,) in c.execute(select(users.c.key).where(users.c.last_seen_at < cutoff))]
    for key in stale:
        forget_user(c, key)
    old = [i for (i,) in c.execute(select(W.id).where(W.created_at < cutoff))]
    for workshop_id in old:
        delete_workshop(c, workshop_id)

    def drop(table: Any, column: Any, limit: datetime) -> int:
        return int(c.execute(delete(table).where(column < limit)).rowcount or 0)

    counts = PurgeCounts(
        users=len(stale), workshops=len(old),
        wrong_code_attempts=drop(wrong_code_attempts, wrong_code_attempts.c.attempted_at,
                                 now - WRONG_CODE_WINDOW),
        kb_gaps=drop(kb_gaps, kb_gaps.c.created_at, cutoff),
        invitations=drop(workshop_invitations, workshop_invitations.c.expires_at, now),
        processed_events=drop(processed_events, E.processed_at, cutoff),
    )
    # Messages done with (sent, given up, cancelled) are kept a week for the counts.
    O = outbox.c  # noqa: E741
    c.execute(delete(outbox).where(O.state.not_in(("pending", "claimed")),
                                   O.due_at < now - timedelta(days=7)))
    outbox_rows.erase_idle_addresses(c, now)
    # Replies never confirmed as sent: no platform redelivers an event after a day.
    c.execute(processed_events.update()
              .where(E.processed_at < now - UNSENT_REPLIES_KEPT, E.replies.is_not(None))
              .values(replies=null(), owner=None))
    return counts

"""Data rights in memory: the behaviour of :mod:`storage.sql.privacy`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from storage.memory import outbox
from storage.memory.data import Tables
from storage.records import PurgeCounts
from storage.retention import UNSENT_REPLIES_KEPT
from storage.shared import empty_personal_data
from storage.workshop_codes import WRONG_CODE_WINDOW, display_code


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def personal_data(t: Tables, user_key: str) -> dict[str, Any]:
    data = empty_personal_data()
    user = t.users.get(user_key)
    if user is not None:
        data["user"] = {"key": user.key, "created_at": _iso(user.created_at),
                        "last_seen_at": _iso(user.last_seen_at), "state": dict(user.state),
                        "territory": user.territory}
        for s in t.user_sessions(user.id):
            workshop = t.workshops.get(s.workshop_id) if s.workshop_id else None
            data["sessions"].append({
                "id": s.id, "flow": s.flow_id, "status": s.status,
                "started_at": _iso(s.started_at), "updated_at": _iso(s.updated_at),
                "workshop": {"code": display_code(workshop.code), "title": workshop.title}
                if workshop else None,
                "answers": [{"step": step, "value": a.value, "answered_at": a.at,
                             **({"comment": a.comment} if a.comment else {})}
                            for step, a in s.answers.items()],
                "summary": dict(s.summary) if s.summary is not None else None,
            })
    for w in sorted(t.workshops.values(), key=lambda w: w.id):
        if w.facilitator_key == user_key:
            data["workshops_facilitated"].append({
                "code": display_code(w.code), "title": w.title, "flow": w.flow_id,
                "status": w.status, "created_at": _iso(w.created_at),
                "closes_at": _iso(w.closes_at),
                "cofacilitators": sum(1 for i, _ in t.cofacilitators if i == w.id),
            })
        elif (w.id, user_key) in t.cofacilitators:
            data["workshops_cofacilitated"].append(
                {"code": display_code(w.code), "title": w.title})
    data["wrong_code_attempts"] = sorted(_iso(at) for k, at in t.wrong_codes if k == user_key)
    data["replies_not_yet_sent"] = [
        {"received_at": _iso(e.processed_at), "replies": [r.get("text", "") for r in e.replies]}
        for e in sorted(t.events.values(), key=lambda e: e.processed_at)
        if e.owner == user_key and e.replies
    ]
    data["outbox"] = outbox.personal(t, user_key)
    return data


def forget_user(t: Tables, user_key: str) -> None:
    for w in [w for w in t.workshops.values() if w.facilitator_key == user_key]:
        heirs = sorted(k for i, k in t.cofacilitators if i == w.id and k != user_key)
        if heirs:
            t.workshops[w.id] = replace(w, facilitator_key=heirs[0])
            t.cofacilitators.discard((w.id, heirs[0]))
        else:
            delete_workshop(t, w.id)
    t.cofacilitators = {(i, k) for i, k in t.cofacilitators if k != user_key}
    t.wrong_codes = [(k, at) for k, at in t.wrong_codes if k != user_key]
    for key, e in list(t.events.items()):
        if e.owner == user_key:
            t.events[key] = replace(e, replies=None, owner=None)
    outbox.forget(t, user_key)
    user = t.users.pop(user_key, None)
    if user is not None:
        t.sessions = {i: s for i, s in t.sessions.items() if s.user_id != user.id}


def delete_workshop(t: Tables, workshop_id: int) -> None:
    for i, s in list(t.sessions.items()):
        if s.workshop_id == workshop_id:
            t.sessions[i] = replace(s, workshop_id=None)
    t.cofacilitators = {(i, k) for i, k in t.cofacilitators if i != workshop_id}
    t.invitations = {tok: v for tok, v in t.invitations.items() if v[0] != workshop_id}
    outbox.delete_workshop(t, workshop_id)
    t.workshops.pop(workshop_id, None)


def purge(t: Tables, days: int, now: datetime) -> PurgeCounts:
    cutoff = now - timedelta(days=days)
    stale = [k for k, u in t.users.items() if u.last_seen_at < cutoff]
    for key in stale:
        forget_user(t, key)
    old = [i for i, w in t.workshops.items() if w.created_at < cutoff]
    for workshop_id in old:
        delete_workshop(t, workshop_id)
    before = (len(t.wrong_codes), len(t.kb_gaps), len(t.invitations), len(t.events))
    t.wrong_codes = [(k, at) for k, at in t.wrong_codes if at >= now - WRONG_CODE_WINDOW]
    t.kb_gaps = [g for g in t.kb_gaps if g.created_at >= cutoff]
    t.invitations = {k: v for k, v in t.invitations.items() if v[1] >= now}
    t.events = {k: e for k, e in t.events.items() if e.processed_at >= cutoff}
    for key, e in list(t.events.items()):
        if e.replies is not None and e.processed_at < now - UNSENT_REPLIES_KEPT:
            t.events[key] = replace(e, replies=None, owner=None)
    outbox.purge(t, now)
    return PurgeCounts(
        users=len(stale), workshops=len(old), wrong_code_attempts=before[0] - len(t.wrong_codes),
        kb_gaps=before[1] - len(t.kb_gaps), invitations=before[2] - len(t.invitations),
        processed_events=before[3] - len(t.events),
    )

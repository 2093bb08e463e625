"""Reminders and closing: what Coopbot says first about a workshop, and to whom.

Shared by ``/relancer`` (the facilitator's transaction) and the housekeeping of
``coopbot run`` (the automatic reminder 24 hours before the closing date, and the
closing itself). Everything here runs inside one transaction and only *queues*: the
sender (:mod:`bot.sender`) delivers later, each idempotency key once.

- At most one reminder per person per workshop per 24 hours, whatever is typed: a
  reminder queued in the last 24 hours (``reminded_since``) stops another, and the
  idempotency key names the workshop, the person and the 24-hour window — the same key
  for ``/relancer`` and the automatic reminder, so that even two transactions deciding
  at the same moment (the facilitator's and the housekeeping's, on PostgreSQL) queue one.
- A housekeeping pass run twice (two workers, a restart) queues the automatic reminder
  once: the second finds it with ``reminded_since`` (the reminder window, 24 hours, is
  the whole time between the automatic reminder and the closing).
- Nobody who finished, or asked for silence (``/silence``), is reminded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.messages import Outgoing, stored_form
from flows.catalogue import Texts
from storage.protocols import Conversation, MessageQueue, WorkshopStore
from storage.records import QueuedMessage, SessionRecord, WorkshopRecord
from storage.workshop_codes import display_code

REMIND_WINDOW = timedelta(hours=24)
AUTO_REMINDER_BEFORE = timedelta(hours=24)
PARIS = ZoneInfo("Europe/Paris")


def french_date(texts: Texts, moment: datetime) -> str:
    """« 12 mars 2027 à 18 h 00 (heure de Paris) »: participants live in France."""
    local = moment.astimezone(PARIS)
    months = [m.strip() for m in texts("outbox.months").split(",")]
    return texts("outbox.date", day=local.day, month=months[local.month - 1],
                 year=local.year, hour=local.hour, minute=local.minute)


def reminder_text(texts: Texts, workshop: WorkshopRecord) -> str:
    closing = (texts("outbox.remind.message_closes", date=french_date(texts, workshop.closes_at))
               if workshop.closes_at is not None else texts("outbox.remind.message_open"))
    return texts("outbox.remind.message", title=workshop.title,
                 code=display_code(workshop.code), closing=closing)


@dataclass(frozen=True, slots=True)
class Reminded:
    """What a round of reminders did, in counts (the facilitator's answer)."""

    queued: int = 0
    recent: int = 0
    """Unfinished participants already reminded in the last 24 hours."""
    unreachable: int = 0
    """Unfinished participants with no chat address Coopbot may use."""
    silenced: int = 0


def queue_reminders(texts: Texts, workshops: WorkshopStore, queue: MessageQueue,
                    workshop: WorkshopRecord, now: datetime, *, automatic: bool) -> Reminded:
    """``automatic``: the reminder 24 hours before closing, for those who had started by
    then only (someone who starts later is not told at once that they have not finished)."""
    joined_by = (workshop.closes_at - AUTO_REMINDER_BEFORE
                 if automatic and workshop.closes_at is not None else None)
    message = stored_form([Outgoing(text=reminder_text(texts, workshop))])
    queued = recent = unreachable = silenced = 0
    window = int(now.timestamp() // REMIND_WINDOW.total_seconds())
    for person in workshops.participants(workshop.id):
        if person.status != "in_progress":
            continue
        if joined_by is not None and person.started_at is not None \
                and person.started_at > joined_by:
            continue
        if person.reminders_off:
            silenced += 1
            continue
        channel = queue.reachable_channel(person.user_key)
        if channel is None:
            unreachable += 1
            continue
        if queue.reminded_since(person.user_key, workshop.id, now - REMIND_WINDOW):
            recent += 1
            continue
        key = f"reminder:{workshop.id}:{person.user_key}:{window}"
        kind = "auto-reminder" if automatic else "reminder"
        if queue.queue(QueuedMessage(key, person.user_key, channel, now, message, kind,
                                     workshop.id)):
            queued += 1
        else:
            recent += 1
    return Reminded(queued, recent, unreachable, silenced)


REMINDER_KINDS = ("reminder", "auto-reminder")


def settle_reminders(conv: Conversation, before: SessionRecord | None) -> None:
    """A workshop session that this message finished (or cancelled) needs no reminder:
    one still waiting to be sent would tell the person they have not finished."""
    if before is None or before.workshop_id is None:
        return
    after = conv.session(before.id)
    if after is not None and after.status != "in_progress":
        for kind in REMINDER_KINDS:
            conv.outbox.cancel(conv.user_key, kind, before.workshop_id)


@dataclass(frozen=True, slots=True)
class JobsDone:
    """What one housekeeping pass queued (for the log: counts only)."""

    reminded: int = 0
    closed: int = 0
    notices: int = 0


def workshop_jobs(texts: Texts, workshops: WorkshopStore, queue: MessageQueue,
                  now: datetime) -> JobsDone:
    """The automatic reminder 24 hours before closing, then the closings that are due."""
    reminded = closed = notices = 0
    for workshop in workshops.closing_by(now + AUTO_REMINDER_BEFORE):
        if workshop.closes_at is not None and workshop.closes_at > now:
            reminded += queue_reminders(texts, workshops, queue, workshop, now,
                                        automatic=True).queued
    for workshop in workshops.closing_by(now):
        workshops.close(workshop)
        closed += 1
        notices += _closing_notices(texts, workshops, queue, workshop, now)
    return JobsDone(reminded, closed, notices)


def _closing_notices(texts: Texts, workshops: WorkshopStore, queue: MessageQueue,
                     workshop: WorkshopRecord, now: datetime) -> int:
    people = workshops.participants(workshop.id)
    text = texts("outbox.closing.message", title=workshop.title,
                 code=display_code(workshop.code), joined=len(people),
                 finished=sum(1 for p in people if p.status == "completed"))
    message = stored_form([Outgoing(text=text)])
    sent = 0
    for key in [workshop.facilitator_key, *workshops.cofacilitators(workshop.id)]:
        channel = queue.reachable_channel(key)
        if channel is not None and queue.queue(QueuedMessage(
                f"closing:{workshop.id}:{key}", key, channel, now, message, "closing",
                workshop.id)):
            sent += 1
    return sent

"""Facilitators follow and nudge their workshop: ``/etat``, ``/relancer``; ``/silence``.

``/etat CODE`` gives counts only (never an answer), to the facilitator and the
co-facilitators; anyone else gets the very words ``/synthese`` refuses with, and the
attempt counts as a wrong code for the brake. ``/relancer CODE`` (the facilitator
alone) queues one reminder per unfinished participant (:mod:`bot.reminders`).
``/silence [CODE]`` stops reminders at once: pending ones are cancelled, and later
rounds skip the person. ``/cloture CODE JJ/MM/AAAA [HH:MM]`` (the facilitator alone)
gives a workshop its closing date, in Paris time (the end of the day without an hour).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.messages import Outgoing
from bot.reminders import PARIS, REMINDER_KINDS, french_date, queue_reminders
from bot.turn import Turn
from bot.workshop_routes import braked, facilitated
from storage.protocols import REMINDERS_OFF
from storage.records import WorkshopRecord
from storage.reports.synthesis import GroupLabels, workshop_synthesis
from storage.workshop_codes import display_code

_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2})[:h](\d{2}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2}))?$")


def _readable(turn: Turn, args: str, usage: str) -> WorkshopRecord | Outgoing:
    return facilitated(turn, args) if args.strip() else turn.say(usage)


def status(turn: Turn, args: str) -> list[Outgoing]:
    found = _readable(turn, args, "outbox.status.usage")
    if isinstance(found, Outgoing):
        return [found]
    workshop, texts = found, turn.texts
    code = display_code(workshop.code)
    people = turn.conv.workshops.participants(workshop.id)
    finished = sum(1 for p in people if p.status == "completed")
    lines = [texts("outbox.status.header", title=workshop.title, code=code),
             texts("outbox.status.counts", joined=len(people), finished=finished,
                   in_progress=len(people) - finished)]
    # The categories exactly as the synthesis groups them (storage.reports.anonymity:
    # fewer than 3 people merged, no breakdown when that would still single someone out).
    data = workshop_synthesis(turn.conv.workshops, workshop, turn.flows,
                              GroupLabels.from_texts(texts.scoped("workshop")))
    categories = [(c.label, c.count) for c in data.categories] if data else []
    if categories:
        lines.append(texts("outbox.status.by_category"))
        lines.extend(texts("outbox.status.category_line", label=label, count=count)
                     for label, count in categories)
    if not workshop.is_open(turn.conv.now):
        lines.append(texts("outbox.status.closed"))
    elif workshop.closes_at is not None:
        lines.append(texts("outbox.status.closes", date=french_date(texts, workshop.closes_at)))
    else:
        lines.append(texts("outbox.status.no_closing", code=code))
    counts = turn.conv.outbox.workshop_counts(workshop.id)
    lines.append(texts("outbox.status.reminders", sent=counts.reminders_sent))
    if counts.reminders_pending:
        lines.append(texts("outbox.status.reminders_pending", count=counts.reminders_pending))
    if counts.unreachable:
        lines.append(texts("outbox.status.unreachable", count=counts.unreachable))
    return [Outgoing(text="\n".join(lines)),
            turn.say("outbox.status.footer", code=code)]


def remind(turn: Turn, args: str) -> list[Outgoing]:
    found = _readable(turn, args, "outbox.remind.usage")
    if isinstance(found, Outgoing):
        return [found]
    workshop = found
    code = display_code(workshop.code)
    if workshop.facilitator_key != turn.user_key:
        return [turn.say("outbox.remind.facilitator_only", title=workshop.title, code=code)]
    if not workshop.is_open(turn.conv.now):
        return [turn.say("outbox.remind.closed", title=workshop.title)]
    done = queue_reminders(turn.texts, turn.conv.workshops, turn.conv.outbox, workshop,
                           turn.conv.now, automatic=False)
    if done.queued:
        replies = [turn.say("outbox.remind.queued", count=done.queued, title=workshop.title)]
        if done.recent:
            replies.append(turn.say("outbox.remind.skipped", count=done.recent))
    elif done.recent:
        replies = [turn.say("outbox.remind.already")]
    else:
        replies = [turn.say("outbox.remind.nobody", title=workshop.title)]
    if done.unreachable:
        replies.append(turn.say("outbox.remind.unreachable", count=done.unreachable))
    return replies


def silence(turn: Turn, args: str) -> list[Outgoing]:
    """Honoured at once: pending reminders cancelled, later rounds skip the person."""
    off = list(turn.conv.state.get(REMINDERS_OFF) or ())
    queue = turn.conv.outbox
    if not args.strip():
        for kind in REMINDER_KINDS:
            queue.cancel(turn.user_key, kind)
        turn.conv.set_state(**{REMINDERS_OFF: [*(o for o in off if o != "*"), "*"]})
        return [turn.say("outbox.silence.done_all")]
    workshop = turn.conv.workshops.find(args)
    if workshop is None:
        wait = braked(turn)
        if wait is not None:
            return [wait]
        turn.conv.workshops.record_wrong_code(turn.user_key)
        return [turn.say("workshop.join.unknown")]
    for kind in REMINDER_KINDS:
        queue.cancel(turn.user_key, kind, workshop.id)
    if workshop.id not in off:
        off.append(workshop.id)
    turn.conv.set_state(**{REMINDERS_OFF: off})
    return [turn.say("outbox.silence.done", title=workshop.title,
                     code=display_code(workshop.code))]


def parse_closing(typed: str) -> datetime | None:
    """« 12/03/2027 », « 12/03/2027 18:00 » or « 2027-03-12 » in Paris time, as UTC;
    a day without an hour closes at 23:59 that day. None if it is not a real date."""
    text = " ".join(typed.split())
    found = _DATE.match(text)
    if found:
        day, month, year, hour, minute = found.groups()
    elif found := _ISO.match(text):
        year, month, day, hour, minute = found.groups()
    else:
        return None
    try:
        local = datetime(int(year), int(month), int(day),
                         int(hour) if hour else 23, int(minute) if minute else 59,
                         tzinfo=PARIS)
    except ValueError:
        return None
    return local.astimezone(UTC)  # stored in UTC, as every moment is


def closing_date(turn: Turn, args: str) -> list[Outgoing]:
    code_part, _, typed = args.strip().partition(" ")
    if not typed.strip():
        return [turn.say("outbox.closing_date.usage")]
    found = _readable(turn, code_part, "outbox.closing_date.usage")
    if isinstance(found, Outgoing):
        return [found]
    workshop, now = found, turn.conv.now
    code = display_code(workshop.code)
    if workshop.facilitator_key != turn.user_key:
        return [turn.say("outbox.closing_date.facilitator_only", title=workshop.title,
                         code=code)]
    if not workshop.is_open(now):
        return [turn.say("outbox.closing_date.closed", title=workshop.title)]
    closes = parse_closing(typed)
    if closes is None:
        return [turn.say("outbox.closing_date.bad_date", typed=typed.strip(), code=code)]
    if closes <= now:
        example = (now + timedelta(days=7)).astimezone(PARIS).strftime("%d/%m/%Y")
        return [turn.say("outbox.closing_date.past", code=code, example=example)]
    changed = turn.conv.workshops.set_closing(workshop, closes)
    turn.keep_address = True  # the closing notice will come to this chat
    return [turn.say("outbox.closing_date.done", title=changed.title,
                     date=french_date(turn.texts, closes))]

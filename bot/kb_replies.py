"""Knowledge-base answers as chat bubbles (``Outgoing``) with their buttons.

The knowledge layer returns values (:class:`~knowledge.model.KbResult`); this module
turns them into messages, with the ``kb.*`` texts of the catalogue.

Button payloads are short opaque strings the core routes back here:
``kb:more:<id>`` (details), ``kb:show:<id>`` (one entry's short answer) and
``kb:fb:+:<id>`` / ``kb:fb:-:<id>`` (was this helpful?). Entry ids are at most 60
characters by validation, so every payload stays within Telegram's 64 bytes.
"""

from __future__ import annotations

import re

from bot.messages import Choice, Outgoing
from flows.catalogue import Texts
from knowledge.base import KnowledgeBase
from knowledge.glossary import spell_out
from knowledge.model import Entry, KbResult

MAX_RELATED = 3
PAYLOAD_MAX = 64


def more_payload(entry_id: str) -> str:
    return _payload(f"kb:more:{entry_id}")


def show_payload(entry_id: str) -> str:
    return _payload(f"kb:show:{entry_id}")


def feedback_payload(entry_id: str, helpful: bool) -> str:
    return _payload(f"kb:fb:{'+' if helpful else '-'}:{entry_id}")


def _payload(value: str) -> str:
    if len(value.encode("utf-8")) > PAYLOAD_MAX:
        raise ValueError(f"payload too long: {value!r}")
    return value


_COMPARES = re.compile(r"\b(ou|ou bien|plutot|plutôt|versus|vs|difference|différence)\b")


def answer_messages(kb: KnowledgeBase, result: KbResult, text: Texts,
                    extra: str = "") -> list[Outgoing]:
    """Reply to a free question: an answer, « vouliez-vous dire… » or « je ne sais pas ».

    ``extra``: lines for the answer, before its question (the regional contacts)."""
    if result.status == "answer" and result.answers:
        replies = [_entry_bubble(kb, result.answers[0].entry, text, extra)]
        if result.answers[0].entry.kind == "forme" and _COMPARES.search(result.query.lower()):
            # « asso ou coop ? »: one card cannot compare; the advisor can. Said first,
            # so that the card and its question stay last.
            replies.insert(0, Outgoing(text=text("answer.compare_forms")))
        return replies
    if result.status == "ambiguous" and result.answers:
        lines = [text("ambiguous.intro")]
        lines += [f"- {scored.entry.title}" for scored in result.answers]
        lines.append(text("ambiguous.outro"))
        choices = tuple(
            Choice(scored.entry.title, show_payload(scored.entry.id)) for scored in result.answers
        )
        return [Outgoing(text="\n".join(lines), choices=choices)]
    return unknown_messages(result.suggestions, text)


def unknown_messages(suggestions: list[Entry], text: Texts) -> list[Outgoing]:
    """« Je ne sais pas », the closest topics as buttons, then what to type."""
    lines = [text("unknown.intro")]
    choices: tuple[Choice, ...] = ()
    if suggestions:
        lines.append(text("unknown.closest"))
        lines += [f"- {entry.title}" for entry in suggestions]
        choices = tuple(Choice(entry.title, show_payload(entry.id)) for entry in suggestions)
    lines.append(text("unknown.commands"))
    return [Outgoing(text="\n".join(lines), choices=choices)]


def entry_messages(kb: KnowledgeBase, entry_id: str, text: Texts,
                   extra: str = "") -> list[Outgoing]:
    """The short answer of one entry (button ``kb:show:<id>``)."""
    entry = kb.get(entry_id)
    if entry is None:
        return [Outgoing(text=text("missing_entry"))]
    return [_entry_bubble(kb, entry, text, extra)]


def details_messages(kb: KnowledgeBase, entry_id: str, text: Texts) -> list[Outgoing]:
    """Details, then « pour aller plus loin », sources and related entries."""
    entry = kb.get(entry_id)
    if entry is None:
        return [Outgoing(text=text("missing_entry"))]
    first = spell_out(f"**{entry.title}**\n{entry.details or text('details.no_details')}")
    lines: list[str] = []
    if entry.links:
        lines.append(text("details.further"))
        lines += [f"- {link.title} : {link.url}" for link in entry.links]
    lines.append(text("details.sources"))
    lines += [f"- {source}" for source in entry.sources]
    related = _related(kb, entry)
    if related:
        lines.append(text("details.related"))
    choices = tuple(Choice(other.label, show_payload(other.id)) for other in related)
    return [Outgoing(text=first), Outgoing(text="\n".join(lines), choices=choices)]


_HELPFUL = {"+", "+1", "👍", "utile", "merci", "oui"}
_UNHELPFUL = {"-", "-1", "👎", "pas utile", "inutile", "non"}


def feedback_from_text(typed: str) -> bool | None:
    """« + » / « - » typed right after an answer: True, False, or None if it is not feedback.

    « oui » / « non » count only because the answer ends with « Cette réponse vous
    aide-t-elle ? »; the caller should use this only for the message right after one.
    """
    value = " ".join(typed.strip().lower().split()).rstrip(" !.")
    if value in _HELPFUL:
        return True
    if value in _UNHELPFUL:
        return False
    return None


def feedback_thanks(helpful: bool, text: Texts) -> list[Outgoing]:
    return [Outgoing(text=text("feedback.helpful" if helpful else "feedback.unhelpful"))]


def _entry_bubble(kb: KnowledgeBase, entry: Entry, text: Texts, extra: str = "") -> Outgoing:
    choices = [Choice(text("answer.more"), more_payload(entry.id))]
    related = text("answer.related")
    choices += [
        Choice(related.format(label=other.label), show_payload(other.id))
        for other in _related(kb, entry)
    ]
    choices += [
        Choice(text("answer.helpful"), feedback_payload(entry.id, True)),
        Choice(text("answer.unhelpful"), feedback_payload(entry.id, False)),
    ]
    answer = spell_out(entry.answer) + (f"\n\n{extra}" if extra else "")
    body = f"{answer}\n\n{text('answer.ask_feedback')}"
    return Outgoing(text=body, choices=tuple(choices))


def _related(kb: KnowledgeBase, entry: Entry) -> list[Entry]:
    found = (kb.get(other) for other in entry.see_also)
    return [other for other in found if other is not None][:MAX_RELATED]

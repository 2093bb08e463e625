"""Commands other than flows and workshops, and what is typed outside flows.

Each handler is short: it reads the turn, calls the piece that knows (the flow
engine, the knowledge base, a report) and returns messages.
"""

from __future__ import annotations

from bot import kb_replies
from bot.flow_turns import continue_flow, pause_active
from bot.menu import menu_text
from bot.messages import Attachment, Outgoing
from bot.region_contacts import regional_note
from bot.turn import Handler, Turn
from flows.folding import fold
from knowledge.language import looks_english
from storage.reports.exports import EXPORT_FORMATS, build_export


def start(turn: Turn, _args: str) -> list[Outgoing]:
    paused = pause_active(turn)
    return [turn.say("welcome", menu=menu_text(turn.content)), *paused]


def resume(turn: Turn, _args: str) -> list[Outgoing]:
    """Where the person stands: the current question, or the welcome."""
    active = turn.conv.active_session()
    if active is None:
        return start(turn, "")
    flow = turn.flows.get(active.flow_id)
    title = flow.title if flow else active.flow_id
    return [turn.say("flow.resumed", title=title), *continue_flow(turn, active, "resume")]


def help_(turn: Turn, _args: str) -> list[Outgoing]:
    active = turn.conv.active_session()
    if active is not None:
        return continue_flow(turn, active, "help")
    return [turn.say("help_general", menu=menu_text(turn.content, complete=True))]


def navigate(action: str, idle_key: str) -> Handler:
    """/retour, /passer, /annuler: the engine's navigation, or why there is none."""

    def handler(turn: Turn, _args: str) -> list[Outgoing]:
        active = turn.conv.active_session()
        if active is None:
            return [turn.say(idle_key)]
        return continue_flow(turn, active, action)

    return handler


def export(turn: Turn, args: str) -> list[Outgoing]:
    fmt = args.split()[0].lower().lstrip(".") if args.split() else ""
    if fmt == "markdown":
        fmt = "md"
    if fmt not in EXPORT_FORMATS:
        return [turn.say("export.usage")]
    records = turn.conv.sessions()
    if not records:
        return [turn.say("export.empty")]
    caption = turn.texts("export.caption", format=fmt.upper())
    flows, user = turn.flows, turn.user_key

    def document() -> list[Outgoing]:
        built = build_export(records, flows, fmt, user=user)
        return [Outgoing(file=Attachment(built.filename, built.content, built.mime_type,
                                         caption))]

    # Built after the commit, off the event loop (an HTML export draws charts).
    turn.after_commit.append(document)
    return []


def _small_talk(turn: Turn, text: str) -> Outgoing | None:
    """« Bonjour », « merci »: a polite answer rather than « je ne sais pas »."""
    folded = fold(text).split()
    for words_key, reply_key in (("greeting_words", "greeting"), ("thanks_words", "thanks")):
        words = {fold(w) for w in turn.texts(words_key).split(",")}
        if " ".join(folded) in words or (folded[:1] and folded[0] in words and len(folded) <= 3):
            return turn.say(reply_key)
    return None


def free_text(turn: Turn, text: str) -> list[Outgoing]:
    small_talk = _small_talk(turn, text)
    if small_talk is not None:
        return [small_talk]
    kb = turn.content.knowledge
    if kb is None:
        return [turn.say("kb.unavailable")]
    texts = turn.texts.scoped("kb")
    answered = turn.conv.state.get("last_entry")
    if answered:
        # « + », « - », « oui », « non » right after an answer rate that answer.
        helpful = kb_replies.feedback_from_text(text)
        turn.conv.set_state(last_entry=None)
        if helpful is not None:
            if not helpful:
                question = turn.conv.state.get("last_question") or answered
                turn.conv.record_kb_gap(question, "unhelpful", answered)
            return kb_replies.feedback_thanks(helpful, texts)
    # A question in English: a short French note first, then whatever the base finds.
    note = [turn.say("kb.english_note")] if looks_english(text) else []
    result = kb.ask(text)
    turn.conv.set_state(last_question=text[:500])
    if result.status == "unknown":
        turn.conv.record_kb_gap(text, "unknown")
    extra = ""
    if result.status == "answer":
        entry = result.answers[0].entry
        turn.conv.set_state(last_entry=entry.id)
        extra = regional_note(turn.content, entry, text, turn.conv.territory)
    return note + kb_replies.answer_messages(kb, result, texts, extra)


def payload(turn: Turn, data: str) -> list[Outgoing]:
    """A knowledge-base button (``kb:…``), or an unknown one."""
    kb = turn.content.knowledge
    if data.startswith("kb:") and kb is not None:
        texts = turn.texts.scoped("kb")
        match data.split(":", 3):
            case ["kb", "more", entry_id]:
                return kb_replies.details_messages(kb, entry_id, texts)
            case ["kb", "show", entry_id]:
                return kb_replies.entry_messages(kb, entry_id, texts,
                                                 _note(turn, entry_id))
            case ["kb", "fb", sign, entry_id]:
                if sign == "-":
                    question = turn.conv.state.get("last_question") or entry_id
                    turn.conv.record_kb_gap(question, "unhelpful", entry_id)
                return kb_replies.feedback_thanks(sign == "+", texts)
    return [turn.say("choices.stale")]


def _note(turn: Turn, entry_id: str) -> str:
    """The regional lines for an entry chosen by button, read with the last question."""
    kb = turn.content.knowledge
    entry = kb.get(entry_id) if kb is not None else None
    if entry is None:
        return ""
    question = str(turn.conv.state.get("last_question") or "")
    return regional_note(turn.content, entry, question, turn.conv.territory)

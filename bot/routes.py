"""Command handlers other than flow commands, and free text outside flows.

Each handler is short: it reads the turn, calls the piece that knows (flows,
storage exports, knowledge base) and returns messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import flow_turns
from bot.messages import Attachment, Outgoing
from bot.turn import Turn
from flows.parsing import fold

if TYPE_CHECKING:
    from bot.core import Assistant, Handler

EXPORT_FORMATS = ("md", "html", "csv", "json")


def command_table(assistant: Assistant) -> dict[str, Handler]:
    table: dict[str, Handler] = {
        "start": start,
        "aide": help_,
        "retour": _navigate("back", "commands.nothing_to_go_back"),
        "passer": _navigate("skip", "commands.nothing_to_skip"),
        "annuler": _navigate("cancel", "commands.nothing_to_cancel"),
        "export": export,
        "reprendre": resume,
    }
    from bot import workshop_routes

    table.update(workshop_routes.command_table())
    return table


async def start(turn: Turn, _args: str) -> list[Outgoing]:
    paused = await flow_turns.pause_active(turn)
    return [turn.say("welcome", menu=turn.assistant.menu_text()), *paused]


async def resume(turn: Turn, _args: str) -> list[Outgoing]:
    """Where the person stands: the current question, or the welcome."""
    active = await turn.conv.active_session()
    if active is None:
        return await start(turn, "")
    flow = turn.flows.get(active.flow_id)
    title = flow.title if flow else active.flow_id
    return [turn.say("flow.resumed", title=title),
            *await flow_turns.continue_flow(turn, active, "resume")]


async def help_(turn: Turn, _args: str) -> list[Outgoing]:
    active = await turn.conv.active_session()
    if active is not None:
        return await flow_turns.continue_flow(turn, active, "help")
    return [turn.say("help_general", menu=turn.assistant.menu_text(complete=True))]


def _navigate(action: str, idle_key: str) -> Handler:
    async def handler(turn: Turn, _args: str) -> list[Outgoing]:
        active = await turn.conv.active_session()
        if active is None:
            return [turn.say(idle_key)]
        return await flow_turns.continue_flow(turn, active, action)

    return handler


async def export(turn: Turn, args: str) -> list[Outgoing]:
    from storage.exports import build_export

    fmt = args.split()[0].lower().lstrip(".") if args.split() else ""
    if fmt == "markdown":
        fmt = "md"
    if fmt not in EXPORT_FORMATS:
        return [turn.say("export.usage")]
    records = await turn.conv.user_sessions()
    if not records:
        return [turn.say("export.empty")]
    caption = turn.texts("export.caption", format=fmt.upper())

    def document() -> list[Outgoing]:
        built = build_export(records, turn.flows, fmt, user=turn.incoming.user_key)
        return [Outgoing(file=Attachment(built.filename, built.content, built.mime_type,
                                         caption))]

    # Built after the commit, off the event loop (an HTML export draws charts).
    turn.after_commit.append(document)
    return []


def _small_talk(turn: Turn, text: str) -> Outgoing | None:
    """« Bonjour », « merci »: a polite answer rather than « je ne sais pas »."""
    folded = fold(text)
    for words_key, reply_key in (("greeting_words", "greeting"), ("thanks_words", "thanks")):
        words = {fold(w) for w in turn.texts(words_key).split(",")}
        if folded in words or (folded.split()[:1] and folded.split()[0] in words
                               and len(folded.split()) <= 3):
            return turn.say(reply_key)
    return None


async def free_text(turn: Turn, text: str) -> list[Outgoing]:
    small_talk = _small_talk(turn, text)
    if small_talk is not None:
        return [small_talk]
    kb = turn.assistant.knowledge
    if kb is None:
        return [turn.say("kb.unavailable")]
    from knowledge import replies

    answered = turn.conv.state.get("last_entry")
    if answered:
        # « + », « - », « oui », « non » right after an answer rate that answer.
        helpful = replies.feedback_from_text(text)
        turn.conv.set_state(last_entry=None)
        if helpful is not None:
            if not helpful:
                question = turn.conv.state.get("last_question") or answered
                await turn.conv.record_kb_gap(question, "unhelpful", answered)
            return replies.feedback_thanks(helpful)
    result = kb.ask(text)
    turn.conv.set_state(last_question=text[:500])
    if result.status == "unknown":
        await turn.conv.record_kb_gap(text, "unknown")
    elif result.status == "answer":
        turn.conv.set_state(last_entry=result.answers[0].entry.id)
    return replies.answer_messages(kb, result)


async def confirmation(turn: Turn, action: str, text: str) -> list[Outgoing]:
    """The answer to a yes/no question asked outside flows (state ``confirm``).

    Modules that ask such questions register a handler in ``CONFIRMATIONS``.
    """
    handler = CONFIRMATIONS.get(action)
    if handler is None:
        return [turn.say("choices.stale")]
    return await handler(turn, text)


CONFIRMATIONS: dict[str, Handler] = {}


async def payload(turn: Turn, data: str) -> list[Outgoing]:
    kb = turn.assistant.knowledge
    if data.startswith("kb:") and kb is not None:
        from knowledge import replies

        parts = data.split(":", 3)
        match parts:
            case ["kb", "more", entry_id]:
                return replies.details_messages(kb, entry_id)
            case ["kb", "show", entry_id]:
                return replies.entry_messages(kb, entry_id)
            case ["kb", "fb", sign, entry_id]:
                if sign == "-":
                    question = turn.conv.state.get("last_question") or entry_id
                    await turn.conv.record_kb_gap(question, "unhelpful", entry_id)
                return replies.feedback_thanks(sign == "+")
    return [turn.say("choices.stale")]

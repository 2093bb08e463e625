"""Where one message goes: a command, a button, a pending question, the active flow,
a numbered choice, or a question for the knowledge base — in that order."""

from __future__ import annotations

import re

from bot import routes
from bot.commands import ALIASES, COMMANDS, CONFIRMATIONS
from bot.flow_turns import continue_flow, press_button, start_flow
from bot.messages import Outgoing
from bot.payloads import decode_step_button
from bot.turn import Turn
from flows.parsing import clean_text

COMMAND = re.compile(r"^[/!]([A-Za-zÀ-ÿ_]+)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)
_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")


def route(turn: Turn) -> list[Outgoing]:
    incoming = turn.incoming
    if incoming.payload is not None:
        replies = _payload(turn, incoming.payload)
    else:
        replies = _text(turn, clean_text(incoming.text or ""))
    _remember_choices(turn, replies)
    return replies


def _text(turn: Turn, text: str) -> list[Outgoing]:
    command = COMMAND.match(text)
    if command:
        # A command moves on from any pending question (its handler may ask again).
        turn.conv.set_state(confirm=None)
        return _command(turn, command.group(1), command.group(2) or "")
    pending = turn.conv.state.get("confirm")
    if pending:
        # A question such as « effacer vos données ? » waits for its answer first.
        turn.conv.set_state(confirm=None)
        handler = CONFIRMATIONS.get(str(pending))
        return handler(turn, text) if handler else [turn.say("choices.stale")]
    active = turn.conv.active_session()
    if active is not None:
        return continue_flow(turn, active, "answer", text)
    number = _NUMBER.match(text)
    offered = turn.conv.state.get("choices") or []
    if number and offered:
        index = int(number.group(1))
        if 1 <= index <= len(offered):
            return _payload(turn, offered[index - 1])
        return [turn.say("choices.out_of_range")]
    if number:
        # A lone number is never a question for the knowledge base (« 1 » once matched
        # an article number): it answers a list that is no longer there.
        return [turn.say("choices.no_list")]
    return routes.free_text(turn, text)


def _command(turn: Turn, typed: str, args: str) -> list[Outgoing]:
    name = ALIASES.get(typed.lower(), typed.lower())
    flow = turn.content.flow_commands.get(name)
    if flow is not None:
        return start_flow(turn, flow)
    handler = COMMANDS.get(name)
    if handler is None:
        return [turn.say("commands.unknown", command=name)]
    return handler(turn, args.strip())


def _payload(turn: Turn, payload: str) -> list[Outgoing]:
    if payload.startswith(("/", "!")):
        command = COMMAND.match(payload)
        if command:
            return _command(turn, command.group(1), command.group(2) or "")
    button = decode_step_button(payload)
    if button is not None:
        return press_button(turn, turn.conv.active_session(), button)
    return routes.payload(turn, payload)


def _remember_choices(turn: Turn, replies: list[Outgoing]) -> None:
    """Outside a flow, a typed number answers the last choices offered."""
    offered = [c.payload for r in replies for c in r.choices]
    in_flow = turn.conv.active_session() is not None
    if offered and not in_flow:
        turn.conv.set_state(choices=offered)
    elif replies and turn.conv.state.get("choices"):
        turn.conv.set_state(choices=None)

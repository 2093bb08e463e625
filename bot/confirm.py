"""Questions asked outside flows, whose answer is the person's next message.

« Effacer vos données ? », « Quel est le titre de l'atelier ? »: the state key
``confirm`` names the question, and the core routes the next plain message to
its handler (see :data:`bot.commands.CONFIRMATIONS`). A command in between clears
it; a flow question started in between takes the answer instead.
"""

from __future__ import annotations

from bot.flow_turns import continue_flow
from bot.messages import Outgoing
from bot.turn import Turn


def ask(turn: Turn, action: str) -> None:
    """Route the person's next message to ``action``, remembering which flow question
    was open when we asked."""
    active = turn.conv.active_session()
    turn.conv.set_state(confirm=action, confirm_session=active.id if active else 0)


def moved_on(turn: Turn, text: str) -> list[Outgoing] | None:
    """The answer to a flow question started since we asked: not ours, give it to the flow.

    Someone who asked for /atelier and then started /facteurs means their « 1 » for
    the flow, not for us.
    """
    asked_in = turn.conv.state.get("confirm_session") or 0
    turn.conv.set_state(confirm_session=None)
    active = turn.conv.active_session()
    if active is not None and active.id != asked_in:
        return continue_flow(turn, active, "answer", text)
    return None


def is_yes(text: str) -> bool:
    return " ".join(text.lower().split()).rstrip(" !.") in YES


YES = {"oui", "o", "yes", "y"}

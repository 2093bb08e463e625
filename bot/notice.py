"""The privacy notice, shown once per person before their first answer.

It says what is stored, why, for how long and how to get or delete it (flag
``privacy_notice`` in the person's conversation state).
"""

from __future__ import annotations

from bot.messages import Outgoing
from bot.turn import Turn
from flows.catalogue import Texts

NOTICE_FLAG = "privacy_notice"


def retention_text(texts: Texts, days: int) -> str:
    """« 12 mois » for whole years, otherwise « N jours »."""
    if days % 365 == 0:
        return texts("privacy.retention_months", count=days // 365 * 12)
    return texts("privacy.retention_days", count=days)


def notice(turn: Turn) -> Outgoing:
    return turn.say("privacy.notice",
                    retention=retention_text(turn.texts, turn.content.retention_days))


def notice_once(turn: Turn) -> list[Outgoing]:
    """The notice if this person has not seen it yet (and remember that they have)."""
    if turn.conv.state.get(NOTICE_FLAG):
        return []
    turn.conv.set_state(**{NOTICE_FLAG: True})
    return [notice(turn)]

"""Participants' rights in chat: ``/mesdonnees`` and ``/oublier``.

The data itself is read and deleted by storage (``Conversation.personal_data`` and
``Conversation.forget``); this module only talks.
"""

from __future__ import annotations

import json

from bot import confirm
from bot.messages import Attachment, Outgoing
from bot.notice import retention_text
from bot.turn import Turn

CONFIRM_FORGET = "forget"


def my_data(turn: Turn, _args: str) -> list[Outgoing]:
    retention = retention_text(turn.texts, turn.content.retention_days)
    data = turn.conv.personal_data()
    outbox = data.get("outbox") or {}
    channels = ", ".join(outbox.get("chat_addresses_kept") or ()) or turn.texts(
        "privacy.mydata.outbox_none")
    document = {
        "about": turn.texts("privacy.mydata.about", retention=retention),
        "retention_days": turn.content.retention_days,
        "exported_at": turn.conv.now.isoformat(timespec="seconds"),
        # What is pending, said in words: the queued messages and why an address is kept.
        "pending": turn.texts("privacy.mydata.outbox",
                              count=len(outbox.get("messages_queued") or ()),
                              channels=channels),
        **data,
    }
    content = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    stamp = turn.conv.now.strftime("%Y%m%d-%H%M")
    attachment = Attachment(f"coopbot-mes-donnees-{stamp}.json", content, "application/json",
                            turn.texts("privacy.mydata.caption"))
    return [Outgoing(file=attachment)]


def forget(turn: Turn, _args: str) -> list[Outgoing]:
    """Ask first: the next message answers (:func:`confirm_forget`)."""
    text = turn.texts("privacy.forget.confirm")
    owned = turn.conv.workshops.facilitated_by(turn.user_key)
    if owned:
        text += "\n" + turn.texts("privacy.forget.confirm_facilitator", count=len(owned))
    turn.conv.set_state(choices=None)
    confirm.ask(turn, CONFIRM_FORGET)
    return [Outgoing(text=text)]


def confirm_forget(turn: Turn, text: str) -> list[Outgoing]:
    elsewhere = confirm.moved_on(turn, text)
    if elsewhere is not None:
        return elsewhere
    if not confirm.is_yes(text):
        return [turn.say("privacy.forget.kept")]
    turn.conv.forget()
    return [turn.say("privacy.forget.done")]

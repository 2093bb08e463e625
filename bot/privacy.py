"""Participants' rights in chat: the notice before a first answer, /mesdonnees, /oublier.

The notice says what is stored, why, for how long and how to get or delete it; it
is shown once per person (flag ``privacy_notice`` in their conversation state),
before their first flow or when they join a workshop. The data itself is read and
deleted by ``storage.privacy``; this module only talks.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from bot.messages import Attachment, Outgoing
from bot.texts import Texts, load_texts
from bot.turn import Turn

TEXTS_FILE = Path(__file__).parent / "privacy_texts.fr.yaml"
NOTICE_FLAG = "privacy_notice"
CONFIRM_FORGET = "forget"
YES = {"oui", "o", "yes", "y", "oui.", "oui !", "oui!"}


@lru_cache(maxsize=1)
def privacy_texts() -> Texts:
    return load_texts(TEXTS_FILE)


@lru_cache(maxsize=1)
def retention_days() -> int:
    from bot.config import Settings

    return Settings.from_env().retention_days


def retention_text(days: int | None = None) -> str:
    """« 12 mois » for whole years, otherwise « N jours »."""
    days = retention_days() if days is None else days
    t = privacy_texts()
    if days % 365 == 0:
        return t("retention_months", count=days // 365 * 12)
    return t("retention_days", count=days)


def ask_confirmation(turn: Turn, action: str) -> None:
    """Route the person's next message to ``action`` (``bot.routes.CONFIRMATIONS``),
    remembering which flow question was open when we asked."""
    turn.conv.set_state(confirm=action, confirm_session=turn.conv.state.get("session_id") or 0)


async def moved_on(turn: Turn, text: str) -> list[Outgoing] | None:
    """The answer to a flow question started since we asked: not ours, give it to the flow.

    The core routes the next plain message to a pending confirmation even when the
    person typed a command in between; someone who asked for /atelier and then
    started /facteurs means their « 1 » for the flow, not for us.
    """
    asked_in = turn.conv.state.get("confirm_session") or 0
    turn.conv.set_state(confirm_session=None)
    active = await turn.conv.active_session()
    if active is not None and active.id != asked_in:
        from bot import flow_turns

        return await flow_turns.continue_flow(turn, active, "answer", text)
    return None


def notice() -> Outgoing:
    return Outgoing(text=privacy_texts()("notice", retention=retention_text()))


def notice_once(turn: Turn) -> list[Outgoing]:
    """The notice if this person has not seen it yet (and remember that they have)."""
    if turn.conv.state.get(NOTICE_FLAG):
        return []
    turn.conv.set_state(**{NOTICE_FLAG: True})
    return [notice()]


async def my_data(turn: Turn, _args: str) -> list[Outgoing]:
    from storage.privacy import user_data

    data = await user_data(turn.conv.db, turn.incoming.user_key)
    if data["user"] is not None:  # the state as it stands now, this message included
        data["user"]["state"] = turn.conv.state
    document = {
        "about": privacy_texts()("mydata.about", retention=retention_text()),
        "retention_days": retention_days(),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **data,
    }
    content = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    attachment = Attachment(f"coopbot-mes-donnees-{stamp}.json", content, "application/json",
                            privacy_texts()("mydata.caption"))
    return [Outgoing(file=attachment)]


async def forget(turn: Turn, _args: str) -> list[Outgoing]:
    """Ask first: the next message answers (see ``bot.routes.CONFIRMATIONS``)."""
    from storage.workshops import workshops_of

    t = privacy_texts()
    text = t("forget.confirm")
    owned = await workshops_of(turn.conv.db, turn.incoming.user_key)
    if owned:
        text += "\n" + t("forget.confirm_facilitator", count=len(owned))
    turn.conv.set_state(choices=None)
    ask_confirmation(turn, CONFIRM_FORGET)
    return [Outgoing(text=text)]


async def confirm_forget(turn: Turn, text: str) -> list[Outgoing]:
    elsewhere = await moved_on(turn, text)
    if elsewhere is not None:
        return elsewhere
    t = privacy_texts()
    if " ".join(text.lower().split()) not in YES:
        return [Outgoing(text=t("forget.kept"))]
    await turn.conv.forget()
    return [Outgoing(text=t("forget.done"))]

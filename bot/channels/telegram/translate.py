"""Telegram updates as :class:`~bot.messages.Incoming`: who speaks, and whether to us.

In groups only commands addressed to this bot and replies to its messages are
taken. ``message_id`` is the ``update_id``, so the core drops redelivered updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from telegram import Message, Update

from bot.messages import Incoming

CHANNEL = "telegram"


class KeysUsers(Protocol):
    def user_key(self, channel: str, platform_user_id: str) -> str: ...


@dataclass(frozen=True, slots=True)
class BotIdentity:
    id: int
    username: str


def to_incoming(
    update: Update,
    me: BotIdentity,
    assistant: KeysUsers,
    digests: dict[str, str] | None = None,
) -> Incoming | None:
    """The :class:`Incoming` for ``update``, or ``None`` when the bot should stay silent.

    In groups only commands addressed to this bot (``/cmd`` or ``/cmd@thisbot``) and
    replies to its messages are taken; ``@thisbot`` is stripped so the core sees a plain
    command. The user key is per person, so each member of a group has their own progress.
    """
    message_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        if query.data is None:
            return None
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        payload = (digests or {}).get(query.data, query.data)
        return Incoming(
            channel=CHANNEL,
            user_key=assistant.user_key(CHANNEL, str(query.from_user.id)),
            chat_id=str(chat),
            payload=payload,
            message_id=message_id,
            bot_address=me.username,
            private=chat == query.from_user.id,
        )
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    if message.text is None:
        if message.chat.type != "private":
            return None
        text = None  # a sticker, photo or voice note: the core says it reads text only
    else:
        text = _addressed_text(message, me)
        if text is None:
            return None
    return Incoming(
        channel=CHANNEL,
        user_key=assistant.user_key(CHANNEL, str(message.from_user.id)),
        chat_id=str(message.chat.id),
        text=text,
        message_id=message_id,
        bot_address=me.username,
        private=message.chat.type == "private",
    )


def _addressed_text(message: Message, me: BotIdentity) -> str | None:
    text = message.text or ""
    if text.startswith("/"):
        head, sep, rest = text.partition(" ")
        command, at, target = head.partition("@")
        if at and target.lower() != me.username.lower():
            return None  # a command for another bot in the same group
        return command + sep + rest
    if message.chat.type == "private":
        return text
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
        return text
    return None



"""Replies to Telegram: HTML messages with inline keyboards, documents, photos.

A tap on a button is answered at once (Telegram shows a spinner until then and
refuses late answers), and removes the keyboard it was under, so a question
cannot be answered twice. Sends that never reached Telegram are retried; a
timeout is not (the message may have arrived, and nobody must get it twice).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile, LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ContextTypes, ExtBot

from bot.channels.telegram.render import caption_html, digest_map, keyboard, render_text
from bot.channels.telegram.translate import CHANNEL, BotIdentity, to_incoming
from bot.messages import FollowUps, Handles, Outgoing
from bot.texts import texts

logger = logging.getLogger("bot.channels.telegram")

NETWORK_RETRIES = 2
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class TelegramChannel:
    """Handlers bound to one assistant; also renders replies."""

    def __init__(self, assistant: Handles, me: BotIdentity | None = None):
        self.assistant = assistant
        self.me = me
        self._digests: OrderedDict[str, str] = OrderedDict()
        self._owners: OrderedDict[tuple[int, int], str] = OrderedDict()
        """(group chat, message) → user key of the person a keyboard was sent to."""

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._process(update, context.bot)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        # Answer at once: Telegram shows a spinner until then, and rejects late answers.
        await quietly(query.answer(), "answerCallbackQuery")
        message = query.message
        if isinstance(message, Message) and self._closes(message, query.from_user.id):
            # The question is answered (or stale): its buttons must not be pressed again.
            await quietly(
                context.bot.edit_message_reply_markup(
                    chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
                ),
                "editMessageReplyMarkup",
            )
        await self._process(update, context.bot)

    def _closes(self, message: Message, presser_id: int) -> bool:
        """Whether a tap removes the keyboard: yes, unless in a group the keyboard was
        sent to another member (their question stays answerable for them)."""
        if message.reply_markup is None:
            return False
        presser = self.assistant.user_key(CHANNEL, str(presser_id))
        return self._owners.get((message.chat.id, message.message_id), presser) == presser

    async def _process(self, update: Update, bot: ExtBot[Any]) -> None:
        me = self.me or BotIdentity(bot.id, bot.username)
        incoming = to_incoming(update, me, self.assistant, self._digests)
        if incoming is None:
            return
        follow_ups = FollowUps()
        try:
            replies = await self.assistant.handle(incoming, follow_ups)
        except Exception:
            # The core answers its own failures; this is the last resort for the rest.
            logger.exception("assistant failed on update %s", update.update_id)
            replies = [Outgoing(texts()("errors.internal"))]
        chat_id = int(incoming.chat_id)
        await self.deliver(bot, chat_id, replies, owner=incoming.user_key)
        await self.assistant.delivered(incoming, replies)
        # A chart drawn meanwhile follows as its own message, when it is ready.
        follow_ups.send_after(lambda later: self.deliver(bot, chat_id, later))

    async def deliver(
        self,
        bot: ExtBot[Any],
        chat_id: int,
        replies: Sequence[Outgoing],
        owner: str | None = None,
    ) -> int:
        """Send every reply in order; returns how many Telegram messages went out.

        A chat that blocked the bot stops the delivery (nothing more can arrive); other
        errors skip the failing message and go on.
        """
        sent = 0
        for reply in replies:
            markup = keyboard(reply.choices, reply.actions)
            self._remember(digest_map((*reply.choices, *reply.actions)))
            for send, send_markup in sends(reply, markup):
                try:
                    message = await with_network_retries(send, bot, chat_id, send_markup)
                    sent += 1
                    if send_markup is not None and chat_id < 0 and owner is not None:
                        self._remember_owner(message, owner)
                except Forbidden:
                    logger.info("chat unreachable (blocked or removed); delivery stopped")
                    return sent
                except TelegramError as exc:
                    logger.warning("send failed: %s", describe(exc))
        return sent

    def remember_buttons(self, reply: Outgoing) -> None:
        """Keep the payloads behind a reply's buttons (a queued message's too)."""
        self._remember(digest_map((*reply.choices, *reply.actions)))

    def _remember_owner(self, message: object, owner: str) -> None:
        if isinstance(message, Message):
            self._owners[(message.chat.id, message.message_id)] = owner
            while len(self._owners) > 10_000:
                self._owners.popitem(last=False)

    def _remember(self, mapping: dict[str, str]) -> None:
        for digest, payload in mapping.items():
            self._digests[digest] = payload
            self._digests.move_to_end(digest)
        while len(self._digests) > 10_000:
            self._digests.popitem(last=False)


_Send = Callable[[ExtBot[Any], int, InlineKeyboardMarkup | None], Awaitable[object]]


def sends(
    reply: Outgoing, markup: InlineKeyboardMarkup | None
) -> list[tuple[_Send, InlineKeyboardMarkup | None]]:
    """One bubble as Telegram calls: text pieces, then photo, then document.

    The keyboard goes on the last call so it sits under the question, which comes last.
    """
    calls: list[_Send] = []
    for piece in render_text(reply.text) if reply.text else []:
        calls.append(_text_send(piece))
    for attachment, method in ((reply.image, "photo"), (reply.file, "document")):
        if attachment is None:
            continue
        # A photo has no alt text on Telegram: its caption carries the description.
        text = "\n".join(t for t in (attachment.caption, attachment.alt) if t)
        caption = caption_html(text)
        if text and caption is None:  # too long for a caption
            calls.extend(_text_send(p) for p in render_text(text))
        calls.append(_file_send(method, attachment.filename, attachment.content, caption))
    if not calls and markup is not None:
        calls.append(_text_send("…"))
    return [(call, markup if i == len(calls) - 1 else None) for i, call in enumerate(calls)]


def _text_send(html: str) -> _Send:
    async def send(bot: ExtBot[Any], chat_id: int, markup: InlineKeyboardMarkup | None) -> object:
        return await bot.send_message(
            chat_id,
            html,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=_NO_PREVIEW,
        )

    return send


def _file_send(method: str, filename: str, content: bytes, caption: str | None) -> _Send:
    async def send(bot: ExtBot[Any], chat_id: int, markup: InlineKeyboardMarkup | None) -> object:
        upload = InputFile(content, filename=filename)
        sender = bot.send_photo if method == "photo" else bot.send_document
        return await sender(
            chat_id, upload, caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup
        )

    return send


async def with_network_retries(
    send: _Send, bot: ExtBot[Any], chat_id: int, markup: InlineKeyboardMarkup | None
) -> object:
    """Retry a send that never reached Telegram (connection errors), never a timeout:
    a timed-out message may have been delivered, and a user must not get it twice."""
    for attempt in range(NETWORK_RETRIES + 1):
        try:
            return await send(bot, chat_id, markup)
        except TimedOut:
            raise
        except (Forbidden, BadRequest, RetryAfter):
            raise
        except NetworkError as exc:
            if attempt == NETWORK_RETRIES:
                raise
            logger.info("network error, retrying: %s", describe(exc))
            await asyncio.sleep(1.0 * (attempt + 1))
    return None


async def quietly(call: Any, what: str) -> None:
    """Housekeeping calls (answer a button, remove a keyboard) must never stop a reply."""
    try:
        await call
    except BadRequest as exc:
        level = logging.DEBUG if _harmless(exc) else logging.WARNING
        logger.log(level, "%s refused: %s", what, describe(exc))
    except TelegramError as exc:
        logger.warning("%s failed: %s", what, describe(exc))


def _harmless(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return any(
        part in text
        for part in ("message is not modified", "query is too old", "message to edit not found")
    )


def describe(exc: TelegramError) -> str:
    """Exception class and Telegram's own description; never message contents.

    (For ``RetryAfter`` the description gives the delay: reading ``retry_after``
    itself raised PTB's deprecation warning at every flood-control refusal.)
    """
    return f"{type(exc).__name__}: {exc.message[:200]}"

"""Telegram channel: python-telegram-bot 22 ``Application`` around ``Assistant.handle``.

Thin by design: an update becomes an :class:`~bot.messages.Incoming`, each
:class:`~bot.messages.Outgoing` becomes HTML messages with inline keyboards, documents
or photos. Coopbot keeps its own conversation state, so there are only plain handlers
(no ``ConversationHandler``), updates are processed concurrently (the core serialises
per user), and ``message_id`` is the ``update_id`` so the core drops redelivered updates.

Rendering helpers live in :mod:`bot.channels.telegram_render` (pure, unit-tested).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

from telegram import (
    BotCommand,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from bot.channels.telegram_render import (
    caption_html,
    digest_map,
    keyboard,
    render_text,
)
from bot.config import Settings
from bot.messages import Incoming, Outgoing
from bot.texts import texts

# Opt in now to what python-telegram-bot 23 does anyway: time periods such as
# ``RetryAfter.retry_after`` are ``timedelta``. Without it PTB warns each time
# Telegram refuses a send for flood control. Nothing here reads those as numbers.
os.environ.setdefault("PTB_TIMEDELTA", "true")
logger = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
RATE_LIMIT_RETRIES = 5
"""RetryAfter (429) is retried this many times, all sends paused meanwhile."""
NETWORK_RETRIES = 2
SENDS_PER_SECOND = 28
"""Telegram's documented ceiling is about 30 messages per second for a whole bot."""
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


class AssistantLike(Protocol):
    """What the channel needs from :class:`bot.core.Assistant`."""

    commands: Sequence[tuple[str, str]]

    def user_key(self, channel: str, platform_user_id: str) -> str: ...

    async def handle(self, incoming: Incoming) -> list[Outgoing]: ...
    async def delivered(self, incoming: Incoming, replies: list[Outgoing]) -> None: ...


# ----- update → Incoming --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BotIdentity:
    id: int
    username: str


def to_incoming(
    update: Update,
    me: BotIdentity,
    assistant: AssistantLike,
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


# ----- Outgoing → Telegram -----------------------------------------------------------
class TelegramChannel:
    """Handlers bound to one assistant; also renders replies."""

    def __init__(self, assistant: AssistantLike, me: BotIdentity | None = None):
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
        await _quietly(query.answer(), "answerCallbackQuery")
        message = query.message
        if isinstance(message, Message) and self._closes(message, query.from_user.id):
            # The question is answered (or stale): its buttons must not be pressed again.
            await _quietly(
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
        try:
            replies = await self.assistant.handle(incoming)
        except Exception:
            # The core answers its own failures; this is the last resort for the rest.
            logger.exception("assistant failed on update %s", update.update_id)
            replies = [Outgoing(texts()("errors.internal"))]
        await self.deliver(bot, int(incoming.chat_id), replies, owner=incoming.user_key)
        await self.assistant.delivered(incoming, replies)

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
            for send, send_markup in _sends(reply, markup):
                try:
                    message = await _with_network_retries(send, bot, chat_id, send_markup)
                    sent += 1
                    if send_markup is not None and chat_id < 0 and owner is not None:
                        self._remember_owner(message, owner)
                except Forbidden:
                    logger.info("chat unreachable (blocked or removed); delivery stopped")
                    return sent
                except TelegramError as exc:
                    logger.warning("send failed: %s", _describe(exc))
        return sent

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


def _sends(
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
        caption = caption_html(attachment.caption)
        if attachment.caption and caption is None:  # too long for a caption
            calls.extend(_text_send(p) for p in render_text(attachment.caption))
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


async def _with_network_retries(
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
            logger.info("network error, retrying: %s", _describe(exc))
            await asyncio.sleep(1.0 * (attempt + 1))
    return None


async def _quietly(call: Any, what: str) -> None:
    """Housekeeping calls (answer a button, remove a keyboard) must never stop a reply."""
    try:
        await call
    except BadRequest as exc:
        level = logging.DEBUG if _harmless(exc) else logging.WARNING
        logger.log(level, "%s refused: %s", what, _describe(exc))
    except TelegramError as exc:
        logger.warning("%s failed: %s", what, _describe(exc))


def _harmless(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return any(
        part in text
        for part in ("message is not modified", "query is too old", "message to edit not found")
    )


def _describe(exc: TelegramError) -> str:
    """Exception class and Telegram's own description; never message contents.

    (For ``RetryAfter`` the description gives the delay: reading ``retry_after``
    itself raised PTB's deprecation warning at every flood-control refusal.)
    """
    return f"{type(exc).__name__}: {exc.message[:200]}"


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, TelegramError):
        logger.warning("update %s: %s", update_id, _describe(error))
    else:
        logger.error("update %s: %s", update_id, type(error).__name__, exc_info=error)


# ----- application -------------------------------------------------------------------
def bot_commands(commands: Sequence[tuple[str, str]]) -> list[BotCommand]:
    """Menu entries Telegram accepts (lowercase names, descriptions 1–256 characters)."""
    result: list[BotCommand] = []
    for name, description in commands:
        clean = name.lstrip("/!").lower()
        if _COMMAND_NAME.match(clean) and description.strip():
            result.append(BotCommand(clean, description.strip()[:256]))
    return result[:100]


def file_url(api_url: str) -> str:
    """``…/bot`` → ``…/file/bot``, as for Telegram and the local Bot API server."""
    root, _, _ = api_url.rstrip("/").rpartition("/bot")
    return f"{root}/file/bot"


def default_rate_limiter() -> AIORateLimiter:
    """Sends spaced evenly at ``SENDS_PER_SECOND`` (no initial burst), 429s retried.

    ``AIORateLimiter``'s default (30 per second as a leaky bucket) lets 30 go at once
    and then 30 more within the same second; a strict flood control then answers 429 to
    a third of a burst. An even pace just under Telegram's 30/s avoids that.
    """
    return AIORateLimiter(
        overall_max_rate=1,
        overall_time_period=1 / SENDS_PER_SECOND,
        max_retries=RATE_LIMIT_RETRIES,
    )


def build_application(
    assistant: AssistantLike,
    settings: Settings,
    *,
    rate_limiter: BaseRateLimiter[Any] | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The PTB application: concurrent updates, rate limited, plain handlers."""
    if not settings.telegram_token:
        raise ValueError("COOPBOT_TELEGRAM_TOKEN is not set")
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .concurrent_updates(True)
        .rate_limiter(rate_limiter or default_rate_limiter())
        .pool_timeout(30.0)
        .connect_timeout(10.0)
        .read_timeout(20.0)
        .write_timeout(30.0)
    )
    if settings.telegram_api_url:
        api = settings.telegram_api_url.rstrip("/")
        builder = builder.base_url(api).base_file_url(file_url(api))
    application = builder.build()
    channel = TelegramChannel(assistant)
    application.add_handler(CallbackQueryHandler(channel.on_callback))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, channel.on_message))
    application.add_error_handler(_on_error)
    application.bot_data["channel"] = channel
    return application


def _quiet_http_logs() -> None:
    """httpx logs every request URL at INFO, and the URL contains the bot token."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # PTB logs request parameters (message texts) at DEBUG.
    for name in ("telegram.Bot", "telegram.ext.ExtBot"):
        logging.getLogger(name).setLevel(logging.INFO)


async def serve(
    assistant: AssistantLike,
    settings: Settings,
    stop: asyncio.Event,
    *,
    rate_limiter: BaseRateLimiter[Any] | None = None,
) -> None:
    """Serve Telegram until ``stop`` is set: long polling, or webhook when configured."""
    _quiet_http_logs()
    application = build_application(assistant, settings, rate_limiter=rate_limiter)
    if not await _initialize(application, stop):
        return
    try:
        bot = application.bot
        channel: TelegramChannel = application.bot_data["channel"]
        channel.me = BotIdentity(bot.id, bot.username)
        await _quietly(bot.set_my_commands(bot_commands(assistant.commands)), "setMyCommands")
        updater = application.updater
        assert updater is not None
        if settings.telegram_webhook_url:
            await updater.start_webhook(
                listen=settings.telegram_webhook_listen,
                port=settings.telegram_webhook_port,
                url_path=urlparse(settings.telegram_webhook_url).path.lstrip("/"),
                webhook_url=settings.telegram_webhook_url,
                secret_token=settings.telegram_webhook_secret or secrets.token_urlsafe(32),
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=3,
            )
            logger.info("Telegram: webhook mode")
        else:
            await updater.start_polling(
                allowed_updates=ALLOWED_UPDATES, timeout=10, bootstrap_retries=-1
            )
            logger.info("Telegram: long polling")
        await application.start()
        try:
            await stop.wait()
        finally:
            await updater.stop()
            await application.stop()
    finally:
        await application.shutdown()


async def _initialize(
    application: Application[Any, Any, Any, Any, Any, Any], stop: asyncio.Event
) -> bool:
    """``getMe`` until Telegram answers, so a network outage at boot is waited out.

    A wrong token is not retried: :class:`~telegram.error.InvalidToken` propagates.
    Returns ``False`` when ``stop`` was set first.
    """
    delay = 1.0
    while not stop.is_set():
        try:
            await application.initialize()
            return True
        except InvalidToken:
            raise
        except NetworkError as exc:
            logger.warning("Telegram unreachable at start (%s); retrying", _describe(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 60.0)
    return False

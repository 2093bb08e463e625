"""Telegram channel: python-telegram-bot 22 ``Application`` around ``Assistant.handle``.

Thin by design (:mod:`~bot.channels.telegram.translate` for updates,
:mod:`~bot.channels.telegram.deliver` for replies, :mod:`~bot.channels.telegram.render`
for markup). Coopbot keeps its own conversation state, so there are only plain
handlers (no ``ConversationHandler``) and updates are processed concurrently (the
core serialises per person).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.telegram.deliver import TelegramChannel, describe, quietly
from bot.channels.telegram.outbox import deliver_queued
from bot.channels.telegram.translate import CHANNEL, BotIdentity
from bot.config import Settings
from bot.markup import to_label
from bot.messages import Handles, Outgoing
from bot.sender import Delivery, Render, Sender
from storage.protocols import Outbox

# Opt in now to what python-telegram-bot 23 does anyway: time periods such as
# ``RetryAfter.retry_after`` are ``timedelta``. Without it PTB warns each time
# Telegram refuses a send for flood control. Nothing here reads those as numbers.
os.environ.setdefault("PTB_TIMEDELTA", "true")
logger = logging.getLogger("bot.channels.telegram")

ALLOWED_UPDATES = ["message", "callback_query"]
RATE_LIMIT_RETRIES = 5
"""RetryAfter (429) is retried this many times, all sends paused meanwhile."""
SENDS_PER_SECOND = 28
"""Telegram's documented ceiling is about 30 messages per second for a whole bot."""
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, TelegramError):
        logger.warning("update %s: %s", update_id, describe(error))
    else:
        logger.error("update %s: %s", update_id, type(error).__name__, exc_info=error)




def bot_commands(commands: Sequence[tuple[str, str]]) -> list[BotCommand]:
    """Menu entries Telegram accepts (lowercase names, descriptions 1–256 characters)."""
    result: list[BotCommand] = []
    for name, description in commands:
        clean = name.lstrip("/!").lower()
        if _COMMAND_NAME.match(clean) and description.strip():
            result.append(BotCommand(clean, to_label(description.strip())[:256]))
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
    assistant: Handles,
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
    assistant: Handles,
    settings: Settings,
    stop: asyncio.Event,
    *,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    outbox: Outbox | None = None,
    render: Render | None = None,
) -> None:
    """Serve Telegram until ``stop`` is set: long polling, or webhook when configured.

    With ``outbox``, the messages Coopbot sends first go out too (:mod:`bot.sender`),
    through the same bot and rate limiter as the replies.
    """
    _quiet_http_logs()
    application = build_application(assistant, settings, rate_limiter=rate_limiter)
    if not await _initialize(application, stop):
        return
    try:
        bot = application.bot
        channel: TelegramChannel = application.bot_data["channel"]
        channel.me = BotIdentity(bot.id, bot.username)
        await quietly(bot.set_my_commands(bot_commands(assistant.commands)), "setMyCommands")
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
        sending = None
        if outbox is not None:
            async def deliver(chat_id: str, replies: list[Outgoing]) -> Delivery:
                return await deliver_queued(channel, bot, chat_id, replies)

            sending = asyncio.create_task(Sender(outbox, CHANNEL, deliver, render).run(stop))
        try:
            await stop.wait()
        finally:
            if sending is not None:
                # Stopping: the send under way finishes and is marked (no duplicate at the
                # next start); cancelled only if this task itself was.
                if not stop.is_set():
                    sending.cancel()
                await asyncio.gather(sending, return_exceptions=True)
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
            logger.warning("Telegram unreachable at start (%s); retrying", describe(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 60.0)
    return False

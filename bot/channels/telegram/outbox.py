"""Queued messages to Telegram: what the sender (:mod:`bot.sender`) calls to send one.

Same rendering and network retries as replies (:mod:`.deliver`), and the same global
pace (the application's rate limiter, 28 sends a second, 429s waited out). What
differs is the verdict, which the outbox records:

- ``Forbidden`` (403: the person blocked the bot, or deleted their account) and
  « chat not found » → unreachable: never retried, the facilitator's count says so;
- a timeout → sent: the message may have arrived, and nobody must get it twice;
- flood control still refusing after the limiter's retries, a network failure, a
  server error → retried later by the outbox, with backoff.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import BadRequest, Forbidden, TelegramError, TimedOut
from telegram.ext import ExtBot

from bot.channels.telegram.deliver import TelegramChannel, describe, sends, with_network_retries
from bot.channels.telegram.render import keyboard
from bot.messages import Outgoing
from bot.sender import Delivery

logger = logging.getLogger("bot.channels.telegram")


async def deliver_queued(channel: TelegramChannel, bot: ExtBot[Any], chat_id: str,
                         replies: list[Outgoing]) -> Delivery:
    for reply in replies:
        markup = keyboard(reply.choices, reply.actions)
        channel.remember_buttons(reply)
        for send, send_markup in sends(reply, markup):
            try:
                await with_network_retries(send, bot, int(chat_id), send_markup)
            except Forbidden:
                return Delivery.UNREACHABLE
            except TimedOut:
                logger.info("queued message timed out: counted as sent (never twice)")
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    return Delivery.UNREACHABLE
                logger.warning("queued message refused: %s", describe(exc))
                return Delivery.RETRY
            except TelegramError as exc:
                logger.warning("queued message not sent yet: %s", describe(exc))
                return Delivery.RETRY
    return Delivery.SENT

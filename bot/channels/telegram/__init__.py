"""The Telegram channel (see :mod:`bot.channels.telegram.app`)."""

from bot.channels.telegram.app import serve

__all__ = ["serve"]

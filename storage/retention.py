"""How long what is kept stays kept, where the law or the platforms decide it."""

from __future__ import annotations

from datetime import timedelta

UNSENT_REPLIES_KEPT = timedelta(days=1)
"""Replies never confirmed as sent: Telegram keeps an unconfirmed update for 24 hours,
and Matrix resends from the stored sync token at the next start, so after a day no
platform redelivers the event they answer."""

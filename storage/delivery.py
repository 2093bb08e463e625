"""How queued messages are delivered: retries, backoff, and the guarantee, stated once.

**The guarantee.** A message is queued in the transaction that decides it, under an
idempotency key: a second queue with the same key is a no-op, so each key is queued at
most once, and a committed decision is never lost. A sender claims a due message (row
lock: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock of ``BEGIN IMMEDIATE`` on
SQLite), sends it, then marks it ``sent``. A claim by a worker that died (its liveness
lock is gone, :mod:`storage.liveness`) is taken over by a living worker. So a message is
sent twice only if its worker dies after the platform accepted it and before the
``sent`` mark committed: the window of one local commit (well under a millisecond on
SQLite, one round trip on PostgreSQL) right after the platform's answer. A platform
timeout is counted as sent (the message may have arrived; nobody must get it twice).

**Failures.** A send refused for a passing reason (network, flood control, a server
error) is retried later, each time waiting longer (:func:`retry_delay`), at most
:data:`MAX_ATTEMPTS` times, then given up as ``failed``. A person who blocked the bot
(Telegram 403) is marked ``unreachable`` at once, their address too: no retry storm.
"""

from __future__ import annotations

from datetime import timedelta

MAX_ATTEMPTS = 6
"""Sends of one message before it is given up (about an hour and a half in all)."""
FIRST_RETRY = timedelta(seconds=30)
CLAIM_BATCH = 20
"""Messages claimed at once by one sender loop."""
STATES = ("pending", "claimed", "sent", "failed", "unreachable", "cancelled")


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min… after the ``attempts``-th failed send (capped at 1 h)."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), timedelta(hours=1))

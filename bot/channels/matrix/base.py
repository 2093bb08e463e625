"""What every module of the Matrix channel shares: its seams, constants and small helpers.

The channel talks to the assistant only through :class:`bot.messages.Handles` and keeps its
own state (session, sync token, notices, polls) through :class:`KeyValue`, injected by
``coopbot run``: nothing here reaches into the assistant's storage.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable
from typing import Protocol, TypeVar

from aiohttp import ClientError
from mautrix.errors import MatrixConnectionError, MatrixRequestError

CHANNEL = "matrix"
SESSION_KEY = "matrix:session"
BATCH_KEY = "matrix:next_batch"
RECOVERY_KEY = "matrix:recovery-key"
DEVICE_NAME = "Coopbot"
MAX_BACKOFF = 60.0

T = TypeVar("T")
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    ClientError,
    MatrixConnectionError,
    TimeoutError,
    OSError,
)


class KeyValue(Protocol):
    """The channel's small persistent state (``matrix:…`` keys)."""

    async def get_value(self, key: str) -> str | None: ...
    async def set_value(self, key: str, value: str) -> None: ...
    async def setdefault_value(self, key: str, value: str) -> str: ...


class MatrixLoginError(RuntimeError):
    """The homeserver refused the bot's credentials, or its crypto state cannot be used
    (message safe to log: it says what the operator should do)."""


class MatrixUnavailable(RuntimeError):
    """The homeserver could not be used for now (5xx, rate limit): try again later."""


def digest(value: str) -> str:
    """Short stable hash, for logs and storage keys (no platform id in clear)."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def why(error: object) -> str:
    """A loggable reason: error code, HTTP status or exception type, never content."""
    if isinstance(error, MatrixRequestError):
        return str(getattr(error, "errcode", None) or f"HTTP {error.http_status}")
    if isinstance(error, BaseException):
        return type(error).__name__
    return type(error).__name__


def errcode(error: BaseException) -> str:
    return str(getattr(error, "errcode", "") or "")


async def until(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """Await ``work`` unless ``stop`` is set first (then cancel it and return None)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return None

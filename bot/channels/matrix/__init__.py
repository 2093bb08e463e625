"""Matrix channel (mautrix-python): end-to-end encryption on by default, a cross-signed
device, crypto state in the project database, one device per process set.

``from bot.channels import matrix; await matrix.serve(assistant, settings, stop, kv)``
is all ``coopbot run`` needs. The modules, one job each:

- :mod:`.base` seams (assistant, key-value store), constants, helpers;
- :mod:`.session` login and the kept device; :mod:`.crypto` the crypto and state
  stores on the project database and the Olm machine; keys derived from
  ``COOPBOT_SECRET`` in :mod:`storage.sealed`; :mod:`.cross_signing` the bot's
  identity and recovery key;
- :mod:`.sync` the sync loop and what each sync gives the crypto machine;
  :mod:`.events` from a sync to handler tasks; :mod:`.tasks` per-person chains and
  the sync-token watermark; :mod:`.decrypt` bounded waits for late room keys;
- :mod:`.replies` answers, polls kept and ended, notices; :mod:`.send` encryption
  decided per room (fails closed), encrypted attachments, bounded retries;
  :mod:`.polls` pure poll contents;
- :mod:`.channel` the lifecycle; this module the device lock around it
  (:mod:`storage.device_lock`).
"""

from __future__ import annotations

import asyncio
import logging

from bot.channels.matrix.base import (
    BATCH_KEY,
    SESSION_KEY,
    KeyValue,
    MatrixLoginError,
    MatrixUnavailable,
    until,
)
from bot.channels.matrix.channel import MatrixChannel
from bot.config import Settings
from bot.messages import Handles
from bot.sender import Render
from storage.device_lock import CHECK_EVERY, RETRY_EVERY, DeviceLock, device_lock
from storage.protocols import Outbox

log = logging.getLogger("coopbot.matrix")

__all__ = [
    "BATCH_KEY",
    "SESSION_KEY",
    "MatrixChannel",
    "MatrixLoginError",
    "MatrixUnavailable",
    "serve",
]


async def serve(
    assistant: Handles,
    settings: Settings,
    stop: asyncio.Event,
    kv: KeyValue,
    outbox: Outbox | None = None,
    render: Render | None = None,
) -> None:
    """Serve Matrix until ``stop`` is set, while this process holds the device lock.

    Without the lock (another ``coopbot run`` serves the device) this waits, trying
    again every :data:`RETRY_EVERY` seconds, and takes over when the holder is gone.
    ``kv`` is the channel's key-value store (its session, sync token, polls…). With
    ``outbox``, the process serving the device also sends the queued messages (only it
    holds the device's encryption keys).
    """
    if not settings.matrix_homeserver or not settings.matrix_user:
        raise MatrixLoginError("COOPBOT_MATRIX_HOMESERVER and COOPBOT_MATRIX_USER are required")
    if settings.log_level != "DEBUG":
        # mautrix names rooms and users in its logs; Coopbot's logs carry no ids in clear.
        logging.getLogger("mau").setLevel(logging.ERROR)
    lock = device_lock(settings.database_url,
                       f"matrix|{settings.matrix_homeserver}|{settings.matrix_user}")
    waiting_said = False
    while not stop.is_set():
        try:
            got = await lock.try_acquire()
        except Exception as exc:
            log.warning("Matrix: device lock unavailable (%s)", type(exc).__name__)
            got = False
        if not got:
            if not waiting_said:
                log.info("Matrix: another process serves this Matrix device; standing by")
                waiting_said = True
            await until(stop, asyncio.sleep(RETRY_EVERY))
            continue
        waiting_said = False
        log.info("Matrix: device lock taken, this process serves Matrix")
        try:
            await _serve_locked(assistant, settings, kv, stop, lock, outbox, render)
        finally:
            await lock.release()
        if not stop.is_set():
            log.warning("Matrix: device lock lost, Matrix stopped here until it is taken again")


async def _serve_locked(
    assistant: Handles, settings: Settings, kv: KeyValue, stop: asyncio.Event,
    lock: DeviceLock, outbox: Outbox | None = None, render: Render | None = None,
) -> None:
    """Run the channel; stop it at once if the lock's connection breaks."""
    channel_stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            await until(stop, asyncio.sleep(CHECK_EVERY))
            if stop.is_set() or not await lock.healthy():
                break
        channel_stop.set()

    watcher = asyncio.create_task(watch(), name="matrix-device-lock")
    try:
        await MatrixChannel(assistant, settings, kv, outbox, render).run(channel_stop)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)

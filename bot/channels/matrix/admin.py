"""What the operator does by hand: ``coopbot matrix setup`` and ``coopbot matrix recovery-key``.

``setup`` logs in (the stored session, the access token or the password), starts the
device's crypto and makes the device cross-signed, asking the homeserver for the
password where it wants one (replacing an identity Coopbot cannot open, or a
homeserver without MSC3967). It holds the device lock meanwhile, so it never runs
beside a ``coopbot run`` that serves the same device.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import ClientSession

from bot.channels.matrix.base import KeyValue, MatrixLoginError
from bot.channels.matrix.channel import HTTP_TIMEOUT, MatrixChannel, channel_secret
from bot.channels.matrix.cross_signing import CrossSigning
from bot.channels.matrix.crypto import open_stores
from bot.config import Settings
from storage.device_lock import device_lock
from storage.sealed import SealedBox


async def setup(settings: Settings, kv: KeyValue, password: str | None) -> bool:
    """True when the bot's device is cross-signed at the end."""
    if password:
        settings = replace(settings, matrix_password=password)
    lock = device_lock(settings.database_url,
                       f"matrix|{settings.matrix_homeserver}|{settings.matrix_user}")
    if not await lock.try_acquire():
        raise MatrixLoginError("« coopbot run » sert ce compte Matrix en ce moment : "
                               "arrêtez-le, puis relancez « coopbot matrix setup ».")
    stores = await open_stores(settings.database_url)
    http = ClientSession(timeout=HTTP_TIMEOUT)
    try:
        channel = MatrixChannel(None, settings, kv)  # type: ignore[arg-type]  # no messages
        await channel.connect(stores, http)
        secret = await channel_secret(settings, kv)
        signing = CrossSigning(channel.client, channel.machine, kv,
                               SealedBox(secret, "recovery key"), settings.matrix_password)
        return (await signing.status()).device_signed
    finally:
        await http.close()
        await stores.close()
        await lock.release()


async def stored_recovery_key(settings: Settings, kv: KeyValue) -> str | None:
    secret = await channel_secret(settings, kv)
    sealed = await kv.get_value("matrix:recovery-key")
    return SealedBox(secret, "recovery key").open(sealed) if sealed else None

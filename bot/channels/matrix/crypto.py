"""The crypto state of the bot's device, kept in the project's own database.

mautrix's crypto store (``PgCryptoStore``: Olm account and sessions, Megolm inbound and
outbound sessions, device lists, cross-signing keys) and its room state store
(``PgCryptoStateStore``: members, encryption settings) run on the same
``COOPBOT_DATABASE_URL`` as everything else, through asyncpg (PostgreSQL) or aiosqlite
(SQLite). Their tables (``crypto_*``, ``mx_*``) are created and upgraded by mautrix's own
upgrade table (``crypto_version``, ``mx_version``) when the channel starts; Alembic owns
Coopbot's tables and leaves these alone (see ``storage/migrations/env.py``).

Every pickle (account, Olm and Megolm sessions) is encrypted by libolm with a pickle key
derived from ``COOPBOT_SECRET`` (:mod:`.sealed`). A store written under another secret
is refused with a clear error, never silently replaced: replacing it would lose every
session, and the people's next messages could not be read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mautrix.client import Client
from mautrix.client.encryption_manager import DecryptionDispatcher
from mautrix.crypto import OlmMachine, PgCryptoStateStore, PgCryptoStore
from mautrix.types import TrustState
from mautrix.util.async_db import Database
from sqlalchemy.engine import make_url

from bot.channels.matrix.base import MatrixLoginError
from storage.sealed import pickle_key

log = logging.getLogger("coopbot.matrix")


def library_url(database_url: str) -> str:
    """``COOPBOT_DATABASE_URL`` in the form mautrix's database layer reads."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise MatrixLoginError(
                "Matrix needs a database that lasts (a SQLite file or PostgreSQL): "
                "the device's keys cannot live in memory"
            )
        return "sqlite:" + str(Path(url.database).expanduser().resolve())
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    raise MatrixLoginError(f"unsupported database for Matrix: {backend}")


@dataclass
class Stores:
    crypto_db: Database
    state_db: Database
    state: PgCryptoStateStore

    async def close(self) -> None:
        await self.state_db.stop()
        await self.crypto_db.stop()


async def open_stores(database_url: str) -> Stores:
    """Start both stores on one pool; their schemas are brought up to date here."""
    url = library_url(database_url)
    args = {"min_size": 1, "max_size": 4, "meow_exit_on_ice": False} if url.startswith(
        "postgresql"
    ) else {"min_size": 1}
    crypto_db = Database.create(url, upgrade_table=PgCryptoStore.upgrade_table, db_args=args)
    await crypto_db.start()
    state_db = Database.create(url, upgrade_table=PgCryptoStateStore.upgrade_table)
    state_db.override_pool(crypto_db)
    await state_db.start()
    return Stores(crypto_db, state_db, PgCryptoStateStore(state_db))


async def start_machine(client: Client, stores: Stores, secret: str) -> OlmMachine:
    """The Olm machine of this device: loaded from the store, or created and uploaded.

    Raises :class:`MatrixLoginError` when the store cannot be opened with this secret,
    and :class:`DeviceKeysMismatch` when the server holds other keys for this device.
    """
    store = PgCryptoStore(account_id=str(client.mxid), pickle_key=pickle_key(secret),
                          db=stores.crypto_db)
    stored_device = await store.get_device_id()
    if stored_device and stored_device != client.device_id:
        # The crypto state of an older device of this account: that device is gone
        # (new login), and its sessions cannot serve this one.
        log.warning("Matrix: new device, the previous device's crypto state is cleared")
        await store.delete()
    machine = OlmMachine(client, store, stores.state)
    machine.send_keys_min_trust = TrustState.UNVERIFIED  # as Element does by default
    client.crypto = machine
    # Coopbot decrypts in its own handler (bounded wait for late keys, one notice when a
    # message cannot be read), so the library's fire-and-forget decryptor is not used.
    client.remove_dispatcher(DecryptionDispatcher)
    try:
        await machine.load()
    except Exception as exc:  # libolm says "BAD_ACCOUNT_KEY" for a wrong pickle key
        raise MatrixLoginError(
            "the Matrix crypto store in the database cannot be opened with this "
            "COOPBOT_SECRET: restore the secret it was written with (see docs/matrix.md)"
        ) from exc
    await store.put_device_id(client.device_id)
    if await _server_has_other_keys(client, machine):
        raise DeviceKeysMismatch()
    await machine.share_keys()
    return machine


class DeviceKeysMismatch(Exception):
    """The homeserver has keys for this device that are not in Coopbot's store."""


async def _server_has_other_keys(client: Client, machine: OlmMachine) -> bool:
    response = await client.query_keys([client.mxid])
    devices = response.device_keys.get(client.mxid, {})
    keys = devices.get(client.device_id)
    if keys is None:
        return False
    on_server = keys.ed25519
    return bool(on_server) and on_server != machine.account.signing_key

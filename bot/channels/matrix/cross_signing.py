"""The bot cross-signs its own device, so Element's strictest setting trusts it (MSC4153).

At first start Coopbot creates a cross-signing identity (master, self-signing and
user-signing keys), stores their private parts in the account's secret storage on the
homeserver (SSSS, encrypted with a new **recovery key**), publishes the public keys and
signs its device with the self-signing key. The recovery key is kept in the key-value
store, sealed with a key derived from ``COOPBOT_SECRET``; the operator is told once in
the log how to keep a copy (``coopbot matrix recovery-key``).

At a later start on the same device nothing is done (the signature is on the server).
On a new device (token revoked, store reset) the identity is reopened with the recovery
key and signs the new device: people who verified the bot keep trusting it.

Publishing keys needs no password the first time (MSC3967, Synapse and the spec since
v1.11); replacing an existing identity needs user-interactive auth with the password.
mautrix does the cryptography (libolm's ``PkSigning``, canonical JSON, SSSS).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from mautrix.client import Client
from mautrix.crypto import OlmMachine
from mautrix.crypto.cross_signing_key import CrossSigningPrivateKeys, CrossSigningSeeds
from mautrix.crypto.signature import sign_olm
from mautrix.errors import MatrixRequestError
from mautrix.types import CrossSigningKeys, CrossSigningUsage, EventType, KeyID

from bot.channels.matrix.base import RECOVERY_KEY, KeyValue
from storage.sealed import SealedBox

log = logging.getLogger("coopbot.matrix")

_SSSS = (
    (EventType.CROSS_SIGNING_MASTER, "master_key"),
    (EventType.CROSS_SIGNING_SELF_SIGNING, "self_signing_key"),
    (EventType.CROSS_SIGNING_USER_SIGNING, "user_signing_key"),
)


class PasswordNeeded(Exception):
    """The homeserver asks for the password (user-interactive auth) and none is set."""


@dataclass(frozen=True, slots=True)
class Status:
    has_identity: bool
    device_signed: bool


class CrossSigning:
    def __init__(
        self, client: Client, machine: OlmMachine, kv: KeyValue, box: SealedBox,
        password: str | None,
    ) -> None:
        self.client = client
        self.machine = machine
        self.kv = kv
        self.box = box
        self.password = password

    async def status(self) -> Status:
        me = self.client.mxid
        keys = await self.client.query_keys([me])
        ssk = keys.self_signing_keys.get(me)
        device = keys.device_keys.get(me, {}).get(self.client.device_id)
        if ssk is None or me not in keys.master_keys:
            return Status(False, False)
        signers = set(device.signatures.get(me, {})) if device else set()
        return Status(True, any(KeyID.ed25519(k) in signers for k in ssk.keys.values()))

    async def recovery_key(self) -> str | None:
        sealed = await self.kv.get_value(RECOVERY_KEY)
        if not sealed:
            return None
        try:
            return self.box.open(sealed)
        except ValueError:
            log.error("Matrix: the stored recovery key was sealed with another COOPBOT_SECRET")
            return None

    async def ensure(self, *, replace: bool = False) -> bool:
        """Make this device cross-signed by the bot's identity; False if it cannot be."""
        status = await self.status()
        if status.device_signed and not replace:
            return True
        recovery = await self.recovery_key()
        if status.has_identity and recovery and not replace:
            try:
                await self.machine.verify_with_recovery_key(recovery)
                log.info("Matrix: this device is now signed by the bot's identity")
                return True
            except Exception as exc:  # wrong key, secret storage changed by someone
                log.warning("Matrix: the recovery key does not open the identity (%s)",
                            type(exc).__name__)
        if status.has_identity and not self.password:
            log.warning(
                "Matrix: the bot's device is not cross-signed and an identity exists that "
                "Coopbot cannot open; run `coopbot matrix setup` (it asks for the password)"
            )
            return False
        try:
            await self.create_identity()
        except PasswordNeeded:
            log.warning("Matrix: the homeserver wants the password to publish keys; "
                        "run `coopbot matrix setup`")
            return False
        return True

    async def create_identity(self) -> str:
        """New keys, kept in secret storage, published, this device signed; the recovery key."""
        seeds = CrossSigningSeeds.generate()
        ssss = self.machine.ssss
        key = await ssss.generate_and_upload_key()
        for event_type, field in _SSSS:
            await ssss.set_encrypted_account_data(event_type, getattr(seeds, field), key)
        await self._publish(seeds.to_keys())
        await ssss.set_default_key_id(key.id)
        await self.kv.set_value(RECOVERY_KEY, self.box.seal(key.recovery_key))
        await self.machine.verify_with_recovery_key(key.recovery_key)  # signs this device
        log.warning(
            "Matrix: cross-signing identity created and this device signed. Its recovery "
            "key is stored encrypted in the database; keep a copy outside it too: "
            "`coopbot matrix recovery-key` prints it (see docs/matrix.md)"
        )
        return key.recovery_key

    async def _publish(self, keys: CrossSigningPrivateKeys) -> None:
        me = self.client.mxid
        public = keys.public_keys

        def signed(usage: CrossSigningUsage, key: str, signer: object, name: str) -> Any:
            item = CrossSigningKeys(user_id=me, usage=[usage], keys={KeyID.ed25519(key): key})
            item.signatures = {me: {KeyID.ed25519(name): sign_olm(item, signer)}}  # type: ignore[arg-type]
            return item

        payload = {
            CrossSigningUsage.MASTER: signed(CrossSigningUsage.MASTER, public.master_key,
                                             self.machine.account, self.client.device_id),
            CrossSigningUsage.SELF: signed(CrossSigningUsage.SELF, public.self_signing_key,
                                           keys.master_key, public.master_key),
            CrossSigningUsage.USER: signed(CrossSigningUsage.USER, public.user_signing_key,
                                           keys.master_key, public.master_key),
        }
        try:
            await self.client.upload_cross_signing_keys(payload)
            return
        except MatrixRequestError as exc:
            session = _uia_session(exc)
            if session is None:
                raise
        if not self.password:
            raise PasswordNeeded()
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": me},
            "password": self.password,
            "session": session,
        }
        await self.client.upload_cross_signing_keys(payload, auth=auth)


def _uia_session(error: MatrixRequestError) -> str | None:
    """The user-interactive auth session of a 401 that asks for more auth."""
    if error.http_status != 401:
        return None
    try:
        body = json.loads(getattr(error, "text", "") or "{}")
    except ValueError:
        return None
    session = body.get("session") if isinstance(body, dict) else None
    return str(session) if session and "flows" in body else None

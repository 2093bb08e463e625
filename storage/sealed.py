"""Keys derived from ``COOPBOT_SECRET``, and a sealed box for the secrets Coopbot stores.

In ``storage`` (moved down from the Matrix channel) because storage itself seals the
chat addresses of the outbox; the Matrix channel uses it as before.

- The **pickle key** of mautrix's crypto store (every Olm account, Olm session and
  Megolm session is pickled encrypted with it by libolm) is derived with HKDF-SHA256.
- The **recovery key** of the bot's cross-signing identity is stored in the key-value
  table sealed with AES-256-GCM under another HKDF-derived key.
- The **chat addresses** of people with something pending (``chat_addresses``) are
  sealed the same way under a key of their own (purpose ``chat address``).

Both derivations name their purpose (``info``), so one secret never serves two uses.
Primitives come from pycryptodome (already required by mautrix's encryption extra).
If ``COOPBOT_SECRET`` is not set, Coopbot generates one and keeps it in the same
database: encryption at rest then protects nothing, and ``coopbot run`` says so.
"""

from __future__ import annotations

import base64
import os

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF

_SALT = b"coopbot-matrix-v1"
"""Kept as it was when only the Matrix channel sealed: changing it would lose the
stored crypto secrets."""
_NONCE = 12


def derive(secret: str, purpose: str, length: int = 32) -> bytes:
    """A key for ``purpose`` from the operator's secret (HKDF-SHA256)."""
    key = HKDF(secret.encode(), length, _SALT, SHA256, context=purpose.encode())
    assert isinstance(key, bytes)
    return key


def pickle_key(secret: str) -> str:
    """The passphrase libolm uses to encrypt the pickles of the crypto store."""
    return base64.b64encode(derive(secret, "olm pickle key")).decode()


class SealedBox:
    """AES-256-GCM with a random nonce: ``seal`` → text safe to store, ``open`` → value."""

    def __init__(self, secret: str, purpose: str) -> None:
        self._key = derive(secret, purpose)
        self._purpose = purpose.encode()

    def seal(self, value: str) -> str:
        nonce = os.urandom(_NONCE)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        cipher.update(self._purpose)
        data, tag = cipher.encrypt_and_digest(value.encode())
        return "v1:" + base64.b64encode(nonce + tag + data).decode()

    def open(self, sealed: str) -> str:
        """The stored value; ``ValueError`` if it was sealed with another secret."""
        if not sealed.startswith("v1:"):
            raise ValueError("unknown sealed format")
        raw = base64.b64decode(sealed[3:])
        nonce, tag, data = raw[:_NONCE], raw[_NONCE : _NONCE + 16], raw[_NONCE + 16 :]
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        cipher.update(self._purpose)
        return cipher.decrypt_and_verify(data, tag).decode()

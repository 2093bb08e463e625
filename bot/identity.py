"""Pseudonymous user keys.

Platform ids (Telegram user id, Matrix user id) are personal data; Coopbot stores
only a keyed hash of them (HMAC-SHA-256 with ``COOPBOT_SECRET``), so a copy of
the database alone does not say who answered what. The console name is a label
the person chose, kept as it is so that ``coopbot export --user NAME`` finds it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def console_key(name: str) -> str:
    """The key of ``coopbot chat --user NAME``; a full key (``telegram:…``) is kept as is."""
    return name if ":" in name else f"console:{name}"


def pseudonym(secret: str, channel: str, platform_id: str) -> str:
    if channel == "console":
        return f"console:{platform_id}"
    digest = hmac.new(secret.encode(), f"{channel}:{platform_id}".encode(), hashlib.sha256)
    return f"{channel}:{digest.hexdigest()[:32]}"

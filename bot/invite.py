"""Invitation links to a workshop: a Telegram deep link, or a Matrix link and the code.

A Telegram link ``https://t.me/<bot>?start=atelier_<code>`` opens the chat with the
bot and, on « Démarrer », sends ``/start atelier_<code>``: the person joins without
typing the code. The payload is only the workshop's join code (never anything about
the facilitator), within Telegram's limit of 64 characters of ``A-Za-z0-9_-``.

Matrix has no such payload: ``https://matrix.to/#/@bot:server`` opens a chat with the
bot, where the person types ``/rejoindre CODE``.

Which bot is reached comes from the channel the facilitator speaks on
(:attr:`bot.messages.Incoming.bot_address`: the Telegram username from ``getMe``, the
Matrix user id) or, for the command line, from the settings. Nothing here imports a
chat library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.config import Settings
from storage.workshop_codes import normalise_code

PAYLOAD_PREFIX = "atelier_"
PAYLOAD_MAX = 64
"""Telegram's limit for a ``start`` parameter."""
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TELEGRAM_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_MATRIX_ID = re.compile(r"^@[^:\s/]+:[A-Za-z0-9.\-\[\]:]+$")


@dataclass(frozen=True, slots=True)
class InviteLink:
    """Where to send participants, and whether the link alone is enough."""

    channel: str
    """``telegram`` or ``matrix``."""
    url: str
    needs_code: bool
    """True on Matrix: the link opens the chat, the code is still to be typed."""


def start_payload(code: str) -> str:
    """``K7Q-M3X-PW9`` → ``atelier_K7QM3XPW9`` (the code only: nothing personal)."""
    normalised = normalise_code(code)
    if normalised is None:
        raise ValueError("not a workshop code")
    payload = PAYLOAD_PREFIX + normalised
    assert len(payload) <= PAYLOAD_MAX and _PAYLOAD.match(payload)
    return payload


def code_from_payload(payload: str) -> str | None:
    """The join code a ``/start`` payload carries, or None when it carries none."""
    text = payload.strip()
    if not _PAYLOAD.match(text) or not text.lower().startswith(PAYLOAD_PREFIX):
        return None
    return normalise_code(text[len(PAYLOAD_PREFIX):])


def telegram_link(username: str, code: str) -> str:
    return f"https://t.me/{username.lstrip('@')}?start={start_payload(code)}"


def matrix_link(user_id: str) -> str:
    return f"https://matrix.to/#/{user_id}"


def invite_link(channel: str, bot_address: str | None, code: str) -> InviteLink | None:
    """The link for people on ``channel`` to reach the bot at ``bot_address``; None when
    the channel has no address (the console) or the address is not a valid one."""
    address = (bot_address or "").strip()
    if channel == "telegram" and _TELEGRAM_USERNAME.match(address.lstrip("@")):
        return InviteLink("telegram", telegram_link(address, code), needs_code=False)
    if channel == "matrix" and _MATRIX_ID.match(address):
        return InviteLink("matrix", matrix_link(address), needs_code=True)
    return None


def settings_link(settings: Settings, code: str) -> InviteLink | None:
    """For the command line, which talks to no platform: the Telegram link when
    ``COOPBOT_TELEGRAM_USERNAME`` is set, else the Matrix one when ``COOPBOT_MATRIX_USER``
    is a full user id (``@coopbot:exemple.fr``)."""
    return (invite_link("telegram", settings.telegram_username, code)
            or invite_link("matrix", settings.matrix_user, code))

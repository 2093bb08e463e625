"""Login: one device for the bot's whole life.

The device id and access token are kept in the key-value store (``matrix:session``),
the token sealed with a key derived from ``COOPBOT_SECRET`` (whoever reads a backup of
the database cannot act as the bot); a restart restores them instead of logging in
again, so the account does not collect a new device at every start, and the device
keeps its Olm identity (crypto store). A revoked token with a password configured logs
in again **on the same device id**.
``new_device`` is for the one case where the device cannot be kept (its keys on the
server belong to a crypto state Coopbot no longer has).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from mautrix.client import Client
from mautrix.errors import MatrixRequestError

from bot.channels.matrix.base import (
    DEVICE_NAME,
    SESSION_KEY,
    KeyValue,
    MatrixLoginError,
    MatrixUnavailable,
    errcode,
    why,
)
from bot.config import Settings
from storage.sealed import SealedBox

log = logging.getLogger("coopbot.matrix")

_REFUSED = ("M_FORBIDDEN", "M_USER_DEACTIVATED", "M_INVALID_PARAM", "M_UNKNOWN_TOKEN")


@dataclass(frozen=True, slots=True)
class LoginResult:
    fresh: bool
    """A new login happened (not a restored token)."""


class Session:
    def __init__(self, client: Client, settings: Settings, kv: KeyValue, box: SealedBox) -> None:
        self.client = client
        self.settings = settings
        self.kv = kv
        self.box = box

    async def login(self) -> LoginResult:
        """Restore the stored session (same device), or log in once and store it."""
        settings = self.settings
        raw = await self.kv.get_value(SESSION_KEY)
        stored: dict[str, str] | None = json.loads(raw) if raw else None
        if stored and (
            stored.get("homeserver") != settings.matrix_homeserver
            or stored.get("login") != settings.matrix_user
        ):
            stored = None  # another account or server: start afresh

        if settings.matrix_access_token:
            self.client.api.token = settings.matrix_access_token
            who = await self._whoami()
            if who is None:
                raise MatrixLoginError("access token refused by the homeserver")
            self.client.mxid, self.client.device_id = who
            log.info("Matrix: using the configured access token")
            return LoginResult(fresh=False)

        if stored:
            self.client.mxid = stored["user_id"]
            self.client.device_id = stored["device_id"]
            self.client.api.token = self._stored_token(stored)
            if self.client.api.token and await self._whoami() is not None:
                if "access_token" in stored:  # kept in clear by an older version: seal it
                    await self._store(stored["user_id"], stored["device_id"],
                                      self.client.api.token)
                log.info("Matrix: session restored (device kept)")
                return LoginResult(fresh=False)
            log.info("Matrix: stored token expired, logging in again on the same device")
            await self.password_login(stored["device_id"])
            return LoginResult(fresh=False)
        await self.password_login(None)
        return LoginResult(fresh=True)

    async def relogin(self) -> None:
        """After ``M_UNKNOWN_TOKEN`` while running: same device, new token."""
        if self.settings.matrix_access_token:
            raise MatrixLoginError(
                "the configured access token was revoked: create a new one "
                "(or set COOPBOT_MATRIX_PASSWORD)"
            )
        await self.password_login(self.client.device_id or None)

    async def new_device(self) -> None:
        if not self.settings.matrix_password:
            raise MatrixLoginError(
                "this device's keys on the homeserver do not match Coopbot's crypto store; "
                "create a new access token (new device) or set COOPBOT_MATRIX_PASSWORD"
            )
        log.warning("Matrix: logging in as a new device (the old one's keys are lost)")
        await self.password_login(None)

    async def _whoami(self) -> tuple[str, str] | None:
        """``(user_id, device_id)``, or None when the token is refused."""
        try:
            who = await self.client.whoami()
        except MatrixRequestError as exc:
            if errcode(exc) in _REFUSED or exc.http_status == 401:
                return None
            raise MatrixUnavailable(why(exc)) from exc
        return str(who.user_id), str(who.device_id or "")

    async def password_login(self, device_id: str | None) -> None:
        """Password login; with ``device_id`` the homeserver keeps the same device."""
        settings = self.settings
        if not settings.matrix_password:
            raise MatrixLoginError("COOPBOT_MATRIX_PASSWORD or COOPBOT_MATRIX_ACCESS_TOKEN needed")
        self.client.api.token = ""
        self.client.device_id = device_id or ""  # type: ignore[assignment]
        try:
            response = await self.client.login(
                identifier=settings.matrix_user,
                password=settings.matrix_password,
                device_name=DEVICE_NAME,
                device_id=device_id or None,
            )
        except MatrixRequestError as exc:
            if errcode(exc) in _REFUSED:
                raise MatrixLoginError(f"login refused by the homeserver ({why(exc)})") from exc
            raise MatrixUnavailable(why(exc)) from exc
        await self._store(str(response.user_id), str(response.device_id), response.access_token)
        log.info("Matrix: logged in, session stored")

    def _stored_token(self, stored: dict[str, str]) -> str:
        """The stored token, or "" when it was sealed under another ``COOPBOT_SECRET``."""
        if "sealed_access_token" not in stored:
            return stored.get("access_token", "")
        try:
            return self.box.open(stored["sealed_access_token"])
        except ValueError:
            log.warning("Matrix: the stored token was sealed with another COOPBOT_SECRET; "
                        "logging in again on the same device")
            return ""

    async def _store(self, user_id: str, device_id: str, token: str) -> None:
        session = {
            "homeserver": self.settings.matrix_homeserver,
            "login": self.settings.matrix_user,
            "user_id": user_id,
            "device_id": device_id,
            "sealed_access_token": self.box.seal(token),
        }
        await self.kv.set_value(SESSION_KEY, json.dumps(session))

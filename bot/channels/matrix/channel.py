"""The Matrix channel: connect, set up encryption, serve, stop cleanly.

Start: open the crypto and state stores on the project database, log in (or restore
the stored session: same device), load or create the device's Olm account, make sure
the device is cross-signed by the bot's identity, then sync until ``stop`` is set.
An unreachable homeserver is waited for; refused credentials or an unusable crypto
store stop the channel with a clear error (the other channels keep running).

Logs carry no message bodies, no tokens and no platform ids in clear (rooms appear as
a short hash).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import ClientSession, ClientTimeout
from mautrix.client import Client
from mautrix.crypto import OlmMachine
from mautrix.types import RoomID

from bot.channels.matrix.base import (
    BATCH_KEY,
    CHANNEL,
    MAX_BACKOFF,
    NETWORK_ERRORS,
    KeyValue,
    MatrixUnavailable,
    digest,
    until,
    why,
)
from bot.channels.matrix.cross_signing import CrossSigning
from bot.channels.matrix.crypto import DeviceKeysMismatch, Stores, open_stores, start_machine
from bot.channels.matrix.decrypt import decrypt
from bot.channels.matrix.events import JOIN_ATTEMPTS, Handlers, Router
from bot.channels.matrix.polls import POLL_RESPONSE, vote
from bot.channels.matrix.replies import Replier
from bot.channels.matrix.send import Sender
from bot.channels.matrix.session import Session
from bot.channels.matrix.sync import sync_loop
from bot.channels.matrix.tasks import Tasks
from bot.channels.matrix_render import addressed_text, is_edit, text_content
from bot.config import Settings
from bot.identity import new_secret
from bot.messages import Handles, Outgoing
from bot.sender import Delivery, Render
from bot.sender import Sender as OutboxSender
from storage.protocols import Outbox
from storage.sealed import SealedBox

log = logging.getLogger("coopbot.matrix")

HTTP_TIMEOUT = ClientTimeout(total=90, connect=20)
MATRIX_SEND_GAP = 0.2
"""Queued messages go out at most five a second: homeservers rate-limit bots (Synapse's
default lets a user send about 0.2 a second with bursts of 10), and replies share it."""


async def channel_secret(settings: Settings, kv: KeyValue) -> str:
    """``COOPBOT_SECRET``, or the one Coopbot generated and keeps (as the core does)."""
    if settings.secret:
        return settings.secret
    log.warning("Matrix: COOPBOT_SECRET is not set: the crypto secrets are encrypted with a "
                "key kept in the same database (see docs/matrix.md)")
    return await kv.setdefault_value("secret", new_secret())


class MatrixChannel(Handlers):
    def __init__(self, assistant: Handles, settings: Settings, kv: KeyValue,
                 outbox: Outbox | None = None, render: Render | None = None) -> None:
        self.assistant = assistant
        self.outbox = outbox
        self.render = render
        self.settings = settings
        self.kv = kv
        self.client: Client = None  # type: ignore[assignment]
        self.machine: OlmMachine = None  # type: ignore[assignment]
        self.sender: Sender = None  # type: ignore[assignment]
        self.replier: Replier = None  # type: ignore[assignment]
        self.tasks = Tasks(kv)
        self.router = Router(self, self, self.tasks)
        self.session: Session = None  # type: ignore[assignment]

    async def connect(self, stores: Stores, http: ClientSession) -> None:
        """Log in and start the device's crypto (raises on refusal)."""
        self.client = Client(base_url=self.settings.matrix_homeserver or "",
                             client_session=http, state_store=stores.state)
        secret = await channel_secret(self.settings, self.kv)
        self.session = Session(self.client, self.settings, self.kv,
                               SealedBox(secret, "access token"))
        await self.session.login()
        try:
            self.machine = await start_machine(self.client, stores, secret)
        except DeviceKeysMismatch:
            await self.session.new_device()
            self.machine = await start_machine(self.client, stores, secret)
        self.sender = Sender(self.client)
        self.replier = Replier(self.assistant, self.kv, self.sender, str(self.client.mxid))
        signing = CrossSigning(self.client, self.machine, self.kv,
                               SealedBox(secret, "recovery key"), self.settings.matrix_password)
        try:
            await signing.ensure()
        except Exception as exc:  # the bot still works, unsigned: say so, do not stop
            log.warning("Matrix: cross-signing could not be set up (%s)", why(exc))

    async def run(self, stop: asyncio.Event) -> None:
        stores = await open_stores(self.settings.database_url)
        http = ClientSession(timeout=HTTP_TIMEOUT)
        try:
            if not await self._connect_until(stop, stores, http):
                return
            since = await self.kv.get_value(BATCH_KEY)
            self.tasks.start(since)
            log.info("Matrix: connected (%s start)", "first" if since is None else "resumed")
            sending = (asyncio.create_task(OutboxSender(
                self.outbox, CHANNEL, self.deliver_queued, self.render,
                gap=MATRIX_SEND_GAP).run(stop))
                       if self.outbox is not None else None)
            try:
                await sync_loop(self.client, stop, since, self.router.on_sync, self._relogin)
            finally:
                if sending is not None:
                    if not stop.is_set():  # else it ends by itself, its send marked
                        sending.cancel()
                    await asyncio.gather(sending, return_exceptions=True)
        finally:
            await self.tasks.shutdown()
            await http.close()
            await stores.close()

    async def _connect_until(self, stop: asyncio.Event, stores: Stores, http: Any) -> bool:
        backoff = 1.0
        while not stop.is_set():
            try:
                await self.connect(stores, http)
                return True
            except (*NETWORK_ERRORS, MatrixUnavailable) as exc:
                log.warning("Matrix: homeserver unreachable (%s), retrying in %.0f s",
                            why(exc), backoff)
                await until(stop, asyncio.sleep(backoff))
                backoff = min(backoff * 2, MAX_BACKOFF)
        return False

    async def _relogin(self) -> bool:
        try:
            await self.session.relogin()
            return True
        except (*NETWORK_ERRORS, MatrixUnavailable) as exc:
            log.warning("Matrix: could not log in again yet (%s)", why(exc))
            await asyncio.sleep(5)
            return True

    async def deliver_queued(self, room_id: str, replies: list[Outgoing]) -> Delivery:
        """A queued message into the person's room, encrypted if the room is (the replies'
        own send path: it fails closed, and waits out 429s as the server asks)."""
        for out in replies:
            content = text_content(out, None)
            if content is not None and await self.sender.send(room_id, content) is None:
                return Delivery.RETRY
            for attachment, msgtype in ((out.file, "m.file"), (out.image, "m.image")):
                if attachment is not None and await self.sender.send_attachment(
                        room_id, attachment, msgtype, None) is None:
                    return Delivery.RETRY
        return Delivery.SENT

    # --- handlers (called from the router's tasks) -------------------------------------

    async def join(self, room_id: str) -> None:
        for attempt in range(1, JOIN_ATTEMPTS + 1):
            try:
                await self.client.join_room_by_id(RoomID(room_id))
                log.info("Matrix: joined room %s", digest(room_id))
                return
            except Exception as exc:
                log.warning("Matrix: join %s failed (%s), attempt %d",
                            digest(room_id), why(exc), attempt)
            await asyncio.sleep(attempt * 2)

    async def _group(self, room_id: str) -> bool:
        members = await self.client.state_store.get_members(RoomID(room_id))
        return len(members) > 2

    async def greet(self, room_id: str, inviter: str | None, join_event_id: str) -> None:
        if not inviter or inviter == self.client.mxid:
            return
        group = await self._group(room_id)
        incoming = self.replier.incoming(inviter, room_id, f"join:{join_event_id}",
                                         text="/start", private=not group)
        await self.replier.answer(room_id, incoming, None, group=group)

    async def encrypted(self, room_id: str, raw: dict[str, Any]) -> None:
        result = await decrypt(self.machine, {**raw, "room_id": room_id})
        if result.event is not None:
            await self._message(room_id, result.event, encrypted=True)
        elif not result.forged:
            await self.replier.undecryptable(room_id, result.session_id)

    async def clear(self, room_id: str, raw: dict[str, Any]) -> None:
        await self._message(room_id, raw, encrypted=False)

    async def _message(self, room_id: str, event: dict[str, Any], *, encrypted: bool) -> None:
        if not encrypted and await self.sender.is_encrypted(room_id):
            log.info("Matrix: a message in clear in encrypted room %s ignored", digest(room_id))
            return
        content = event.get("content") or {}
        sender, event_id = str(event.get("sender")), str(event.get("event_id"))
        group = await self._group(room_id)
        if event.get("type") == POLL_RESPONSE:
            await self._vote(room_id, sender, event_id, content, group)
            return
        if content.get("msgtype") != "m.text" or is_edit(content):
            return  # notices (other bots), images, edits…
        me = str(self.client.mxid)
        member = await self.client.state_store.get_member(RoomID(room_id), me)  # type: ignore[arg-type]
        names = [me.split(":", 1)[0].lstrip("@"), (member.displayname if member else "") or ""]
        text = addressed_text(content, me, names, group=group)
        if text is None:
            return
        incoming = self.replier.incoming(sender, room_id, event_id, text=text,
                                         private=not group)
        await self.replier.answer(room_id, incoming, event_id, group=group)

    async def _vote(
        self, room_id: str, sender: str, event_id: str, content: dict[str, Any], group: bool
    ) -> None:
        parsed = vote(content)
        payload = await self.replier.vote_payload(room_id, *parsed) if parsed else None
        if parsed is None or payload is None:
            log.info("Matrix: a vote on no poll of this bot ignored in %s", digest(room_id))
            return
        incoming = self.replier.incoming(sender, room_id, event_id, payload=payload,
                                         private=not group)
        await self.replier.answer(room_id, incoming, event_id, group=group,
                                  voted_poll=parsed[0])

"""Matrix channel on matrix-nio: one sync loop, one task chain per (room, sender).

What this adapter guarantees, and why:

- **One device for the bot's whole life.** The device id and access token are kept in
  storage (``matrix:session``); a restart restores them instead of logging in again,
  so the account does not collect a new device at every start.
- **No replay and no loss across restarts.** matrix-nio saves sync tokens only when
  end-to-end encryption is set up, so the channel stores ``next_batch`` itself
  (``matrix:next_batch``), and only once every event of that sync has been handled
  (a watermark over the handler tasks). A message that arrived while the bot was down
  is in the next sync and gets its answer; one handled just before a crash may come
  again and the core drops it (it deduplicates on the event id). On the very first
  start there is no token: the initial sync is taken as the starting point and its
  messages are history, not questions (pending invites are still accepted).
- **Bounded retries.** matrix-nio retries HTTP 429 forever by default; here 429s and
  network errors are retried a few times with back-off, then given up (and logged).
- **No stall.** Each message is handled in its own task, chained per (room, sender)
  so one person's messages keep their order while other people are served at once.
- **Encrypted rooms are not supported** (see ``docs/matrix.md``): the bot says so once,
  in French, with how to open an unencrypted room.

Logs carry no message bodies, no tokens and no platform ids in clear (rooms appear as
a short hash).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    RoomEncryptionEvent,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)

from bot.channels.matrix_render import (
    addressed_text,
    is_edit,
    media_content,
    notice,
    text_content,
    texts,
)
from bot.config import Settings
from bot.messages import Attachment, Incoming, Outgoing

log = logging.getLogger("coopbot.matrix")

CHANNEL = "matrix"
SESSION_KEY = "matrix:session"
BATCH_KEY = "matrix:next_batch"
NOTICE_KEY = "matrix:encrypted-notice:{}"
DEVICE_NAME = "Coopbot"

SYNC_TIMEOUT_MS = 30_000
TIMELINE_LIMIT = 50
GAP_PAGES = 10
"""After a long downtime a room's timeline comes back "limited": the missing part is
fetched with ``/messages``, at most this many pages of 100 events."""
SHUTDOWN_GRACE = 20.0
JOIN_ATTEMPTS = 3
MAX_BACKOFF = 60.0

SYNC_FILTER: dict[str, Any] = {
    "presence": {"types": []},
    "account_data": {"types": []},
    "room": {
        "timeline": {"limit": TIMELINE_LIMIT},
        "ephemeral": {"types": []},
        "account_data": {"types": []},
    },
}

T = TypeVar("T")
NETWORK_ERRORS = (ClientError, TimeoutError, OSError)


class Storage(Protocol):
    async def get_value(self, key: str) -> str | None: ...
    async def set_value(self, key: str, value: str) -> None: ...


class AssistantLike(Protocol):
    """The part of :class:`bot.core.Assistant` a channel uses."""

    storage: Storage

    async def handle(self, incoming: Incoming) -> list[Outgoing]: ...
    async def delivered(self, incoming: Incoming, replies: list[Outgoing]) -> None: ...
    def user_key(self, channel: str, platform_user_id: str) -> str: ...


class MatrixLoginError(RuntimeError):
    """The homeserver refused the bot's credentials (message safe to log)."""


class MatrixUnavailable(RuntimeError):
    """The homeserver could not be used for now (5xx, rate limit): try again later."""


def client_config() -> AsyncClientConfig:
    """Bounded retries: a few 429s and network errors, exponential back-off, then give up."""
    return AsyncClientConfig(
        max_limit_exceeded=5,
        max_timeouts=5,
        backoff_factor=0.5,
        max_timeout_retry_wait_time=30,
        request_timeout=60,
        store_sync_tokens=False,
        encryption_enabled=False,
    )


async def serve(assistant: AssistantLike, settings: Settings, stop: asyncio.Event) -> None:
    """Serve Matrix until ``stop`` is set (called by ``coopbot run``)."""
    if not settings.matrix_homeserver or not settings.matrix_user:
        raise MatrixLoginError("COOPBOT_MATRIX_HOMESERVER and COOPBOT_MATRIX_USER are required")
    if settings.log_level != "DEBUG":
        # matrix-nio names rooms in its INFO lines; Coopbot's logs carry no ids in clear.
        logging.getLogger("nio").setLevel(logging.WARNING)
    channel = MatrixChannel(assistant, settings)
    await channel.run(stop)


def _digest(value: str) -> str:
    """Short stable hash, for logs and storage keys (no platform id in clear)."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


class MatrixChannel:
    def __init__(
        self, assistant: AssistantLike, settings: Settings, client: AsyncClient | None = None
    ) -> None:
        self.assistant = assistant
        self.settings = settings
        self.client = client or AsyncClient(
            settings.matrix_homeserver or "", settings.matrix_user or "", config=client_config()
        )
        self._chains: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._batches: deque[tuple[str, list[asyncio.Task[None]]]] = deque()
        self._saved_batch: str | None = None
        self._progress = asyncio.Event()
        self._inviters: dict[str, str] = {}
        self._joining: set[str] = set()

    @property
    def storage(self) -> Storage:
        return self.assistant.storage

    # --- lifecycle --------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        saver: asyncio.Task[None] | None = None
        try:
            if not await self._login_until(stop):
                return
            since = await self.storage.get_value(BATCH_KEY)
            self._saved_batch = since
            saver = asyncio.create_task(self._saver(), name="matrix-saver")
            log.info("Matrix: connected (%s start)", "first" if since is None else "resumed")
            await self._sync_loop(stop, since)
        finally:
            await self._shutdown(saver)

    async def _sync_loop(self, stop: asyncio.Event, since: str | None) -> None:
        first = True
        backoff = 1.0
        while not stop.is_set():
            try:
                response = await _until(
                    stop,
                    self.client.sync(
                        timeout=0 if first else SYNC_TIMEOUT_MS,
                        since=since,
                        # The first sync of a process brings every room's state, so
                        # member counts and encryption are known without a store.
                        full_state=True if first and since else None,
                        sync_filter=SYNC_FILTER,
                    ),
                )
            except NETWORK_ERRORS as exc:
                response = exc  # type: ignore[assignment]
            if response is None:  # stop requested
                return
            if getattr(response, "status_code", None) == "M_UNKNOWN_TOKEN":
                log.warning("Matrix: the access token was revoked, logging in again")
                if not await self._login_until(stop):
                    return
                continue
            if not isinstance(response, SyncResponse):
                log.warning("Matrix: sync failed (%s), retrying in %.0f s", _why(response), backoff)
                await _until(stop, asyncio.sleep(backoff))
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            await self._on_sync(response, since)
            since = response.next_batch
            first = False

    async def _shutdown(self, saver: asyncio.Task[None] | None) -> None:
        pending = [task for _, tasks in self._batches for task in tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=SHUTDOWN_GRACE)
        if saver is not None:
            saver.cancel()
            await asyncio.gather(saver, return_exceptions=True)
            await self._advance()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.client.close()

    # --- session ----------------------------------------------------------------------

    async def _login_until(self, stop: asyncio.Event) -> bool:
        """Log in, waiting out an unreachable homeserver; refused credentials raise."""
        backoff = 1.0
        while not stop.is_set():
            try:
                await self.login()
                return True
            except (*NETWORK_ERRORS, MatrixUnavailable) as exc:
                log.warning(
                    "Matrix: homeserver unreachable (%s), retrying in %.0f s", _why(exc), backoff
                )
                await _until(stop, asyncio.sleep(backoff))
                backoff = min(backoff * 2, MAX_BACKOFF)
        return False

    async def login(self) -> None:
        """Restore the stored session (same device), or log in once and store it."""
        settings = self.settings
        raw = await self.storage.get_value(SESSION_KEY)
        stored: dict[str, str] | None = json.loads(raw) if raw else None
        if stored and (
            stored.get("homeserver") != settings.matrix_homeserver
            or stored.get("login") != settings.matrix_user
        ):
            stored = None  # another account or server: start afresh

        if settings.matrix_access_token:
            self.client.access_token = settings.matrix_access_token
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse):
                if _why(who) in ("M_UNKNOWN_TOKEN", "M_FORBIDDEN"):
                    raise MatrixLoginError(f"access token refused by the homeserver ({_why(who)})")
                raise MatrixUnavailable(_why(who))
            self.client.restore_login(who.user_id, who.device_id or "", self.client.access_token)
            log.info("Matrix: using the configured access token")
            return

        if stored:
            self.client.restore_login(
                stored["user_id"], stored["device_id"], stored["access_token"]
            )
            who = await self.client.whoami()
            if isinstance(who, WhoamiResponse) or getattr(who, "status_code", "") != (
                "M_UNKNOWN_TOKEN"
            ):
                log.info("Matrix: session restored (device kept)")
                return
            log.info("Matrix: stored token expired, logging in again on the same device")
            await self._password_login(stored["device_id"])
            return
        await self._password_login(None)

    async def _password_login(self, device_id: str | None) -> None:
        """Password login; with ``device_id`` the homeserver keeps the same device."""
        settings = self.settings
        if not settings.matrix_password:
            raise MatrixLoginError("COOPBOT_MATRIX_PASSWORD or COOPBOT_MATRIX_ACCESS_TOKEN needed")
        self.client.access_token = ""
        self.client.device_id = device_id  # type: ignore[assignment]
        response = await self.client.login(settings.matrix_password, device_name=DEVICE_NAME)
        if not isinstance(response, LoginResponse):
            status = str(getattr(response, "status_code", ""))
            if status in ("M_FORBIDDEN", "M_USER_DEACTIVATED", "M_INVALID_PARAM"):
                raise MatrixLoginError(f"login refused by the homeserver ({status})")
            raise MatrixUnavailable(status or type(response).__name__)
        session = {
            "homeserver": settings.matrix_homeserver,
            "login": settings.matrix_user,
            "user_id": response.user_id,
            "device_id": response.device_id,
            "access_token": response.access_token,
        }
        await self.storage.set_value(SESSION_KEY, json.dumps(session))
        log.info("Matrix: logged in, session stored")

    # --- one sync ---------------------------------------------------------------------

    async def _on_sync(self, response: SyncResponse, since: str | None) -> None:
        """Start a task for each event to answer; remember the batch for the watermark."""
        tasks: list[asyncio.Task[None]] = []
        for room_id, info in response.rooms.invite.items():
            inviter = _inviter(info.invite_state, self.client.user_id)
            if inviter:
                self._inviters[room_id] = inviter
            if room_id not in self._joining:
                self._joining.add(room_id)
                tasks.append(self._schedule((room_id, ""), lambda r=room_id: self._join(r)))

        for room_id, info in response.rooms.join.items():
            self._joining.discard(room_id)
            if since is None:
                continue  # first start: this is history
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            events: list[Event] = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch:
                events = await self._fill_gap(room_id, info.timeline.prev_batch, since) + events
            tasks.extend(self._on_room_events(room, _unique(events)))

        self._batches.append((response.next_batch, tasks))
        self._progress.set()

    def _on_room_events(self, room: MatrixRoom, events: list[Event]) -> list[asyncio.Task[None]]:
        me = self.client.user_id
        tasks: list[asyncio.Task[None]] = []
        joined_at = _own_join(events, me)
        if joined_at is not None:
            # Newly joined: what was said before the bot arrived is not for it.
            join_event = events[joined_at]
            inviter = self._inviters.pop(room.room_id, None) or _inviter(events[:joined_at], me)
            events = events[joined_at + 1 :]
            tasks.append(self._greet(room, inviter, join_event.event_id))
        for event in events:
            task = self._on_event(room, event)
            if task is not None:
                tasks.append(task)
        return tasks

    def _on_event(self, room: MatrixRoom, event: Event) -> asyncio.Task[None] | None:
        me = self.client.user_id
        if getattr(event, "sender", None) == me:
            return None  # the bot's own events
        if isinstance(event, (MegolmEvent, RoomEncryptionEvent)):
            return self._schedule((room.room_id, ""), lambda: self._encrypted_notice(room.room_id))
        if not isinstance(event, RoomMessageText):
            return None  # notices (other bots), images, edits of state…
        if room.encrypted:
            # Even a message sent in clear here would get a clear answer in a room
            # people believe private: only the explanation is sent.
            return self._schedule((room.room_id, ""), lambda: self._encrypted_notice(room.room_id))
        content = event.source.get("content", {})
        if is_edit(content):
            return None
        group = room.member_count > 2
        names = [me.split(":", 1)[0].lstrip("@"), room.user_name(me) or ""]
        text = addressed_text(content, me, names, group=group)
        if text is None:
            return None
        incoming = Incoming(
            channel=CHANNEL,
            user_key=self.assistant.user_key(CHANNEL, event.sender),
            chat_id=room.room_id,
            text=text,
            message_id=event.event_id,
        )
        return self._schedule(
            (room.room_id, event.sender),
            lambda: self._answer(room.room_id, incoming, event.event_id, group),
        )

    def _greet(
        self, room: MatrixRoom, inviter: str | None, join_event_id: str
    ) -> asyncio.Task[None]:
        if room.encrypted:
            return self._schedule((room.room_id, ""), lambda: self._encrypted_notice(room.room_id))
        if not inviter or inviter == self.client.user_id:
            return self._schedule((room.room_id, ""), _nothing)
        incoming = Incoming(
            channel=CHANNEL,
            user_key=self.assistant.user_key(CHANNEL, inviter),
            chat_id=room.room_id,
            text="/start",
            message_id=f"join:{join_event_id}",
        )
        return self._schedule(
            (room.room_id, inviter),
            lambda: self._answer(room.room_id, incoming, None, room.member_count > 2),
        )

    async def _fill_gap(self, room_id: str, start: str, until: str) -> list[Event]:
        """Events between the stored token and a limited timeline, oldest first."""
        collected: list[Event] = []
        token = start
        for _ in range(GAP_PAGES):
            try:
                response = await self.client.room_messages(
                    room_id, start=token, end=until, direction=MessageDirection.back, limit=100
                )
            except NETWORK_ERRORS as exc:
                log.warning("Matrix: could not fetch missed events (%s)", _why(exc))
                break
            if not isinstance(response, RoomMessagesResponse):
                log.warning("Matrix: could not fetch missed events (%s)", _why(response))
                break
            collected.extend(response.chunk)
            if not response.chunk or not response.end or response.end == token:
                break
            token = response.end
        collected.reverse()
        return collected

    # --- tasks and watermark ----------------------------------------------------------

    def _schedule(
        self, key: tuple[str, str], work: Callable[[], Coroutine[Any, Any, None]]
    ) -> asyncio.Task[None]:
        """Run ``work`` after the previous task of the same key (order kept per person)."""
        previous = self._chains.get(key)

        async def chained() -> None:
            if previous is not None:
                await asyncio.wait({previous})
            await work()

        task = asyncio.create_task(chained())
        self._chains[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def _finished(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._chains.get(key) is task:
            del self._chains[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("Matrix: handler failed", exc_info=task.exception())
        self._progress.set()

    async def _saver(self) -> None:
        while True:
            await self._progress.wait()
            self._progress.clear()
            await self._advance()

    async def _advance(self) -> None:
        """Store the newest sync token whose events (and all before) are handled."""
        token: str | None = None
        while self._batches and all(task.done() for task in self._batches[0][1]):
            token = self._batches.popleft()[0]
        if token is None or token == self._saved_batch:
            return
        try:
            await self.storage.set_value(BATCH_KEY, token)
            self._saved_batch = token
        except Exception:  # the next progress retries; never kill the saver
            log.exception("Matrix: could not store the sync token")

    # --- actions ----------------------------------------------------------------------

    async def _join(self, room_id: str) -> None:
        for attempt in range(1, JOIN_ATTEMPTS + 1):
            try:
                response = await self.client.join(room_id)
            except NETWORK_ERRORS as exc:
                response = exc  # type: ignore[assignment]
            if getattr(response, "room_id", None) == room_id:
                log.info("Matrix: joined room %s", _digest(room_id))
                return
            log.warning(
                "Matrix: join %s failed (%s), attempt %d", _digest(room_id), _why(response), attempt
            )
            await asyncio.sleep(attempt * 2)
        self._joining.discard(room_id)

    async def _answer(
        self, room_id: str, incoming: Incoming, event_id: str | None, group: bool
    ) -> None:
        try:
            replies = await self.assistant.handle(incoming)
        except Exception:
            log.exception("Matrix: the assistant failed on a message in %s", _digest(room_id))
            replies = [Outgoing(text=texts()["failure"])]
        for index, reply in enumerate(replies):
            # In a shared room the first bubble quotes the message it answers.
            quote = event_id if group and index == 0 else None
            await self._send_outgoing(room_id, reply, event_id, quote)
        await self.assistant.delivered(incoming, replies)

    async def _send_outgoing(
        self, room_id: str, out: Outgoing, reply_to: str | None, quote: str | None
    ) -> None:
        content = text_content(out, reply_to)
        if content is not None:
            if quote:
                content["m.relates_to"] = {"m.in_reply_to": {"event_id": quote}}
            await self._send(room_id, content)
        for attachment, msgtype in ((out.file, "m.file"), (out.image, "m.image")):
            if attachment is None:
                continue
            if attachment.caption.strip():
                await self._send(room_id, notice(attachment.caption))
            url = await self._upload(attachment)
            if url is None:
                await self._send(room_id, notice(texts()["failure"]))
                continue
            await self._send(room_id, media_content(attachment, msgtype, url, reply_to))

    async def _upload(self, attachment: Attachment) -> str | None:
        try:
            response, _ = await self.client.upload(
                io.BytesIO(attachment.content),
                content_type=attachment.mime_type,
                filename=attachment.filename,
                filesize=len(attachment.content),
            )
        except NETWORK_ERRORS as exc:
            log.warning("Matrix: upload failed (%s)", _why(exc))
            return None
        if not isinstance(response, UploadResponse):
            log.warning("Matrix: upload failed (%s)", _why(response))
            return None
        return str(response.content_uri)

    async def _send(self, room_id: str, content: dict[str, Any]) -> bool:
        try:
            response = await self.client.room_send(
                room_id, "m.room.message", content, ignore_unverified_devices=True
            )
        except NETWORK_ERRORS as exc:
            response = exc  # type: ignore[assignment]
        if isinstance(response, RoomSendResponse):
            return True
        log.warning("Matrix: send to %s failed (%s)", _digest(room_id), _why(response))
        return False

    async def _encrypted_notice(self, room_id: str) -> None:
        """Say once per room that encrypted messages cannot be read, and what to do."""
        key = NOTICE_KEY.format(_digest(room_id))
        if await self.storage.get_value(key):
            return
        if await self._send(room_id, notice(texts()["encrypted"])):
            await self.storage.set_value(key, "sent")


# --- helpers --------------------------------------------------------------------------


async def _nothing() -> None:
    return None


async def _until(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
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


def _why(response: object) -> str:
    """A loggable reason: error code or exception type, never content."""
    if isinstance(response, BaseException):
        return type(response).__name__
    code = getattr(response, "status_code", None)
    return str(code) if code else type(response).__name__


def _inviter(events: list[Any], me: str) -> str | None:
    """Who invited the bot, from the invite state or a timeline."""
    for event in reversed(events):
        if getattr(event, "membership", None) == "invite" and getattr(event, "state_key", "") == me:
            return str(event.sender)
    return None


def _own_join(events: list[Event], me: str) -> int | None:
    """Index of the bot's own join in ``events`` (a profile change is not a join)."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if (
            isinstance(event, RoomMemberEvent)
            and event.state_key == me
            and event.membership == "join"
            and event.prev_membership != "join"
        ):
            return index
    return None


def _unique(events: list[Event]) -> list[Event]:
    """Drop duplicates (a filled gap and the timeline may overlap), keeping order."""
    seen: set[str] = set()
    unique: list[Event] = []
    for event in events:
        event_id = getattr(event, "event_id", None)
        if event_id:
            if event_id in seen:
                continue
            seen.add(event_id)
        unique.append(event)
    return unique

"""A loopback Telegram Bot API server for end-to-end tests (aiohttp).

No public fake Bot API works with python-telegram-bot 22, so this one implements the
methods Coopbot calls, over real HTTP, with the token in the path
(``/bot<token>/<method>``) exactly like ``api.telegram.org``. Point a bot at it with
``base_url=server.base_url`` (or ``COOPBOT_TELEGRAM_API_URL``).

It keeps Telegram's ``getUpdates`` semantics: an update is returned until a later call
passes an ``offset`` greater than its id, and a call with ``timeout`` waits (long
polling) until an update arrives. So a bot killed before it confirmed an update gets it
again on restart, as with the real service.

A test injects updates (``send_text``, ``press``…), reads what the bot sent
(``calls``, ``messages_to``), waits for calls (``wait_for``), and can make the server
answer 429 (``fail_next``, ``flood_limit``) to exercise the bot's rate limiting. In
webhook mode (after ``setWebhook``) injected updates are POSTed to the bot's webhook
with the secret-token header instead of being queued for ``getUpdates``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientConnectorError, ClientSession, web

BOT_ID = 7_000_000_001
BOT_USERNAME = "coopbot_test_bot"
_SENDS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})


@dataclass
class Call:
    """One request the bot made, decoded: form fields (JSON values parsed) and files."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    status: int = 200
    at: float = field(default_factory=time.monotonic)
    request: web.Request | None = field(default=None, repr=False, compare=False)
    message_id: int | None = None
    """For a message the bot sent: the id the server gave it."""

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every inline button of ``reply_markup``, row after row."""
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    remaining: int


class FakeTelegram:
    """Bot API subset on ``127.0.0.1:<port>``; use as ``async with FakeTelegram() as tg``."""

    def __init__(
        self, token: str = "123456:TEST-token", *, username: str = BOT_USERNAME, port: int = 0
    ):
        self.token = token
        self.username = username
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] | None = None
        self._updates: list[dict[str, Any]] = []
        self._forced: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._failures: dict[str, _Failure] = {}
        self._holds: dict[str, tuple[asyncio.Event, asyncio.Event]] = {}
        self._flood: tuple[int, float] | None = None
        self._recent: deque[float] = deque()
        self.rejected_429 = 0
        self.blocked: set[int] = set()
        """Chats whose person blocked the bot: every send to them gets 403."""
        self.injected: dict[int, dict[str, Any]] = {}
        self._sent: dict[int, list[Call]] = {}
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self.port = port
        self._handlers: dict[str, Callable[[Call], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendDocument": self._send_file("document"),
            "sendPhoto": self._send_file("photo"),
            "editMessageReplyMarkup": self._edit_markup,
            "editMessageText": self._edit_text,
            "answerCallbackQuery": self._true,
            "setMyCommands": self._true,
            "deleteMyCommands": self._true,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._webhook_info,
            "close": self._true,
            "logOut": self._true,
        }

    # ----- lifecycle -------------------------------------------------------------------
    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._dispatch)
        app.router.add_get("/bot{token}/{method}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        async with self._changed:
            self._closing = True  # pending long polls return now, not after their timeout
            self._changed.notify_all()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What ``COOPBOT_TELEGRAM_API_URL`` should be: the ``…/bot`` prefix."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ----- test controls ---------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (429 by default).

        ``status=0`` drops the connection without answering (a network failure).
        """
        text = description or (
            f"Too Many Requests: retry after {retry_after}" if status == 429 else "Bad Request"
        )
        self._failures[method] = _Failure(status, text, retry_after, times)

    def hold_next(self, method: str) -> asyncio.Event:
        """Keep the next call of ``method`` waiting, unanswered, until ``drop_held``;
        returns an event set when that call has arrived. The call is then dropped,
        as a request cut off by the sender's death: nothing is delivered."""
        arrived, released = asyncio.Event(), asyncio.Event()
        self._holds[method] = (arrived, released)
        return arrived

    def drop_held(self) -> None:
        for _arrived, released in self._holds.values():
            released.set()

    def flood_limit(self, max_calls: int, period: float = 1.0) -> None:
        """Like Telegram's flood control: more than ``max_calls`` sends in ``period`` → 429."""
        self._flood = (max_calls, period)

    async def inject(self, update: dict[str, Any], *, redeliver: bool = False) -> int:
        """Queue a raw update (``update_id`` added when absent); returns its id.

        ``redeliver=True`` hands it out again even if the bot already confirmed it, which
        is what a webhook retry or a Telegram hiccup looks like to the bot.
        """
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self.injected[update["update_id"]] = update
        if self.webhook:
            await self._post_webhook(update)
            return update["update_id"]
        async with self._changed:
            (self._forced if redeliver else self._updates).append(update)
            self._changed.notify_all()
        return update["update_id"]

    async def redeliver(self, update_id: int) -> None:
        """Deliver an update the bot already received once more (same ``update_id``)."""
        await self.inject(self.injected[update_id], redeliver=True)

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to: dict[str, Any] | None = None,
    ) -> int:
        """A user types ``text`` (commands get their ``bot_command`` entity)."""
        message = self.user_message(user_id, text, chat_id=chat_id, chat_type=chat_type)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return await self.inject({"message": message})

    async def press(
        self,
        user_id: int,
        data: str,
        *,
        message: dict[str, Any] | None = None,
        chat_id: int | None = None,
    ) -> int:
        """A user taps an inline button whose ``callback_data`` is ``data``."""
        chat = chat_id if chat_id is not None else user_id
        msg = message or {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(chat, "private" if chat == user_id else "group"),
            "from": self.bot_user(),
            "text": "…",
        }
        query = {
            "id": str(next(self._update_ids)) + "cq",
            "from": _user(user_id),
            "chat_instance": f"ci{chat}",
            "data": data,
            "message": msg,
        }
        return await self.inject({"callback_query": query})

    def user_message(
        self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str = "private"
    ) -> dict[str, Any]:
        chat = chat_id if chat_id is not None else user_id
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(chat, chat_type),
            "from": _user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return message

    def bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Coopbot", "username": self.username}

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    def messages_to(self, chat_id: int) -> list[Call]:
        """Successful sends (text, document, photo) to one chat, in order."""
        return list(self._sent.get(chat_id, ()))

    async def wait_for(
        self,
        predicate: Callable[[list[Call]], bool] | str,
        count: int = 1,
        *,
        timeout: float = 20.0,
    ) -> list[Call]:
        """Wait until ``count`` successful calls of a method exist (or a predicate holds)."""
        if isinstance(predicate, str):
            method = predicate

            def check(calls: list[Call]) -> bool:
                return sum(1 for c in calls if c.method == method and c.status == 200) >= count

        else:
            check = predicate
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: check(self.calls)), timeout)
            except TimeoutError:
                methods = [c.method for c in self.calls[-15:]]
                raise AssertionError(f"timed out waiting; last calls: {methods}") from None
        return self.calls

    # ----- HTTP ------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        call = await _decode(method, request)
        call.request = request
        handler = self._handlers.get(method)
        if handler is None:
            return await self._record(call, _error(404, "Not Found: method not found"))
        hold = self._holds.get(method)
        if hold is not None:
            arrived, released = hold
            arrived.set()
            await released.wait()
            del self._holds[method]
            call.status = 0
            await self._record(call, web.Response())
            if request.transport is not None:
                request.transport.close()
            raise ConnectionResetError("held, then dropped by the fake server")
        failure = self._failures.get(method)
        if failure is not None and failure.remaining > 0:
            failure.remaining -= 1
            call.status = failure.status
            if failure.status == 0:  # the connection drops before any answer
                await self._record(call, web.Response())
                assert request.transport is not None
                request.transport.close()
                raise ConnectionResetError("dropped by the fake server")
            return await self._record(
                call, _error(failure.status, failure.description, failure.retry_after)
            )
        if method.startswith("send") and call.chat_id in self.blocked:
            call.status = 403
            return await self._record(call, _error(403, "Forbidden: bot was blocked by the user"))
        if self._flood is not None and method.startswith("send") and self._flooded():
            self.rejected_429 += 1
            call.status = 429
            return await self._record(call, _error(429, "Too Many Requests: retry after 1", 1))
        try:
            result = await handler(call)
        except _ApiError as exc:
            call.status = exc.status
            return await self._record(call, _error(exc.status, exc.description))
        return await self._record(call, web.json_response({"ok": True, "result": result}))

    async def _record(self, call: Call, response: web.StreamResponse) -> web.StreamResponse:
        if call.method != "getUpdates":
            async with self._changed:
                self.calls.append(call)
                if call.method in _SENDS and call.status == 200 and call.chat_id is not None:
                    self._sent.setdefault(call.chat_id, []).append(call)
                self._changed.notify_all()
        return response

    def _flooded(self) -> bool:
        assert self._flood is not None
        limit, period = self._flood
        now = time.monotonic()
        while self._recent and now - self._recent[0] > period:
            self._recent.popleft()
        if len(self._recent) >= limit:
            return True
        self._recent.append(now)
        return False

    # ----- methods ---------------------------------------------------------------------
    async def _true(self, call: Call) -> bool:
        return True

    async def _get_me(self, call: Call) -> dict[str, Any]:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, call: Call) -> list[dict[str, Any]]:
        if self.webhook:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(call.params.get("offset") or 0)
        timeout = float(call.params.get("timeout") or 0)
        limit = int(call.params.get("limit") or 100)
        self.calls.append(call)  # recorded for offset checks, without waking waiters
        async with self._changed:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]

            def ready() -> bool:
                return bool(self._forced or self._updates or self._closing)

            if not ready() and timeout > 0:
                try:
                    await asyncio.wait_for(self._changed.wait_for(ready), timeout)
                except TimeoutError:
                    return []
            if _gone(call.request):
                return []  # the bot died while waiting (killed): keep its updates for later
            batch = self._forced[:limit]
            self._forced = self._forced[len(batch) :]
            batch += self._updates[: limit - len(batch)]
            return batch

    async def _send_message(self, call: Call) -> dict[str, Any]:
        text = str(call.params.get("text", ""))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096 + text.count("<") * 8:  # rough: markup does not count
            raise _ApiError(400, "Bad Request: message is too long")
        return self._message(call, text=text)

    def _send_file(self, kind: str) -> Callable[[Call], Any]:
        async def handler(call: Call) -> dict[str, Any]:
            if kind not in call.files:
                raise _ApiError(400, f"Bad Request: there is no {kind} in the request")
            name, content, _mime = call.files[kind]
            extra: dict[str, Any]
            if kind == "document":
                extra = {
                    "document": {
                        "file_id": f"doc{len(self.calls)}",
                        "file_unique_id": f"u{len(self.calls)}",
                        "file_name": name,
                        "file_size": len(content),
                    }
                }
            else:
                extra = {
                    "photo": [
                        {
                            "file_id": f"ph{len(self.calls)}",
                            "file_unique_id": f"u{len(self.calls)}",
                            "width": 800,
                            "height": 600,
                            "file_size": len(content),
                        }
                    ]
                }
            if call.params.get("caption"):
                extra["caption"] = call.params["caption"]
            return self._message(call, **extra)

        return handler

    async def _edit_markup(self, call: Call) -> dict[str, Any] | bool:
        if "inline_message_id" in call.params:
            return True
        message = self._message(call, text="…")
        message["message_id"] = int(call.params.get("message_id", 0))
        return message

    async def _edit_text(self, call: Call) -> dict[str, Any]:
        message = self._message(call, text=str(call.params.get("text", "")))
        message["message_id"] = int(call.params.get("message_id", 0))
        return message

    async def _set_webhook(self, call: Call) -> bool:
        self.webhook = dict(call.params)
        return True

    async def _delete_webhook(self, call: Call) -> bool:
        self.webhook = None
        return True

    async def _webhook_info(self, call: Call) -> dict[str, Any]:
        url = (self.webhook or {}).get("url", "")
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    def _message(self, call: Call, **fields: Any) -> dict[str, Any]:
        chat_id = call.chat_id or 0
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(chat_id, "private" if chat_id > 0 else "group"),
            "from": self.bot_user(),
            **fields,
        }
        if call.params.get("reply_markup"):
            message["reply_markup"] = call.params["reply_markup"]
        call.message_id = message["message_id"]
        return message

    async def _post_webhook(self, update: dict[str, Any]) -> None:
        """Deliver like Telegram: POST JSON with the secret-token header it was given."""
        assert self.webhook is not None
        if self._client is None:
            self._client = ClientSession()
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        for _attempt in range(100):  # Telegram retries too; the bot's server may be starting
            try:
                async with self._client.post(
                    self.webhook["url"], json=update, headers=headers
                ) as resp:
                    if resp.status != 200:
                        raise AssertionError(f"webhook answered {resp.status}")
                    return
            except ClientConnectorError:
                await asyncio.sleep(0.05)
        raise AssertionError("webhook unreachable")


def _gone(request: web.Request | None) -> bool:
    """True when the client of a long poll has disconnected (for example, was killed)."""
    if request is None:
        return False
    transport = request.transport
    return transport is None or transport.is_closing()


class _ApiError(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None and status == 429:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


async def _decode(method: str, request: web.Request) -> Call:
    """Form or multipart fields; JSON-looking values decoded like Telegram does."""
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    if request.content_type == "application/json":
        params = await request.json() if request.can_read_body else {}
        return Call(method, params)
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if part.filename is not None:  # type: ignore[union-attr]
                data = await part.read()  # type: ignore[union-attr]
                ctype = part.headers.get("Content-Type", "application/octet-stream")
                files[part.name or ""] = (part.filename, bytes(data), ctype)  # type: ignore[union-attr]
            else:
                params[part.name or ""] = _maybe_json(await part.text())  # type: ignore[union-attr]
    else:
        form = await request.post()
        for key, value in form.items():
            params[key] = _maybe_json(str(value))
    params.update({k: _maybe_json(v) for k, v in request.query.items()})
    return Call(method, params, files)


def _maybe_json(value: str) -> Any:
    if value[:1] in "[{" or value in ("true", "false"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": "fr"}


def _chat(chat_id: int, chat_type: str) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = f"User{chat_id}"
    else:
        chat["title"] = f"Groupe {chat_id}"
    return chat

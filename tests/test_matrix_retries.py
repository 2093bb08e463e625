"""A homeserver that rate-limits forever must not hang the bot (matrix-nio's default)."""

from __future__ import annotations

from aiohttp import web

from bot.channels.matrix import MatrixChannel, client_config
from bot.config import Settings
from bot.messages import Incoming, Outgoing


class NullStorage:
    async def get_value(self, key: str) -> str | None:
        return None

    async def set_value(self, key: str, value: str) -> None:
        return None


class NoAssistant:
    storage = NullStorage()

    def user_key(self, channel: str, platform_user_id: str) -> str:
        return platform_user_id

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        return []

    async def delivered(self, incoming: Incoming, replies: list[Outgoing]) -> None:
        return None


async def test_send_gives_up_after_a_bounded_number_of_429() -> None:
    hits = 0

    async def limited(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        return web.json_response(
            {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 1},
            status=429,
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", limited)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        settings = Settings(matrix_homeserver=f"http://127.0.0.1:{port}", matrix_user="coopbot")
        channel = MatrixChannel(NoAssistant(), settings)  # type: ignore[arg-type]
        channel.client.restore_login("@coopbot:localhost", "DEVICE", "token")
        sent = await channel._send("!room:localhost", {"msgtype": "m.notice", "body": "x"})
        await channel.client.close()
    finally:
        await runner.cleanup()
    assert sent is False
    assert hits == client_config().max_limit_exceeded + 1

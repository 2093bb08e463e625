"""A homeserver that rate-limits forever must not hang the bot: sends are retried a few
times (waiting what the server asks), then given up and logged."""

from __future__ import annotations

from aiohttp import ClientSession, web
from mautrix.client import Client

from bot.channels.matrix.send import MAX_RETRIES, Sender


async def test_send_gives_up_after_a_bounded_number_of_429() -> None:
    hits = 0

    async def limited(request: web.Request) -> web.Response:
        nonlocal hits
        if request.method == "GET" and "/state/m.room.encryption" in request.path:
            # The room is not encrypted (so the bot may send in clear there).
            return web.json_response({"errcode": "M_NOT_FOUND", "error": "no"}, status=404)
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
        async with ClientSession() as http:
            client = Client(mxid="@coopbot:localhost", device_id="DEVICE",
                            base_url=f"http://127.0.0.1:{port}", token="token",
                            client_session=http)
            sent = await Sender(client).send("!room:localhost", {"msgtype": "m.notice",
                                                                  "body": "x"})
    finally:
        await runner.cleanup()
    assert sent is None
    assert hits == MAX_RETRIES + 1

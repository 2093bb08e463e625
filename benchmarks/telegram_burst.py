"""Burst of N people writing to the Telegram bot at once; prints figures, asserts nothing.

The real channel and assistant (SQLite) run in process against the loopback Bot API of
``tests/fake_telegram.py``, which applies a Telegram-like flood limit (answers 429 above
``--flood`` sends per second). Each person sends /facteurs and then taps the first
answer. Printed: total time, send rate, latency to the first reply, 429 answers,
messages missing or duplicated. ``--no-limiter`` shows what happens without
python-telegram-bot's ``AIORateLimiter``.

    python benchmarks/telegram_burst.py --users 200

The fake server shares the bot's event loop, so while the core works on a burst the
server reads requests in bunches: a few 429 answers can appear even though the bot
paces its sends; they are retried, which is what the figures check.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram.ext import BaseRateLimiter

from bot.channels.telegram import serve
from bot.config import Settings
from bot.core import Assistant
from tests.fake_telegram import FakeTelegram


class NoLimiter(BaseRateLimiter[int]):
    """Sends everything at once and does not retry: the comparison point."""

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(  # type: ignore[override]
        self, callback: Any, args: Any, kwargs: Any, endpoint: str, data: Any, rate_limit_args: Any
    ) -> Any:
        return await callback(*args, **kwargs)


def asked(tg: FakeTelegram, person: int, k: int) -> bool:
    sent = tg.messages_to(person)
    return bool(sent) and f"({k}/" in str(sent[-1].params.get("text"))


async def burst(
    users: int, flood: int, limiter: BaseRateLimiter[Any] | None, db: str | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        assistant = await Assistant.create(
            Settings(database_url=db or f"sqlite:///{tmp}/burst.db", secret="bench")
        )
        async with FakeTelegram() as tg:
            tg.flood_limit(flood, 1.0)
            settings = Settings(telegram_token=tg.token, telegram_api_url=tg.base_url)
            stop = asyncio.Event()
            task = asyncio.create_task(serve(assistant, settings, stop, rate_limiter=limiter))
            await tg.wait_for("setMyCommands")
            people = [200_000 + i for i in range(users)]
            started = time.monotonic()
            await asyncio.gather(*(tg.send_text(p, "/facteurs") for p in people))
            ok = True
            try:
                await tg.wait_for(lambda _: all(asked(tg, p, 1) for p in people), timeout=180)
                firsts = {p: tg.messages_to(p)[-1].buttons[0]["callback_data"] for p in people}
                await asyncio.gather(*(tg.press(p, firsts[p]) for p in people))
                await tg.wait_for(lambda _: all(asked(tg, p, 2) for p in people), timeout=180)
            except AssertionError:
                ok = False
            elapsed = time.monotonic() - started
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.wait_for(task, 60)
            await assistant.close()
            first_reply = [tg.messages_to(p)[0].at - started for p in people if tg.messages_to(p)]
            dupes = sum(
                n - 1
                for p in people
                for n in Counter(str(c.params.get("text")) for c in tg.messages_to(p)).values()
            )
            sends = len(tg.of("sendMessage"))
            return {
                "completed": ok,
                "elapsed_s": round(elapsed, 1),
                "messages_delivered": sends,
                "send_rate_per_s": round(sends / elapsed, 1),
                "answered_429": tg.rejected_429,
                "people_missing_replies": sum(1 for p in people if not asked(tg, p, 2)),
                "duplicated_messages": dupes,
                "first_reply_p50_s": round(statistics.median(first_reply), 2),
                "first_reply_max_s": round(max(first_reply), 2),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--flood", type=int, default=60, help="429 above this many sends/s")
    parser.add_argument("--no-limiter", action="store_true")
    parser.add_argument("--db", help="database URL (an empty PostgreSQL database); SQLite if unset")
    args = parser.parse_args()
    limiter = NoLimiter() if args.no_limiter else None
    figures = asyncio.run(burst(args.users, args.flood, limiter, args.db))
    label = "no rate limiter" if args.no_limiter else "AIORateLimiter, even 28/s, 5 retries"
    backend = "PostgreSQL" if args.db else "SQLite"
    print(f"Telegram burst, {args.users} people, {label}, flood limit {args.flood}/s, {backend}")
    for key, value in figures.items():
        print(f"  {key:24} {value}")


if __name__ == "__main__":
    main()

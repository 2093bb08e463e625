"""200 people write at the same moment: everyone gets their replies, once, in order.

In process (the real :class:`bot.core.Assistant` on SQLite, the real channel) over HTTP
against the loopback Bot API, which applies a flood limit like Telegram's and answers
429 when it is exceeded. The bot's rate limiter must keep the burst under it, or
retry, so that nothing is lost and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import pytest

from bot.channels.telegram import serve
from bot.config import Settings
from bot.core import Assistant
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.slow

USERS = 200


def _asked(tg: FakeTelegram, person: int, k: int) -> bool:
    """The last message ``person`` received is question ``k`` of the flow."""
    sent = tg.messages_to(person)
    return bool(sent) and f"({k}/" in str(sent[-1].params.get("text"))


async def test_two_hundred_people_at_once_each_get_their_replies_once(tmp_path: Path) -> None:
    assistant = await Assistant.create(
        Settings(database_url=f"sqlite:///{tmp_path / 'burst.db'}", secret="burst")
    )
    async with FakeTelegram() as tg:
        tg.flood_limit(60, 1.0)  # Telegram tolerates short bursts above 30/s, not a storm
        settings = Settings(telegram_token=tg.token, telegram_api_url=tg.base_url)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(assistant, settings, stop))
        try:
            await tg.wait_for("setMyCommands")
            people = [100_000 + i for i in range(USERS)]
            await asyncio.gather(*(tg.send_text(p, "/facteurs") for p in people))
            await tg.wait_for(lambda _: all(_asked(tg, p, 1) for p in people), timeout=120)
            # Everyone taps the first answer of the question they were shown, at once.
            firsts = {p: tg.messages_to(p)[-1].buttons[0]["callback_data"] for p in people}
            await asyncio.gather(*(tg.press(p, firsts[p]) for p in people))
            await tg.wait_for(lambda _: all(_asked(tg, p, 2) for p in people), timeout=120)
            await asyncio.sleep(1.0)  # anything sent twice would show up by now
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
            await assistant.close()

        for person in people:
            texts = [str(c.params.get("text")) for c in tg.messages_to(person)]
            assert Counter(texts).most_common(1)[0][1] == 1, texts
            questions = [t for t in texts if re.search(r"\(\d+/\d+\)", t)]
            assert len(questions) == 2 and "(1/" in questions[0] and "(2/" in questions[1]
            assert questions[1] == texts[-1]
        assert len(tg.of("answerCallbackQuery")) == USERS
        print(
            f"\nburst: {USERS} people, {len(tg.of('sendMessage'))} messages, "
            f"{tg.rejected_429} answered 429"
        )

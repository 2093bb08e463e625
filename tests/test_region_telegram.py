"""``/region`` over the real Telegram channel (loopback Bot API): typed with its accent,
and an unclear place chosen by tapping one of the buttons the bot sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.channels.telegram import serve
from bot.config import Settings
from bot.core import Assistant
from bot.testing import memory_assistant
from tests.fake_telegram import FakeTelegram


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@asynccontextmanager
async def running(assistant: Assistant, tg: FakeTelegram) -> AsyncIterator[None]:
    settings = Settings(telegram_token=tg.token, telegram_api_url=tg.base_url)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(assistant, settings, stop))
    await tg.wait_for("setMyCommands")
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _replies(tg: FakeTelegram, chat: int, n: int) -> list:
    await tg.wait_for(lambda calls: len(tg.messages_to(chat)) >= n, timeout=30)
    return tg.messages_to(chat)


async def test_region_by_text_and_by_button_on_telegram(tg: FakeTelegram) -> None:
    assistant = memory_assistant()
    key = assistant.user_key("telegram", "77")
    async with running(assistant, tg):
        [menu] = tg.of("setMyCommands")
        assert "region" in [c["command"] for c in menu.params["commands"]]

        await tg.send_text(77, "/région Finistère")
        *_, stored = await _replies(tg, 77, 2)  # the privacy notice, then the confirmation
        assert "Finistère (29)" in stored.params["text"]

        await tg.send_text(77, "/region loir")
        replies = await _replies(tg, 77, 3)
        question = replies[-1]
        assert "Vouliez-vous dire" in question.params["text"]
        data = {b["text"]: b["callback_data"] for b in question.buttons}
        assert data["Loiret (45)"] == "/region 45"
        await tg.press(77, data["Loiret (45)"])
        replies = await _replies(tg, 77, 4)
        assert "Loiret (45)" in replies[-1].params["text"]
    assert await assistant.storage.conversation(key, lambda conv: conv.territory) == "45"

"""Reminders over the loopback Bot API, with ``coopbot run`` as an operator starts it.

A facilitator creates a workshop in Telegram, two people join, one finishes; ``/etat``
counts them; ``/relancer`` reaches only the unfinished one, once; a second ``/relancer``
and a restart send nothing more; a person who blocked the bot (403) is marked
unreachable, without retries, and ``/etat`` says so.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.texts import texts
from tests.fake_telegram import FakeTelegram
from tests.test_telegram_e2e import BotProcess
from tests.test_workshop_helpers import ANSWERS, CODE, typed_answers

pytestmark = pytest.mark.slow

FACILITATOR, DONE, WAITING, BLOCKED = 100, 201, 202, 203
SPACES = re.compile(r"[\u00a0\u202f]")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def _texts(tg: FakeTelegram, chat: int) -> list[str]:
    return [SPACES.sub(" ", str(c.params.get("text", ""))) for c in tg.messages_to(chat)]


async def _say(tg: FakeTelegram, chat: int, typed: str) -> str:
    """Type, and wait for the reply to settle (the next message to this chat)."""
    before = len(tg.messages_to(chat))
    await tg.send_text(chat, typed)
    await tg.wait_for(lambda _: len(tg.messages_to(chat)) > before, timeout=30)
    await asyncio.sleep(0.3)
    return "\n".join(_texts(tg, chat)[before:])


def _reminders(tg: FakeTelegram, chat: int) -> list[str]:
    return [t for t in _texts(tg, chat) if "/silence" in t and "sans le terminer" in t]


async def test_reminders_reach_the_unfinished_once_and_the_blocked_are_counted(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    bot = BotProcess(tg, tmp_path)
    await bot.start()
    try:
        await _say(tg, FACILITATOR, "/atelier Fresque de l'engagement local, Crest")
        found = CODE.search(await _say(tg, FACILITATOR, "1"))
        assert found
        code = found.group(1)
        await _say(tg, DONE, f"/rejoindre {code}")
        for line in typed_answers(ANSWERS[0]):
            reply = await _say(tg, DONE, line)
        assert "Merci" in reply
        await _say(tg, WAITING, f"/rejoindre {code}")

        status = await _say(tg, FACILITATOR, f"/etat {code}")
        assert "Participants : 2" in status and "Ont terminé : 1" in status, status

        queued = await _say(tg, FACILITATOR, f"/relancer {code}")
        assert "1 participant(s)" in queued, queued
        await tg.wait_for(lambda _: len(_reminders(tg, WAITING)) == 1, timeout=30)
        assert "Crest" in _reminders(tg, WAITING)[0]
        again = await _say(tg, FACILITATOR, f"/relancer {code}")
        assert again == SPACES.sub(" ", texts()("outbox.remind.already"))

        assert await bot.stop(signal.SIGTERM) == 0
        await bot.start()
        await asyncio.sleep(3)  # a few sender polls after the restart
        assert len(_reminders(tg, WAITING)) == 1
        assert _reminders(tg, DONE) == [] and _reminders(tg, FACILITATOR) == []

        # A third person joins, then blocks the bot before the next round.
        await _say(tg, BLOCKED, f"/rejoindre {code}")
        tg.blocked.add(BLOCKED)
        refused_before = sum(1 for c in tg.calls if c.status == 403)
        queued = await _say(tg, FACILITATOR, f"/relancer {code}")
        assert "1 participant(s)" in queued, queued
        await tg.wait_for(lambda calls: sum(1 for c in calls if c.status == 403)
                          > refused_before, timeout=30)
        await asyncio.sleep(3)
        assert sum(1 for c in tg.calls if c.status == 403) == refused_before + 1  # no storm
        status = await _say(tg, FACILITATOR, f"/etat {code}")
        assert "injoignables (ils ont bloqué Coopbot) : 1" in status, status
        assert "Relances envoyées : 1" in status and "Participants : 3" in status
    finally:
        if bot.proc is not None:
            await bot.stop()
    assert "Traceback" not in bot.logs(), bot.logs()[-3000:]
    assert tg.token not in bot.logs()

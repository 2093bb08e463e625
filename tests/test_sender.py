"""The sender loop: a killed worker's claims are sent once by another, pictures drawn
just before sending, and one chat is never sent two messages within a second."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.config import Settings
from bot.core import Assistant
from bot.messages import Attachment, Outgoing
from bot.sender import PER_CHAT_GAP, Delivery, Sender
from bot.testing import TestClock
from storage.memory.store import MemoryStorage
from storage.records import QueuedMessage

BUBBLE = [{"text": "Rappel", "choices": [], "actions": []}]


def _message(key: str, render: dict[str, object] | None = None) -> QueuedMessage:
    return QueuedMessage(key, "p", "telegram", datetime(2026, 1, 1, tzinfo=UTC), BUBBLE,
                         "reminder", 7, render)


class Platform:
    def __init__(self) -> None:
        self.got: list[tuple[float, str, list[Outgoing]]] = []

    async def deliver(self, chat_id: str, replies: list[Outgoing]) -> Delivery:
        self.got.append((time.monotonic(), chat_id, replies))
        return Delivery.SENT


async def _queued(storage, *messages: QueuedMessage) -> None:
    def job(conv) -> None:
        conv.outbox.remember_address("p", "telegram", "42")
        for message in messages:
            conv.outbox.queue(message)

    await storage.conversation("p", job)


async def test_a_killed_workers_claim_is_sent_once_by_another(database_url):
    settings = Settings(database_url=database_url, secret="s")
    clock = TestClock()
    alive = await Assistant.create(settings, clock=clock)
    doomed = await Assistant.create(settings, clock=clock)
    try:
        await _queued(alive.storage, _message("r1"))
        assert len(await doomed.storage.claim_due("telegram")) == 1  # then it is killed
        platform = Platform()
        sender = Sender(alive.storage, "telegram", platform.deliver)
        assert await sender.once() == 0  # its owner still lives: not taken
    finally:
        await doomed.close()
    try:
        assert await sender.once() == 1 and await sender.once() == 0
        assert [(chat, r[0].text) for _, chat, r in platform.got] == [("42", "Rappel")]
    finally:
        await alive.close()


async def test_a_picture_is_drawn_just_before_sending():
    storage = MemoryStorage(TestClock())
    storage.use_secret("s")
    await _queued(storage, _message("c1", {"chart": "facteurs", "session": 3}))
    asked = []

    async def render(reference):
        asked.append(dict(reference))
        return [Outgoing(image=Attachment("chart.png", b"\x89PNG", "image/png"))]

    platform = Platform()
    await Sender(storage, "telegram", platform.deliver, render).once()
    assert asked == [{"chart": "facteurs", "session": 3}]
    [(_, _, replies)] = platform.got
    assert replies[0].text == "Rappel" and replies[1].image is not None


async def test_one_chat_gets_at_most_one_message_a_second():
    storage = MemoryStorage(TestClock())
    storage.use_secret("s")
    await _queued(storage, _message("a"), _message("b"))
    platform = Platform()
    await Sender(storage, "telegram", platform.deliver).once()
    first, second = (at for at, _, _ in platform.got)
    assert second - first >= PER_CHAT_GAP * 0.95


async def test_a_gentle_pace_spaces_sends_to_different_chats():
    storage = MemoryStorage(TestClock())
    storage.use_secret("s")

    def job(conv) -> None:
        for person, chat in (("p", "42"), ("q", "43")):
            conv.outbox.remember_address(person, "matrix", chat)
            conv.outbox.queue(QueuedMessage(f"k{person}", person, "matrix",
                                            datetime(2026, 1, 1, tzinfo=UTC), BUBBLE,
                                            "reminder"))

    await storage.conversation("f", job)
    platform = Platform()
    await Sender(storage, "matrix", platform.deliver, gap=0.3).once()
    (first, a, _), (second, b, _) = platform.got
    assert {a, b} == {"42", "43"} and second - first >= 0.3 * 0.95

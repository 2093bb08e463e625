"""Under ``coopbot run`` the chart that follows a summary goes through the outbox.

It is queued in the transaction of the answer that completes the questionnaire, so a
worker that stops (or is killed) before drawing or sending it loses nothing: another
worker's sender draws it and sends it, once.
"""

from __future__ import annotations

from bot.config import Settings
from bot.core import Assistant
from bot.messages import FollowUps, Incoming, Outgoing
from bot.sender import Delivery, Sender

FACTEURS = ["/facteurs", "2", "Une recyclerie"] + ["3"] * 23 + ["valider"]


class Platform:
    def __init__(self) -> None:
        self.received: dict[str, list[Outgoing]] = {}

    async def deliver(self, chat_id: str, replies: list[Outgoing]) -> Delivery:
        self.received.setdefault(chat_id, []).extend(replies)
        return Delivery.SENT


async def test_a_chart_queued_by_a_stopped_worker_is_drawn_and_sent_by_another(
        database_url: str) -> None:
    settings = Settings(database_url=database_url, secret="s")
    first = await Assistant.create(settings)
    first.charts_through_outbox = True  # as coopbot run does
    key = first.user_key("telegram", "4242")
    try:
        for n, text in enumerate(FACTEURS):
            later = FollowUps()
            replies = await first.handle(Incoming("telegram", key, "4242", text=text,
                                                  message_id=f"m{n}"), later)
        assert any("Merci" in (r.text or "") for r in replies), "the summary at once"
        assert not any(r.image for r in replies) and not later, "the chart is not in process"
    finally:
        await first.close()  # stops before anything was sent

    second = await Assistant.create(settings)
    try:
        platform = Platform()
        sender = Sender(second.storage, "telegram", platform.deliver, second.render_queued)
        assert await sender.once() == 1
        assert await sender.once() == 0, "sent once"
        [chart] = platform.received["4242"]
        assert chart.image is not None and chart.image.content.startswith(b"\x89PNG")
        assert chart.image.alt.startswith("Graphique en barres"), "with its description"
    finally:
        await second.close()


async def test_without_a_sender_the_chart_still_follows_in_process(database_url: str) -> None:
    """Outside ``coopbot run`` (tests, a library user) nothing delivers the outbox."""
    settings = Settings(database_url=database_url, secret="s")
    bot = await Assistant.create(settings)
    key = bot.user_key("telegram", "4343")
    try:
        for n, text in enumerate(FACTEURS):
            later = FollowUps()
            await bot.handle(Incoming("telegram", key, "4343", text=text,
                                      message_id=f"m{n}"), later)
        [chart] = await later.messages()
        assert chart.image is not None
        assert await Sender(bot.storage, "telegram", Platform().deliver).once() == 0
    finally:
        await bot.close()

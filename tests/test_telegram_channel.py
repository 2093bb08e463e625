"""The Telegram channel over real HTTP against the loopback Bot API, with a stub assistant.

The stub stands in for ``bot.core.Assistant`` so that these tests pin the channel's own
behaviour (buttons, files, errors, webhook) whatever the core does; the end-to-end tests
in ``test_telegram_e2e.py`` run the real ``coopbot run``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from telegram.error import InvalidToken

from bot.channels.telegram import serve
from bot.config import Settings
from bot.markup import to_html
from bot.messages import Attachment, Choice, Incoming, Outgoing
from bot.testing import FunctionAssistant
from bot.texts import texts
from tests.fake_telegram import FakeTelegram


class Script:
    """Three questions with buttons, plus a few commands that exercise rendering: the
    reply function of the shipped :class:`~bot.testing.FunctionAssistant`."""

    def __init__(self) -> None:
        self.step: dict[str, int] = {}
        self.seen: set[str] = set()

    def question(self, key: str) -> Outgoing:
        n = self.step[key]
        return Outgoing(
            f"**Question {n}** (<{n}/3>)",
            choices=(Choice("Oui", f"q{n}:oui"), Choice("Non", f"q{n}:non")),
            actions=(Choice("Retour", "/retour"),),
        )

    def reply(self, incoming: Incoming) -> list[Outgoing]:
        if incoming.message_id in self.seen:
            return []
        if incoming.message_id:
            self.seen.add(incoming.message_id)
        key = incoming.user_key
        if incoming.payload is None and incoming.text is None:
            return [Outgoing("Je ne lis que du texte.")]
        if incoming.payload is not None:
            n = self.step.get(key)
            if n is None or not incoming.payload.startswith(f"q{n}:"):
                return [Outgoing("Cette question est passée."), *self._current(key)]
            self.step[key] = n + 1
            if n == 3:
                del self.step[key]
                return [Outgoing("Merci, c'est terminé.")]
            return [self.question(key)]
        text = incoming.text or ""
        if text == "/start":
            self.step[key] = 1
            return [Outgoing("Bienvenue & bonjour."), self.question(key)]
        if text == "/export":
            doc = Attachment("export.md", b"# Export\n", "text/markdown", "**Votre export**")
            return [Outgoing(file=doc)]
        if text == "/graphique":
            png = Attachment("chart.png", b"\x89PNG fake", "image/png", "Graphique",
                             alt="Graphique en barres : article 1 : 50 % ; article 2 : 75 %.")
            return [Outgoing(image=png)]
        if text == "/long":
            return [Outgoing("\n\n".join(f"**Partie {i}**\n" + "Texte. " * 200 for i in range(8)))]
        if text == "/panne":
            raise RuntimeError("boom")
        return [Outgoing(f"Vous avez écrit : {text}")]

    def _current(self, key: str) -> list[Outgoing]:
        return [self.question(key)] if key in self.step else []


def scripted() -> FunctionAssistant:
    return FunctionAssistant(Script().reply, commands=COMMANDS)


COMMANDS = [("start", "Commencer"), ("aide", "Afficher l'aide"), ("export", "Exporter")]


@asynccontextmanager
async def running(
    assistant: FunctionAssistant, tg: FakeTelegram, **overrides: Any
) -> AsyncIterator[None]:
    settings = Settings(telegram_token=tg.token, telegram_api_url=tg.base_url, **overrides)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(assistant, settings, stop))
    ready = "setWebhook" if settings.telegram_webhook_url else "setMyCommands"
    await tg.wait_for(ready)
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def _reply_count(tg: FakeTelegram, chat: int, n: int) -> list[Any]:
    await tg.wait_for(lambda calls: len(tg.messages_to(chat)) >= n)
    return tg.messages_to(chat)


async def test_start_shows_french_menu_and_html_question_with_buttons(tg: FakeTelegram) -> None:
    async with running(scripted(), tg):
        await tg.send_text(10, "/start")
        welcome, question = await _reply_count(tg, 10, 2)
    assert welcome.params["parse_mode"] == "HTML"
    assert welcome.params["text"] == "Bienvenue &amp; bonjour."
    assert question.params["text"] == "<b>Question 1</b> (&lt;1/3&gt;)"
    assert [b["text"] for b in question.buttons] == ["Oui", "Non", "Retour"]
    assert question.buttons[2]["callback_data"] == "/retour"
    [menu] = tg.of("setMyCommands")
    assert menu.params["commands"][1] == {"command": "aide", "description": "Afficher l'aide"}
    assert tg.of("deleteWebhook"), "polling mode clears any old webhook"


async def test_tapping_buttons_answers_query_removes_keyboard_and_moves_on(
    tg: FakeTelegram,
) -> None:
    async with running(scripted(), tg):
        await tg.send_text(11, "/start")
        *_, question = await _reply_count(tg, 11, 2)
        for n in (1, 2, 3):
            data = question.buttons[0]["callback_data"]
            assert data == f"q{n}:oui"
            message = {
                "message_id": 500 + n,
                "date": 0,
                "chat": {"id": 11, "type": "private"},
                "from": tg.bot_user(),
                "text": "Question",
                "reply_markup": question.params["reply_markup"],
            }
            await tg.press(11, data, message=message)
            replies = await _reply_count(tg, 11, 2 + n)
            question = replies[-1]
        assert question.params["text"] == "Merci, c'est terminé."
    assert len(tg.of("answerCallbackQuery")) == 3
    edits = tg.of("editMessageReplyMarkup")
    assert [int(e.params["message_id"]) for e in edits] == [501, 502, 503]
    assert all("reply_markup" not in e.params for e in edits), "keyboard removed"


async def test_stale_button_gets_a_notice_and_the_current_question(tg: FakeTelegram) -> None:
    async with running(scripted(), tg):
        await tg.send_text(12, "/start")
        await _reply_count(tg, 12, 2)
        await tg.press(12, "q1:oui")
        await _reply_count(tg, 12, 3)
        await tg.press(12, "q1:non")  # the first question's button, pressed again
        replies = await _reply_count(tg, 12, 5)
    assert replies[3].params["text"] == "Cette question est passée."
    assert replies[4].params["text"].startswith("<b>Question 2</b>")
    assert len(tg.of("answerCallbackQuery")) == 2


async def test_export_arrives_as_a_document_and_chart_as_a_photo(tg: FakeTelegram) -> None:
    async with running(scripted(), tg):
        await tg.send_text(13, "/export")
        await tg.send_text(13, "/graphique")
        await tg.wait_for("sendPhoto")
        await tg.wait_for("sendDocument")
    [doc] = tg.of("sendDocument")
    assert doc.files["document"][:2] == ("export.md", b"# Export\n")
    assert doc.params["caption"] == "<b>Votre export</b>"
    [photo] = tg.of("sendPhoto")
    assert photo.files["photo"][:2] == ("chart.png", b"\x89PNG fake")
    # Telegram has no alt text: the caption carries the picture's description, typeset.
    assert photo.params["caption"] == (
        "Graphique\nGraphique en barres\u00a0: article 1\u00a0: 50 %\u202f; "
        "article 2\u00a0: 75 %.")


async def test_a_follow_up_photo_comes_after_the_reply_which_does_not_wait_for_it(
    tg: FakeTelegram,
) -> None:
    """As a chart after a completed questionnaire: the reply at once, the photo later."""
    drawn = asyncio.Event()

    async def chart(_incoming: Incoming) -> list[Outgoing]:
        await drawn.wait()
        return [Outgoing(image=Attachment("chart.png", b"\x89PNG later", "image/png"))]

    assistant = FunctionAssistant(lambda _i: [Outgoing("Merci, voici votre synthèse.")],
                                  follow=chart, commands=COMMANDS)
    async with running(assistant, tg):
        await tg.send_text(15, "fini")
        await tg.wait_for("sendMessage")  # while the chart is still being drawn
        await asyncio.sleep(0.2)
        assert tg.of("sendPhoto") == []
        assert len(assistant.delivered_replies) == 1
        drawn.set()
        await tg.wait_for("sendPhoto")
    assert [c.method for c in tg.messages_to(15)] == ["sendMessage", "sendPhoto"]
    assert tg.messages_to(15)[1].files["photo"][:2] == ("chart.png", b"\x89PNG later")


async def test_long_reply_is_split_into_messages_telegram_accepts(tg: FakeTelegram) -> None:
    async with running(scripted(), tg):
        await tg.send_text(14, "/long")
        await tg.wait_for("sendMessage", 2)
        await asyncio.sleep(0.3)
    texts_sent = [c.params["text"] for c in tg.messages_to(14)]
    assert len(texts_sent) >= 2
    assert all(len(t) <= 4096 for t in texts_sent)
    assert "".join(texts_sent).count("<b>Partie") == 8


async def test_429_is_retried_and_the_message_arrives_once(tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", times=2, retry_after=1)
    async with running(scripted(), tg):
        await tg.send_text(15, "bonjour")
        [reply] = await _reply_count(tg, 15, 1)
    assert reply.params["text"] == to_html("Vous avez écrit : bonjour")
    assert [c.status for c in tg.calls if c.method == "sendMessage"] == [429, 429, 200]


async def test_dropped_connection_is_retried_and_the_message_arrives_once(
    tg: FakeTelegram,
) -> None:
    tg.fail_next("sendMessage", status=0)
    async with running(scripted(), tg):
        await tg.send_text(19, "bonjour")
        [reply] = await _reply_count(tg, 19, 1)
        await asyncio.sleep(0.3)
    assert reply.params["text"] == to_html("Vous avez écrit : bonjour")
    assert len(tg.messages_to(19)) == 1
    assert [c.status for c in tg.calls if c.method == "sendMessage"] == [0, 200]


async def test_blocked_user_and_assistant_failure_do_not_stop_the_bot(tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    async with running(scripted(), tg):
        await tg.send_text(16, "bonjour")
        await tg.wait_for(lambda calls: any(c.status == 403 for c in calls))
        await tg.send_text(17, "/panne")
        [failure] = await _reply_count(tg, 17, 1)
        await tg.send_text(17, "encore là ?")
        replies = await _reply_count(tg, 17, 2)
    assert failure.params["text"] == to_html(texts()("errors.internal"))
    assert replies[1].params["text"] == to_html("Vous avez écrit : encore là ?")  # typeset


async def test_not_modified_keyboard_edit_is_ignored(tg: FakeTelegram) -> None:
    tg.fail_next(
        "editMessageReplyMarkup",
        status=400,
        description="Bad Request: message is not modified: specified new message content "
        "and reply markup are exactly the same",
    )
    assistant = scripted()
    async with running(assistant, tg):
        await tg.send_text(18, "/start")
        *_, question = await _reply_count(tg, 18, 2)
        message = {
            "message_id": 77,
            "date": 0,
            "chat": {"id": 18, "type": "private"},
            "text": "Question",
            "reply_markup": question.params["reply_markup"],
        }
        await tg.press(18, "q1:oui", message=message)
        replies = await _reply_count(tg, 18, 3)
    assert replies[2].params["text"].startswith("<b>Question 2</b>")


async def test_group_chatter_is_ignored_and_addressed_commands_answered(tg: FakeTelegram) -> None:
    async with running(scripted(), tg):
        await tg.send_text(21, "salut tout le monde", chat_id=-300, chat_type="group")
        await tg.send_text(21, "/start@autrebot", chat_id=-300, chat_type="group")
        await tg.send_text(22, f"/start@{tg.username}", chat_id=-300, chat_type="group")
        replies = await _reply_count(tg, -300, 2)
        await asyncio.sleep(0.3)
    assert len(tg.messages_to(-300)) == 2
    assert replies[0].params["text"] == "Bienvenue &amp; bonjour."


async def test_photo_without_text_in_private_gets_a_hint(tg: FakeTelegram) -> None:
    async with running(scripted(), tg):
        message = tg.user_message(23, "x")
        del message["text"]
        message["sticker"] = {
            "file_id": "s",
            "file_unique_id": "s",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
        await tg.inject({"message": message})
        [hint] = await _reply_count(tg, 23, 1)
    assert hint.params["text"] == "Je ne lis que du texte."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_checks_the_secret_token(tg: FakeTelegram) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    assistant = scripted()
    async with running(
        assistant,
        tg,
        telegram_webhook_url=url,
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=port,
    ):
        [hook] = tg.of("setWebhook")
        assert hook.params["url"] == url
        assert len(hook.params["secret_token"]) >= 16
        await tg.send_text(30, "bonjour")  # POSTed by the fake with the secret header
        [reply] = await _reply_count(tg, 30, 1)
        forged = {"update_id": 1, "message": tg.user_message(31, "faux")}
        async with aiohttp.ClientSession() as http:
            bad = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            async with http.post(url, json=forged, headers=bad) as resp:
                assert resp.status == 403
            async with http.post(url, json=forged) as resp:
                assert resp.status == 403
        await asyncio.sleep(0.3)
    assert reply.params["text"] == to_html("Vous avez écrit : bonjour")
    assert tg.messages_to(31) == []
    assert not tg.of("getUpdates"), "no polling in webhook mode"


async def test_telegram_unreachable_at_start_is_waited_out() -> None:
    port = _free_port()
    tg = FakeTelegram(port=port)
    settings = Settings(telegram_token=tg.token, telegram_api_url=f"http://127.0.0.1:{port}/bot")
    stop = asyncio.Event()
    task = asyncio.create_task(serve(scripted(), settings, stop))
    await asyncio.sleep(1.5)  # the bot tries, fails, waits
    assert not task.done()
    async with tg:
        await tg.wait_for("setMyCommands")
        await tg.send_text(40, "bonjour")
        [reply] = await _reply_count(tg, 40, 1)
        stop.set()
        await asyncio.wait_for(task, 30)
    assert reply.params["text"] == to_html("Vous avez écrit : bonjour")


async def test_wrong_token_stops_with_invalid_token(tg: FakeTelegram) -> None:
    settings = Settings(telegram_token="1:wrong", telegram_api_url=tg.base_url)
    with pytest.raises(InvalidToken):
        await asyncio.wait_for(serve(scripted(), settings, asyncio.Event()), 30)


async def test_in_a_group_only_the_owner_closes_a_question(tg: FakeTelegram) -> None:
    async with running(scripted(), tg):
        await tg.send_text(51, f"/start@{tg.username}", chat_id=-500, chat_type="group")
        *_, question = await _reply_count(tg, -500, 2)
        message = {
            "message_id": question.message_id,
            "date": 0,
            "chat": {"id": -500, "type": "group"},
            "text": "Question",
            "reply_markup": question.params["reply_markup"],
        }
        await tg.press(52, "q1:oui", message=message, chat_id=-500)  # another member
        await _reply_count(tg, -500, 3)
        assert tg.of("editMessageReplyMarkup") == []
        await tg.press(51, "q1:oui", message=message, chat_id=-500)  # its owner
        replies = await _reply_count(tg, -500, 4)
    assert [int(e.params["message_id"]) for e in tg.of("editMessageReplyMarkup")] == [
        message["message_id"]
    ]
    assert replies[3].params["text"].startswith("<b>Question 2</b>")

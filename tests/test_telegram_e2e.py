"""``coopbot run`` as an operator starts it, against the loopback Bot API, over real HTTP.

A person completes /facteurs by tapping the buttons the bot sent, the process is
stopped twice along the way (once cleanly, once killed), and the person carries on
with the keyboard already on screen: no question is lost or asked twice. A stale
button, a redelivered update, a crash between the commit of a tap and the sending
of the next question, the chart following the summary as a photo of its own, and
the export as a document are checked on the way.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.markup import to_html, to_plain
from bot.texts import texts
from flows.typography import french
from tests.fake_telegram import Call, FakeTelegram

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
USER = 4242
PROGRESS = re.compile(r"\((\d+)/(\d+)\)")
PROJECT = "Une recyclerie avec la communauté de communes"


class BotProcess:
    """``python -m bot.cli run`` with the operator's environment variables."""

    def __init__(self, tg: FakeTelegram, workdir: Path) -> None:
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "COOPBOT_TELEGRAM_TOKEN": tg.token,
            "COOPBOT_TELEGRAM_API_URL": tg.base_url,
            "COOPBOT_DATABASE_URL": f"sqlite:///{workdir / 'x.db'}",
            "COOPBOT_LOG_LEVEL": "INFO",
        }
        self.env.pop("COOPBOT_SECRET", None)  # generated and stored on first run
        self.workdir = workdir
        self.tg = tg
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        ready_before = len(self.tg.of("setMyCommands"))
        log = (self.workdir / f"run{self.starts}.log").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run",
            cwd=self.workdir, env=self.env, stdout=log, stderr=log,
        )  # fmt: skip
        self.starts += 1
        await self.tg.wait_for(
            lambda _: len(self.tg.of("setMyCommands")) > ready_before, timeout=60
        )

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), 30)
        self.proc = None
        return code

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("run*.log"))
        )


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


async def _settled(tg: FakeTelegram, before: int, quiet: float = 1.5) -> list[Call]:
    """The bot's reply to one action: new messages up to the next question (the question
    comes last in a reply), or until the bot has been silent for ``quiet`` seconds."""
    await tg.wait_for(lambda _: len(tg.messages_to(USER)) > before, timeout=30)
    count, silent_since = -1, time.monotonic()
    while time.monotonic() - silent_since < quiet:
        new = tg.messages_to(USER)[before:]
        if len(new) != count:
            count, silent_since = len(new), time.monotonic()
        if _question(new[-1:]) is not None:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)  # anything sent by mistake after the question shows up too
    return tg.messages_to(USER)[before:]


def _question(messages: list[Call]) -> tuple[int, int, Call] | None:
    """The (k, total, message) of the last question among ``messages``."""
    for call in reversed(messages):
        found = PROGRESS.search(str(call.params.get("text", "")))
        if found:
            return int(found.group(1)), int(found.group(2)), call
    return None


async def _deliveries_recorded(workdir: Path) -> None:
    """Wait until the bot has recorded that every reply it owed went out."""
    for _ in range(200):
        with sqlite3.connect(workdir / "x.db") as db:
            (owed,) = db.execute(
                "SELECT count(*) FROM processed_events WHERE replies IS NOT NULL"
            ).fetchone()
        if owed == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("replies still recorded as unsent after 10 s")


def _option_buttons(call: Call) -> list[dict[str, str]]:
    return [b for b in call.buttons if b["callback_data"].startswith("o:")]


def _tapped_message(call: Call, message_id: int) -> dict[str, object]:
    """The message the person taps on, as Telegram puts it in the callback query."""
    return {
        "message_id": message_id,
        "date": 0,
        "chat": {"id": USER, "type": "private"},
        "from": {"id": 1, "is_bot": True, "first_name": "Coopbot"},
        "text": "question",
        "reply_markup": call.params["reply_markup"],
    }


def _text(calls: list[Call]) -> str:
    return "\n".join(str(c.params.get("text", "")) for c in calls)


async def _recap_by_buttons(tg: FakeTelegram, replies: list[Call], total: int) -> None:
    """After the last answer (issue 14): the recap, every answer numbered, each message
    within Telegram's 4,096 characters, a « Modifier N » button per answer and
    « Valider » under the last message; « Modifier 3 » asks question 3 again with its
    answer, a tap there brings the recap back with the new answer, « Valider » gives
    the summary."""
    title = to_plain(texts()("flow.recap.title"))
    assert title in _text(replies), _text(replies)[-500:]
    assert all(len(str(c.params.get("text", ""))) <= 4096 for c in replies)
    for n in range(1, total + 1):
        assert re.search(rf"^{n}\. ", _text(replies), re.MULTILINE), n
    last = replies[-1]
    edits = [b for b in last.buttons if b["callback_data"].startswith("e:")]
    assert [b["text"] for b in edits] == [f"Modifier {n}" for n in range(1, total + 1)]
    assert last.buttons[-2]["callback_data"].startswith("f:")  # then « Retour »

    before = len(tg.messages_to(USER))
    await tg.press(USER, edits[2]["callback_data"], message=_tapped_message(last, 900))
    again = await _settled(tg, before)
    assert "Modifier la réponse 3" in _text(again) and "Réponse actuelle" in _text(again)
    first = _option_buttons(again[-1])[0]
    before = len(tg.messages_to(USER))
    await tg.press(USER, first["callback_data"], message=_tapped_message(again[-1], 901))
    recap = await _settled(tg, before)
    assert title in _text(recap) and _question(recap) is None  # the recap, not question 4
    assert re.search(rf"^3\. .*{first['text']}", _text(recap), re.MULTILINE), _text(recap)

    validate = next(b for b in recap[-1].buttons if b["callback_data"].startswith("f:"))
    before = len(tg.messages_to(USER))
    await tg.press(USER, validate["callback_data"], message=_tapped_message(recap[-1], 902))
    summary = await _settled(tg, before)  # the chart follows (checked by the caller)
    assert "Merci" in _text(summary) and "Facteurs relationnels" in _text(summary)


async def test_facteurs_by_buttons_across_restarts_then_export(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    started = time.monotonic()
    bot = BotProcess(tg, tmp_path)
    await bot.start()
    try:
        await tg.send_text(USER, "/facteurs")
        replies = await _settled(tg, 0)
        asked: list[int] = []
        total = 0
        keyboards: dict[int, Call] = {}
        stale_checked = redelivery_checked = unsent_checked = False
        while (current := _question(replies)) is not None:
            k, total, question = current
            asked.append(k)
            keyboards[k] = question
            if k == 5 and not stale_checked:
                # A button of question 3, long gone: notice, then question 5 again.
                stale_checked = True
                before = len(tg.messages_to(USER))
                data = _option_buttons(keyboards[3])[0]["callback_data"]
                await tg.press(USER, data, message=_tapped_message(keyboards[3], 3))
                stale = await _settled(tg, before)
                notice = to_html(texts()("flow.stale_button"))  # as Telegram gets it
                assert any(notice in str(c.params.get("text")) for c in stale), stale
                again = _question(stale)
                assert again is not None and again[0] == 5
            if k == 9:
                # The operator restarts the service while the person is reading question 9.
                assert await bot.stop(signal.SIGTERM) == 0
                await bot.start()
            before = len(tg.messages_to(USER))
            options = _option_buttons(question)
            held = None
            if k == 20 and not unsent_checked:
                # The next question will be cut off on its way out by a crash.
                unsent_checked = True
                held = tg.hold_next("sendMessage")
            if options:
                choice = options[k % len(options)]
                update_id = await tg.press(
                    USER, choice["callback_data"], message=_tapped_message(question, k)
                )
            else:
                update_id = await tg.send_text(USER, PROJECT)
            if held is not None:
                # Killed after the tap was committed, while question 21 was being sent;
                # Telegram hands the tap out again: the tap counts once, and the
                # restarted bot sends the question it still owed.
                await asyncio.wait_for(held.wait(), 30)
                await bot.stop(signal.SIGKILL)
                tg.drop_held()
                await bot.start()
                await tg.redeliver(update_id)
            replies = await _settled(tg, before)
            if k == 17 and not redelivery_checked:
                # Killed just after replying, then Telegram hands the same tap out again
                # (as after a crash before the offset was confirmed): it must not count.
                redelivery_checked = True
                await _deliveries_recorded(tmp_path)
                await bot.stop(signal.SIGKILL)
                await bot.start()
                sent = len(tg.messages_to(USER))
                answered = len(tg.of("answerCallbackQuery"))
                await tg.redeliver(update_id)
                await tg.wait_for(lambda _, n=answered: len(tg.of("answerCallbackQuery")) > n)
                await tg.send_text(USER, "/aide")  # answered after the duplicate
                extra = await _settled(tg, sent)
                assert not _question(extra), "the tap counted once: no question re-sent"
                # Carry on with question 18's keyboard, sent before the crash.

        assert total > 20
        assert asked == list(range(1, total + 1)), asked
        assert stale_checked and redelivery_checked and unsent_checked
        assert len(tg.of("answerCallbackQuery")) == len(tg.of("editMessageReplyMarkup"))
        await _recap_by_buttons(tg, replies, total)
        assert len(tg.of("answerCallbackQuery")) == len(tg.of("editMessageReplyMarkup"))
        # The « Valider » tap's reply went out with the summary; the chart, drawn in a
        # chart process meanwhile, follows as a photo of its own, after the summary.
        await tg.wait_for("sendPhoto", timeout=60)
        sent = tg.messages_to(USER)
        [photo] = [c for c in sent if c.method == "sendPhoto"]
        summary = next(i for i, c in enumerate(sent)
                       if "Facteurs relationnels" in str(c.params.get("text", "")))
        assert sent.index(photo) > summary
        assert photo.files["photo"][1].startswith(b"\x89PNG")

        # The export, as a document; the same update delivered twice gives one document.
        before = len(tg.messages_to(USER))
        export_id = await tg.send_text(USER, "/export md")
        await tg.wait_for("sendDocument")
        await _settled(tg, before)
        before = len(tg.messages_to(USER))
        await tg.redeliver(export_id)
        await tg.send_text(USER, "/aide")  # a later message, answered after the duplicate
        extra = await _settled(tg, before)
        assert [c.method for c in extra] == ["sendMessage"] * len(extra)
        [document] = tg.of("sendDocument")
        name, content, _ = document.files["document"]
        assert name.endswith(".md")
        assert PROJECT.encode() in content
    finally:
        if bot.proc is not None:
            await bot.stop()
    print(f"\ne2e /facteurs over HTTP with 2 restarts: {time.monotonic() - started:.1f} s")
    assert "Traceback" not in bot.logs(), bot.logs()[-3000:]
    assert tg.token not in bot.logs(), "the token never appears in the logs"
    assert PROJECT not in bot.logs(), "message contents never appear in the logs"


def _plain(call: Call) -> str:
    """A sent message as the person reads it (HTML tags and entities removed)."""
    text = str(call.params.get("text") or call.params.get("caption") or "")
    return html.unescape(re.sub(r"<[^>]+>", "", text))


async def _replies(tg: FakeTelegram, chat: int, before: int, quiet: float = 1.0) -> list[Call]:
    """What the bot sent to ``chat`` after ``before`` messages, once it has been silent."""
    await tg.wait_for(lambda _: len(tg.messages_to(chat)) > before, timeout=30)
    count, since = -1, time.monotonic()
    while time.monotonic() - since < quiet:
        if len(tg.messages_to(chat)) != count:
            count, since = len(tg.messages_to(chat)), time.monotonic()
        await asyncio.sleep(0.05)
    return tg.messages_to(chat)[before:]


async def test_invitation_link_and_qr_then_two_people_join_by_start_payload(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    import io

    import zxingcpp
    from PIL import Image

    anim, alice, bob, eve = 5001, 5002, 5003, 5004
    t = texts()
    bot = BotProcess(tg, tmp_path)
    await bot.start()
    try:
        await tg.send_text(anim, "/atelier Fresque de l'engagement local")
        await _replies(tg, anim, 0)
        before = len(tg.messages_to(anim))
        await tg.send_text(anim, "1")
        created = await _replies(tg, anim, before)
        code = re.search(r"\b([2-9A-Z]{3}-[2-9A-Z]{3}-[2-9A-Z]{3})\b", _plain(created[0]))
        assert code, [_plain(c) for c in created]
        link = f"https://t.me/{tg.username}?start=atelier_{code.group(1).replace('-', '')}"
        assert link in _plain(created[1]) and f"/rejoindre {code.group(1)}" in _plain(created[1])
        [photo] = [c for c in created if c.method == "sendPhoto"]
        _, png, _ = photo.files["photo"]
        read = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
        assert read == [link], read  # what a phone's camera reads is the link
        assert link in _plain(photo)  # the caption is the picture's text alternative

        # Bob has used the bot before (and read the notice then); Alice never has.
        await tg.send_text(bob, "/facteurs")
        bob_before = len(await _replies(tg, bob, 0))
        notice = "Vos données"
        welcome = french(t("workshop.join.welcome", title="Fresque de l'engagement local"))
        payload = link.rpartition("=")[2]
        await tg.send_text(alice, f"/start {payload}")
        joined = [_plain(c) for c in await _replies(tg, alice, 0)]
        assert joined[0].startswith(notice), joined  # the privacy notice first
        assert joined[1] == welcome and "(1/" in joined[-1], joined
        await tg.send_text(bob, f"/start {payload}")
        joined = [_plain(c) for c in await _replies(tg, bob, bob_before)]
        assert welcome in joined and not any(j.startswith(notice) for j in joined), joined

        # A wrong payload: the polite refusal of a wrong code, nothing else.
        await tg.send_text(eve, "/start atelier_ZZZZZZZZZ")
        refused = [_plain(c) for c in await _replies(tg, eve, 0)]
        assert refused == [french(html.unescape(t("workshop.join.unknown_link")))], refused

        # Both joined, as with /rejoindre: the facilitator's synthesis counts two.
        before = len(tg.messages_to(anim))
        await tg.send_text(anim, f"/synthese {code.group(1)} json")
        [document] = [c for c in await _replies(tg, anim, before) if c.method == "sendDocument"]
        assert b'"participants": 2' in document.files["document"][1]
    finally:
        if bot.proc is not None:
            await bot.stop()
    assert "Traceback" not in bot.logs(), bot.logs()[-3000:]

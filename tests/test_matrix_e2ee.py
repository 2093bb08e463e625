"""The whole product in an encrypted direct chat, with a person who encrypts like Element.

The person is matrix-js-sdk 36.2.0 with its Rust crypto (tests/e2ee_client), who has
cross-signed their own device and uses ``OnlySignedDevicesIsolationMode``: room keys go
only to devices their owner cross-signed, and events from other devices are refused.
So every readable answer below proves the bot's device is cross-signed by its owner.

The direct chat is created as Element creates one (``is_direct``,
``trusted_private_chat``, encryption in the initial state). The person completes
``/facteurs`` (the first question by a poll vote, the others by typing numbers), votes
on an old poll, receives the chart and ``/export json`` as encrypted files and decrypts
them; the bot is restarted and a message written meanwhile is answered once, readable.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.channels.matrix.polls import POLL_END, POLL_START
from bot.channels.matrix_render import REPLY_KEY
from bot.texts import texts as load_texts
from tests.e2ee_fixture import E2EEPerson
from tests.synapse_fixture import SynapseServer
from tests.test_matrix_e2e import BotProcess

pytestmark = [pytest.mark.synapse, pytest.mark.node, pytest.mark.slow]

BOT = "@coopbot:localhost"
PROGRESS = re.compile(r"\((\d+)/(\d+)\)")
METRICS = Path(os.environ.get("COOPBOT_E2EE_METRICS", "")) if os.environ.get(
    "COOPBOT_E2EE_METRICS") else None


def from_bot(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["sender"] == BOT and not e["utd"]]


def replies_to(events: list[dict[str, Any]], event_id: str) -> list[dict[str, Any]]:
    return [e for e in from_bot(events) if e["content"].get(REPLY_KEY) == event_id]


def question(replies: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((r for r in replies if r["type"] == "m.room.message"
                 and PROGRESS.search(r["content"].get("body", ""))), None)


def poll(replies: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((r for r in replies if r["type"] == POLL_START), None)


def progress(reply: dict[str, Any]) -> tuple[int, int]:
    found = PROGRESS.search(reply["content"]["body"])
    assert found is not None
    return int(found.group(1)), int(found.group(2))


async def wait_log(bot: BotProcess, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in bot.log():
        assert time.monotonic() < deadline, f"bot never logged {text!r}:\n{bot.log()}"
        await _sleep(0.2)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def bot_device(workdir: Path) -> str:
    with sqlite3.connect(workdir / "coopbot.db") as db:
        (raw,) = db.execute("SELECT value FROM key_values WHERE key='matrix:session'").fetchone()
    return str(json.loads(raw)["device_id"])


class Chat:
    def __init__(self, person: E2EEPerson, room: str) -> None:
        self.person, self.room = person, room

    async def say(
        self, text: str, done: Callable[[list[dict[str, Any]]], Any], what: str
    ) -> tuple[str, list[dict[str, Any]]]:
        sent = await self.person.call("send", room_id=self.room, text=text)
        return sent["event_id"], await self._replies(sent["event_id"], done, what)

    async def vote(
        self, poll_id: str, answer: str, done: Callable[[list[dict[str, Any]]], Any], what: str
    ) -> tuple[str, list[dict[str, Any]]]:
        sent = await self.person.call("vote", room_id=self.room, poll_id=poll_id, answer=answer)
        return sent["event_id"], await self._replies(sent["event_id"], done, what)

    async def _replies(
        self, event_id: str, done: Callable[[list[dict[str, Any]]], Any], what: str
    ) -> list[dict[str, Any]]:
        def check(events: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
            got = replies_to(events, event_id)
            return got if done(got) else None

        return await self.person.wait_for(self.room, check, what=what)

    async def from_bot(self, done: Callable[[list[dict[str, Any]]], Any],
                       what: str) -> list[dict[str, Any]]:
        """Every readable message of the bot in the room, replies or not (the chart that
        follows a summary is sent by the outbox, as a message of its own)."""
        def check(events: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
            got = from_bot(events)
            return got if done(got) else None

        return await self.person.wait_for(self.room, check, what=what)

    async def decrypt_file(self, content: dict[str, Any]) -> bytes:
        assert "url" not in content, "an attachment in clear in an encrypted room"
        got = await self.person.call("download_decrypt", file=content["file"])
        return base64.b64decode(got["base64"])


async def test_encrypted_direct_chat_as_element(
    synapse: SynapseServer, tmp_path: Path, e2ee_person: Any
) -> None:
    texts = load_texts()
    bot = BotProcess(synapse, tmp_path)
    try:
        alice: E2EEPerson = await e2ee_person(synapse.alice)
        bot.start()
        await wait_log(bot, "Matrix: connected")

        # Invite → first readable (decrypted) reply.
        dm = await alice.call("create_dm", invite=BOT)
        room = dm["room_id"]
        greeting = await alice.wait_for(
            room, lambda ev: [e for e in from_bot(ev) if e["type"] == "m.room.message"],
            what=f"a readable greeting\n{bot.log()}\n{alice.log_tail()}")
        invite_to_reply = (greeting[0]["seen_at"] - dm["invited_at"]) / 1000
        assert greeting[0]["encrypted"] and "Coopbot" in greeting[0]["content"]["body"]

        # The bot's device is cross-signed by its owner (what MSC4153 clients require).
        status = await alice.call("device_status", user_id=BOT)
        device = bot_device(tmp_path)
        assert any(d["device_id"] == device and d["signed_by_owner"] for d in status["devices"]), (
            status, device)

        chat = Chat(alice, room)
        _, replies = await chat.say("/facteurs", lambda r: question(r) and poll(r),
                                    "the first question and its poll")
        first_poll = poll(replies)
        assert first_poll is not None and question(replies) is not None
        answers = first_poll["content"][POLL_START]["answers"]
        assert [a["id"] for a in answers] == [str(n) for n in range(1, len(answers) + 1)]
        assert first_poll["content"]["body"].count("\n1. ") == 1  # the text fallback

        # A vote answers the first question; its poll is then ended.
        _, replies = await chat.vote(first_poll["event_id"], "2", question, "question 2")
        assert progress(question(replies))[0] == 2  # type: ignore[arg-type]
        await alice.wait_for(room, lambda ev: [
            e for e in from_bot(ev) if e["type"] == POLL_END
            and e["content"]["m.relates_to"]["event_id"] == first_poll["event_id"]],
            what="the first poll ended")

        # A vote on that old poll gets the core's « question déjà passée ».
        _, replies = await chat.vote(first_poll["event_id"], "1", question, "the stale answer")
        stale = texts("flow.stale_button")
        assert any(r["content"].get("body", "").startswith(stale.split(" :")[0])
                   for r in replies), replies
        assert progress(question(replies))[0] == 2  # type: ignore[arg-type]

        # The rest by typing, as before.
        current = question(replies)
        total = 0
        while current is not None:
            step, total = progress(current)
            numbered = re.search(r"^1\. ", current["content"]["body"], re.MULTILINE)
            reply = "2" if numbered else "Un projet"
            if step == total:
                # The recap first (issue 14), then « valider » makes the summary and chart.
                recap_title = texts("flow.recap.title").strip("*")
                _, replies = await chat.say(
                    reply, lambda r, t=recap_title: any(t in x["content"].get("body", "")
                                                        for x in r), "the recap")
                _, replies = await chat.say(
                    "valider", lambda r: any("Merci" in x["content"].get("body", "")
                                             for x in r), "the summary")
                replies = await chat.from_bot(
                    lambda r: any(x["content"].get("msgtype") == "m.image" for x in r),
                    "the summary chart, after the summary")
                break
            _, replies = await chat.say(reply, question, f"question {step + 1}")
            current = question(replies)
        assert total > 5
        image = next(r for r in replies if r["content"].get("msgtype") == "m.image")
        assert (await chat.decrypt_file(image["content"])).startswith(b"\x89PNG")

        # /export json arrives as an encrypted file, readable once decrypted.
        _, replies = await chat.say(
            "/export json", lambda r: any(x["content"].get("msgtype") == "m.file" for x in r),
            "the export file")
        export = next(r for r in replies if r["content"].get("msgtype") == "m.file")
        document = json.loads(await chat.decrypt_file(export["content"]))
        facteurs = [s for s in document["sessions"] if s["flow"] == "facteurs"]
        assert facteurs and facteurs[0]["status"] == "completed"

        # Restart: a message written while the bot is down is answered once, readable.
        before, replies_before = await chat.say("/aide", bool, "help before the restart")
        bot.stop()
        while_down = await alice.call("send", room_id=room, text="/aide")
        bot.start()
        await chat._replies(while_down["event_id"], lambda r: len(r) >= len(replies_before),
                            f"the answer to the message sent while down\n{bot.log()}")
        await chat.say("/aide", bool, "help after the restart")
        events = await alice.call("events", room_id=room)
        assert len(replies_to(events, while_down["event_id"])) == len(replies_before)
        assert len(replies_to(events, before)) == len(replies_before)
        bot.stop()

        stats = await alice.call("stats")
        undecryptable_bot = bot.log().count("could not be decrypted")
        metrics = {
            "invite_to_first_readable_reply_s": round(invite_to_reply, 2),
            "client_events": stats["events"],
            "client_undecryptable_at_end": stats["undecryptable_now"],
            "client_decryption_failures_seen": stats["decryption_failures_seen"],
            "bot_undecryptable": undecryptable_bot,
        }
        print(f"\nE2EE metrics: {json.dumps(metrics)}", file=sys.__stderr__)
        if METRICS is not None:
            METRICS.write_text(json.dumps(metrics))
        lost = [(e["sender"], e["type"], e["utd_reason"], e["content"].get(REPLY_KEY))
                for e in await alice.call("events", room_id=room) if e["utd"]]
        assert stats["undecryptable_now"] == 0, lost
        assert undecryptable_bot == 0
    finally:
        bot.kill()

"""The whole product on Matrix: ``coopbot run`` as a subprocess against a real Synapse.

A person invites the bot to a direct chat, is greeted, completes ``/facteurs`` by
typing numbers, receives the chart and the export file; the bot is restarted and
answers exactly what it missed, nothing twice; two people in one room keep their own
progress.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.channels.matrix_render import REPLY_KEY
from tests.synapse_fixture import ROOT, MatrixUser, SynapseServer

pytestmark = [pytest.mark.synapse, pytest.mark.slow]

BOT = "@coopbot:localhost"
PROGRESS = re.compile(r"\((\d+)/(\d+)\)")


class BotProcess:
    """``coopbot run`` in a subprocess, stopped with SIGTERM like a service manager does."""

    def __init__(self, synapse: SynapseServer, workdir: Path) -> None:
        self.workdir = workdir
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("COOPBOT_")
        }
        self.env.update(
            {
                "COOPBOT_MATRIX_HOMESERVER": synapse.url,
                "COOPBOT_MATRIX_USER": synapse.bot.localpart,
                "COOPBOT_MATRIX_PASSWORD": synapse.bot.password,
                "COOPBOT_DATABASE_URL": f"sqlite:///{workdir / 'coopbot.db'}",
                "COOPBOT_LOG_LEVEL": "INFO",
                "PYTHONPATH": str(ROOT),
            }
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = (self.workdir / f"bot-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def stop(self) -> None:
        """SIGTERM, then wait; the bot must exit cleanly on its own."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                raise AssertionError("coopbot run did not stop on SIGTERM") from None
        code = self.process.returncode
        assert code == 0, f"coopbot run exited with {code}:\n{self.log()}"

    def log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:]
            for path in sorted(self.workdir.glob("bot-*.log"))
        )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def bot_process(synapse: SynapseServer, tmp_path: Path) -> Iterator[BotProcess]:
    bot = BotProcess(synapse, tmp_path)
    try:
        yield bot
    finally:
        bot.kill()


def answers_to(user: MatrixUser, room_id: str, event_id: str) -> Callable[[], list[Any]]:
    return lambda: [
        event["content"]
        for event in user.messages_from(room_id, BOT)
        if event["content"].get(REPLY_KEY) == event_id
    ]


def question_in(answers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The bubble asking a flow question (it carries the « (3/25) » progress marker)."""
    return next((a for a in answers if PROGRESS.search(a.get("body", ""))), None)


async def ask(
    user: MatrixUser,
    room_id: str,
    text: str,
    done: Callable[[list[dict[str, Any]]], Any],
    what: str,
) -> list[dict[str, Any]]:
    event_id = await user.send(room_id, text)
    answers = answers_to(user, room_id, event_id)
    await user.wait_for(lambda: done(answers()), timeout=60, what=what)
    return answers()


async def bot_devices(synapse: SynapseServer, token: str) -> set[str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{synapse.url}/_matrix/client/v3/devices",
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        body = await response.json()
    return {device["device_id"] for device in body["devices"]}


async def probe_token(synapse: SynapseServer) -> str:
    """A separate login of the bot's account, only to list its devices."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{synapse.url}/_matrix/client/v3/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": synapse.bot.localpart},
                "password": synapse.bot.password,
                "initial_device_display_name": "test-probe",
            },
        ) as response,
    ):
        body = await response.json()
    return str(body["access_token"])


async def test_direct_chat_facteurs_export_and_restart(
    synapse: SynapseServer, bot_process: BotProcess
) -> None:
    token = await probe_token(synapse)
    async with MatrixUser(synapse, synapse.alice) as alice:
        room = await alice.create_room([BOT])
        bot_process.start()

        greeting = await alice.wait_for(
            lambda: alice.messages_from(room, BOT), what=f"a greeting\n{bot_process.log()}"
        )
        assert "Coopbot" in greeting[0]["content"]["body"]
        assert greeting[0]["content"]["msgtype"] == "m.notice"

        # /facteurs, answered by typing numbers (and a few words for the free-text step).
        answers = await ask(alice, room, "/facteurs", question_in, "the first question")
        question = question_in(answers)
        assert question is not None and "<ol>" in question["formatted_body"]
        seen_steps = []
        for _ in range(40):
            assert question is not None
            current, total = map(int, PROGRESS.search(question["body"]).groups())  # type: ignore[union-attr]
            seen_steps.append(current)
            reply = "2" if re.search(r"^1\. ", question["body"], re.MULTILINE) else "Un projet"
            if current == total:
                # The recap first (issue 14): 25 numbered lines, no list repeated below.
                answers = await ask(
                    alice, room, reply,
                    lambda got: any("Récapitulatif de vos réponses" in a.get("body", "")
                                    for a in got),
                    "the recap",
                )
                recap = next(a for a in answers
                             if "Récapitulatif de vos réponses" in a.get("body", ""))
                assert re.search(rf"^{total}\. ", recap["body"], re.MULTILINE), recap["body"]
                assert "<ol>" not in recap["formatted_body"]
                await ask(alice, room, "valider",
                          lambda got: any("Merci" in a.get("body", "") for a in got),
                          "the summary")
                # The chart follows as a message of its own, sent by the outbox (so not
                # a reply to « valider »), after the summary.
                await alice.wait_for(
                    lambda: any(e["content"].get("msgtype") == "m.image"
                                for e in alice.messages_from(room, BOT)),
                    timeout=60, what="the summary chart")
                answers = [e["content"] for e in alice.messages_from(room, BOT)]
                break
            answers = await ask(alice, room, reply, question_in, f"question {current + 1}")
            question = question_in(answers)
        assert seen_steps == list(range(1, total + 1))
        image = next(a for a in answers if a["msgtype"] == "m.image")
        # The chart follows the summary as an event of its own (drawn meanwhile).
        summary = next(i for i, a in enumerate(answers) if "Merci" in a.get("body", ""))
        assert answers.index(image) > summary
        assert image["info"]["mimetype"] == "image/png"
        assert image["body"].startswith("Graphique en barres")   # its text alternative
        assert image["filename"].endswith(".png")
        assert image["info"]["w"] > 0 and image["info"]["h"] > 0
        png = await alice.download(image["url"])
        assert png.startswith(b"\x89PNG")

        # The export arrives as a file.
        answers = await ask(
            alice,
            room,
            "/export md",
            lambda got: any(a.get("msgtype") == "m.file" for a in got),
            "the export file",
        )
        export = next(a for a in answers if a["msgtype"] == "m.file")
        assert export["body"].endswith(".md")
        document = (await alice.download(export["url"])).decode()
        assert "facteurs" in document.lower()

        # Restart: nothing old is answered again, the message sent meanwhile exactly once.
        devices_before = await bot_devices(synapse, token)
        before = await alice.send(room, "/aide")
        await alice.wait_for(answers_to(alice, room, before), what="help before the restart")
        # Answers to one person come in order: once this one is in, all of the first are.
        await ask(alice, room, "/aide", bool, "a second help before the restart")
        events_before = {e["event_id"] for e in alice.messages_from(room, BOT)}
        bot_process.stop()

        while_down = await alice.send(room, "/aide")
        bot_process.start()
        await alice.wait_for(
            answers_to(alice, room, while_down),
            what=f"the answer to the message sent while down\n{bot_process.log()}",
        )
        after = await alice.send(room, "/aide")
        await alice.wait_for(answers_to(alice, room, after), what="help after the restart")
        new_events = [
            e for e in alice.messages_from(room, BOT) if e["event_id"] not in events_before
        ]
        assert {e["content"].get(REPLY_KEY) for e in new_events} <= {while_down, after}
        assert len(answers_to(alice, room, while_down)()) == len(answers_to(alice, room, before)())
        assert await bot_devices(synapse, token) == devices_before, "a new device at restart"
        bot_process.stop()


async def test_two_people_in_one_room_keep_their_own_progress(
    synapse: SynapseServer, bot_process: BotProcess
) -> None:
    async with MatrixUser(synapse, synapse.alice) as alice, MatrixUser(synapse, synapse.bob) as bob:
        bot_process.start()
        room = await alice.create_room([BOT, bob.account.user_id], direct=False)
        await bob.wait_for(lambda: room in bob.client.invited_rooms, what="bob's invitation")
        await bob.join(room)
        await alice.wait_for(
            lambda: alice.messages_from(room, BOT), what=f"a greeting\n{bot_process.log()}"
        )

        def step(answers: list[dict[str, Any]]) -> int:
            question = question_in(answers)
            assert question is not None
            return int(PROGRESS.search(question["body"]).group(1))  # type: ignore[union-attr]

        got = await ask(alice, room, "/facteurs", question_in, "alice's first question")
        assert step(got) == 1
        got = await ask(alice, room, "coopbot : 1", question_in, "alice's second question")
        assert step(got) == 2
        chatter = await alice.send(room, "Bob, tu as vu le mail ?")
        got = await ask(bob, room, "!facteurs", question_in, "bob's first question")
        assert step(got) == 1, "bob must start at the beginning, not at alice's step"
        got = await ask(bob, room, "coopbot: 3", question_in, "bob's second question")
        assert step(got) == 2
        got = await ask(alice, room, "coopbot : /passer", question_in, "alice's third question")
        assert step(got) == 3
        assert answers_to(alice, room, chatter)() == []
        bot_process.stop()

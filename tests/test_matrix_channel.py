"""The Matrix channel against a real Synapse, with a recording assistant behind it.

The assistant here does not deduplicate, so these tests see exactly what the channel
delivers: a message answered twice after a restart would show up as two deliveries.
The full product (``coopbot run`` with the real core) is in ``test_matrix_e2e.py``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from bot.channels.matrix import BATCH_KEY, SESSION_KEY, serve
from bot.channels.matrix_render import REPLY_KEY
from bot.config import Settings
from bot.messages import Choice, Incoming, Outgoing
from bot.testing import FunctionAssistant
from storage.memory.store import MemoryStorage
from storage.sealed import SealedBox
from tests.synapse_fixture import MatrixUser, SynapseServer

pytestmark = pytest.mark.synapse


class Harness:
    """The channel's counterparts, kept across "restarts" of the channel: the shipped
    function-driven assistant (« reçu : <texte> » with two choices; ``/lent`` waits until
    released) and the in-memory storage as its key-value store."""

    def __init__(self) -> None:
        self.release_slow = asyncio.Event()
        self.kv = MemoryStorage()
        self.assistant = FunctionAssistant(self._reply)

    async def _reply(self, incoming: Incoming) -> list[Outgoing]:
        if incoming.text == "/lent":
            await self.release_slow.wait()
        return [Outgoing(text=f"**reçu** : {incoming.text}",
                         choices=(Choice("Oui", "oui"), Choice("Non", "non")))]

    @property
    def seen(self) -> list[Incoming]:
        return self.assistant.received

    @property
    def values(self) -> dict[str, str]:
        return self.kv.tables.key_values

    def session(self) -> dict[str, str]:
        """The stored login, its access token opened: it is never stored in clear."""
        stored = json.loads(self.values[SESSION_KEY])
        assert "access_token" not in stored, "the access token is stored in clear"
        box = SealedBox(self.values["secret"], "access token")
        return {**stored, "access_token": box.open(stored["sealed_access_token"])}

    def texts_for(self, room_id: str) -> list[str | None]:
        return [incoming.text for incoming in self.seen if incoming.chat_id == room_id]


_CRYPTO_DIR = tempfile.mkdtemp(prefix="coopbot-matrix-channel-")


def settings_for(synapse: SynapseServer) -> Settings:
    # The channel keeps its crypto state in the project database: a file of its own here.
    return Settings(
        database_url=f"sqlite:///{_CRYPTO_DIR}/coopbot.db",
        matrix_homeserver=synapse.url,
        matrix_user=synapse.bot.localpart,
        matrix_password=synapse.bot.password,
    )


@asynccontextmanager
async def running_bot(synapse: SynapseServer, assistant: Harness) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(assistant.assistant, settings_for(synapse), stop,
                                     kv=assistant.kv))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def greeted_room(synapse: SynapseServer, assistant: Harness, alice: MatrixUser) -> str:
    """A chat with the bot that it has greeted once; the bot is stopped again."""
    bot = synapse.bot.user_id
    room = await alice.create_room([bot])
    async with running_bot(synapse, assistant):
        await alice.wait_for(lambda: alice.messages_from(room, bot), what="a greeting")
    return room


def answers_to(user: MatrixUser, room_id: str, event_id: str) -> Callable[[], list[Any]]:
    bot = "@coopbot:localhost"
    return lambda: [
        event
        for event in user.messages_from(room_id, bot)
        if event["content"].get(REPLY_KEY) == event_id
    ]


def bot_joined(user: MatrixUser, room_id: str) -> Callable[[], bool]:
    return lambda: any(
        event.get("type") == "m.room.member"
        and event.get("state_key") == "@coopbot:localhost"
        and event["content"].get("membership") == "join"
        for event in user.events.get(room_id, [])
    )


async def bot_devices(synapse: SynapseServer, assistant: Harness) -> list[str]:
    token = assistant.session()["access_token"]
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{synapse.url}/_matrix/client/v3/devices",
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        body = await response.json()
    return [device["device_id"] for device in body["devices"]]


async def test_pending_invite_is_accepted_history_ignored_and_each_message_answered_once(
    synapse: SynapseServer,
) -> None:
    assistant = Harness()
    bot = synapse.bot.user_id
    async with MatrixUser(synapse, synapse.alice) as alice:
        room = await alice.create_room([bot])
        before = await alice.send(room, "écrit avant que le bot ne soit là")

        async with running_bot(synapse, assistant):
            await alice.wait_for(bot_joined(alice, room), what="the bot to join")
            greeting = await alice.wait_for(
                lambda: alice.messages_from(room, bot), what="a greeting"
            )
            hello = await alice.send(room, "bonjour")
            (answer,) = await alice.wait_for(answers_to(alice, room, hello), what="an answer")

        assert greeting[0]["content"]["msgtype"] == "m.notice"
        assert answer["content"]["msgtype"] == "m.notice"
        assert answer["content"]["body"] == "reçu\u00a0: bonjour\n\n1. Oui\n2. Non"  # typeset
        assert answer["content"]["formatted_body"] == (
            "<b>reçu</b>\u00a0: bonjour<ol><li>Oui</li><li>Non</li></ol>"
        )
        assert before not in [incoming.message_id for incoming in assistant.seen]
        assert assistant.texts_for(room) == ["/start", "bonjour"]
        devices = await bot_devices(synapse, assistant)

        # Down: a message arrives. Up again: it is answered once, the old ones not again.
        while_down = await alice.send(room, "pendant la coupure")
        async with running_bot(synapse, assistant):
            await alice.wait_for(answers_to(alice, room, while_down), what="the missed message")
            after = await alice.send(room, "après")
            await alice.wait_for(answers_to(alice, room, after), what="an answer after restart")

        assert assistant.texts_for(room) == ["/start", "bonjour", "pendant la coupure", "après"]
        assert len(answers_to(alice, room, hello)()) == 1
        assert len(answers_to(alice, room, while_down)()) == 1
        assert await bot_devices(synapse, assistant) == devices, "restart created a device"
        assert BATCH_KEY in assistant.values


async def test_bot_ignores_its_own_messages(synapse: SynapseServer) -> None:
    assistant = Harness()
    bot = synapse.bot.user_id
    async with MatrixUser(synapse, synapse.alice) as alice:
        room = await alice.create_room([bot])
        async with running_bot(synapse, assistant):
            await alice.wait_for(lambda: alice.messages_from(room, bot), what="a greeting")
            # Someone types from the bot's own account (e.g. an operator in Element).
            from nio import AsyncClient

            session = assistant.session()
            as_bot = AsyncClient(synapse.url, bot)
            as_bot.restore_login(bot, session["device_id"], session["access_token"])
            try:
                own = await as_bot.room_send(
                    room, "m.room.message", {"msgtype": "m.text", "body": "/facteurs"}
                )
            finally:
                await as_bot.close()
            probe = await alice.send(room, "et moi ?")
            await alice.wait_for(answers_to(alice, room, probe), what="an answer to alice")
        assert own.event_id not in [incoming.message_id for incoming in assistant.seen]
        assert assistant.texts_for(room) == ["/start", "et moi ?"]
        # Each message tells the core how people reach the bot, for invitation links.
        assert {incoming.bot_address for incoming in assistant.seen} == {bot}


async def test_shared_room_answers_only_what_is_addressed_to_the_bot_per_person(
    synapse: SynapseServer,
) -> None:
    assistant = Harness()
    bot = synapse.bot.user_id
    async with MatrixUser(synapse, synapse.alice) as alice, MatrixUser(synapse, synapse.bob) as bob:
        async with running_bot(synapse, assistant):
            room = await alice.create_room([bot, bob.account.user_id], direct=False)
            await bob.wait_for(lambda: room in bob.client.invited_rooms, what="bob's invite")
            await bob.join(room)
            await alice.wait_for(lambda: alice.messages_from(room, bot), what="a greeting")
            chatter = await alice.send(room, "on déjeune à midi ?")
            command = await bob.send(room, "!facteurs")
            mention = await alice.send(room, "coopbot : 2")
            await alice.wait_for(answers_to(alice, room, command), what="bob's answer")
            (reply,) = await alice.wait_for(answers_to(alice, room, mention), what="alice's answer")

        assert reply["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": mention}}
        handled = {incoming.message_id: incoming for incoming in assistant.seen}
        assert chatter not in handled
        assert handled[command].text == "/facteurs"
        key = assistant.assistant.user_key
        assert handled[command].user_key == key("matrix", bob.account.user_id)
        assert handled[mention].text == "2"
        assert handled[mention].user_key == key("matrix", alice.account.user_id)


async def test_a_slow_answer_does_not_hold_up_other_people(synapse: SynapseServer) -> None:
    assistant = Harness()
    bot = synapse.bot.user_id
    async with MatrixUser(synapse, synapse.alice) as alice, MatrixUser(synapse, synapse.bob) as bob:
        alice_room = await alice.create_room([bot])
        bob_room = await bob.create_room([bot])
        async with running_bot(synapse, assistant):
            for user, room in ((alice, alice_room), (bob, bob_room)):
                await user.wait_for(lambda u=user, r=room: u.messages_from(r, bot), what="greeting")
            slow = await alice.send(alice_room, "/lent")
            await alice.wait_for(
                lambda: any(i.message_id == slow for i in assistant.seen), what="slow start"
            )
            quick = await bob.send(bob_room, "bonjour")
            await bob.wait_for(answers_to(bob, bob_room, quick), what="bob's answer")
            assert not answers_to(alice, alice_room, slow)(), "alice answered before release"
            assistant.release_slow.set()
            await alice.wait_for(answers_to(alice, alice_room, slow), what="alice's answer")


async def test_encrypted_room_is_never_answered_in_clear(
    synapse: SynapseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replaces the old « one explanation » test: encrypted rooms are now served.

    Alice's client here does not encrypt (see ``test_matrix_e2ee.py`` for one that
    does), so all she can check is what reaches the room: the greeting and the one
    notice for a message that can never be decrypted are both ``m.room.encrypted``,
    and a message typed in clear in the encrypted room is not answered at all.
    """
    from bot.channels.matrix import decrypt

    monkeypatch.setattr(decrypt, "FIRST_WAIT", 1.0)  # the key will never come: wait less
    monkeypatch.setattr(decrypt, "REQUEST_WAIT", 2.0)
    assistant = Harness()
    bot = synapse.bot.user_id
    async with MatrixUser(synapse, synapse.alice) as alice:
        room = await alice.create_room([bot], encrypted=True)

        def bot_events() -> list[dict[str, Any]]:
            return [e for e in alice.events.get(room, []) if e.get("sender") == bot
                    and e.get("type") in ("m.room.message", "m.room.encrypted")]

        async with running_bot(synapse, assistant):
            await alice.wait_for(bot_events, what="the (encrypted) greeting")
            await asyncio.sleep(2)
            greeting = len(bot_events())
            forged = {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgAEnAcb2o",
                "sender_key": "x" * 43,
                "session_id": "y" * 43,
                "device_id": "TESTDEVICE",
            }
            await alice.client.room_send(room, "m.room.encrypted", forged)
            await alice.client.room_send(room, "m.room.encrypted", {**forged, "ciphertext": "Aw"})
            await alice.send(room, "bonjour")
            await alice.wait_for(lambda: len(bot_events()) > greeting, timeout=90,
                                 what="the notice for the undecryptable messages")
            await asyncio.sleep(8)  # a second notice, or an answer in clear, would be here

        assert {e["type"] for e in bot_events()} == {"m.room.encrypted"}
        assert len(bot_events()) == greeting + 1, "one notice for the two lost messages"
        assert assistant.texts_for(room) == ["/start"]


async def logout(synapse: SynapseServer, token: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{synapse.url}/_matrix/client/v3/logout",
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200


async def test_revoked_token_logs_in_again_on_the_same_device(synapse: SynapseServer) -> None:
    assistant = Harness()
    bot = synapse.bot.user_id
    async with MatrixUser(synapse, synapse.alice) as alice:
        room = await alice.create_room([bot])
        async with running_bot(synapse, assistant):
            await alice.wait_for(lambda: alice.messages_from(room, bot), what="a greeting")
            first = assistant.session()
            await logout(synapse, first["access_token"])  # revoked while running
            probe = await alice.send(room, "toujours là ?")
            await alice.wait_for(answers_to(alice, room, probe), what="an answer after relogin")
        second = assistant.session()
        await logout(synapse, second["access_token"])  # revoked while stopped
        async with running_bot(synapse, assistant):
            probe = await alice.send(room, "et maintenant ?")
            await alice.wait_for(answers_to(alice, room, probe), what="an answer after restart")
        third = assistant.session()

    assert len({first["access_token"], second["access_token"], third["access_token"]}) == 3
    assert first["device_id"] == second["device_id"] == third["device_id"]
    assert first["device_id"] in await bot_devices(synapse, assistant)


async def test_a_token_kept_in_clear_by_an_older_version_is_sealed_and_keeps_the_device(
        synapse: SynapseServer) -> None:
    """A database from before the token was sealed: the restart uses the same device
    (no new login) and rewrites the session with the token sealed."""
    assistant = Harness()
    async with MatrixUser(synapse, synapse.alice) as alice:
        room = await greeted_room(synapse, assistant, alice)
        first = assistant.session()
        legacy = {k: v for k, v in json.loads(assistant.values[SESSION_KEY]).items()
                  if k != "sealed_access_token"}
        assistant.values[SESSION_KEY] = json.dumps({**legacy,
                                                     "access_token": first["access_token"]})
        async with running_bot(synapse, assistant):
            probe = await alice.send(room, "après la mise à jour ?")
            await alice.wait_for(answers_to(alice, room, probe), what="an answer")
        again = assistant.session()  # asserts the token is no longer in clear
    assert again["access_token"] == first["access_token"]  # restored, not a new login
    assert again["device_id"] == first["device_id"]


async def test_many_messages_while_down_are_all_answered_once_in_order(
    synapse: SynapseServer,
) -> None:
    """More messages than one sync brings (a "limited" timeline): the gap is fetched."""
    assistant = Harness()
    bot = synapse.bot.user_id
    async with MatrixUser(synapse, synapse.alice) as alice:
        room = await alice.create_room([bot])
        async with running_bot(synapse, assistant):
            await alice.wait_for(lambda: alice.messages_from(room, bot), what="a greeting")
        missed = [f"message {number}" for number in range(1, 81)]
        ids = [await alice.send(room, text) for text in missed]
        async with running_bot(synapse, assistant):
            await alice.wait_for(answers_to(alice, room, ids[-1]), what="the last missed message")
        assert assistant.texts_for(room) == ["/start", *missed]
        assert all(len(answers_to(alice, room, event_id)()) == 1 for event_id in ids)

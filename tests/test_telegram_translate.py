"""Which Telegram updates reach the assistant, and as what."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.channels.telegram.translate import BotIdentity, to_incoming
from bot.messages import Incoming
from bot.testing import FunctionAssistant

ME = BotIdentity(id=999, username="CoopBot")


KEYS = FunctionAssistant()
"""Only the user-key part of the assistant is needed here."""


def _message(
    text: str, *, user: int = 1, chat: int = 1, chat_type: str = "private", **extra: Any
) -> Update:
    data = {
        "update_id": 42,
        "message": {
            "message_id": 7,
            "date": 0,
            "chat": {"id": chat, "type": chat_type},
            "from": {"id": user, "is_bot": False, "first_name": "A"},
            "text": text,
            **extra,
        },
    }
    return Update.de_json(data, None)


def _translate(update: Update) -> Incoming | None:
    return to_incoming(update, ME, KEYS)


def test_private_text_becomes_an_incoming_with_pseudonymous_key() -> None:
    incoming = _translate(_message("Qu'est-ce qu'une SCIC ?", user=5, chat=5))
    assert incoming == Incoming(
        channel="telegram",
        user_key=KEYS.user_key("telegram", "5"),
        chat_id="5",
        text="Qu'est-ce qu'une SCIC ?",
        message_id="42",
        bot_address=ME.username,  # for the invitation links the core writes
    )


def test_command_with_this_bot_name_is_stripped() -> None:
    incoming = _translate(_message("/export@coopbot md", chat=-100, chat_type="group"))
    assert incoming is not None
    assert incoming.text == "/export md"
    assert incoming.chat_id == "-100"


def test_group_command_for_another_bot_is_ignored() -> None:
    assert _translate(_message("/start@otherbot", chat=-100, chat_type="supergroup")) is None


def test_group_chatter_is_ignored_but_plain_commands_are_taken() -> None:
    assert _translate(_message("bonjour à tous", chat=-100, chat_type="group")) is None
    incoming = _translate(_message("/facteurs", chat=-100, chat_type="group"))
    assert incoming is not None and incoming.text == "/facteurs"


def test_group_reply_to_the_bot_is_taken() -> None:
    reply_to = {
        "message_id": 3,
        "date": 0,
        "chat": {"id": -100, "type": "group"},
        "from": {"id": ME.id, "is_bot": True, "first_name": "Coopbot"},
        "text": "Votre réponse ?",
    }
    update = _message("Une SCOP", chat=-100, chat_type="group", reply_to_message=reply_to)
    incoming = _translate(update)
    assert incoming is not None and incoming.text == "Une SCOP"


def test_group_members_keep_separate_keys() -> None:
    a = _translate(_message("/facteurs", user=1, chat=-100, chat_type="group"))
    b = _translate(_message("/facteurs", user=2, chat=-100, chat_type="group"))
    assert a is not None and b is not None
    assert a.user_key != b.user_key and a.chat_id == b.chat_id


def test_button_press_carries_the_payload_unchanged() -> None:
    data = {
        "update_id": 43,
        "callback_query": {
            "id": "q1",
            "from": {"id": 5, "is_bot": False, "first_name": "A"},
            "chat_instance": "c",
            "data": "facteurs:v1:climat:3",
            "message": {
                "message_id": 9,
                "date": 0,
                "chat": {"id": 5, "type": "private"},
                "text": "Question",
            },
        },
    }
    incoming = _translate(Update.de_json(data, None))
    assert incoming == Incoming(
        channel="telegram",
        user_key=KEYS.user_key("telegram", "5"),
        chat_id="5",
        payload="facteurs:v1:climat:3",
        message_id="43",
        bot_address=ME.username,  # for the invitation links the core writes
    )


def test_long_payload_digest_is_mapped_back() -> None:
    data = {
        "update_id": 44,
        "callback_query": {
            "id": "q2",
            "from": {"id": 5, "is_bot": False, "first_name": "A"},
            "chat_instance": "c",
            "data": "#abc",
        },
    }
    incoming = to_incoming(Update.de_json(data, None), ME, KEYS, {"#abc": "long-payload"})
    assert incoming is not None and incoming.payload == "long-payload"
    assert incoming.chat_id == "5"


def test_messages_from_bots_and_edits_are_ignored() -> None:
    update = Update.de_json(
        {
            "update_id": 45,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "from": {"id": 1, "is_bot": True, "first_name": "B"},
                "text": "/start",
            },
        },
        None,
    )
    assert _translate(update) is None
    edited = Update.de_json(
        {
            "update_id": 46,
            "edited_message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "from": {"id": 1, "is_bot": False, "first_name": "A"},
                "text": "/start",
            },
        },
        None,
    )
    assert _translate(edited) is None

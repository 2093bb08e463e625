"""Hostile inputs through every flow, every channel's translation and rendering, and exports.

The corpus (``tests/data/hostile_inputs.json``) holds what people and attackers
really send: texts of 4,096 characters and more, zero-width and right-to-left
characters, emoji sequences, NUL and control characters, HTML and Markdown,
spreadsheet formulas, SQL-looking text, odd digits, and invalid UTF-8 lines for
the console. Whatever arrives, a person gets a polite reply (never the internal
error), the conversation moves on with a valid answer afterwards, what is shown
on Telegram and Matrix stays escaped, and the exports stay safe to open.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from itertools import cycle
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.channels import console, matrix_render
from bot.channels.telegram import render as telegram_render
from bot.channels.telegram.translate import BotIdentity, to_incoming
from bot.core import MAX_INPUT, Assistant
from bot.messages import Outgoing
from bot.testing import FunctionAssistant
from flows.engine import current_step
from flows.model import Flow, Step
from storage.protocols import Conversation
from storage.reports.exports import build_export
from tests.conftest import ConsoleUser

CORPUS = json.loads((Path(__file__).parent / "data" / "hostile_inputs.json").read_text("utf-8"))
TRIES_PER_STEP = 3
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hostile_texts() -> list[tuple[str, str]]:
    out = []
    for entry in CORPUS["text"]:
        text = entry["repeat"] * entry["times"] if "repeat" in entry else entry["text"]
        out.append((entry["name"], text))
    return out


HOSTILE = hostile_texts()


def test_the_corpus_covers_what_the_issue_lists() -> None:
    texts = [t for _, t in HOSTILE]
    assert any(len(t) > MAX_INPUT for t in texts) and any(len(t) == MAX_INPUT for t in texts)
    assert any("\u200b" in t for t in texts) and any("\u202e" in t for t in texts)
    assert any("\u200d" in t and len(t) < 20 for t in texts)  # emoji ZWJ sequence
    assert any("\x00" in t for t in texts) and any("\x1b" in t for t in texts)
    assert any("<script>" in t for t in texts) and any("**" in t for t in texts)
    assert any(t.startswith("=") for t in texts) and any("DROP TABLE" in t for t in texts)
    assert CORPUS["console_bytes_hex"]


# --- what every reply must satisfy, on every channel ------------------------------------


def check_replies(assistant: Assistant, replies: list[Outgoing]) -> None:
    internal = assistant.content.texts("errors.internal")
    assert isinstance(replies, list) and replies, "every message gets a reply"
    for out in replies:
        assert internal not in out.text, "a hostile input reached an exception"
        check_rendering(out)


def check_rendering(out: Outgoing) -> None:
    """The reply renders on each channel, and user text cannot inject markup there."""
    plain = console.render(Outgoing(text=out.text, choices=out.choices, actions=out.actions))
    assert isinstance(plain, str)
    for piece in telegram_render.render_text(out.text):
        assert len(piece) <= telegram_render.MAX_MESSAGE
        assert "<script" not in piece and "<a " not in piece and "<i>" not in piece
    content = matrix_render.text_content(out)
    if content is not None:
        html = content["formatted_body"]
        assert "<script" not in html and "<a " not in html
    if out.choices:
        telegram_render.keyboard(out.choices, out.actions)


def valid_answer(step: Step) -> str:
    match step.type:
        case "yesno":
            return "oui"
        case "number":
            return str(int(step.min) if step.min is not None else 1)
        case "text":
            return "Réponse ordinaire"
        case _:
            return "1"


async def current(assistant: Assistant, key: str, flow: Flow) -> Step | None:
    def look(conv: Conversation) -> Step | None:
        session = conv.active_session()
        if session is None or session.flow_id != flow.id:
            return None
        return current_step(flow, session.flow_state)

    return await assistant.storage.conversation(key, look)


async def walk_with_hostile_inputs(assistant: Assistant, flow: Flow,
                                   inputs: Iterator[tuple[str, str]],
                                   stored_text: Iterator[tuple[str, str]]) -> ConsoleUser:
    """Through the flow: at each step a few hostile inputs, then a valid answer if needed."""
    user = ConsoleUser(assistant, f"fuzz-{flow.id}")
    check_replies(assistant, await user.say(f"/{flow.command}"))
    for _ in range(len(flow.steps) * 2):
        step = await current(assistant, user.key, flow)
        if step is None:
            break
        tries = [next(stored_text)] if step.type == "text" else []
        tries += [next(inputs) for _ in range(TRIES_PER_STEP)]
        for _name, text in tries:
            check_replies(assistant, await user.say(text))
            if await current(assistant, user.key, flow) != step:
                break
        else:
            check_replies(assistant, await user.say(valid_answer(step)))
            moved_on = await current(assistant, user.key, flow) != step
            assert moved_on, f"{flow.id}/{step.id}: a valid answer after hostile ones failed"
    assert await current(assistant, user.key, flow) is None
    # At the recap (issue 14): a hostile input is refused, or read as « modifier N » (a
    # digit in disguise), then /retour comes back to the recap; « valider » completes.
    for _ in range(TRIES_PER_STEP):
        name, text = next(inputs)
        check_replies(assistant, await user.say(text))
        if await current(assistant, user.key, flow) is not None:
            check_replies(assistant, await user.say("/retour"))
        assert await current(assistant, user.key, flow) is None, (flow.id, name)
    check_replies(assistant, await user.say("valider"))
    return user


async def test_every_flow_survives_hostile_inputs_and_exports_stay_safe(
    assistant: Assistant,
) -> None:
    inputs = cycle(HOSTILE)
    # At text steps, first the inputs that would be dangerous once stored and exported.
    stored = cycle([h for h in HOSTILE if h[0].startswith(("csv_", "html_", "markdown",
                                                            "sql_", "rtl_", "emoji_",
                                                            "template", "exactly_"))])
    for flow in assistant.content.flows.values():
        user = await walk_with_hostile_inputs(assistant, flow, inputs, stored)
        records = await assistant.storage.user_sessions(user.key, flow.id)
        assert [r.status for r in records] == ["completed"], flow.id
        check_exports(assistant, records, user.name)


def export(records: list[Any], assistant: Assistant, fmt: str, user: str) -> str:
    return build_export(records, assistant.content.flows, fmt, user).content.decode("utf-8")


def check_exports(assistant: Assistant, records: list[Any], user: str) -> None:
    answers = [a for r in records for a in r.answers.values()]
    stored_texts = [a.value for a in answers if isinstance(a.value, str)]
    stored_texts += [a.comment for a in answers if a.comment]
    for text in stored_texts:
        assert "\x00" not in text and "\u202e" not in text and "\u200b" not in text
    data = json.loads(export(records, assistant, "json", user))
    exported = [a["value"] for s in data["sessions"] for a in s["answers"]]
    for text in stored_texts:
        if text in [a.value for r in records for a in r.answers.values()]:
            assert text in exported, "JSON keeps what was typed, exactly"
    table = export(records, assistant, "csv", user).lstrip("\ufeff")
    for row in csv.reader(io.StringIO(table)):
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"formula cell in CSV: {cell[:40]!r}"
    html = export(records, assistant, "html", user)
    assert "<script>alert" not in html and "javascript:alert(1)\">" not in html
    export(records, assistant, "md", user)


async def test_commands_and_questions_outside_flows_get_polite_replies(
    assistant: Assistant,
) -> None:
    user = ConsoleUser(assistant, "fuzz-outside")
    for text in CORPUS["outside"]:
        replies = await user.say(text)
        if text.strip("\x00 ") and text not in ("/", "//", "!"):
            check_replies(assistant, replies)
        else:  # nothing to read: still a reply saying what to type
            assert replies and all(assistant.content.texts("errors.internal") not in r.text
                                   for r in replies)
    for _name, text in HOSTILE:
        replies = await user.say(text)
        internal = assistant.content.texts("errors.internal")
        assert replies and all(internal not in r.text for r in replies)
        for out in replies:
            check_rendering(out)


async def test_invalid_utf8_from_the_console_is_read_not_fatal(
    assistant: Assistant, tmp_path: Path
) -> None:
    lines = b"".join(bytes.fromhex(h) for h in CORPUS["console_bytes_hex"])
    stdout = io.StringIO()
    await console.chat(assistant, "fuzz-console", stdin=io.BytesIO(lines), stdout=stdout,
                       files_dir=tmp_path)
    shown = stdout.getvalue()
    assert shown.strip()
    assert assistant.content.texts("errors.internal") not in shown
    # The session started by the « /facteurs » line is there and waits for an answer.
    records = await assistant.storage.user_sessions(assistant.user_key("console",
                                                                       "fuzz-console"))
    assert [r.flow_id for r in records] == ["facteurs"]


@pytest.mark.parametrize(("name", "text"), HOSTILE, ids=[n for n, _ in HOSTILE])
def test_channel_translations_keep_hostile_text_as_plain_text(name: str, text: str) -> None:
    """Telegram and Matrix updates carrying the text become the same text, or nothing."""
    me = BotIdentity(id=1, username="coopbot")
    for chat_type in ("private", "group"):
        update = Update.de_json({"update_id": 7, "message": {
            "message_id": 3, "date": 1_700_000_000, "text": text,
            "chat": {"id": 5, "type": chat_type}, "from": {"id": 5, "is_bot": False,
                                                           "first_name": "P"}}}, None)
        incoming = to_incoming(update, me, FunctionAssistant())
        if chat_type == "private":
            assert incoming is not None and incoming.text is not None
            assert incoming.message_id == "7"
        elif incoming is not None:
            assert incoming.text is not None
    content = {"msgtype": "m.text", "body": text}
    addressed = matrix_render.addressed_text(content, "@coopbot:exemple.org", ["coopbot"],
                                             group=False)
    # In a direct chat every message that says something reaches the assistant.
    if matrix_render.strip_reply_fallback(text).strip():
        assert isinstance(addressed, str) and addressed.strip()
    else:
        assert addressed is None
    # Rendering the text as if Coopbot echoed it: escaped on both platforms.
    out = Outgoing(text=text)
    for piece in telegram_render.render_text(text):
        assert len(piece) <= telegram_render.MAX_MESSAGE
        assert "<script" not in piece
    body = matrix_render.text_content(out)
    assert body is None or "<script" not in body["formatted_body"]


def test_emoji_sequences_typed_as_answers_are_kept_whole() -> None:
    from flows.parsing import clean_text

    for _name, text in HOSTILE:
        if _name in ("emoji_family", "emoji_flag_skin"):
            assert clean_text(text) == text

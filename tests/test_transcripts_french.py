"""Every guided flow, driven to its summary as a person would, reads as correct French.

The whole transcript (questions, hints, buttons, summary) is read the way each channel
shows it: console text, Telegram HTML, Matrix ``body`` and ``formatted_body``. What a
reader would notice is checked: a « : » or « ? » after an ordinary space (it can wrap
alone to the next line), guillemets without their no-break spaces, a reference to
internal notes or an internal doubt.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from bot.channels.console import render as console_render
from bot.channels.matrix_render import text_content
from bot.channels.telegram.render import render_text
from bot.markup import to_plain
from bot.messages import Outgoing
from bot.testing import ConsoleUser, memory_assistant, shared_content
from bot.texts import texts

FLOW_FILES = sorted(Path("flows/definitions").glob("*.yaml"))
TYPED_TEXT = "Associer les habitants : c'est essentiel ! Et « vite » ?"
MAX_TURNS = 120

_ADDRESSES = re.compile(r"(?:https?://|www\.|matrix\.to/)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SPACE_BEFORE = re.compile(r"[ \t\u2009][;:!?](?=\s|$)", re.MULTILINE)
_NO_SPACE_BEFORE = re.compile(r"[^\W\d_][;:!?](?=\s|$)", re.MULTILINE)
_WRONG_SPACE = re.compile(r"\u00a0[;!?]|\u202f:", re.MULTILINE)
_QUOTES_WITHOUT_NBSP = re.compile(r"«(?![\u00a0\n])|(?<![\u00a0\n])»")
INTERNAL = ("notes §", "non vérifié dans nos sources", "n'a pas pu être vérifié",
            "non vérifié", "pas pu être vérifié")


def flow_commands() -> list[str]:
    flows = shared_content().flows
    commands = sorted(flow.command for flow in flows.values() if flow.command)
    assert len(commands) == len(FLOW_FILES), (commands, FLOW_FILES)
    return commands


def answer_for(replies: list[Outgoing], shown: str, last_choice: bool) -> str:
    """What a person would type: a number for a choice, else a number or a sentence;
    « valider » at the recap that follows the last question."""
    if to_plain(texts()("flow.recap.title")) in shown:
        return "valider"
    choices = [r for r in replies if r.choices]
    if choices:
        if "séparés par des virgules" in shown:
            return "1, 2"
        return str(len(choices[-1].choices)) if last_choice else "1"
    if "par un nombre" in shown:
        return "12"
    return TYPED_TEXT


async def transcript(command: str, last_choice: bool, files: Path) -> list[Outgoing]:
    """Every bubble of the flow up to its summary, then the Markdown and HTML exports."""
    person = ConsoleUser(memory_assistant(), "camille")
    replies = await person.say(f"/{command}")
    seen: list[Outgoing] = list(replies)
    for _ in range(MAX_TURNS):
        shown = "\n".join(console_render(out, files) for out in replies)
        if "c'est terminé" in shown:
            for fmt in ("md", "html"):
                seen.extend(await person.say(f"/export {fmt}"))
            return seen
        replies = await person.say(answer_for(replies, shown, last_choice))
        seen.extend(replies)
    raise AssertionError(f"/{command} did not reach its summary in {MAX_TURNS} answers")


def typography_faults(text: str) -> list[str]:
    prose = _ADDRESSES.sub("", text)
    faults = []
    for pattern in (_SPACE_BEFORE, _NO_SPACE_BEFORE, _WRONG_SPACE, _QUOTES_WITHOUT_NBSP):
        for match in pattern.finditer(prose):
            line_start = prose.rfind("\n", 0, match.start()) + 1
            line_end = prose.find("\n", match.end())
            faults.append(prose[line_start:line_end if line_end >= 0 else None][:160])
    return faults


def internal_notes(text: str) -> list[str]:
    lower = text.lower()
    return [phrase for phrase in INTERNAL if phrase in lower]


@pytest.fixture(scope="module")
def transcripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Outgoing]]:
    import asyncio

    files = tmp_path_factory.mktemp("files")
    return {
        f"{command}-{'last' if last else 'first'}": asyncio.run(
            transcript(command, last, files))
        for command in flow_commands()
        for last in (False, True)
    }


def test_every_flow_reaches_its_summary(transcripts: dict[str, list[Outgoing]]) -> None:
    assert len(transcripts) == 2 * len(FLOW_FILES)
    for name, replies in transcripts.items():
        assert len(replies) > 5, name


def test_console_transcripts_follow_french_typography(
    transcripts: dict[str, list[Outgoing]], tmp_path: Path
) -> None:
    for name, replies in transcripts.items():
        shown = "\n".join(console_render(out, tmp_path) for out in replies)
        assert not typography_faults(shown), (name, typography_faults(shown)[:5])
        assert not internal_notes(shown), (name, internal_notes(shown))


def test_telegram_html_and_matrix_bodies_follow_french_typography(
    transcripts: dict[str, list[Outgoing]],
) -> None:
    for name in ("facteurs-first", "charte-last", "statut-first", "cadrage-last"):
        for out in transcripts[name]:
            if not out.text.strip():
                continue
            for piece in render_text(out.text):
                visible = html.unescape(re.sub(r"<[^>]+>", "", piece))
                assert not typography_faults(visible), (name, typography_faults(visible)[:3])
            content = text_content(out)
            assert content is not None
            for key in ("body", "formatted_body"):
                visible = html.unescape(re.sub(r"<[^>]+>", "\n", content[key]))
                assert not typography_faults(visible), (name, key,
                                                        typography_faults(visible)[:3])
                assert not internal_notes(visible), (name, internal_notes(visible))


def _document_text(out: Outgoing) -> str:
    assert out.file is not None
    document = out.file.content.decode("utf-8")
    if out.file.filename.endswith(".html"):
        document = re.sub(r"<(style|script)\b.*?</\1>", "", document, flags=re.DOTALL)
        document = re.sub(r"<img\b[^>]*>", "", document)
        document = html.unescape(re.sub(r"<[^>]+>", "\n", document))
    return document


def test_exported_documents_follow_french_typography(
    transcripts: dict[str, list[Outgoing]],
) -> None:
    """Markdown and HTML exports are typeset at rendering too (text nodes only in HTML)."""
    for name, replies in transcripts.items():
        documents = [out for out in replies if out.file is not None]
        assert {Path(d.file.filename).suffix for d in documents if d.file} == {".md", ".html"}
        for out in documents:
            text = _document_text(out)
            faults = typography_faults(text)
            assert not faults, (name, out.file.filename if out.file else "", faults[:5])
            assert not internal_notes(text), (name, internal_notes(text))


async def test_csv_and_json_exports_keep_what_people_typed_exactly(tmp_path: Path) -> None:
    """Data exports are for another program: no typography is added to typed answers."""
    person = ConsoleUser(memory_assistant(), "dominique")
    replies = await person.say("/cadrage")
    for _ in range(MAX_TURNS):
        shown = "\n".join(console_render(out, tmp_path) for out in replies)
        if "c'est terminé" in shown:
            break
        replies = await person.say(answer_for(replies, shown, False))
    for fmt in ("csv", "json"):
        [document] = [out.file for out in await person.say(f"/export {fmt}") if out.file]
        content = document.content.decode("utf-8")
        assert "Associer les habitants : c'est essentiel !" in content, fmt
        assert "\u00a0" not in content and "\u202f" not in content, fmt

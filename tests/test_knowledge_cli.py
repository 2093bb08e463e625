"""``coopbot ask`` and ``coopbot kb gaps`` as scripts use them."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

from bot.cli_kb import add_ask_arguments, add_gaps_arguments, cmd_ask, cmd_gaps
from storage.sql.store import open_storage

ROOT = Path(__file__).resolve().parent.parent


def _ask(argv: list[str], stdin: str = "") -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    add_ask_arguments(parser)
    out = io.StringIO()
    code = cmd_ask(parser.parse_args(argv), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def test_json_answer_has_the_contract_keys() -> None:
    code, out = _ask(["--json", "une", "commune", "peut", "elle", "entrer", "dans", "une", "scic"])
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"query", "answers", "suggestions"}
    assert data["query"] == "une commune peut elle entrer dans une scic"
    first = data["answers"][0]
    assert set(first) == {"id", "title", "score", "answer"}
    assert first["id"] == "forme/scic"


def test_json_answers_empty_out_of_scope() -> None:
    code, out = _ask(["--json", "recette de la tarte aux pommes"])
    assert code == 0
    assert json.loads(out)["answers"] == []


def test_top_limits_answers() -> None:
    _, out = _ask(["--json", "--top", "1", "scop scic"])
    assert len(json.loads(out)["answers"]) <= 1


def test_plain_text_answer() -> None:
    _, out = _ask(["qui contacter pour un DLA"])
    assert "Dispositif local d'accompagnement (DLA)" in out
    assert "**" not in out
    _, out = _ask(["meteo demain a lyon"])
    assert "Je ne sais pas" in out


def test_batch_reads_one_question_per_line() -> None:
    code, out = _ask([], stdin="qui contacter pour un DLA\n\nmeteo demain a lyon\n")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [d["query"] for d in lines] == ["qui contacter pour un DLA", "meteo demain a lyon"]
    assert lines[0]["answers"][0]["id"] == "dispositif/dla"
    assert lines[1]["answers"] == []


def test_ask_does_not_import_chat_platforms_or_heavy_libraries() -> None:
    code = (
        "import sys, io, argparse\n"
        "from bot.cli_kb import add_ask_arguments, cmd_ask\n"
        "p = argparse.ArgumentParser(); add_ask_arguments(p)\n"
        "cmd_ask(p.parse_args(['--json', 'scic']), stdout=io.StringIO())\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('telegram', 'nio', 'matplotlib', 'sqlalchemy')]\n"
        "print(heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


async def test_gaps_lists_most_frequent_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gaps.db'}"
    storage = await open_storage(url)
    try:
        for _ in range(3):
            await storage.conversation("u", lambda conv: conv.record_kb_gap(
                "horaires de la piscine", "unknown"))
        await storage.conversation("u", lambda conv: conv.record_kb_gap(
            "c'est quoi une scic", "unhelpful", "forme/scic"))
    finally:
        await storage.close()

    def run() -> str:
        parser = argparse.ArgumentParser()
        add_gaps_arguments(parser)
        out = io.StringIO()
        assert cmd_gaps(parser.parse_args(["--db", url]), stdout=out) == 0
        return out.getvalue()

    import asyncio

    text = await asyncio.to_thread(run)
    lines = text.splitlines()
    assert "horaires de la piscine" in lines[1] and "3" in lines[1]
    assert "sans réponse" in lines[1]
    assert "c'est quoi une scic" in lines[2] and "jugée inutile" in lines[2]

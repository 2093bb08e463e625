"""The command line as the README and outside checks use it (real subprocesses)."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

import pytest

FACTEURS_ANSWERS = ["2", "Une recyclerie"] + [str(i % 4 + 1) for i in range(23)] + ["valider"]
"""The 25 answers, then « valider » at the recap (issue 14)."""


def coopbot(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin.encode(),
        capture_output=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


def export_json(db: str, user: str = "u") -> dict:
    result = coopbot("export", "--user", user, "--format", "json", "--db", db)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_a_whole_facteurs_conversation_then_export(db, tmp_path):
    chat = coopbot("chat", "--user", "u", "--db", db,
                   stdin="\n".join(["/facteurs", *FACTEURS_ANSWERS]) + "\n", cwd=tmp_path)
    assert chat.returncode == 0, chat.stderr.decode()
    out = chat.stdout.decode()
    assert "(1/25)" in out and "(25/25)" in out and "Merci" in out
    # The chart, drawn in a chart process, follows the summary as a file of its own.
    assert out.index("📎 Fichier enregistré") > out.index("Facteurs relationnels")
    [png] = (tmp_path / "coopbot-fichiers").glob("facteurs-synthese*.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    data = export_json(db)
    assert data["user"] == "u"
    [session] = data["sessions"]
    assert session["flow"] == "facteurs" and session["status"] == "completed"
    assert len(session["answers"]) == 25
    assert {"id", "flow", "status", "started_at", "updated_at", "answers", "summary"} <= set(
        session)
    assert session["answers"][0] == {"step": "role", "value": "agent"}


def test_stopping_after_three_answers_resumes_at_the_fourth(db, tmp_path):
    first = coopbot("chat", "--user", "u", "--db", db,
                    stdin="/facteurs\n2\nProjet\n3\n", cwd=tmp_path)
    assert first.returncode == 0
    second = coopbot("chat", "--user", "u", "--db", db, stdin="4\n", cwd=tmp_path)
    out = second.stdout.decode()
    assert "(4/25)" in out  # shown again on start
    assert "(5/25)" in out  # the answer went to the fourth question
    answers = export_json(db)["sessions"][0]["answers"]
    assert [a["step"] for a in answers][:4] == ["role", "projet", "valeur", "competences"]
    assert len(answers) == 4


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json"])
def test_every_export_format_contains_every_answer(db, tmp_path, fmt):
    coopbot("chat", "--user", "u", "--db", db,
            stdin="/facteurs\n2\n<script>x</script> =SUM(A1)\n3 confiance **réelle**\n",
            cwd=tmp_path)
    out_file = tmp_path / f"export.{fmt}"
    result = coopbot("export", "--user", "u", "--format", fmt, "-o", str(out_file), "--db", db)
    assert result.returncode == 0, result.stderr.decode()
    text = out_file.read_text(encoding="utf-8-sig")
    readable = html.unescape(text) if fmt == "html" else text
    assert "Agent d'une collectivité" in readable or '"agent"' in readable
    assert "confiance" in readable
    assert "<script>" not in text or fmt in ("json", "csv")
    if fmt == "html":
        assert "&lt;script&gt;" in text
    if fmt == "csv":
        assert ",'=SUM" not in text  # the formula starts the cell only after an apostrophe
        assert "<script>x</script> =SUM(A1)" in text
    if fmt == "md":
        assert "\\<script\\>" in text


def test_export_of_an_unknown_user_says_what_to_check(db):
    result = coopbot("export", "--user", "personne", "--format", "json", "--db", db)
    assert result.returncode == 1
    assert "--user" in result.stderr.decode() and result.stdout == b""


def test_bad_database_url_is_explained(tmp_path):
    result = coopbot("export", "--user", "u", "--format", "json", "--db", "mysql://x/y")
    assert result.returncode == 1
    assert "sqlite:///" in result.stderr.decode()


def test_check_validates_the_shipped_content():
    result = coopbot("check")
    assert result.returncode == 0, result.stderr.decode()
    assert "Tout est valide" in result.stdout.decode()


def test_invalid_utf8_from_the_console_is_not_fatal(db, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--user", "u", "--db", db],
        input=b"/facteurs\n\xff\xfe\n2\n", capture_output=True, timeout=60, cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0
    assert "Je n'ai pas compris" in result.stdout.decode()
    assert "(2/25)" in result.stdout.decode()


def test_run_without_any_channel_explains_what_to_set(db):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--db", db], capture_output=True, timeout=60,
        env={"PATH": "/usr/bin:/bin"}, check=False,
    )
    assert result.returncode == 1
    assert "COOPBOT_TELEGRAM_TOKEN" in result.stderr.decode()

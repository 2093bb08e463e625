"""``coopbot ask`` and ``coopbot kb gaps``.

``ask`` is called by scripts and checks, so it starts fast: it imports only the
knowledge modules (YAML, rapidfuzz), never the chat platforms, matplotlib or
SQLAlchemy. ``kb gaps`` reads the storage, which it imports when it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from bot.cli_common import DB_HELP, run, settings_from_args
from bot.texts import texts
from flows.typography import french
from flows.yamlsource import ContentError
from knowledge.base import load_knowledge
from knowledge.model import KbResult

GAPS_LIMIT = 50


def text(key: str, **params: object) -> str:
    """A catalogue text for the terminal, with French typography (people read it)."""
    return french(texts()(f"kb.cli.{key}", **params))


def add_ask_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="réponse en JSON")
    parser.add_argument(
        "--top", type=int, default=3, metavar="N", help="nombre maximal de réponses (par défaut 3)"
    )
    parser.add_argument(
        "--db", metavar="URL", help="base de données (acceptée pour compatibilité, non utilisée)"
    )
    parser.add_argument(
        "question",
        nargs="*",
        metavar="QUESTION",
        help="la question ; sans question, une question par ligne sur "
        "l'entrée standard, une réponse JSON par ligne",
    )


def result_json(result: KbResult) -> dict[str, Any]:
    """The ``coopbot ask --json`` object: answers empty when Coopbot does not know."""
    return {
        "query": result.query,
        "answers": [
            {
                "id": scored.entry.id,
                "title": scored.entry.title,
                "score": round(scored.score, 4),
                "answer": scored.entry.answer,
            }
            for scored in result.answers
        ],
        "suggestions": [{"id": entry.id, "title": entry.title} for entry in result.suggestions],
    }


def cmd_ask(
    args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    out = stdout or sys.stdout
    top = max(1, int(getattr(args, "top", 3) or 3))
    try:
        kb = load_knowledge()
    except ContentError as exc:
        print(f"{text('content_error')} {exc}", file=sys.stderr)
        return 2
    words = getattr(args, "question", None) or []
    question = " ".join(words).strip() if isinstance(words, list) else str(words).strip()
    if not question:
        source = stdin or sys.stdin
        if source.isatty():
            print(text("empty_question"), file=sys.stderr)
            return 2
        for line in source:
            line = line.strip()
            if line:
                out.write(json.dumps(result_json(kb.ask(line, top=top)), ensure_ascii=False) + "\n")
        out.flush()
        return 0
    result = kb.ask(question, top=top)
    if getattr(args, "json", False):
        out.write(json.dumps(result_json(result), ensure_ascii=False) + "\n")
    else:
        out.write(french(_plain(result)) + "\n")
    return 0


def _plain(result: KbResult) -> str:
    """Human-readable answer for the terminal (markup removed)."""
    if not result.answers:
        lines = [text("no_answer")]
        if result.suggestions:
            lines.append(text("closest"))
            lines += [f"- {entry.title} ({entry.id})" for entry in result.suggestions]
        return "\n".join(lines)
    first, *others = result.answers
    lines = [f"{first.entry.title} [{first.entry.id}]", _strip(first.entry.answer)]
    for scored in others:
        lines.append(f"- {scored.entry.title} [{scored.entry.id}]")
    return "\n".join(lines)


def _strip(value: str) -> str:
    return value.replace("**", "")


def add_gaps_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help=DB_HELP)
    parser.add_argument(
        "--limit",
        type=int,
        default=GAPS_LIMIT,
        metavar="N",
        help=f"nombre de lignes (par défaut {GAPS_LIMIT})",
    )
    parser.add_argument("--json", action="store_true", help="sortie JSON")


def cmd_gaps(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """List unanswered questions and unhelpful answers, most frequent first."""
    from storage.sql.store import open_storage

    out = stdout or sys.stdout
    url = settings_from_args(args).database_url
    limit = max(1, int(getattr(args, "limit", GAPS_LIMIT) or GAPS_LIMIT))

    async def read() -> int:
        storage = await open_storage(url)
        try:
            gaps = await storage.kb_gaps(limit)
        finally:
            await storage.close()
        if getattr(args, "json", False):
            rows = [{"question": g.question, "kind": g.kind, "count": g.count} for g in gaps]
            out.write(json.dumps(rows, ensure_ascii=False) + "\n")
            return 0
        if not gaps:
            out.write(text("gaps_empty") + "\n")
            return 0
        out.write(text("gaps_title") + "\n")
        for gap in gaps:
            label = text("gaps_kind_unhelpful" if gap.kind == "unhelpful" else "gaps_kind_unknown")
            out.write(f"{gap.count:>4}  {gap.question}  ({label})\n")
        return 0

    return run(read)

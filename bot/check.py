"""``coopbot check``: validate every piece of content before it reaches a user.

Flows, the message catalogue, the knowledge base, and the templates are loaded;
each flow with a summary is also run on a synthetic complete answer set through
its summariser and its chat and export templates, so a template that would fail
at the end of a real conversation fails here instead.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from jinja2 import TemplateError

from bot.cli_common import say
from bot.content import Content, summarisers
from bot.texts import TEXTS_FILE
from bot.workshop_routes import chat_messages
from flows.catalogue import Texts, load_texts
from flows.model import Flow, Step
from flows.registry import check_flows, load_flows
from flows.views import views_from_state
from flows.yamlsource import ContentError
from knowledge.base import check_knowledge, load_knowledge
from knowledge.territories import check_territories
from storage.records import Participation
from storage.reports.render import TEMPLATE_DIR, environment, has_template, render
from storage.reports.synthesis import (
    GroupLabels,
    WorkshopInfo,
    build_synthesis,
    render_synthesis,
)


def synthetic_answers(flow: Flow) -> dict[str, Any]:
    """A plausible complete answer set: first option, middle of scales, a short text."""
    answers: dict[str, Any] = {}
    for step in flow.steps:
        if not step.visible(answers):
            continue
        answers[step.id] = _sample(step)
    return answers


def _sample(step: Step) -> Any:
    match step.type:
        case "choice":
            return step.options[0].value
        case "multichoice":
            return [o.value for o in step.options[:2]]
        case "scale":
            return max(1, len(step.options) // 2)
        case "yesno":
            return True
        case "number":
            return step.min if step.min is not None else 1
    return "Texte d'exemple <b>&</b> **gras** =1+1"


def _check_templates(content: Content) -> list[str]:
    problems: list[str] = []
    env = environment()
    for path in sorted(TEMPLATE_DIR.rglob("*.j2")):
        name = path.relative_to(TEMPLATE_DIR).as_posix()
        try:
            env.get_template(name)
        except TemplateError as exc:
            line = getattr(exc, "lineno", 0) or 0
            problems.append(f"{path}, ligne {line} : {exc}")
    for flow in content.flows.values():
        if not flow.summary:
            continue
        answers = synthetic_answers(flow)
        try:
            summary = content.summarise(flow, answers, {})
        except Exception as exc:  # report, do not crash the check
            problems.append(f"{flow.path} : la synthèse « {flow.summary} » échoue ({exc!r}).")
            continue
        views = views_from_state(flow, answers, {})
        session = {"id": 0, "flow": flow.id, "title": flow.title, "status": "completed",
                   "started_at": "2026-01-01T00:00:00+00:00",
                   "updated_at": "2026-01-01T00:00:00+00:00", "answers": views,
                   "summary": summary}
        for name, context in (
            (f"chat/{flow.summary}.j2", {"flow": flow, "summary": summary, "answers": views}),
            (f"export/{flow.summary}.md.j2", {"flow": flow, "session": session}),
            (f"export/{flow.summary}.html.j2",
             {"flow": flow, "session": session, "chart_png_b64": None}),
            (f"alt/{flow.summary}.j2", {"data": summary, "title": ""}),
        ):
            if not has_template(name):
                continue
            try:
                render(name, **context)
            except Exception as exc:
                problems.append(f"{name} (parcours {flow.id}) : {exc!r}")
    return problems


def _check_workshop(content: Content) -> list[str]:
    """The workshop synthesis renders in every format."""
    problems: list[str] = []
    texts = content.texts.scoped("workshop")
    for flow in content.flows.values():
        if not flow.meta.get("workshop"):
            continue
        answers = synthetic_answers(flow)
        people = [Participation("completed", answers, {}), Participation("in_progress", {}, {})]
        info = WorkshopInfo("ABC-DEF-GHJ", "Atelier d'essai", "open", datetime.now(UTC))
        try:
            data = build_synthesis(info, flow, people, GroupLabels.from_texts(texts))
            for fmt in ("md", "html", "csv", "json"):
                render_synthesis(data, fmt, texts)
            chat_messages(data)
        except Exception as exc:
            problems.append(f"synthèse d'atelier du parcours {flow.id} : {exc!r}")
    return problems


def run_checks(verbose: bool = False) -> int:
    flow_problems = check_flows()
    problems: list[str] = [str(p) for p in flow_problems]
    texts: Texts | None = None
    try:
        texts = load_texts(TEXTS_FILE)
    except ContentError as exc:
        problems.append(str(exc))
    kb_problems = check_knowledge()
    problems.extend(str(p) for p in kb_problems)
    problems.extend(str(p) for p in check_territories())
    content: Content | None = None
    if texts is not None and not flow_problems:
        # Templates are checked even when an entry is wrong: every problem at once.
        knowledge = None if kb_problems else load_knowledge()
        content = Content(flows=load_flows(), texts=texts, knowledge=knowledge,
                          summarisers=summarisers(knowledge))
        problems.extend(_check_templates(content))
        problems.extend(_check_workshop(content))
    if problems:
        print(say("cli.check_problems", count=len(problems)), file=sys.stderr)
        for problem in problems:
            print(f"- {problem}", file=sys.stderr)
        return 1
    assert content is not None and texts is not None
    flows = content.flows
    entries = len(content.knowledge.entries) if content.knowledge else 0
    print(say("cli.check_ok", flows=len(flows), steps=sum(len(f.steps) for f in flows.values()),
              entries=entries, texts=len(texts.entries)))
    if verbose:
        for flow in flows.values():
            print(say("cli.check_flow_line", command=flow.command, title=flow.title,
                      steps=len(flow.steps)))
    return 0

"""Every HTML document Coopbot hands out passes axe-core at WCAG 2.1 AA, 0 violations.

Public bodies must publish accessible documents (RGAA). The documents are built by the
shipped code from realistic data: a completed session of each guided flow exported as
``/export html`` (one page per flow, one page with every flow and one with a session
still in progress), and a workshop synthesis with several actor categories and free
answers containing « < & > ». axe-core runs in the headless Chromium (tests/a11y_harness).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from bot.check import synthetic_answers
from bot.testing import shared_content
from bot.workshop_routes import charts
from flows.model import Flow
from storage.records import Answers, Participation, SessionRecord
from storage.reports.exports import build_export
from storage.reports.synthesis import (
    GroupLabels,
    WorkshopInfo,
    build_synthesis,
    render_synthesis,
)
from tests.a11y_harness import axe_check
from tests.test_note_render_chromium import CADRAGE
from tests.test_workshop_render import WORKSHOP_TEXTS, synthesis

pytestmark = [pytest.mark.chromium, pytest.mark.node]

TYPED = "Un budget < 5 000 € & des usagers > 200 : « on verra »"
UPDATED = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)


def flows_by_summary() -> dict[str, Flow]:
    return {f.summary: f for f in shared_content().flows.values() if f.summary}


def answers_for(flow: Flow) -> dict[str, Any]:
    """A complete, varied answer set: scales spread over their range (so summaries have
    brakes and levers, strong and weak articles), texts with characters to escape."""
    if flow.summary == "cadrage":
        return {**CADRAGE, "projet": "Réaménager la place du marché\n" + TYPED}
    answers = synthetic_answers(flow)
    for i, step in enumerate(s for s in flow.steps if s.id in answers):
        if step.type == "scale":
            answers[step.id] = 1 + i % len(step.options)
        elif step.type == "text":
            answers[step.id] = TYPED
    return answers


def record(flow: Flow, answers: dict[str, Any], status: str = "completed",
           number: int = 1) -> SessionRecord:
    comments = {next(iter(answers)): "Remarque <b>vérifiée</b> & validée"}
    summary = shared_content().summarise(flow, answers, comments)
    stored = {k: {"value": v, "at": UPDATED.isoformat(), **(
        {"comment": comments[k]} if k in comments else {})} for k, v in answers.items()}
    return SessionRecord(
        id=number, user_id=1, flow_id=flow.id, flow_version=flow.version, status=status,
        history=tuple(answers), selection=(), answers=Answers(stored), workshop_id=None,
        started_at=UPDATED, updated_at=UPDATED, summary=summary,
    )


def export_html(records: list[SessionRecord]) -> str:
    flows = {f.id: f for f in shared_content().flows.values()}
    return build_export(records, flows, "html", "alice").content.decode("utf-8")


def facteurs_workshop() -> str:
    """A workshop run on /facteurs: five roles, scales spread, comments to escape."""
    flow = shared_content().flows["facteurs"]
    scales = [s.id for s in flow.steps if s.type == "scale"]
    people = []
    for i, role in enumerate(["elu", "agent", "acteur_eco", "citoyen", "agent", "elu", "autre"]):
        answers: dict[str, Any] = {"role": role, "projet": f"Projet {i} : {TYPED}"}
        answers.update({step: 1 + (i + j) % 4 for j, step in enumerate(scales)})
        people.append(Participation("completed" if i % 3 else "in_progress", answers,
                                    {scales[0]: f"Avis {i} < & >"}))
    info = WorkshopInfo("AAA-BBB-CCC", "Atelier <facteurs> & co", "closed",
                        dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    data = build_synthesis(info, flow, people, GroupLabels.from_texts(WORKSHOP_TEXTS))
    page = render_synthesis(data, "html", WORKSHOP_TEXTS, charts(data, WORKSHOP_TEXTS))
    return page.content.decode("utf-8")


@lru_cache(maxsize=1)
def _documents() -> tuple[tuple[str, str], ...]:
    return tuple(documents_built().items())


def documents() -> dict[str, str]:
    """Each kind of HTML document, by name (built once per test run)."""
    return dict(_documents())


def documents_built() -> dict[str, str]:
    by_summary = flows_by_summary()
    pages: dict[str, str] = {}
    records = []
    for n, (name, flow) in enumerate(sorted(by_summary.items()), start=1):
        one = record(flow, answers_for(flow), number=n)
        records.append(one)
        pages[f"export {name}"] = export_html([one])
    pages["export de tous les parcours"] = export_html(records)
    cadrage = by_summary["cadrage"]
    half = dict(list(answers_for(cadrage).items())[:5])
    pages["export d'un cadrage en cours"] = export_html(
        [record(cadrage, half, status="in_progress")])
    pages["export sans session"] = export_html([])
    data = synthesis(f"Atelier « Crest » {TYPED}")
    page = render_synthesis(data, "html", WORKSHOP_TEXTS, charts(data, WORKSHOP_TEXTS))
    pages["synthèse d'atelier"] = page.content.decode("utf-8")
    invite = render_synthesis(data, "html", WORKSHOP_TEXTS, (),
                              join_link="https://t.me/coopbot_test_bot?start=atelier_J3W4D3RHD")
    pages["synthèse d'atelier ouvert, avec son lien et son QR code"] = (
        invite.content.decode("utf-8"))
    pages["synthèse d'un atelier /facteurs"] = facteurs_workshop()
    return pages


@pytest.mark.parametrize("width", [1000, 320], ids=["computer", "phone"])
def test_every_html_document_has_no_wcag_21_aa_violation(tmp_path: Path, width: int) -> None:
    pages = documents()
    assert TYPED not in "".join(pages.values())                 # typed text stays escaped
    reports = axe_check(pages, tmp_path, width)
    assert set(reports) == set(pages)
    for report in reports.values():
        print(f"{report.name} ({width} px): axe-core {report.axe_version}, {report.rules} "
              f"WCAG 2.1 A/AA rules checked, {report.passes} passed, "
              f"{len(report.violations)} violations, "
              f"{len(report.incomplete)} undecided; {report.best_practice_rules} best "
              f"practices, {len(report.best_practice_violations)} violations")
        assert report.rules > 50
    failing = [r.explain() for r in reports.values() if r.violations]
    assert not failing, "\n\n".join(failing)
    undecided = [f"{r.name}: {[v['id'] for v in r.incomplete]}" for r in reports.values()
                 if r.incomplete]
    assert not undecided, undecided          # e.g. a contrast axe could not compute
    practices = [r.explain(best_practice=True) for r in reports.values()
                 if r.best_practice_violations]
    assert not practices, "\n\n".join(practices)   # one main landmark, heading order…


def test_axe_does_find_violations_on_a_broken_page(tmp_path: Path) -> None:
    """The harness is not blind: a page without lang, with a nameless image and pale
    text has violations."""
    broken = ('<!DOCTYPE html><html><head><title>x</title></head><body>'
              '<img src="data:image/png;base64,iVBORw0KGgo="><p style="color:#bbb">pâle</p>'
              '</body></html>')
    [report] = axe_check({"cassée": broken}, tmp_path).values()
    assert {"html-has-lang", "image-alt", "color-contrast"} <= {v["id"] for v in report.violations}


def test_missing_packages_skip_with_the_fix_and_fail_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without ``npm ci`` in tests/a11y the check is skipped, saying what to run; under
    CI=true it fails, since CI must prove the documents accessible."""
    from tests import a11y_harness

    monkeypatch.setattr(a11y_harness, "A11Y_DIR", tmp_path)
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="npm ci"):
        a11y_harness.needs_axe()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must check"):
        a11y_harness.needs_axe()

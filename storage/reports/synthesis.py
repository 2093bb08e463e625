"""A workshop's synthesis: what the room answered, aggregated, with nobody's name.

``build_synthesis`` turns the participants' answers into a ``WorkshopSynthesis``
(``storage/reports/synthesis_model.py``), read by every format and by the charts:

- ``participants`` and ``categories`` (actor category → count, in the order of the
  category question's options; ``non_precise`` for people who have not said yet),
  categories of fewer than ``MIN_GROUP`` people merged as ``storage.reports.anonymity``
  says, here and in every other per-category part;
- ``questions``: the distribution of each answer (count and share of those who
  answered), the mean of scales and numbers, the texts written for open questions;
- ``factors``: per family, the mean rating overall and per category, when the
  questionnaire includes factor questions (scale steps with ``meta.family``);
- ``expectations`` and ``obstacles``: verbatim texts;
- ``agora``: per category, what it asks of the others and what it would commit to.

Which question is which comes from the flow's ``meta.workshop`` (see
``flows/definitions/atelier.yaml``); a flow without it (``facteurs``) still works:
its ``role`` question gives the category. Texts are sorted alphabetically, never in
the order people answered, so that their order says nothing about who wrote them.
Means and shares are rounded half up by ``flows.numbers``, as in the facteurs summary.
Everything participants typed stays raw here and is escaped by each renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flows.model import Flow, Step
from flows.numbers import mean, percent, rounded
from flows.views import display_value
from storage.protocols import WorkshopStore
from storage.records import Participation, WorkshopRecord
from storage.reports.anonymity import (
    EVERYONE,
    MIN_GROUP,
    OTHERS,
    Grouping,
    GroupLabels,
    group_categories,
)
from storage.reports.synthesis_files import (
    FORMATS,
    SynthesisDocument,
    render_synthesis,
    synthesis_csv,
)
from storage.reports.synthesis_model import (
    AgoraGroup,
    CategoryCount,
    CategoryLabel,
    FactorItem,
    FactorSummary,
    FamilyScore,
    QuestionSummary,
    Share,
    WorkshopSynthesis,
)
from storage.workshop_codes import display_code

__all__ = ["FORMATS", "MIN_GROUP", "UNKNOWN", "GroupLabels", "SynthesisDocument",
           "WorkshopInfo", "build_synthesis", "category_step", "render_synthesis",
           "synthesis_csv", "workshop_synthesis"]

UNKNOWN = "non_precise"


def _texts(values: Iterable[Any]) -> tuple[str, ...]:
    """Non-empty texts, sorted so that their order reveals nothing."""
    found = [" ".join(str(v).split()) for v in values if isinstance(v, str) and v.strip()]
    return tuple(sorted(found, key=lambda t: (t.casefold(), t)))


def category_step(flow: Flow) -> Step | None:
    wanted = (flow.meta.get("workshop") or {}).get("category_step")
    for step_id in ([wanted] if wanted else []) + ["categorie", "role"]:
        step = flow.step(str(step_id))
        if step is not None and step.type == "choice":
            return step
    return None


@dataclass(frozen=True, slots=True)
class WorkshopInfo:
    code: str
    title: str
    status: str
    created_at: datetime
    closes_at: datetime | None = None


def build_synthesis(info: WorkshopInfo, flow: Flow, people: Sequence[Participation],
                    names: GroupLabels) -> WorkshopSynthesis:
    """Every per-category part shows only the groups ``storage.reports.anonymity``
    allows (at least ``MIN_GROUP`` people each, small categories merged)."""
    cat_step = category_step(flow)
    categories = [(o.value, o.label) for o in cat_step.options] if cat_step else []

    def category_of(p: Participation) -> str:
        value = p.answers.get(cat_step.id) if cat_step else None
        return str(value) if value in {c for c, _ in categories} else UNKNOWN

    counts: dict[str, int] = {}
    for person in people:
        key = category_of(person)
        counts[key] = counts.get(key, 0) + 1
    labels = dict(categories) | {UNKNOWN: names.unknown}
    order = [c for c, _ in categories] + [UNKNOWN]
    present = [c for c in order if counts.get(c)]
    room = group_categories([(c, labels[c], counts[c]) for c in present], names.others)

    roles = flow.meta.get("workshop") or {}
    asks_step, commits_step = roles.get("asks"), roles.get("commits")
    special = {*(roles.get("expectations") or []), *(roles.get("obstacles") or []),
               asks_step, commits_step}

    def agora(group_id: str, label: str, group: list[Participation]) -> AgoraGroup:
        return AgoraGroup(group_id, label, len(group),
                          _texts(p.answers.get(asks_step) for p in group) if asks_step else (),
                          _texts(p.answers.get(commits_step) for p in group)
                          if commits_step else ())

    agora_groups = [agora(g.id, g.label, [p for p in people if category_of(p) in g.members])
                    for g in room.groups]
    if people and not room.groups:  # no breakdown: everyone's texts together
        agora_groups = [agora(EVERYONE, names.everyone, list(people))]

    return WorkshopSynthesis(
        code=info.code,
        title=info.title,
        flow=flow.id,
        flow_title=flow.title,
        status=info.status,
        created_at=info.created_at.isoformat(),
        closes_at=info.closes_at.isoformat() if info.closes_at else None,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        participants=len(people),
        completed=sum(1 for p in people if p.status == "completed"),
        categories=tuple(CategoryCount(g.id, g.label, g.count) for g in room.groups),
        questions=tuple(_question(step, people, verbatim_only=step.id in special,
                                  others=names.others if step is cat_step else None,
                                  breakdown=bool(room.groups))
                        for step in flow.steps),
        factors=_factors(flow, people, present, labels, names.others, category_of),
        expectations=_texts(p.answers.get(s) for p in people
                            for s in roles.get("expectations") or []),
        obstacles=_texts(p.answers.get(s) for p in people
                         for s in roles.get("obstacles") or []),
        agora=tuple(agora_groups) if (asks_step or commits_step) else (),
    )


def _question(step: Step, people: Sequence[Participation], verbatim_only: bool,
              others: str | None = None, breakdown: bool = True) -> QuestionSummary:
    """``others``: the merged group's label, given for the category question only, whose
    answers are grouped too (none shown when the participants part has no breakdown)."""
    values = [p.answers[step.id] for p in people if step.id in p.answers]
    distribution: tuple[Share, ...] | None = None
    if others is not None and values:
        distribution = _category_shares(step, values, others) if breakdown else ()
    elif step.type in ("choice", "multichoice", "scale"):
        tally: dict[str, int] = {o.value: 0 for o in step.options}
        for value in values:
            chosen = value if isinstance(value, list) else [value]
            for v in chosen:
                tally[str(v)] = tally.get(str(v), 0) + 1
        distribution = tuple(Share(v, _option_label(step, v), n, percent(n, len(values)))
                             for v, n in tally.items())
    elif step.type == "yesno":
        yes = sum(1 for v in values if v is True)
        no = len(values) - yes
        distribution = (Share(True, display_value(step, True), yes, percent(yes, len(values))),
                        Share(False, display_value(step, False), no, percent(no, len(values))))
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return QuestionSummary(
        step=step.id, ask=step.ask, section=step.section, type=step.type,
        answered=len(values), distribution=distribution,
        mean=rounded(mean(numbers)) if step.type in ("scale", "number") else None,
        values=tuple(sorted(v for v in values if isinstance(v, int | float)))
        if step.type == "number" else None,
        texts=(() if verbatim_only else _texts(values)) if step.type == "text" else None,
        verbatim_elsewhere=step.type == "text" and verbatim_only,
        comments=_texts(p.comments.get(step.id) for p in people),
    )


def _category_shares(step: Step, values: list[Any], others: str) -> tuple[Share, ...]:
    """The category question's answers, grouped as the participants part is: options
    nobody chose stay listed (they describe nobody); none when there is no breakdown."""
    tally = {o.value: 0 for o in step.options}
    for value in values:
        if str(value) in tally:
            tally[str(value)] += 1
    grouping = group_categories([(o.value, o.label, tally[o.value]) for o in step.options],
                                others)
    if not grouping.groups:
        return ()
    merged = {c for g in grouping.groups if g.id == OTHERS for c in g.members}
    shares = [Share(o.value, o.label, tally[o.value], percent(tally[o.value], len(values)))
              for o in step.options if o.value not in merged]
    shares += [Share(g.id, g.label, g.count, percent(g.count, len(values)))
               for g in grouping.groups if g.id == OTHERS]
    return tuple(shares)


def _option_label(step: Step, value: str) -> str:
    if step.type == "scale":
        return step.options[int(value) - 1].label if value.isdigit() and (
            1 <= int(value) <= len(step.options)) else value
    option = step.option(value)
    return option.label if option else value


def _factors(flow: Flow, people: Sequence[Participation], present: list[str],
             labels: dict[str, str], others: str,
             category_of: Callable[[Participation], str]) -> FactorSummary | None:
    """Groups are formed from the people who rated factors, and a group's family mean
    is left out (None) when fewer than ``MIN_GROUP`` of its people rated that family
    (a questionnaire may let them skip one)."""
    factors = [s for s in flow.steps if s.type == "scale" and s.meta.get("family")]
    if not factors:
        return None
    declared = [f for f in flow.meta.get("families") or [] if isinstance(f, dict) and f.get("id")]
    families = [(str(f["id"]), str(f.get("label") or f["id"]), str(f.get("short") or f["id"]))
                for f in declared]
    for step in factors:
        if step.meta["family"] not in {f[0] for f in families}:
            families.append((str(step.meta["family"]), step.section, step.section))

    def ratings(group: Iterable[Participation], steps: Iterable[Step]) -> list[int]:
        steps = list(steps)
        return [v for p in group for s in steps
                if isinstance(v := p.answers.get(s.id), int) and not isinstance(v, bool)
                and 1 <= v <= len(s.options)]

    raters = [p for p in people if ratings([p], factors)]
    grouping: Grouping = group_categories(
        [(c, labels[c], sum(1 for p in raters if category_of(p) == c)) for c in present],
        others)
    if len(grouping.groups) == 1:  # one group is all raters: the overall column again
        grouping = Grouping(())
    members = {g.id: [p for p in raters if category_of(p) in g.members]
               for g in grouping.groups}

    def group_mean(group: list[Participation], steps: list[Step]) -> float | None:
        if sum(1 for p in group if ratings([p], steps)) < MIN_GROUP:
            return None
        return rounded(mean(ratings(group, steps)))

    rows = []
    for fid, label, short in families:
        mine = [s for s in factors if s.meta["family"] == fid]
        if not mine:
            continue
        overall = ratings(people, mine)
        rows.append(FamilyScore(
            fid, label, short, rounded(mean(overall)), len(overall),
            {g.id: group_mean(members[g.id], mine) for g in grouping.groups}))
    items = []
    for step in factors:
        rated = ratings(people, [step])
        items.append(FactorItem(step.id, str(step.meta.get("factor") or step.id),
                                step.meta["family"], rounded(mean(rated)), len(rated)))
    return FactorSummary(
        scale=tuple(o.label for o in factors[0].options),
        scale_max=len(factors[0].options),
        families=tuple(rows),
        items=tuple(items),
        overall=rounded(mean(ratings(people, factors))),
        respondents=len(raters),
        categories=tuple(CategoryLabel(g.id, g.label) for g in grouping.groups),
    )


def workshop_synthesis(store: WorkshopStore, workshop: WorkshopRecord,
                       flows: Mapping[str, Flow], names: GroupLabels) -> (
    WorkshopSynthesis | None
):
    """The synthesis of a workshop (the caller has checked the right to read it)."""
    flow = flows.get(workshop.flow_id)
    if flow is None:
        return None
    info = WorkshopInfo(display_code(workshop.code), workshop.title, workshop.status,
                        workshop.created_at, workshop.closes_at)
    return build_synthesis(info, flow, store.participations(workshop.id), names)

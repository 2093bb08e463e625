"""Nobody is singled out by a synthesis « per category », in any format.

The room of the issue: 1 élu, 2 agents, 5 ESS actors. With one élu in the room a
per-category figure for élus *is* that élu, so élus and agents must show only as
« Autres catégories » (3 people), in the chat reply, the Markdown, HTML, CSV and JSON
files and the category chart. Each export is parsed; the expected groups are written
here by hand from the rule (at least 3 people per figure), not from the code.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.texts import texts
from bot.workshop_routes import charts
from flows.registry import load_flows
from storage.records import Participation
from storage.reports.anonymity import MIN_GROUP, group_categories
from storage.reports.charts.atelier import category_chart
from storage.reports.synthesis import (
    GroupLabels,
    WorkshopInfo,
    build_synthesis,
    render_synthesis,
)
from storage.reports.synthesis_model import CategoryCount, WorkshopSynthesis
from tests.test_workshop_helpers import ANSWERS, FACTORS, run_workshop

TEXTS = texts().scoped("workshop")
LABELS = GroupLabels.from_texts(TEXTS)
ELU, AGENT = "Élu ou élue", "Agent d'une collectivité"
ESS = "Acteur socio-économique ou de l'économie sociale et solidaire (ESS)"
OTHERS = "Autres catégories"
TOO_FEW = "Trop peu de participants par catégorie pour les distinguer"

# 1 élu, 2 agents, 5 ESS actors, all of whom rate the factors.
PEOPLE = (ANSWERS[0], ANSWERS[3], ANSWERS[4], ANSWERS[7], ANSWERS[8], ANSWERS[9],
          replace(ANSWERS[7], name="ess4", asks="Un guichet unique"),
          replace(ANSWERS[8], name="ess5", commits="Accueillir un stagiaire"))


def people(categories: list[str], rated: bool = True) -> list[Participation]:
    """Hand-made participations: one per category given, with distinct texts."""
    out = []
    for i, category in enumerate(categories):
        answers: dict[str, Any] = {"categorie": category, "relation": "prestation",
                                   "demandes": f"demande {i}", "engagements": f"engagement {i}",
                                   "facteurs_ok": rated}
        if rated:
            answers.update({s: 1 + (i + j) % 4 for j, s in enumerate(FACTORS)})
        out.append(Participation("completed", answers, {}))
    return out


def synthesis(participations: list[Participation]) -> WorkshopSynthesis:
    info = WorkshopInfo("K7Q-M3X-PW9", "Atelier", "open", datetime(2026, 3, 1, tzinfo=UTC))
    return build_synthesis(info, load_flows()["preatelier"], participations, LABELS)


def documents(data: WorkshopSynthesis) -> dict[str, str]:
    found = {fmt: render_synthesis(data, fmt, TEXTS).content.decode("utf-8-sig")
             for fmt in ("md", "csv", "json")}
    page = render_synthesis(data, "html", TEXTS, charts(data, TEXTS)).content.decode()
    found["html"] = html.unescape(page)  # so that « d'une » is searched as written
    return found


def groups_in_every_format(data: WorkshopSynthesis) -> dict[str, dict[str, int]]:
    """Group label → participants, as each format shows it (parsed, not searched)."""
    docs = documents(data)
    parsed = json.loads(docs["json"])
    labels = {c["id"]: c["label"] for c in parsed["categories"]}
    md = dict(re.findall(r"^\| ([^|*]+?) \| (\d+) \|$", docs["md"].split("## ", 2)[1], re.M))
    rows_html = dict(re.findall(r"<tr><td>([^<]+)</td><td class=\"n\">(\d+)</td>\s*<td style",
                                docs["html"]))
    rows = list(csv.reader(io.StringIO(docs["csv"])))
    by_csv = {r[2]: int(r[4]) for r in rows if r[0] == TEXTS("csv.by_category")}
    return {"json": {labels[k]: v for k, v in parsed["by_category"].items()},
            "md": {k: int(v) for k, v in md.items()},
            "html": {k: int(v) for k, v in rows_html.items()},
            "csv": by_csv}


async def test_one_elu_and_two_agents_show_only_as_three_others(assistant):
    workshop = await run_workshop(assistant, PEOPLE)
    replies = await workshop.facilitator.say(f"/synthese {workshop.code}")
    chat = "\n".join(r.text for r in replies if r.text)
    assert f"{OTHERS} : 3" in chat and "5" in chat.split(ESS)[1].split("\n")[0]
    assert ELU not in chat and AGENT not in chat

    pages: dict[str, str] = {}
    for fmt in ("md", "html", "csv", "json"):
        [file] = [r.file for r in await workshop.facilitator.say(
            f"/synthese {workshop.code} {fmt}") if r.file]
        pages[fmt] = html.unescape(file.content.decode("utf-8-sig")) if fmt == "html" else (
            file.content.decode("utf-8-sig"))
    for fmt, page in pages.items():
        assert ELU not in page and AGENT not in page, fmt  # not a label, not a column
        assert OTHERS in page, fmt

    data = json.loads(pages["json"])
    assert data["by_category"] == {"acteur_eco": 5, "autres_categories": 3}
    [category_question] = [q for q in data["questions"] if q["step"] == "categorie"]
    shares = {d["value"]: d["count"] for d in category_question["distribution"]}
    assert "elu" not in shares and "agent" not in shares
    assert shares["autres_categories"] == 3 and shares["acteur_eco"] == 5
    assert [c["id"] for c in data["factors"]["categories"]] == ["acteur_eco",
                                                                 "autres_categories"]
    for family in data["factors"]["families"]:
        assert set(family["by_category"]) == {"acteur_eco", "autres_categories"}
    agora = {g["category"]: g for g in data["agora"]}
    assert list(agora) == ["acteur_eco", "autres_categories"]
    assert agora["autres_categories"]["count"] == 3
    assert sorted(agora["autres_categories"]["asks"]) == sorted(p.asks for p in PEOPLE[:3])

    rows = list(csv.reader(io.StringIO(pages["csv"])))
    assert {r[2] for r in rows} <= {"", TEXTS("csv.category"), TEXTS("csv.all"), ESS, OTHERS}
    assert [r[4] for r in rows if r[0] == TEXTS("csv.by_category")] == ["5", "3"]
    md_table = re.findall(r"^\| ([^|]+) \| (\d+) \|$", pages["md"], re.M)
    assert (OTHERS, "3") in md_table and (ESS, "5") in md_table
    assert re.search(rf"<td>{OTHERS}</td><td class=\"n\">3</td>", pages["html"])


def test_the_category_chart_draws_the_merged_groups():
    data = synthesis(people(["elu", "agent", "agent", *["acteur_eco"] * 5]))
    title = TEXTS("synthesis.chart_categories")
    drawn = {kind: png for kind, _, png in charts(data, TEXTS)}
    merged = category_chart([CategoryCount("acteur_eco", ESS, 5),
                             CategoryCount("autres_categories", OTHERS, 3)], title)
    leaking = category_chart([CategoryCount("elu", ELU, 1), CategoryCount("agent", AGENT, 2),
                              CategoryCount("acteur_eco", ESS, 5)], title)
    assert drawn["categories"] == merged != leaking
    assert groups_in_every_format(data) == {fmt: {ESS: 5, OTHERS: 3}
                                            for fmt in ("json", "md", "html", "csv")}


def test_a_room_of_groups_of_three_or_more_is_shown_as_it_is():
    data = synthesis(people(["elu"] * 3 + ["agent"] * 3 + ["acteur_eco"] * 4))
    expected = {ELU: 3, AGENT: 3, ESS: 4}  # exactly 3 is enough
    assert groups_in_every_format(data) == {fmt: expected
                                            for fmt in ("json", "md", "html", "csv")}
    parsed = json.loads(documents(data)["json"])
    assert [c["id"] for c in parsed["factors"]["categories"]] == ["elu", "agent", "acteur_eco"]
    assert all(v is not None for f in parsed["factors"]["families"]
               for v in f["by_category"].values())
    assert [g["category"] for g in parsed["agora"]] == ["elu", "agent", "acteur_eco"]
    docs = documents(data)
    assert "autres_categories" not in docs["json"] and f"| {OTHERS} |" not in docs["md"]
    assert f"<td>{OTHERS}</td>" not in docs["html"] and f",{OTHERS}," not in docs["csv"]
    assert all(TOO_FEW not in page for page in docs.values())


def test_others_under_three_take_in_the_smallest_category():
    # 2 élus alone as « Autres » would be the two of them: the 3 agents join them.
    data = synthesis(people(["elu"] * 2 + ["agent"] * 3 + ["acteur_eco"] * 4))
    assert data.by_category == {"acteur_eco": 4, "autres_categories": 5}
    assert groups_in_every_format(data)["md"] == {ESS: 4, OTHERS: 5}


def test_everyone_in_small_categories_gets_no_breakdown_but_keeps_their_texts():
    data = synthesis(people(["elu", "agent", "citoyen"]))
    docs = documents(data)
    parsed = json.loads(docs["json"])
    assert parsed["participants"] == 3 and parsed["by_category"] == {}
    assert parsed["factors"]["categories"] == []
    assert all(f["by_category"] == {} for f in parsed["factors"]["families"])
    [category_question] = [q for q in parsed["questions"] if q["step"] == "categorie"]
    assert category_question["answered"] == 3 and category_question["distribution"] == []
    [everyone] = parsed["agora"]
    assert everyone["label"] == LABELS.everyone and everyone["count"] == 3
    assert everyone["asks"] == ["demande 0", "demande 1", "demande 2"]
    for fmt in ("md", "html"):
        assert TOO_FEW in docs[fmt]
    for page in docs.values():
        assert ELU not in page and AGENT not in page and "Citoyen ou citoyenne" not in page
    assert groups_in_every_format(data) == {fmt: {} for fmt in ("json", "md", "html", "csv")}
    assert "categories" not in {kind for kind, _, _ in charts(data, TEXTS)}


def test_a_group_mean_of_fewer_than_three_ratings_is_left_out():
    crowd = people(["acteur_eco"] * 3 + ["agent"] * 3)
    del crowd[0].answers["valeur"]  # one ESS actor skipped the « individuels » factor
    data = synthesis(crowd)
    individuels = next(f for f in data.factors.families if f.id == "individuels")
    assert individuels.by_category["acteur_eco"] is None
    assert individuels.by_category["agent"] is not None and individuels.ratings == 5


def test_the_grouping_rule():
    def shown(*counts: int) -> list[tuple[str, int]]:
        names = [f"c{i}" for i in range(len(counts))]
        grouping = group_categories([(n, n, c) for n, c in zip(names, counts, strict=True)],
                                    "autres")
        return [(g.id, g.count) for g in grouping.groups]

    assert MIN_GROUP == 3
    assert shown(3, 4, 5) == [("c0", 3), ("c1", 4), ("c2", 5)]
    assert shown(1, 2, 5) == [("c2", 5), ("autres_categories", 3)]
    assert shown(2, 0, 5, 4) == [("c2", 5), ("autres_categories", 6)]  # 4 joins the 2
    assert shown(3, 2, 3) == [("c0", 3), ("autres_categories", 5)]  # a tie: the last goes
    assert shown(1, 1) == [] and shown(1, 1, 1) == [] and shown(2, 3) == []
    assert shown(0, 0) == [] and shown(7) == [("c0", 7)]

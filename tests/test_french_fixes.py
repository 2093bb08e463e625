"""Small French fixes a native reader noticed: agreement, lists, doublets, English.

Each test states what a reader would see: « les EPCI (établissement public…) » with a
singular, « a, b, c » without « et », « élu(e) » here and « élu ou élue » there, an
English question answered as if it were French, an example that does not fit its scale.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.testing import ConsoleUser, memory_assistant, shared_content
from flows.views import display_value, french_list, join_labels
from knowledge.advisor import name_in_sentence
from knowledge.glossary import spell_out
from knowledge.language import looks_english
from storage.reports.render import render

ENGLISH = [
    "What is a SCIC?",
    "How do I create a cooperative?",
    "Who can help my association?",
    "What is the difference between SCOP and SCIC?",
    "Can a city hold shares in a company?",
    "where is the CRESS office",
    "I need help with funding for my project",
    "what does DLA mean",
    "Is there a grant for social enterprises?",
    "how to start a non-profit in France",
]
FRENCH = [
    "c koi le DLA",
    "jveux créer une asso",
    "qui contacter pour un DLA",
    "c'est quoi une SCIC",
    "comment créer une SCOP ?",
    "c'est quoi le crowdfunding",
    "un fonds de dotation peut-il recevoir des subventions",
    "loi 2000-321 article 10",
    "mon asso a des difficultés financières",
    "comment faire un budget participatif",
    "ESS France c'est qui",
    "qui peut m'aider pour le DLA",
    "help svp je veux créer une asso",
    "la SEM ou la SPL ?",
    "Territoires zéro chômeur de longue durée",
    "c koi la diff entre scop et scic",
    "on peut avoir une subvention pour un local ?",
    "le marché public sans publicité c'est combien",
    "est-ce que la commune peut être associée d'une SCIC",
    "quelle différence entre une régie et une SPL, in fine ?",
]


@pytest.mark.parametrize("question", ENGLISH)
def test_english_questions_are_recognised(question: str) -> None:
    assert looks_english(question)


@pytest.mark.parametrize("question", FRENCH)
def test_french_questions_including_familiar_spelling_are_not(question: str) -> None:
    assert not looks_english(question)


async def test_an_english_question_gets_a_french_note_then_the_usual_answer() -> None:
    person = ConsoleUser(memory_assistant(), "sam")
    replies = await person.say("What is a SCIC?")
    assert "Coopbot répond en français" in replies[0].text
    assert len(replies) >= 2 and "Coopbot répond en français" not in replies[1].text
    french = await person.say("c koi une SCIC")
    assert all("Coopbot répond en français" not in r.text for r in french)


def test_acronyms_are_spelled_out_in_agreement_with_their_article() -> None:
    assert "les EPCI (établissements publics de coopération intercommunale)" in spell_out(
        "Avec les communes, les EPCI à fiscalité propre.")
    assert "des SCIC (sociétés coopératives d'intérêt collectif)" in spell_out(
        "Elle accompagne des SCIC.")
    assert "une SCIC (société coopérative d'intérêt collectif)" in spell_out(
        "Créer une SCIC.")


def test_acronyms_inside_a_name_are_not_spelled_out_there() -> None:
    text = spell_out("La loi ESS de 2014 reconnaît l'ESS.")
    assert "loi ESS de 2014" in text and "l'ESS (économie sociale et solidaire)" in text
    bold = spell_out("L'**union régionale des SCOP et des SCIC (URSCOP)** accompagne.")
    assert "**union régionale des SCOP et des SCIC (URSCOP)**" in bold


def test_every_recommended_form_is_named_with_an_agreeing_article() -> None:
    kb = shared_content().knowledge
    assert kb is not None
    forms = [entry for entry in kb.entries if entry.id.startswith("forme/")]
    assert forms
    for entry in forms:
        name = name_in_sentence(entry.id)
        assert name, entry.id
        assert re.match(r"(un|une|l') ?\S", name), name
        assert not re.search(r" [A-Z][a-z]", name), name  # no capital mid-sentence
    assert name_in_sentence("forme/gip") == "un GIP"
    assert name_in_sentence("forme/fonds-de-dotation") == "un fonds de dotation"


def test_lists_read_as_french_lists() -> None:
    assert french_list(["a", "b", "c"]) == "a, b et c"
    assert french_list(["a", "b"], "ou") == "a ou b"
    assert join_labels(["Élus", "Agents des collectivités", "ESS France"]) == (
        "Élus, agents des collectivités et ESS France")
    flow = shared_content().flows["cadrage"]
    multi = next(step for step in flow.steps if step.type == "multichoice")
    values = [o.value for o in multi.options[:3]]
    shown = display_value(multi, values)
    assert shown.count(",") == 1 and " et " in shown
    assert display_value(None, ["x", "y", "z"]) == "x, y et z"


def test_facteurs_strengths_are_one_french_list_without_capitals_inside() -> None:
    flow = shared_content().flows["facteurs"]
    factors = [s for s in flow.steps if s.type == "scale"]
    answers = {s.id: 4 for s in factors}
    summary = shared_content().summarise(flow, answers, {})
    chat = render("chat/facteurs.j2", flow=flow, summary=summary, answers=[])
    line = next(ln for ln in chat.splitlines() if ln.startswith("- Levier fort"))
    items = line.split(" : ", 1)[1]
    assert items.count(" et ") >= 1 and not re.search(r", [A-Z][a-z]", items), line


CONTENT_FILES = sorted(
    [*Path("flows/definitions").glob("*.yaml"), Path("bot/texts.fr.yaml"),
     *Path("knowledge").rglob("*.yaml"), *Path("storage/reports/templates").rglob("*.j2")]
)
OTHER_DOUBLETS = re.compile(
    r"\w\((?:e|es|ne|nes|le|les|trice|trices|euse|euses)\)"  # élu(e), citoyen(ne)
    r"|\w·\w"  # élu·e
    r"|\b(?:élu|agent|habitant|citoyen|salarié|bénévole|adhérent|usager|associé|"
    r"participant|président|directeur)s?\.e"  # élu.e
    r"|\b(?:ils?|elles?)/(?:ils?|elles?)\b"  # ils/elles
    r"|\b\w+-e-s?\b",  # élu-e-s
    re.IGNORECASE,
)


def test_inclusive_doublets_are_written_one_way_everywhere() -> None:
    """« élu ou élue », « ils ou elles »: never the other spellings."""
    found = [
        f"{path}:{number}: {match.group(0)}"
        for path in CONTENT_FILES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for match in OTHER_DOUBLETS.finditer(line)
    ]
    assert not found, found
    assert OTHER_DOUBLETS.search("un élu(e)") and OTHER_DOUBLETS.search("ils/elles")
    assert OTHER_DOUBLETS.search("les élu·es") and not OTHER_DOUBLETS.search("élu ou élue")


def test_each_comment_hint_has_an_example_that_fits_its_scale() -> None:
    from bot.presenter import _static_text  # the hint exactly as shown under a question

    texts = shared_content().texts
    for flow in shared_content().flows.values():
        for index, step in enumerate(flow.steps):
            if step.type not in ("choice", "scale") or not step.comment:
                continue
            hint = _static_text(flow, index, texts)
            example = re.search(r"« (\d+) ([^»]+) »", hint)
            assert example, (flow.id, step.id, hint)
            number = int(example.group(1))
            assert 1 <= number <= len(step.options), (flow.id, step.id, hint)
            labels = {o.label for o in step.options}
            if "Frein fort" not in labels:
                assert "contacts" not in example.group(2), (flow.id, hint)

"""Free questions typed the way agents type: the right entry, « vouliez-vous dire… »
when two are close, and an honest « je ne sais pas » outside the base."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.base import CONTENT_DIR, load_knowledge
from knowledge.normalise import Normaliser, simplify, stem


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("une commune peut elle entrer dans une scic", "forme/scic"),
        ("qui contacter pour un DLA", "dispositif/dla"),
        ("Une commune peut-elle entrer dans une SCIC ?", "forme/scic"),
        ("societe cooperative d'interet colectif", "forme/scic"),
        ("aap ou ao", "dispositif/appel-a-projets"),
        ("l'interco peut elle aider un ptce", "contact/intercommunalite"),
        ("subventionner une asso au dela de 23000 euros", "dispositif/subvention"),
        ("echelle d'arnstein", "outil/echelle-arnstein"),
        ("fond de dotation", "forme/fonds-de-dotation"),
        ("qui contacter pour creer une scop", "contact/urscop"),
    ],
)
def test_questions_find_their_entry(kb, question: str, expected: str) -> None:
    result = kb.ask(question)
    assert result.status in ("answer", "ambiguous")
    assert result.answers[0].entry.id == expected


def test_asso_or_coop_offers_both_forms(kb) -> None:
    result = kb.ask("asso ou coop pour une recyclerie ?")
    ids = [a.entry.id for a in result.answers] + [e.id for e in result.suggestions]
    assert ids[0] in ("forme/association", "forme/scic")
    assert "forme/scic" in ids


@pytest.mark.parametrize(
    "question",
    [
        "meteo demain a lyon",
        "recette de la tarte aux pommes",
        "comment poser un jour de conge",
        "qui a gagne l'eurovision",
        "",
        "???",
    ],
)
def test_out_of_scope_gets_no_answer(kb, question: str) -> None:
    result = kb.ask(question)
    assert result.status == "unknown"
    assert result.answers == []


def test_answers_are_best_first_and_bounded_by_top(kb) -> None:
    result = kb.ask("scic scop cae", top=2)
    assert 1 <= len(result.answers) <= 2
    scores = [a.score for a in result.answers]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_same_answer_with_or_without_accents_and_case(kb) -> None:
    a = kb.ask("Coopérative d'activité et d'emploi")
    b = kb.ask("cooperative d activite et d emploi")
    assert a.answers[0].entry.id == b.answers[0].entry.id == "forme/cae"


def test_two_close_entries_make_an_ambiguous_result(tmp_path: Path) -> None:
    for name in ("_lexique.yaml", "_domains.yaml"):
        shutil.copy(CONTENT_DIR / name, tmp_path / name)
    (tmp_path / "f.yaml").write_text(
        """\
- id: contact/nord
  kind: contact
  title: Réseau du Nord
  keywords: [reseau regional]
  questions: [qui contacter au reseau regional, reseau regional contact]
  answer: Le réseau du Nord.
  sources: [s]
- id: contact/sud
  kind: contact
  title: Réseau du Sud
  keywords: [reseau regional]
  questions: [qui contacter au reseau regional, reseau regional contact]
  answer: Le réseau du Sud.
  sources: [s]
""",
        encoding="utf-8",
    )
    result = load_knowledge(tmp_path).ask("reseau regional")
    assert result.status == "ambiguous"
    assert {a.entry.id for a in result.answers} == {"contact/nord", "contact/sud"}


def test_normalisation_of_french_typing() -> None:
    assert simplify("L’Association d'Intérêt « Général » !") == "association interet general"
    normaliser = Normaliser.from_lexicon({"asso": "association", "aap": "appel projets"}, ["de"])
    assert normaliser.tokens("asso") == normaliser.tokens("associations")
    assert normaliser.words("AAP de la collec") == ["appel", "projets", "la", "collec"]
    assert stem("cooperation") == stem("cooperative") == stem("cooperer")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("qui peut m'aider a creer une scop", "contact/urscop"),
        ("c'est quoi une scop", "forme/scop"),
    ],
)
def test_asking_whom_to_turn_to_prefers_the_contact(question, expected):
    from knowledge.base import load_knowledge

    result = load_knowledge().ask(question)
    assert result.answers and result.answers[0].entry.id == expected


def test_the_large_base_path_ranks_exactly_like_the_small_one():
    """Bases of thousands of entries sum overlaps with numpy: same answers, same order."""
    import yaml

    from knowledge import matcher as matcher_module
    from knowledge.base import load_knowledge
    from knowledge.index import MatcherSettings

    kb = load_knowledge()
    questions = [item["q"] for item in yaml.safe_load(
        (Path(__file__).parent.parent / "benchmarks" / "data" / "kb_dev.yaml").read_text(
            encoding="utf-8"))][:150]
    small = matcher_module.Matcher(kb.entries, kb.normaliser)
    large = matcher_module.Matcher(kb.entries, kb.normaliser,
                                   MatcherSettings(vector_min_entries=1))
    assert large._ix.arrays is not None and small._ix.arrays is None
    for question in questions:
        expected = [(i, round(s, 9)) for i, s in small.scores(question)]
        assert [(i, round(s, 9)) for i, s in large.scores(question)] == expected, question


# ------------------------------------------------------------------ issue 14: lookalikes


@pytest.mark.parametrize("town", ["scicy", "cresse", "rtesse", "esusse", "ptcey"])
def test_a_word_close_to_an_acronym_is_not_read_as_that_acronym(kb, town: str) -> None:
    """« Cressé », « Scicy »: towns, not the CRESS or a SCIC; acronyms match exactly."""
    assert kb.matcher._map_token(stem(town)) is None
    assert kb.matcher._map_token(stem("scic")) == ("scic", 1.0)
    assert kb.matcher._map_token(stem("coopperative"))  # an ordinary typo still maps


@pytest.mark.parametrize(
    "question",
    [
        "horaires de la piscine de Cressé",
        "la salle polyvalente de Scicy",
        "marché de Noël de Cressat",
    ],
)
def test_a_town_question_gets_no_lookalike(kb, question: str) -> None:
    assert kb.ask(question).status == "unknown"


def test_a_town_named_in_a_real_question_does_not_change_its_topic(kb) -> None:
    result = kb.ask("À Cressat, on veut créer une SCIC")
    assert result.answers and result.answers[0].entry.id in ("forme/scic", "contact/urscop")
    assert kb.ask("notre SCIC à Cressé").answers[0].entry.id == "forme/scic"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("jveux creer une asso", "forme/association"),
        ("c koi un ptce", "dispositif/ptce"),
        ("pk faire une cpo", "dispositif/cpo"),
        ("koman on fait une semop", "forme/semop"),
        ("loi 2000-321 art. 9-1", "dispositif/subvention"),
        ("loi 2008-776 art 140", "forme/fonds-de-dotation"),
        ("article l1511-3", "contact/intercommunalite"),
        ("article L2253-1 du cgct", "notion/participation-capital"),
    ],
)
def test_familiar_register_and_bare_law_references_find_their_entry(
    kb, question: str, expected: str
) -> None:
    result = kb.ask(question)
    assert result.status in ("answer", "ambiguous"), (question, result.status)
    assert result.answers[0].entry.id == expected


@pytest.mark.parametrize(
    "question",
    [
        "c'est quoi une fresque du numérique",
        "animer une fresque des nouveaux récits",
        "fresque de la mobilité pour les agents",
        "budget supplémentaire de la commune",
    ],
)
def test_a_neighbouring_topic_gets_no_lookalike_entry(kb, question: str) -> None:
    """Another fresque than the Fresque de l'engagement local is not answered by it, nor
    by an entry that only shares its complement (the climate, mobility…)."""
    result = kb.ask(question)
    assert result.status == "unknown", [a.entry.id for a in result.answers]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("combien coute une fresque", "outil/fresque-engagement-local"),
        ("la fresque de l'engagement local", "outil/fresque-engagement-local"),
        ("charte des engagements reciproques", "dispositif/cpo"),
        ("groupement d'interet public", "forme/gip"),
        ("agrement prefectoral des scic", "forme/scic"),
    ],
)
def test_the_head_noun_rule_keeps_the_real_topics(kb, question: str, expected: str) -> None:
    assert kb.ask(question).answers[0].entry.id == expected

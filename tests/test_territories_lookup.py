"""The regional directory as the chat reads it: loading errors and finding places.

The loader must point an editor at the line to fix; the lookup must understand what
people type to say where they are (names, numbers, postcodes, typos) and refuse what
names no French region, rather than store a wrong one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.yamlsource import ContentError
from knowledge.places import Places
from knowledge.territories import TERRITORIES_FILE, check_territories, load_territories


@pytest.fixture(scope="module")
def places() -> Places:
    return Places(load_territories())


def test_the_shipped_directory_loads_with_its_regions_and_bodies():
    territories = load_territories()
    assert len(territories.regions) == 18
    assert sum(len(r.departments) for r in territories.regions) == 101
    bretagne = territories.region("bretagne")
    assert bretagne is not None
    assert [c.name for c in bretagne.contacts_of("cress")] == ["CRESS Bretagne"]
    assert territories.region("normandie").contacts_of("cress") == ()
    assert territories.national["dla_directory"].url == "https://www.info-dla.fr"
    assert check_territories() == []


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "territories.fr.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_REGION = """\
version: 1
regions:
  - id: bretagne
    name: "Bretagne"
    departments:
      - {code: "35", name: "Ille-et-Vilaine"}
    contacts:
      cress:
        name: "CRESS Bretagne"
        url: "https://www.ess-bretagne.org"
        source: "site"
"""


def test_a_valid_small_file_loads(tmp_path):
    territories = load_territories(_write(tmp_path, GOOD_REGION))
    assert territories.place("35").label == "Ille-et-Vilaine (35)"
    assert territories.place("bretagne").label == "Bretagne"
    assert territories.place("inconnu") is None


def test_bad_yaml_names_the_file_and_the_line(tmp_path):
    path = _write(tmp_path, GOOD_REGION + "  - id: [oops\n")
    with pytest.raises(ContentError) as caught:
        load_territories(path)
    assert caught.value.path == str(path)
    assert caught.value.line >= 13
    assert "YAML invalide" in str(caught.value)


def test_a_contact_without_url_names_its_line_and_region(tmp_path):
    text = GOOD_REGION.replace('        url: "https://www.ess-bretagne.org"\n', "")
    problems = check_territories(_write(tmp_path, text))
    assert len(problems) == 1
    problem = problems[0]
    assert problem.line == 9  # the « name: » line opens the CRESS block
    assert "bretagne" in problem.where and "cress" in problem.where
    assert "« url » est obligatoire" in str(problem)
    assert str(tmp_path) in str(problem) and "ligne 9" in str(problem)


def test_a_region_without_departments_and_an_unknown_key_are_both_reported(tmp_path):
    text = GOOD_REGION.replace('      - {code: "35", name: "Ille-et-Vilaine"}\n', "")
    text = text.replace("    departments:\n", "    departements: []\n")
    problems = check_territories(_write(tmp_path, text))
    said = " / ".join(str(p) for p in problems)
    assert "clé inconnue « departements »" in said
    assert "« departments » doit lister" in said
    assert all(p.line == 3 for p in problems)


def test_an_http_address_and_an_unknown_body_are_refused(tmp_path):
    text = GOOD_REGION.replace("https://www.ess", "http://www.ess").replace(
        "      cress:", "      chambre:")
    problems = check_territories(_write(tmp_path, text))
    assert any("organisme inconnu « chambre »" in str(p) for p in problems)
    text = GOOD_REGION.replace("https://www.ess", "http://www.ess")
    problems = check_territories(_write(tmp_path, text))
    assert any("https://" in str(p) and p.line == 9 for p in problems)


def test_a_department_in_two_regions_is_reported(tmp_path):
    text = GOOD_REGION + """\
  - id: normandie
    name: "Normandie"
    departments:
      - {code: "35", name: "Ille-et-Vilaine"}
    contacts: {}
"""
    problems = check_territories(_write(tmp_path, text))
    assert any("35 est déjà dans « bretagne »" in str(p) and p.line == 12 for p in problems)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Bretagne", "bretagne"),
        ("bretagne", "bretagne"),
        ("BRETAGNE", "bretagne"),
        ("la région Bretagne", "bretagne"),
        ("bzh", "bretagne"),
        ("Île-de-France", "ile-de-france"),
        ("ile de france", "ile-de-france"),
        ("IDF", "ile-de-france"),
        ("PACA", "provence-alpes-cote-d-azur"),
        ("Provence-Alpes-Côte d'Azur", "provence-alpes-cote-d-azur"),
        ("auvergne rhone alpes", "auvergne-rhone-alpes"),
        ("Grand-Est", "grand-est"),
        ("Corse", "corse"),
        ("35", "35"),
        ("1", "01"),
        ("01", "01"),
        ("2A", "2A"),
        ("2b", "2B"),
        ("20", "corse"),
        ("971", "971"),
        ("974", "974"),
        ("976", "976"),
        ("35000", "35"),
        ("35000 Rennes", "35"),
        ("75011", "75"),
        ("20090", "2A"),
        ("20169", "2A"),
        ("20200", "2B"),
        ("20600", "2B"),
        ("97400", "974"),
        ("Ille-et-Vilaine", "35"),
        ("ille et vilaine", "35"),
        ("Côte-d'Or", "21"),
        ("département du Nord", "59"),
        ("Hérault", "34"),
        ("herault", "34"),
        ("Guadeloupe", "971"),
        ("La Réunion", "974"),
        ("75 Paris", "75"),
    ],
)
def test_exact_names_numbers_and_postcodes(places, typed, key):
    found = places.find(typed)
    assert found.status == "found", (typed, found)
    assert found.place.key == key
    assert not found.guessed


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("bretagn", "bretagne"),
        ("normadie", "normandie"),
        ("occitani", "occitanie"),
        ("ile de frnce", "ile-de-france"),
        ("cote dor", "21"),
        ("Seine St Denis", "93"),
        ("finistre", "29"),
    ],
)
def test_clear_typos_are_understood(places, typed, key):
    found = places.find(typed)
    assert (found.status, found.place.key, found.guessed) == ("found", key, True)


@pytest.mark.parametrize(("typed", "first"), [("loir", "42"), ("haute garone", "31")])
def test_unclear_typos_ask_which_one(places, typed, first):
    found = places.find(typed)
    assert found.status == "ambiguous" and found.place is None
    assert len(found.candidates) >= 2
    assert first in [c.key for c in found.candidates]


@pytest.mark.parametrize("typed", ["", "blabla", "Londres", "99", "00", "96", "x", "35 Paris",
                                   "Belgique", "12345678"])
def test_what_names_no_place_is_unknown(places, typed):
    assert places.find(typed).status == "unknown"


@pytest.mark.parametrize("typed", ["98000", "Monaco 98000", "975", "97500", "97133", "97150",
                                   "98800"])
def test_places_outside_the_regions_are_said_so(places, typed):
    assert places.find(typed).status == "outside"


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("qui contacter pour la CRESS en Bretagne", "bretagne"),
        ("cress normandie", "normandie"),
        ("qui contacter dans le Nord", "59"),
        ("DLA à La Réunion", "974"),
        ("urscop dans le 35", "35"),
        ("créer une scop à Rennes 35000", "35"),
        ("une SCIC à 29200", "29"),
        ("la cress dans le département 2A", "2A"),
        ("france active en PACA", "provence-alpes-cote-d-azur"),
        ("la cress de la Somme", "80"),
        ("cress du Centre-Val de Loire", "centre-val-de-loire"),
        ("pays de la loire cress", "pays-de-la-loire"),
    ],
)
def test_a_place_named_in_a_question(places, question, key):
    assert places.find_in(question).key == key


@pytest.mark.parametrize(
    "question",
    ["c'est quoi la cress", "la somme des subventions", "une réunion publique",
     "loi 2014 article 6", "le centre social du quartier", "un lot de matériel",
     "qui contacter pour creer une scop", "bretagn cress",
     "qui contacter pour un prêt de 50000 euros", "garantie pour 20000 €",
     "qui contacter pour un financement de 35000", "il y aura une cress",
     "dla pour une asso de 12 salariés", "un DLA dans les 10 jours", "la cress en 2024"],
)
def test_no_place_is_read_into_an_ordinary_question(places, question):
    assert places.find_in(question) is None


def test_the_file_is_where_the_loader_reads_it():
    assert TERRITORIES_FILE.name == "territories.fr.yaml" and TERRITORIES_FILE.is_file()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gets_an_answer_and_never_an_error(typed):
    places = _PLACES
    found = places.find(typed)
    assert found.status in {"found", "ambiguous", "unknown", "outside"}
    assert (found.place is not None) == (found.status == "found")
    assert (len(found.candidates) >= 1) == (found.status == "ambiguous")
    places.find_in(typed)


_PLACES = Places(load_territories())

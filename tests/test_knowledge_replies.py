"""What a person reads after a free question, and the buttons they can press."""

from __future__ import annotations

import pytest

from bot.kb_replies import (
    answer_messages,
    details_messages,
    entry_messages,
    feedback_from_text,
    feedback_thanks,
)
from bot.messages import Outgoing
from bot.texts import texts
from knowledge.base import load_knowledge
from knowledge.glossary import spell_out

KB_TEXTS = texts().scoped("kb")


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


def _payloads(messages: list[Outgoing]) -> list[str]:
    return [c.payload for m in messages for c in m.choices]


def test_answer_is_one_bubble_with_more_related_and_feedback(kb) -> None:
    messages = answer_messages(kb, kb.ask("une commune peut elle entrer dans une scic"), KB_TEXTS)
    assert len(messages) == 1
    bubble = messages[0]
    assert "société coopérative d'intérêt collectif (SCIC)" in bubble.text  # spelt out
    assert "50 %" in bubble.text
    payloads = _payloads(messages)
    assert payloads[0] == "kb:more:forme/scic"
    assert "kb:show:contact/urscop" in payloads
    assert payloads[-2:] == ["kb:fb:+:forme/scic", "kb:fb:-:forme/scic"]
    assert bubble.text.rstrip().endswith("?")  # the question comes last


def test_unknown_says_so_and_offers_topics_and_commands(kb) -> None:
    messages = answer_messages(kb, kb.ask("meteo demain a lyon"), KB_TEXTS)
    text = "\n".join(m.text for m in messages)
    assert "Je ne sais pas" in text
    assert "/aide" in text and "/statut" in text
    assert all(p.startswith("kb:show:") for p in _payloads(messages))


def test_ambiguous_asks_which_one_was_meant(kb) -> None:
    from knowledge.model import KbResult, ScoredEntry

    result = KbResult(
        query="scop ou scic",
        status="ambiguous",
        answers=[ScoredEntry(kb.get("forme/scop"), 0.8), ScoredEntry(kb.get("forme/scic"), 0.79)],
    )
    messages = answer_messages(kb, result, KB_TEXTS)
    assert "Vouliez-vous dire" in messages[0].text
    assert _payloads(messages) == ["kb:show:forme/scop", "kb:show:forme/scic"]


def test_details_give_links_sources_and_related(kb) -> None:
    messages = details_messages(kb, "forme/scic", KB_TEXTS)
    text = "\n".join(m.text for m in messages)
    assert "Pour aller plus loin" in text and "https://" in text
    assert "Sources" in text and "1947" in text
    assert "kb:show:forme/scop" in _payloads(messages)


def test_show_gives_the_short_answer(kb) -> None:
    messages = entry_messages(kb, "dispositif/dla", KB_TEXTS)
    assert "dispositif local d'accompagnement (DLA)" in messages[0].text


def test_unknown_entry_is_polite(kb) -> None:
    for messages in (entry_messages(kb, "forme/disparue", KB_TEXTS),
                     details_messages(kb, "forme/disparue", KB_TEXTS)):
        assert "n'existe plus" in messages[0].text and "/aide" in messages[0].text


def test_feedback_thanks() -> None:
    assert "Merci" in feedback_thanks(True, KB_TEXTS)[0].text
    assert "revue" in feedback_thanks(False, KB_TEXTS)[0].text


def test_every_payload_fits_telegram(kb) -> None:
    for entry in kb.entries:
        for messages in (entry_messages(kb, entry.id, KB_TEXTS),
                         details_messages(kb, entry.id, KB_TEXTS)):
            for payload in _payloads(messages):
                assert len(payload.encode("utf-8")) <= 64, payload


def test_plus_and_minus_typed_after_an_answer_are_feedback() -> None:
    assert feedback_from_text("+") is True
    assert feedback_from_text(" - ") is False
    assert feedback_from_text("Pas utile !") is False
    assert feedback_from_text("qui contacter pour un DLA") is None


def test_acronyms_are_spelt_out_once_per_bubble() -> None:
    text = spell_out("Une SCIC ou une SCOP ; la SCIC encore. Voir ESS France et la CRESS PACA.")
    assert text.count("société coopérative d'intérêt collectif") == 1
    assert "SCOP (société coopérative et participative)" in text
    assert "ESS France" in text and "(économie sociale" not in text
    already = "La société publique locale (SPL) ; une SPL."
    assert spell_out(already) == already


def test_answer_bubbles_spell_out_acronyms(kb) -> None:
    text = entry_messages(kb, "contact/region", KB_TEXTS)[0].text
    assert "SCIC (société coopérative d'intérêt collectif)" in text
    assert "PTCE (pôle territorial de coopération économique)" in text


def test_a_comparison_of_forms_points_to_the_advisor():
    from bot.kb_replies import answer_messages
    from knowledge.base import load_knowledge

    kb = load_knowledge()
    compared = answer_messages(kb, kb.ask("asso ou coop pour une recyclerie ?"), KB_TEXTS)
    assert "/statut" in compared[0].text and compared[-1].choices
    single = answer_messages(kb, kb.ask("c'est quoi une scop"), KB_TEXTS)
    assert len(single) == 1 and "/statut" not in single[0].text

"""The assistant as a person meets it: commands, flows, bad input, restarts, duplicates.

Runs on SQLite and, when COOPBOT_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.config import Settings
from bot.core import Assistant
from bot.messages import Incoming
from storage.reports.charts import render_chart
from tests.conftest import ConsoleUser


async def stored_answers(assistant: Assistant, user: ConsoleUser) -> dict[str, object]:
    records = await assistant.storage.user_sessions(user.key)
    return {step: a.value for r in records for step, a in r.answers.items()}


async def test_welcome_says_what_coopbot_does_and_what_to_type(alice):
    await alice.say("/start")
    text = alice.text()
    assert "Coopbot" in text and "/facteurs" in text and "/cadrage" in text


async def test_facteurs_runs_to_a_summary_with_scores(alice, assistant):
    await alice.say("/facteurs")
    assert "(1/" in alice.text()
    await alice.say("2")
    await alice.say("Une recyclerie intercommunale")
    for i in range(23):
        replies = await alice.say(str(i % 4 + 1))
    # By design (issue 14), the last answer shows the recap; « valider » makes the summary.
    assert "Récapitulatif" in alice.text() and "Merci" not in alice.text()
    replies = await alice.say("valider")
    text = alice.text()
    assert "Merci" in text and "Facteurs relationnels" in text
    assert not any(r.image for r in replies), "the reply does not wait for the chart"
    [chart] = await alice.later()
    assert chart.image is not None and chart.image.content.startswith(b"\x89PNG"), (
        "the chart follows as a picture of its own")
    records = await assistant.storage.user_sessions(alice.key)
    assert [(r.flow_id, r.status) for r in records] == [("facteurs", "completed")]
    assert len(records[0].answers) == 25
    assert records[0].summary and records[0].summary.get("families")


async def test_back_skip_help_and_cancel(alice, assistant):
    await alice.say("/facteurs")
    await alice.say("1")
    await alice.say("/passer")  # the project question is optional
    await alice.say("3")
    # The project question was skipped: « 3 » answered the first factor.
    assert (await stored_answers(assistant, alice)).keys() == {"role", "valeur"}
    await alice.say("/retour")
    assert len(await stored_answers(assistant, alice)) == 1
    await alice.say("/aide")
    assert "Aide sur cette question" in alice.text()
    await alice.say("/annuler")
    assert "annulé" in alice.text()
    await alice.say("/retour")
    assert "Aucun parcours" in alice.text()


async def test_a_required_question_cannot_be_skipped(alice):
    await alice.say("/facteurs")
    await alice.say("/passer")
    assert "nécessaire" in alice.text()
    assert "(1/" in alice.text()


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "x" * 5000, "🙂🙂", "\x00\x01\x02", "9", "0", "-1", "/inconnue", "<b>1</b>",
     "=1+1", "\u202eabc", "1 000"],
)
async def test_bad_input_gets_french_help_and_changes_no_answer(alice, assistant, bad):
    await alice.say("/facteurs")
    await alice.say("2")
    await alice.say("Projet")
    before = await stored_answers(assistant, alice)
    replies = await alice.say(bad)
    text = alice.text()
    assert replies and text
    assert any(w in text for w in ("Je n'ai", "Tapez /aide", "tapez /aide", "Raccourcissez",
                                   "Écrivez", "Je ne connais pas"))
    assert await stored_answers(assistant, alice) == before


async def test_free_text_where_a_choice_is_expected_shows_the_options_again(alice):
    await alice.say("/facteurs")
    replies = await alice.say("je suis agent à la métropole")
    assert "Je n'ai pas compris" in alice.text()
    assert replies[-1].choices and len(replies[-1].choices) == 7


async def test_a_restart_resumes_at_the_next_question(database_url):
    settings = Settings(database_url=database_url, secret="s")
    first = await Assistant.create(settings)
    user = ConsoleUser(first, "bob")
    for text in ("/facteurs", "1", "Projet", "4"):
        await user.say(text)
    await first.close()

    second = await Assistant.create(settings)
    try:
        user = ConsoleUser(second, "bob")
        await user.press("/reprendre")
        assert "(4/25)" in user.text()
        await user.say("/facteurs")
        assert "Reprise" in user.text() and "(4/25)" in user.text()
        records = await second.storage.user_sessions(user.key)
        assert len(records) == 1 and len(records[0].answers) == 3
    finally:
        await second.close()


async def test_a_redelivered_message_is_handled_once(alice, assistant):
    await alice.say("/facteurs", message_id="m1")
    first = await alice.say("2", message_id="m2")
    again = await alice.say("2", message_id="m2")
    assert first and again == []
    assert await stored_answers(assistant, alice) == {"role": "agent"}


async def test_buttons_and_stale_buttons(alice, assistant):
    replies = await alice.say("/facteurs")
    role_button = replies[-1].choices[1].payload
    await alice.press(role_button)
    assert (await stored_answers(assistant, alice))["role"] == "agent"
    replies = await alice.press(role_button)  # pressed again on the old message
    assert "déjà passée" in alice.text()
    assert "(2/25)" in replies[-1].text
    assert (await stored_answers(assistant, alice)) == {"role": "agent"}
    await alice.press("o:facteurs:zzzzzz:0:1")  # from an older version of the file
    assert "déjà passée" in alice.text()
    await alice.press("n'importe quoi")
    assert "n'est plus proposé" in alice.text()


async def test_two_messages_of_one_person_at_once_do_not_race(assistant):
    user = ConsoleUser(assistant, "carol")
    await user.say("/facteurs")
    await user.say("1")
    await user.say("Projet")
    await asyncio.gather(*(
        assistant.handle(Incoming("console", user.key, "console", text="3", message_id=f"x{i}"))
        for i in range(3)
    ))
    records = await assistant.storage.user_sessions(user.key)
    steps = list(records[0].answers)
    assert len(steps) == len(set(steps)) == 5


async def test_people_keep_separate_progress(assistant):
    a, b = ConsoleUser(assistant, "a"), ConsoleUser(assistant, "b")
    await a.say("/facteurs")
    await b.say("/facteurs")
    await a.say("1")
    await b.say("2")
    await a.say("Projet A")
    assert "(3/25)" in a.text()
    await b.say("/reprendre")  # where b stands, whatever a did meanwhile
    assert "(2/25)" in b.text() and "(3/25)" not in b.text()


async def test_export_in_chat_sends_a_file(alice):
    await alice.say("/export md")
    assert "rien enregistré" in alice.text()
    await alice.say("/facteurs")
    await alice.say("1")
    replies = await alice.say("/export md")
    assert replies[0].file is not None and replies[0].file.filename.endswith(".md")
    assert "Élu ou élue" in replies[0].file.content.decode()
    await alice.say("/export pdf")
    assert "/export md" in alice.text()


async def test_unknown_command_says_what_to_type(alice):
    await alice.say("/blabla")
    assert alice.text() == (
        "Je ne connais pas la commande /blabla. Tapez /aide pour la liste des commandes."
    )


async def test_bang_commands_and_bot_suffix_are_understood(alice):
    await alice.say("!facteurs")
    assert "(1/25)" in alice.text()
    await alice.say("/aide@coopbot_bot")
    assert "Aide sur cette question" in alice.text()


@pytest.mark.parametrize("text", ["bonjour", "Bonjour Coopbot !", "salut", "BONSOIR"])
async def test_a_greeting_gets_a_greeting_not_an_unknown_answer(alice, text):
    await alice.say(text)
    assert alice.text().startswith("Bonjour !")


async def test_thanks_get_a_polite_answer(alice):
    await alice.say("merci")
    assert "Avec plaisir" in alice.text()


async def test_help_lists_every_command(alice):
    await alice.say("/aide")
    for command in ("/facteurs", "/cadrage", "/atelier", "/rejoindre", "/export", "/oublier"):
        assert command in alice.text()


async def test_a_command_moves_on_from_a_pending_confirmation(alice, assistant):
    await alice.say("/facteurs")
    await alice.say("1")
    await alice.say("/oublier")
    await alice.say("/facteurs")  # changed their mind: back to the questionnaire
    await alice.say("oui")  # an answer to the flow's question, not to « effacer ? »
    assert await assistant.storage.user_exists(alice.key)
    assert (await stored_answers(assistant, alice)) == {"role": "elu", "projet": "oui"}


async def test_typed_minus_after_an_answer_rates_it_instead_of_being_a_question(alice, assistant):
    await alice.say("qui contacter pour un DLA")
    assert "DLA" in alice.text() or "accompagnement" in alice.text()
    await alice.say("-")
    assert alice.text() and "ne sais pas" not in alice.text()
    gaps = await assistant.storage.kb_gaps()
    assert [(g.question, g.kind) for g in gaps] == [("qui contacter pour un dla", "unhelpful")]
    await alice.say("-")  # no longer right after an answer: not a rating
    assert len(await assistant.storage.kb_gaps()) == 2


class HeldCharts:
    """Charts drawn for real, but only once the test releases them."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def draw(self, kind, data):
        self.asked.set()
        await self.release.wait()
        return render_chart(kind, data)

    async def warm(self) -> None:
        pass

    async def close(self) -> None:
        self.release.set()


class FailingCharts:
    async def draw(self, kind, data):
        raise RuntimeError("the drawing library broke")

    async def warm(self) -> None:
        pass

    async def close(self) -> None:
        pass


async def test_the_completing_reply_goes_out_at_once_and_its_chart_follows(assistant,
                                                                         monkeypatch):
    held = HeldCharts()
    monkeypatch.setattr(assistant, "charts", held)
    drawer, other = ConsoleUser(assistant, "drawer"), ConsoleUser(assistant, "other")
    for text in ["/facteurs", "2", "Projet"] + ["3"] * 23:
        await drawer.say(text)
    await other.say("/facteurs")
    replies = await asyncio.wait_for(drawer.say("valider"), 5)  # recap validated; chart held
    assert "Merci" in drawer.text() and "Facteurs relationnels" in drawer.text()
    assert not any(r.image for r in replies)
    assert held.asked.is_set(), "the chart is being drawn"
    replies = await asyncio.wait_for(other.say("1"), 5)  # others are served meanwhile
    assert "(2/25)" in "\n".join(r.text for r in replies)
    await asyncio.sleep(0.05)
    assert drawer.arrived == [], "nothing arrives before the chart is drawn"
    held.release.set()
    [chart] = await drawer.later()
    assert chart.image is not None and chart.image.content.startswith(b"\x89PNG")
    assert chart.image.caption and not chart.text


async def test_a_failing_chart_loses_nothing(assistant, monkeypatch, caplog):
    monkeypatch.setattr(assistant, "charts", FailingCharts())
    alice = ConsoleUser(assistant, "alice")
    for text in ["/facteurs", "2", "Projet"] + ["3"] * 23 + ["valider"]:
        await alice.say(text)
    assert "Merci" in alice.text() and "Facteurs relationnels" in alice.text()
    assert await alice.later() == []
    assert "the conversation goes on without it" in caplog.text
    records = await assistant.storage.user_sessions(alice.key)
    assert [(r.flow_id, r.status) for r in records] == [("facteurs", "completed")]
    await alice.say("/facteurs")  # and the conversation goes on
    assert "(1/" in alice.text()


async def test_a_caller_without_follow_ups_gets_the_chart_with_the_replies(assistant):
    key = assistant.user_key("console", "batch")
    for text in ["/facteurs", "2", "Projet"] + ["3"] * 23:
        await assistant.handle(Incoming("console", key, "console", text=text))
    replies = await assistant.handle(Incoming("console", key, "console", text="valider"))
    assert "Merci" in replies[0].text and replies[-1].image is not None


async def test_a_lone_number_with_no_list_is_not_sent_to_the_knowledge_base(alice, assistant):
    await alice.say("1")
    assert "pas de liste en cours" in alice.text()
    assert await assistant.storage.kb_gaps() == []

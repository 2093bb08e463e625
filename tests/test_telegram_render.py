"""Rendering for Telegram: what a user sees (escaped HTML, buttons, split messages)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.telegram.app import bot_commands, file_url
from bot.channels.telegram.render import (
    MAX_MESSAGE,
    callback_data,
    caption_html,
    digest_map,
    keyboard,
    render_text,
    split_html,
)
from bot.markup import to_html
from bot.messages import Choice


def _balanced(html: str) -> bool:
    depth = 0
    for closing in re.findall(r"<(/?)b>", html):
        depth += -1 if closing else 1
        if depth < 0:
            return False
    return depth == 0


def test_user_text_is_escaped_and_markup_becomes_html() -> None:
    [html] = render_text("**Attention** : <script> & co\n- premier point")
    # French typography applied before escaping: a no-break space before « : ».
    assert html == "<b>Attention</b>\u00a0: &lt;script&gt; &amp; co\n• premier point"


def test_short_text_is_one_message() -> None:
    assert render_text("Bonjour.") == ["Bonjour."]


def test_long_text_is_split_at_paragraphs_and_every_piece_fits() -> None:
    paragraphs = [f"**Partie {i}**\n" + "Une phrase assez longue. " * 30 for i in range(20)]
    pieces = render_text("\n\n".join(paragraphs))
    assert len(pieces) > 1
    assert all(len(p) <= MAX_MESSAGE for p in pieces)
    # Cuts fall between paragraphs: every piece starts with a title.
    assert all(p.startswith("<b>Partie ") for p in pieces)
    assert sum(p.count("<b>Partie ") for p in pieces) == 20


def test_bold_spanning_a_cut_is_closed_and_reopened() -> None:
    pieces = split_html("<b>" + "mot " * 3000 + "</b>", MAX_MESSAGE)
    assert len(pieces) == 3
    assert all(p.startswith("<b>") and p.endswith("</b>") for p in pieces)
    assert all(len(p) <= MAX_MESSAGE for p in pieces)


def test_a_cut_never_falls_inside_an_entity() -> None:
    pieces = split_html("&amp;" * 2000, 4096)
    assert all(re.fullmatch(r"(&amp;)+", p) for p in pieces)
    assert sum(p.count("&amp;") for p in pieces) == 2000


@given(st.text(alphabet="ab <>&*\n-é", max_size=3000), st.integers(min_value=40, max_value=500))
def test_split_keeps_all_words_and_valid_markup(text: str, limit: int) -> None:
    source = to_html(text)
    pieces = split_html(source, limit)
    assert all(len(p) <= limit for p in pieces)
    assert all(_balanced(p) for p in pieces)
    assert all(not re.search(r"&[#a-z0-9]*$|<[^>]*$", p) for p in pieces)

    def words(s: str) -> list[str]:
        return re.sub(r"</?b>", " ", s).split()

    assert "".join(words("".join(pieces))) == "".join(words(source))


def test_short_labels_go_two_per_row_with_actions_last() -> None:
    markup = keyboard(
        [Choice("Oui", "f:1:q:oui"), Choice("Non", "f:1:q:non")],
        [Choice("Retour", "/retour"), Choice("Passer", "/passer")],
    )
    assert markup is not None
    rows = [[b.text for b in row] for row in markup.inline_keyboard]
    assert rows == [["Oui", "Non"], ["Retour", "Passer"]]
    assert markup.inline_keyboard[0][1].callback_data == "f:1:q:non"


def test_long_labels_go_one_per_row() -> None:
    markup = keyboard([Choice("Une collectivité territoriale", "a"), Choice("Non", "b")])
    assert markup is not None
    assert [len(row) for row in markup.inline_keyboard] == [1, 1]


def test_no_choices_no_keyboard() -> None:
    assert keyboard([]) is None


def test_callback_data_fits_in_64_bytes() -> None:
    short = "facteurs:v3:interconnaissance:4"
    assert callback_data(short) == short
    long = "facteurs:v3:" + "é" * 40
    data = callback_data(long)
    assert len(data.encode()) <= 64
    assert digest_map([Choice("x", long), Choice("y", short)]) == {data: long}


def test_caption_too_long_is_left_to_a_text_message() -> None:
    assert caption_html("**Export**") == "<b>Export</b>"
    assert caption_html("x" * 2000) is None
    assert caption_html("") is None


def test_command_menu_keeps_only_names_telegram_accepts() -> None:
    menu = bot_commands(
        [("/aide", "Afficher l'aide"), ("Mes-données", "x"), ("start", "Commencer")]
    )
    assert [(c.command, c.description) for c in menu] == [
        ("aide", "Afficher l'aide"),
        ("start", "Commencer"),
    ]


def test_file_url_follows_the_api_url() -> None:
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url("https://api.telegram.org/bot/") == "https://api.telegram.org/file/bot"

"""French typography applied at rendering: the pure function and the channels.

What a person would notice: a « : » or « ? » left alone at the end of a line, a
guillemet stuck to its word, or, worse, a link or a command broken by a space.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.markup import to_html, to_plain
from flows.typography import NBSP, NNBSP, french
from storage.reports.render import typeset_html

SPACES = " \u00a0\u202f\u2009"
UNTOUCHED = [
    "https://t.me/coopbot_bot?start=atelier-J3W",
    "https://exemple.fr/page?x=1;y=2!",
    "matrix.to/#/@coopbot:serveur.fr",
    "t.me/coopbot?start=abc",
    "@coopbot:matrix.org",
    "!salle:matrix.org",
    "contact@cress-idf.org",
    "14:30",
    "1:2",
    "/rejoindre J3W-4D3-RHD",
    "/aide",
    "!aide",
    "`a ; b : c`",
    "&amp;",
    ":)",
    ";-)",
    "a:b",
]


def show(text: str) -> str:
    return text.replace(NBSP, "~").replace(NNBSP, "^")


def test_spaces_before_double_punctuation_are_the_right_ones() -> None:
    assert show(french("Tapez /aide : merci !")) == "Tapez /aide~: merci^!"
    assert show(french("Bonjour! Ça va? Oui; bien.")) == "Bonjour^! Ça va^? Oui^; bien."
    assert show(french("Vraiment ?!")) == "Vraiment^?!"
    assert show(french("**Attention !**")) == "**Attention^!**"
    assert show(french("trop   :")) == "trop~:"


def test_both_quote_styles_get_no_break_spaces_inside() -> None:
    assert show(french("« Oui »")) == "«~Oui~»"
    assert show(french("«Oui»")) == "«~Oui~»"
    assert show(french("«\u202fOui\u202f»")) == "«~Oui~»"
    assert show(french("tapez «\u00a0Valider\u00a0» : fini")) == "tapez «~Valider~»~: fini"


def test_markdown_links_keep_their_target_and_get_typography_in_their_text() -> None:
    text = "[Voir : le site](https://exemple.fr/a?b=c)"
    assert show(french(text)) == "[Voir~: le site](https://exemple.fr/a?b=c)"


def test_escaped_markdown_punctuation_is_spaced_too() -> None:
    assert show(french("Super \\!")) == "Super^\\!"


def test_line_start_signs_are_not_punctuation() -> None:
    assert french("ligne\n: suite\n? autre") == "ligne\n: suite\n? autre"


@given(st.sampled_from(UNTOUCHED), st.sampled_from(["", " ", "Voir ", "(", "« "]),
       st.sampled_from(["", " ", ".", " : ensuite", " ?", " »"]))
def test_addresses_times_and_commands_are_left_alone(
    token: str, before: str, after: str
) -> None:
    result = french(before + token + after)
    assert token in result


@settings(max_examples=400)
@given(st.lists(st.sampled_from([*"ab1 :;!?«»\n/@.-\\()*]<>", "\u00a0", "\u202f", "\t",
                                 "https://x.fr/?a=1", ":)", ";-)", "`", "&amp;", "</b>",
                                 "a@b.fr", "14:30", "](", "@u:s.org"]), max_size=40))
def test_idempotent(pieces: list[str]) -> None:
    html = typeset_html("".join(pieces))
    assert typeset_html(html) == html
    once = french("".join(pieces))
    assert french(once) == once


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["mot", "Oui", "encore", "14:30", "/aide",
                                 "https://x.fr/?a=b", ":", ";", "!", "?", "«", "»", ","]),
                max_size=12))
def test_no_plain_space_before_double_punctuation_in_prose(words: list[str]) -> None:
    result = french(" ".join(words))
    prose = re.sub(r"https://\S+", "", result)
    assert not re.search(r"[ \u2009][;:!?](\s|$)", prose), show(result)
    assert not re.search(r"« ", prose) and not re.search(r" »", prose), show(result)


@given(st.text(alphabet=st.characters(blacklist_characters=":;!?«»"), max_size=60))
def test_text_without_double_punctuation_is_unchanged(text: str) -> None:
    assert french(text) == text


def test_html_escaping_still_right_after_typography() -> None:
    html = to_html("**Note** : <b>1 & 2</b> ?")
    assert html == "<b>Note</b>\u00a0: &lt;b&gt;1 &amp; 2&lt;/b&gt;\u202f?"
    assert to_plain("**Note** : fin !") == "Note\u00a0: fin\u202f!"


CONTENT_FILES = sorted(
    [*Path("flows/definitions").glob("*.yaml"), Path("bot/texts.fr.yaml"),
     *Path("knowledge").rglob("*.yaml"), *Path("storage/reports/templates").rglob("*.j2")]
)


def test_content_files_are_written_with_plain_spaces() -> None:
    """Typography is the renderer's job: a hand-typed no-break space in a content file
    would be one more place to keep right (and invisible in most editors)."""
    assert len(CONTENT_FILES) > 20
    found = [
        f"{path}:{number}"
        for path in CONTENT_FILES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NBSP in line or NNBSP in line
    ]
    assert not found, found


def test_html_documents_are_typeset_on_text_nodes_only() -> None:
    html = typeset_html(
        '<style>a { color: red; }</style><p title="a : b"><b>Note</b> : «<em>x</em>» '
        "&amp; ok ?</p><code>a ; b</code>"
    )
    assert html == (
        '<style>a { color: red; }</style><p title="a : b"><b>Note</b>\u00a0: «\u00a0<em>x</em>'
        "\u00a0» &amp; ok\u202f?</p><code>a ; b</code>"
    )


def test_long_hostile_texts_are_typeset_in_linear_time() -> None:
    """A 4,096-character message (Telegram's limit) of repeated signs, dots or spaces must
    not stall the channel: each took 0.2 to 1.2 s before the patterns were anchored."""
    import time

    hostile = ["a" * 4096 + " :", "a." * 2048 + " ?", " " * 4000 + "!", "](" * 2000 + ":",
               "«" * 4000, "»" * 4000, "\\!" * 2000, " :)" * 1300, "<https:" * 600 + " :"]
    start = time.perf_counter()
    for text in hostile:
        once = french(text)
        assert french(once) == once
    assert time.perf_counter() - start < 1.5  # about 0.15 s in all on a loaded machine

"""What a Matrix user sees of Coopbot's replies, and which messages the bot takes as its own."""

from __future__ import annotations

import struct
import zlib

from bot.channels.matrix_render import (
    REPLY_KEY,
    addressed_text,
    is_edit,
    media_content,
    png_size,
    text_content,
    texts,
)
from bot.messages import Attachment, Choice, Outgoing

BOT = "@coopbot:example.org"


def test_reply_is_a_notice_with_escaped_html_and_numbered_choices() -> None:
    out = Outgoing(
        text="**Question** <script>\n- un point",
        choices=(Choice("Pas du tout", "p1"), Choice("Tout à fait & plus", "p2")),
    )
    content = text_content(out, reply_to="$event")
    assert content is not None
    assert content["msgtype"] == "m.notice"
    assert (
        content["body"] == "Question <script>\n• un point\n\n1. Pas du tout\n2. Tout à fait & plus"
    )
    assert content["format"] == "org.matrix.custom.html"
    html = content["formatted_body"]
    assert "<b>Question</b> &lt;script&gt;<br>• un point" in html
    assert "<ol><li>Pas du tout</li><li>Tout à fait &amp; plus</li></ol>" in html
    assert "<script>" not in html
    assert content[REPLY_KEY] == "$event"


def test_navigation_actions_become_commands_to_type() -> None:
    out = Outgoing(
        text="Votre rôle ?",
        choices=(Choice("Élu", "x"),),
        actions=(Choice("Retour", "/retour"), Choice("Passer", "/passer"), Choice("?", "opaque")),
    )
    content = text_content(out)
    assert content is not None
    assert content["body"].endswith("Retour\u00a0: /retour · Passer\u00a0: /passer")
    assert "opaque" not in content["body"]


def test_empty_outgoing_sends_no_text() -> None:
    assert text_content(Outgoing(file=Attachment("a.md", b"x", "text/markdown"))) is None


def test_file_and_image_content_carry_type_size_and_dimensions() -> None:
    png = _png(3, 2)
    image = media_content(Attachment("graphe.png", png, "image/png"), "m.image", "mxc://s/abc")
    assert image["msgtype"] == "m.image"
    assert image["url"] == "mxc://s/abc"
    assert image["info"] == {"mimetype": "image/png", "size": len(png), "w": 3, "h": 2}
    doc = media_content(Attachment("export.md", b"# x", "text/markdown"), "m.file", "mxc://s/d")
    assert doc["body"] == doc["filename"] == "export.md"
    assert doc["info"] == {"mimetype": "text/markdown", "size": 3}
    assert png_size(b"not a png") is None


def test_a_described_image_carries_its_description_as_body() -> None:
    """``body`` is what screen readers read for an ``m.image``: the chart's description,
    shown as its caption because it differs from ``filename`` (spec 1.10)."""
    alt = "Graphique en barres : article 1 : 50 % ; article 2 : 75 %."
    png = _png(3, 2)
    image = media_content(Attachment("graphe.png", png, "image/png", "Titre", alt=alt),
                          "m.image", "mxc://s/abc")
    assert image["body"] == alt and image["filename"] == "graphe.png"
    doc = media_content(Attachment("export.md", b"# x", "text/markdown", alt=alt), "m.file",
                        "mxc://s/d")
    assert doc["body"] == "export.md"


def test_direct_chat_takes_every_message_and_turns_bang_commands_into_slash() -> None:
    assert addressed_text({"body": "bonjour"}, BOT, ["coopbot"], group=False) == "bonjour"
    assert addressed_text({"body": "!facteurs"}, BOT, ["coopbot"], group=False) == "/facteurs"
    assert addressed_text({"body": " 2 "}, BOT, ["coopbot"], group=False) == "2"
    assert addressed_text({"body": "!"}, BOT, ["coopbot"], group=False) == "!"


def test_shared_room_takes_only_commands_and_mentions() -> None:
    def group(content: dict[str, object]) -> str | None:
        return addressed_text(content, BOT, ["coopbot", "Coopbot (assistant)"], group=True)

    assert group({"body": "on déjeune ?"}) is None
    assert group({"body": "2"}) is None
    assert group({"body": "/facteurs"}) == "/facteurs"
    assert group({"body": "!aide"}) == "/aide"
    assert group({"body": "coopbot: 2"}) == "2"
    assert group({"body": "Coopbot (assistant), qu'est-ce qu'une SCIC ?"}) == (
        "qu'est-ce qu'une SCIC ?"
    )
    assert group({"body": "@coopbot:example.org 3"}) == "3"
    pill = {
        "body": "Coopbot 1",
        "formatted_body": '<a href="https://matrix.to/#/@coopbot:example.org">Coopbot</a> 1',
        "m.mentions": {"user_ids": [BOT]},
    }
    assert group(pill) == "1"
    assert group({"body": "coopbot"}) == "/aide"
    assert group({"body": "coopbotte est un mot"}) is None


def test_reply_quotes_are_removed_and_edits_are_recognised() -> None:
    reply = {
        "body": "> <@coopbot:example.org> Votre rôle ?\n> 1. Élu\n\n2",
        "m.mentions": {"user_ids": [BOT]},
    }
    assert addressed_text(reply, BOT, ["coopbot"], group=True) == "2"
    assert is_edit({"m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}})
    assert not is_edit({"m.relates_to": {"m.in_reply_to": {"event_id": "$x"}}})


def test_channel_texts_are_french_and_say_what_to_do() -> None:
    phrases = texts()
    # « encrypted » (the old refusal) is gone: encrypted rooms are served now.
    assert "chiffr" in phrases["undecryptable"] and "/aide" in phrases["undecryptable"]
    assert "numéro" in phrases["poll_prompt"]
    assert "/aide" in phrases["failure"]


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )

"""Pure Matrix translation: event content → text for the assistant, ``Outgoing`` → content.

Kept free of I/O so it can be unit-tested without a homeserver. Replies are
``m.notice`` (the Matrix convention for bots: other bots do not answer notices, so two
bots cannot loop), with a plain ``body`` and an HTML ``formatted_body``; both are
escaped at this edge by :mod:`bot.markup`.
"""

from __future__ import annotations

import html
import re
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from bot.markup import to_html, to_label, to_plain
from bot.messages import Attachment, Choice, Outgoing
from bot.texts import texts as catalogue

REPLY_KEY = "fr.coopbot.in_reply_to"
"""Custom content key naming the event a reply answers (clients ignore it; tests and
operators use it to tell which message an answer belongs to)."""

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_COMMAND = re.compile(r"^!(?=\w)")


def texts() -> Mapping[str, str]:
    """The channel's own French phrases (section ``matrix`` of the catalogue), as written:
    ``action_separator`` is a space, a dot and a space."""
    return catalogue().scoped("matrix").entries


# --- incoming -------------------------------------------------------------------------


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted text`` lines clients put before a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).lstrip("\n")


def _mention_prefix(user_id: str, names: Iterable[str]) -> re.Pattern[str]:
    """« @coopbot:server », « coopbot : », « Coopbot, » at the start of a message."""
    ordered = sorted({name for name in names if name}, key=len, reverse=True)
    alternatives = "".join(f"|@?{re.escape(name)}" for name in ordered)
    return re.compile(
        rf"^\s*(?:{re.escape(user_id)}{alternatives})(?!\w)\s*[:,]?\s*", re.IGNORECASE
    )


def addressed_text(
    content: Mapping[str, Any],
    bot_user_id: str,
    bot_names: Iterable[str],
    *,
    group: bool,
) -> str | None:
    """The text meant for the assistant, or ``None`` when the message is not for the bot.

    In a direct chat every message is for the bot. In a room with more people, only a
    command (``/…`` or ``!…``) or a message mentioning the bot is; a leading mention
    (« coopbot : 2 ») is removed so the core sees « 2 ». ``!cmd`` becomes ``/cmd``
    because some Matrix clients keep slash commands for themselves.
    """
    body = content.get("body")
    if not isinstance(body, str):
        return None
    text = strip_reply_fallback(body).strip()
    prefix = _mention_prefix(bot_user_id, bot_names)
    stripped = prefix.sub("", text, count=1)
    mentioned = stripped != text or _mentions(content, bot_user_id)
    if group and not (text.startswith(("/", "!")) or mentioned):
        return None
    text = stripped.strip()
    if not text:
        return "/aide" if mentioned else None
    return _COMMAND.sub("/", text)


def _mentions(content: Mapping[str, Any], bot_user_id: str) -> bool:
    mentions = content.get("m.mentions")
    if isinstance(mentions, Mapping):
        user_ids = mentions.get("user_ids")
        if isinstance(user_ids, list) and bot_user_id in user_ids:
            return True
    formatted = content.get("formatted_body")
    body = content.get("body")
    return (isinstance(formatted, str) and f"matrix.to/#/{bot_user_id}" in formatted) or (
        isinstance(body, str) and bot_user_id in body
    )


def is_edit(content: Mapping[str, Any]) -> bool:
    """An edit (``m.replace``) repeats a message already answered; it is not a new one."""
    relates = content.get("m.relates_to")
    return isinstance(relates, Mapping) and relates.get("rel_type") == "m.replace"


# --- outgoing -------------------------------------------------------------------------


def text_content(out: Outgoing, reply_to: str | None = None) -> dict[str, Any] | None:
    """The ``m.notice`` for the text part of ``out`` (``None`` when it has none).

    Choices become « 1. libellé » lines in ``body`` and an ordered list in
    ``formatted_body``: the person answers by typing the number, which the core
    understands. Navigation actions become one line of commands to type.
    """
    plain_parts: list[str] = []
    html_parts: list[str] = []
    if out.text.strip():
        plain_parts.append(to_plain(out.text))
        html_parts.append(to_html(out.text).replace("\n", "<br>"))
    if out.choices and not out.listed:
        plain_parts.append(
            "\n".join(f"{number}. {to_label(choice.label)}"
                      for number, choice in _numbered(out.choices))
        )
        items = "".join(
            f"<li>{html.escape(to_label(choice.label), quote=False)}</li>" for choice in out.choices
        )
        html_parts.append(f"<ol>{items}</ol>")
    actions = _actions_line(out.actions)
    if actions:
        plain_parts.append(actions)
        html_parts.append(f"<i>{html.escape(actions, quote=False)}</i>")
    if not plain_parts:
        return None
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": "\n\n".join(plain_parts),
        "format": "org.matrix.custom.html",
        "formatted_body": _join_blocks(html_parts),
    }
    if reply_to:
        content[REPLY_KEY] = reply_to
    return content


def _join_blocks(parts: list[str]) -> str:
    """Paragraphs separated by a blank line; a list is a block and needs no break."""
    joined = ""
    for part in parts:
        if joined and not part.startswith("<ol>") and not joined.endswith("</ol>"):
            joined += "<br><br>"
        joined += part
    return joined


def _numbered(choices: Iterable[Choice]) -> Iterable[tuple[int, Choice]]:
    return enumerate(choices, start=1)


def _actions_line(actions: Iterable[Choice]) -> str:
    pattern = texts()["action"]
    shown = [
        pattern.format(label=action.label, command=action.payload)
        for action in actions
        if action.payload.startswith("/")
    ]
    return to_label(texts()["action_separator"].join(shown))


def media_content(
    attachment: Attachment, msgtype: str, url: str, reply_to: str | None = None
) -> dict[str, Any]:
    """``m.file`` / ``m.image`` content for an uploaded attachment.

    A picture's ``body`` is its text alternative when it has one: clients read it
    aloud and, since it differs from ``filename``, show it as the caption (spec 1.10).
    """
    info: dict[str, Any] = {"mimetype": attachment.mime_type, "size": len(attachment.content)}
    if msgtype == "m.image":
        size = png_size(attachment.content)
        if size:
            info["w"], info["h"] = size
    content: dict[str, Any] = {
        "msgtype": msgtype,
        "body": (attachment.alt if msgtype == "m.image" else "") or attachment.filename,
        "filename": attachment.filename,
        "url": url,
        "info": info,
    }
    if reply_to:
        content[REPLY_KEY] = reply_to
    return content


def encrypted_media_content(
    attachment: Attachment, msgtype: str, file: Mapping[str, Any], reply_to: str | None = None
) -> dict[str, Any]:
    """The same content for an encrypted room: ``file`` (url, key, iv, hashes), no ``url``.

    ``file`` is the ``EncryptedFile`` of the spec, with the ``mxc://`` address of the
    uploaded ciphertext; the clear ``url`` is left out so no client fetches it as is.
    """
    content = media_content(attachment, msgtype, str(file["url"]), reply_to)
    del content["url"]
    content["file"] = dict(file)
    return content


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG header (cheap: no image library)."""
    if len(data) < 24 or not data.startswith(_PNG_MAGIC) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def notice(text: str) -> dict[str, Any]:
    """A plain channel phrase as an ``m.notice`` (used for the channel's own texts)."""
    content = text_content(Outgoing(text=text))
    assert content is not None
    return content

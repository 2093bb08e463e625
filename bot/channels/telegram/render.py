"""Pure Telegram rendering: HTML text, long-message splitting, inline keyboards.

Kept free of I/O so it can be unit-tested without a bot. The text is Coopbot's chat
markup turned into Telegram HTML by :func:`bot.markup.to_html` (which escapes first).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.markup import to_html, to_label
from bot.messages import Choice

MAX_MESSAGE = 4096
"""Telegram's limit for one message text."""
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
SHORT_LABEL = 14
"""Labels up to this many characters go two to a row (yes/no, short scales)."""

_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>|&[#a-zA-Z0-9]+;|[^<&]+|[<&]")


def render_text(text: str) -> list[str]:
    """Chat markup → one or more Telegram HTML message texts, each ≤ 4,096 characters."""
    return split_html(to_html(text), MAX_MESSAGE)


def split_html(html: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut ``html`` into pieces of at most ``limit`` characters.

    Cuts prefer a paragraph break, then a line break, then a space, and never fall inside
    a tag or an entity (``&amp;``). A tag left open at a cut (``<b>`` spanning the
    boundary) is closed at the end of the piece and reopened at the start of the next, so
    each piece is valid HTML for Telegram on its own.
    """
    if len(html) <= limit:
        return [html] if html.strip() else []
    atoms = _atoms(html)
    pieces: list[str] = []
    start = 0
    reopen: list[tuple[str, str]] = []  # (name, opening tag) carried over from a cut
    while start < len(atoms):
        prefix = "".join(tag for _, tag in reopen)
        end, stack = _fit(atoms, start, reopen, limit - len(prefix))
        body = "".join(text for text, _ in atoms[start:end])
        closing = "".join(f"</{name}>" for name, _ in reversed(stack))
        piece = (prefix + body.strip("\n ") + closing) if body.strip() else ""
        if piece and _visible(piece):
            pieces.append(piece)
        reopen = stack
        start = end
        while start < len(atoms) and atoms[start][0] in ("\n", " "):
            start += 1
    return pieces


def _atoms(html: str) -> list[tuple[str, str]]:
    """Indivisible units: tags, entities, single characters; kind is 'tag'/'text'."""
    atoms: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(html):
        token = match.group(0)
        if len(token) > 1 and token[0] in "<&":
            atoms.append((token, "tag" if token.startswith("<") else "entity"))
        else:
            atoms.extend((char, "text") for char in token)
    return atoms


def _fit(
    atoms: list[tuple[str, str]], start: int, reopen: list[tuple[str, str]], budget: int
) -> tuple[int, list[tuple[str, str]]]:
    """Best end index for a piece starting at ``start``, and the tags still open there.

    Candidate cuts are ranked: before a paragraph break, before a line break, before a
    space, anywhere else between characters (never just after an opening tag).
    """
    stack = list(reopen)
    used = 0
    index = start
    candidates: dict[int, tuple[int, list[tuple[str, str]]]] = {}
    while index < len(atoms):
        text, kind = atoms[index]
        new_stack = _apply(stack, text, kind)
        closing = sum(len(name) + 3 for name, _ in new_stack)
        if used + len(text) + closing > budget:
            break
        stack, used, index = new_stack, used + len(text), index + 1
        following = atoms[index][0] if index < len(atoms) else ""
        if following == "\n":
            after = atoms[index + 1][0] if index + 1 < len(atoms) else ""
            rank = 3 if after == "\n" else 2
        elif following == " ":
            rank = 1
        elif kind == "tag" and not text.startswith("</"):
            continue
        else:
            rank = 0
        candidates[rank] = (index, list(stack))
    if index >= len(atoms):
        return index, stack
    for rank in (3, 2, 1, 0):
        if rank in candidates:
            return candidates[rank]
    # Budget smaller than one atom: cannot happen with real limits; take it anyway.
    return start + 1, _apply(list(reopen), *atoms[start])


def _apply(stack: list[tuple[str, str]], text: str, kind: str) -> list[tuple[str, str]]:
    """Stack of open tags after ``text``."""
    if kind != "tag":
        return stack
    match = _TOKEN.match(text)
    assert match is not None
    name = match.group(2).lower()
    if match.group(1):
        return stack[:-1] if stack and stack[-1][0] == name else stack
    return [*stack, (name, text)]


def _visible(piece: str) -> bool:
    return bool(re.sub(r"<[^>]+>", "", piece).strip())


def caption_html(caption: str) -> str | None:
    """Attachment caption as HTML when it fits Telegram's caption limit, else ``None``."""
    if not caption:
        return None
    html = to_html(caption)
    return html if len(html) <= MAX_CAPTION else None


def callback_data(payload: str) -> str:
    """The payload itself when it fits in 64 bytes, else a stable short digest.

    The core promises payloads of at most 64 bytes; the digest is a guard so that a too
    long payload never makes Telegram reject the whole message. Digests are mapped back
    by :func:`digest_map`.
    """
    if len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES:
        return payload
    return "#" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]


def keyboard(
    choices: Sequence[Choice], actions: Sequence[Choice] = ()
) -> InlineKeyboardMarkup | None:
    """Inline keyboard: one answer per row, or two per row when all labels are short;
    navigation actions (« Retour », « Passer »…) share a last row."""
    if not choices and not actions:
        return None
    width = 2 if choices and all(len(c.label) <= SHORT_LABEL for c in choices) else 1
    if len(choices) == 1:
        width = 1
    rows: list[list[InlineKeyboardButton]] = []
    buttons = [_button(c) for c in choices]
    for i in range(0, len(buttons), width):
        rows.append(buttons[i : i + width])
    if actions:
        rows.append([_button(a) for a in actions])
    return InlineKeyboardMarkup(rows)


def digest_map(choices: Sequence[Choice]) -> dict[str, str]:
    """Digest → original payload, for the rare payloads that did not fit in 64 bytes."""
    return {
        callback_data(c.payload): c.payload
        for c in choices
        if callback_data(c.payload) != c.payload
    }


def _button(choice: Choice) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=to_label(choice.label), callback_data=callback_data(choice.payload))

"""French typography, applied once where text leaves for people.

Content authors write plain spaces (« Tapez /aide : »); the channel renderers
(:mod:`bot.markup`) and the document renderers (:mod:`storage.reports.render`) call
:func:`french` on what people read, so the rule lives in one place instead of in
every YAML file:

- a no-break space U+00A0 before « : » and inside « » (after « and before »);
- a narrow no-break space U+202F before « ; », « ! » and « ? ».

A plain (or wrong) space is replaced, a missing one inserted. Nothing is changed
inside what is not prose: addresses (``https://t.me/bot?start=…``, ``matrix.to/#/@bot:s``,
e-mail, Matrix ids), times and ratios (« 14:30 », « 1:2 »), inline code, the target of
a Markdown link, HTML entities, emoticons (« :) »). Punctuation is only treated as
prose punctuation when it ends a word (followed by a space, the end of the text or a
closing sign), so ``?start=``, ``!aide`` or ``a:b`` are left alone. The function is
idempotent: ``french(french(t)) == french(t)``.
"""

from __future__ import annotations

import bisect
import re

NBSP = "\u00a0"
NNBSP = "\u202f"

_SPACES = " \t\u00a0\u202f\u2009"
_PROTECTED = re.compile(
    r"""
      `[^`\n]*`                                   # inline code
    | \]\([^()\s]*\)                              # target of a Markdown link
    | <(?:https?|mailto):[^<>\s]*>                # Markdown autolink
    | (?:https?|ftp|mxc|matrix|tg|mailto):[^\s<>«»"]+   # addresses with a scheme
    | www\.[^\s<>«»"]+
    | (?<![\w@.-])[\w-]+(?:\.[\w-]+)+/[^\s<>«»"]*   # t.me/bot?start=…, matrix.to/#/…
    | (?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+   # e-mail
    | [@!#+][\w.=/-]+:[\w-]+(?:\.[\w-]+)*(?::\d+)?  # Matrix ids (@u:s, !room:s, #alias:s)
    | &\#?\w+;                                    # HTML entity (document text nodes)
    | (?:(?<=\s)|^)[:;]-?[()DPpOo|/\\\]\[]+(?=\s|$|[.,!?])  # emoticons
    """,
    re.VERBOSE | re.MULTILINE,
)
# One pass over the signs: « followed by its spaces, or a run of spaces (matched from its
# first space only, thanks to the lookbehind, so a long run costs one pass) then a sign.
_SIGNS = re.compile(
    rf"«(?P<open>[{_SPACES}]*)|(?<![{_SPACES}])(?P<space>[{_SPACES}]*)(?P<mark>\\?[:;!?]|»)"
)
_WORD_END = set(")]}»\"'’*_…%°")
"""What may end a word right before a sign that gets a space inserted."""
_ENDS_WORD = set(_SPACES) | set("\n\r)]}»\"'’*_.,…:;!?<")


class _Spans:
    """Protected character ranges of one text, queried by position."""

    def __init__(self, text: str, extra: re.Pattern[str] | None = None) -> None:
        found = [m.span() for m in _PROTECTED.finditer(text)]
        if extra is not None:
            found += [m.span() for m in extra.finditer(text)]
        merged: list[list[int]] = []
        for start, end in sorted(found):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [start for start, _ in merged]
        self.ends = [end for _, end in merged]

    def covers(self, position: int) -> bool:
        index = bisect.bisect_right(self.starts, position) - 1
        return index >= 0 and position < self.ends[index]


def french(text: str, protect: re.Pattern[str] | None = None) -> str:
    """``text`` with French spacing around « : ; ! ? » and guillemets (idempotent).

    ``protect`` adds spans to leave alone, e.g. the tags of an HTML document, so that
    punctuation right after ``</b>`` is still seen in its sentence.
    """
    if not text or not any(c in text for c in ":;!?«»"):
        return text
    found: list[_Spans] = []

    def spans() -> _Spans:
        """Found on first need: most signs are settled by their neighbours alone."""
        if not found:
            found.append(_Spans(text, protect))
        return found[0]

    def punct(match: re.Match[str]) -> str:
        start, mark = match.start(), match.group("mark")
        after = text[match.end()] if match.end() < len(text) else ""
        if after and after not in _ENDS_WORD:
            return match.group(0)  # ?start=, !aide, a:b, 14:30
        before = text[start - 1] if start > 0 else ""
        if not before or before in "\n\r":
            return match.group(0)  # at a line start: a list sign, not punctuation
        if spans().covers(match.start("mark")) or spans().covers(match.end() - 1):
            return match.group(0)
        if before in _SPACES or (spans().covers(start - 1) and not match.group("space")):
            return match.group(0)
        if not match.group("space") and not (before.isalnum() or before in _WORD_END):
            return match.group(0)  # « ?! », « (?) »: one space before the first sign only
        space = NBSP if mark.endswith(":") else NNBSP
        return space + mark

    def opening(match: re.Match[str]) -> str:
        after = text[match.end()] if match.end() < len(text) else ""
        empty = after == "»" and not match.group("open")  # « » with nothing inside
        if not after or after in "\n\r" or empty or spans().covers(match.start()):
            return match.group(0)
        return "«" + NBSP

    def closing(match: re.Match[str]) -> str:
        start = match.start()
        before = text[start - 1] if start > 0 else ""
        if not before or before in "\n\r«" or spans().covers(match.end() - 1):
            return match.group(0)
        if before in _SPACES:
            return match.group(0)  # its spaces went with the « just before: « »
        return NBSP + "»"

    def sign(match: re.Match[str]) -> str:
        if match.group("open") is not None:
            return opening(match)
        return closing(match) if match.group("mark") == "»" else punct(match)

    return _SIGNS.sub(sign, text)

"""Rendering of Coopbot's chat markup (``**gras**``, ``- `` bullets) per platform.

French typography (:func:`flows.typography.french`) is applied here, once, on the
way out: content is written with plain spaces. It runs before escaping, so the HTML
stays right. Text is escaped first, then the markup is applied, so nothing a user
typed can become HTML on Telegram or Matrix.
"""

from __future__ import annotations

import html
import re

from flows.typography import french

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def to_html(text: str) -> str:
    """Telegram ``parse_mode=HTML`` and Matrix ``formatted_body``."""
    escaped = html.escape(french(text), quote=False)
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    return "\n".join(
        "• " + line[2:] if line.startswith("- ") else line for line in escaped.split("\n")
    )


def to_plain(text: str) -> str:
    """Console and Matrix ``body``: bold markers dropped, bullets kept."""
    plain = _BOLD.sub(r"\1", french(text))
    return "\n".join(
        "• " + line[2:] if line.startswith("- ") else line for line in plain.split("\n")
    )


def to_label(text: str) -> str:
    """A button or numbered-choice label as people read it (typography, no markup)."""
    return french(text)

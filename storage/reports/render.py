"""Jinja2 rendering of chat summaries and exports.

HTML templates (``*.html.j2``) are autoescaped: what users typed can never become
markup. Markdown and chat templates escape with the ``md`` filter instead.

French typography (:func:`flows.typography.french`) is applied once, to the finished
document: on the text nodes of an HTML document (never in tags, attributes, ``<style>``,
``<script>``, ``<code>``, ``<pre>``), on the whole of a Markdown one (link targets and
code are left alone by the function). Chat templates (``chat/``, ``*.chat.j2``) are not
typeset here: their text leaves through a channel, which typesets it. CSV and JSON
exports are not rendered here and keep the data exactly as people typed it: they are
data for another program, not text to read.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from flows.typography import french
from flows.views import french_list, join_labels

TEMPLATE_DIR = Path(__file__).parent / "templates"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+|!~])")
_HTML_SKIPPED = re.compile(
    r"<(script|style|code|pre)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.DOTALL | re.IGNORECASE
)


def _one_line(value: Any) -> str:
    """User text on one line: a line break could otherwise open a block or a bubble."""
    text = "" if value is None else str(value)
    return " ".join(text.split())


def md_escape(value: Any) -> str:
    """Neutralise Markdown and HTML in text a user typed."""
    return _MD_SPECIAL.sub(r"\\\1", _one_line(value))


def chat_escape(value: Any) -> str:
    """Neutralise Coopbot's chat markup (``**``, bubble breaks) in text a user typed."""
    return _one_line(value).replace("**", "* *")


def date_fr(value: Any) -> str:
    """« 2026-11-22T10:00:00+00:00 » → « 22/11/2026 », the way French readers write it."""
    from datetime import datetime

    text = "" if value is None else str(value)
    try:
        return datetime.fromisoformat(text).strftime("%d/%m/%Y")
    except ValueError:
        return text


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["chat"] = chat_escape
    env.filters["date_fr"] = date_fr
    env.filters["french_list"] = lambda items, conjunction="et": french_list(
        [str(i) for i in items], conjunction)
    env.filters["labels"] = lambda items: join_labels([str(i) for i in items])
    return env


def has_template(name: str) -> bool:
    return (TEMPLATE_DIR / name).is_file()


def render(name: str, **context: Any) -> str:
    """The template ``name`` rendered; documents (HTML, Markdown) typeset in French."""
    text = environment().get_template(name).render(**context)
    if name.endswith((".html.j2", ".html")):
        return typeset_html(text)
    if name.endswith(".md.j2"):
        return french(text)
    return text


def typeset_html(document: str) -> str:
    """French typography on the text between tags only, so markup and CSS stay intact
    (tags are protected spans rather than cut points, so « </b> : » is still seen)."""
    return french(document, protect=_HTML_SKIPPED)

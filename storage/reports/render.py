"""Jinja2 rendering of chat summaries and exports.

HTML templates (``*.html.j2``) are autoescaped: what users typed can never become
markup. Markdown and chat templates escape with the ``md`` filter instead.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).parent / "templates"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+|!~])")


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
    return env


def has_template(name: str) -> bool:
    return (TEMPLATE_DIR / name).is_file()


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)

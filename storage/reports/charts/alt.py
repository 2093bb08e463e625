"""Text alternatives of the charts: what each picture shows and every figure it draws.

A chart sent in a chat must be readable without seeing it (RGAA, WCAG 1.1.1): a screen
reader reads Telegram's photo caption and Matrix's ``m.image`` ``body``, so both carry
this paragraph. The words are in ``templates/alt/<name>.j2``; the paragraph comes out
on one line, ready to be a caption.
"""

from __future__ import annotations

from typing import Any

from storage.reports.render import has_template, render


def chart_alt(name: str, data: Any, title: str = "") -> str:
    """One-paragraph description of chart ``name`` drawn from ``data`` (a summary or a
    workshop synthesis); ``""`` for a chart without a description template."""
    template = f"alt/{name}.j2"
    if not has_template(template):
        return ""
    return " ".join(render(template, data=data, title=title).split())

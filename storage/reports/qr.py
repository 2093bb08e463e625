"""QR codes of invitation links, drawn by segno (pure Python: no Pillow for PNG).

Error correction M (15 % of the symbol may be damaged: a printed sheet folded, a
projector's glare) and the standard quiet zone of 4 modules, which scanners need.
A PNG of a t.me link is about 0.5 kB; drawing it took 21 ms (SVG 17 ms) on the shared
2-core machine under a load average of 7, so the chat draws it after the commit, in
the render thread.
"""

from __future__ import annotations

import io

import segno

ERROR = "m"
BORDER = 4
PNG_SCALE = 8
"""Pixels per module: a version-4 code (33 modules) is 328 px wide, sharp on a phone."""
SVG_SCALE = 5


def qr_png(link: str) -> bytes:
    out = io.BytesIO()
    segno.make(link, error=ERROR).save(out, kind="png", scale=PNG_SCALE, border=BORDER)
    return out.getvalue()


def qr_svg_data_uri(link: str) -> str:
    """An SVG ``data:`` URI, for a self-contained HTML page (no file beside it)."""
    return str(segno.make(link, error=ERROR).svg_data_uri(scale=SVG_SCALE, border=BORDER))

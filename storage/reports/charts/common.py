"""Shared drawing helpers for Coopbot's charts (PNG for chat and HTML exports).

Charts are read on a phone as often as on paper: few elements, large type,
values written next to the bars, colours that stay distinct for colour-blind
readers (a red-orange / blue pair from ColorBrewer's RdYlBu) and never the only
carrier of meaning. All texts (titles, labels) come from the caller, who gets
them from content files, so no French lives here.

matplotlib is imported inside the functions so that importing this module costs
nothing at start-up. Figures are built with the object API (``Figure`` drawn by
``FigureCanvasAgg``), never pyplot: pyplot keeps a global registry of open figures
and a current figure, so two charts drawn at once would interfere; a ``Figure`` is
an ordinary object, freed when dropped, so charts can be drawn in any thread or
process in parallel (see :mod:`storage.reports.charts.pool`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flows.typography import french

FREIN_FORT = "#d7301f"
FREIN = "#fdae61"
LEVIER = "#74add1"
LEVIER_FORT = "#2c7bb6"
MISSING = "#666666"  # 5.7:1 on white: « non évalué » stays readable (WCAG 1.4.3)
INK = "#222222"
DPI = 150
WIDTH_INCHES = 6.4


@dataclass(frozen=True, slots=True)
class Bar:
    """One horizontal bar: a label and a value (None = not assessed)."""

    label: str
    value: float | None


def decimal_fr(value: float, digits: int = 1) -> str:
    """« 2,5 » rather than « 2.5 »: French readers expect a decimal comma."""
    return f"{value:.{digits}f}".replace(".", ",")


def band_colour(value: float, low: float, high: float) -> str:
    """Four colour bands over [low, high]: strong brake → strong lever."""
    span = high - low
    if span <= 0:
        return LEVIER
    fraction = (value - low) / span
    if fraction < 0.25:
        return FREIN_FORT
    if fraction < 0.5:
        return FREIN
    if fraction < 0.75:
        return LEVIER
    return LEVIER_FORT


def figure(width: float, height: float) -> Any:
    """A new matplotlib ``Figure`` with its own Agg canvas (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    """The figure as PNG, its texts typeset in French first (titles, labels, figures are
    read by people like any message; DejaVu Sans has both no-break spaces)."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        content = text.get_text()
        typeset = french(content)
        if typeset != content:
            text.set_text(typeset)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def horizontal_bars(
    bars: Sequence[Bar],
    *,
    title: str,
    low: float,
    high: float,
    origin: float | None = None,
    ticks: Sequence[float] = (),
    low_label: str = "",
    high_label: str = "",
    missing_label: str = "",
    value_text: Any = None,
) -> bytes:
    """Horizontal bars from ``origin`` (default ``low``) to each value, top to bottom.

    With ``origin`` in the middle of the scale the bars diverge: left for the
    brake side, right for the lever side. ``low_label``/``high_label`` name the
    two ends under the axis; a value of None is written as ``missing_label``.
    ``value_text(value) -> str`` formats the figure written beside each bar.
    """
    start = low if origin is None else origin
    fmt = value_text or decimal_fr
    n = max(len(bars), 1)
    fig = figure(WIDTH_INCHES, 1.6 + 0.62 * n)
    ax = fig.add_subplot()
    margin = (high - low) * 0.04
    ax.set_xlim(low - margin, high + margin)
    ax.set_ylim(n - 0.5, -0.7)

    for i, bar in enumerate(bars):
        if bar.value is None:
            ax.text(start, i, missing_label, va="center", ha="center", fontsize=13,
                    color=MISSING, style="italic",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 2})
            continue
        value = min(max(bar.value, low), high)
        colour = band_colour(value, low, high)
        width = value - start
        pad = (high - low) * 0.02
        if abs(width) < (high - low) * 0.015:
            # Exactly on the origin: a neutral mark, neither brake nor lever colour.
            colour = INK
            ax.plot([start], [i], marker="D", markersize=10, color=colour)
            pad = (high - low) * 0.04
        else:
            ax.barh(i, width, left=start, height=0.62, color=colour, edgecolor="white")
        beyond = value + pad if width >= 0 else value - pad
        inside = width >= 0 and value > high - (high - low) * 0.12
        inside = inside or (width < 0 and value < low + (high - low) * 0.12)
        if inside:
            x, ha = (value - pad, "right") if width >= 0 else (value + pad, "left")
            ax.text(x, i, fmt(bar.value), va="center", ha=ha, fontsize=14,
                    fontweight="bold", color="white" if colour in (FREIN_FORT, LEVIER_FORT)
                    else INK)
        else:
            ax.text(beyond, i, fmt(bar.value), va="center",
                    ha="left" if width >= 0 else "right", fontsize=14, fontweight="bold",
                    color=INK)

    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels([b.label for b in bars], fontsize=14, color=INK)
    ax.tick_params(axis="y", length=0)
    if ticks:
        ax.set_xticks(list(ticks))
        ax.set_xticklabels([decimal_fr(t, 0) if float(t).is_integer() else decimal_fr(t)
                            for t in ticks], fontsize=12, color=INK)
    ax.axvline(start, color=INK, linewidth=1.2)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    # End names sit just under the tick labels, whatever the number of bars.
    for x, text, ha, colour in ((0.0, f"◀ {low_label}", "left", FREIN_FORT),
                                (1.0, f"{high_label} ▶", "right", LEVIER_FORT)):
        if text.strip("◀▶ "):
            ax.annotate(text, xy=(x, 0), xycoords="axes fraction", xytext=(0, -24),
                        textcoords="offset points", ha=ha, va="top", fontsize=12,
                        color=colour, fontweight="bold")
    fig.suptitle(title, fontsize=15, fontweight="bold", color=INK, x=0.02, ha="left")
    fig.tight_layout()
    return _png(fig)


def radar(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    low: float,
    high: float,
    ticks: Sequence[float] = (),
    missing_label: str = "",
    value_text: Any = None,
) -> bytes:
    """A radar (spider) chart; None values sit at the centre and are labelled missing.

    Readable up to about eight axes; past that, prefer :func:`horizontal_bars`.
    """
    fmt = value_text or decimal_fr
    n = len(labels)
    angles = [2 * math.pi * i / n for i in range(n)]
    plotted = [low if v is None else min(max(v, low), high) for v in values]
    fig = figure(WIDTH_INCHES, WIDTH_INCHES)
    ax = fig.add_subplot(projection="polar")
    ax.set_theta_offset(math.pi / 2)  # first axis at the top, then clockwise
    ax.set_theta_direction(-1)
    ax.set_ylim(low, high)
    closed_angles = [*angles, angles[0]]
    closed_values = [*plotted, plotted[0]]
    ax.plot(closed_angles, closed_values, color=LEVIER_FORT, linewidth=2.5)
    ax.fill(closed_angles, closed_values, color=LEVIER, alpha=0.35)
    for angle, value, raw in zip(angles, plotted, values, strict=True):
        if raw is None:
            continue
        ax.plot([angle], [value], marker="o", markersize=8,
                color=band_colour(value, low, high))
    ax.set_xticks(angles)
    tick_labels = [
        f"{label}\n{fmt(raw) if raw is not None else missing_label}"
        for label, raw in zip(labels, values, strict=True)
    ]
    ax.set_xticklabels(tick_labels, fontsize=13, color=INK)
    ax.tick_params(axis="x", pad=14)
    if ticks:
        ax.set_yticks(list(ticks))
        ax.set_yticklabels([decimal_fr(t, 0) if float(t).is_integer() else decimal_fr(t)
                            for t in ticks], fontsize=10, color="#666666")
    ax.grid(color="#cccccc")
    fig.suptitle(title, fontsize=15, fontweight="bold", color=INK)
    fig.tight_layout()
    return _png(fig)


def factor_family_bars(families: list[dict[str, Any]], title: str, scale: list[Any],
                       top: float, missing: str) -> bytes:
    """Family scores on the 1…top factor scale, brakes left of the middle, levers right:
    the facteurs self-check and the workshop synthesis draw the same picture."""
    return horizontal_bars(
        [Bar(str(f.get("short") or f.get("label") or f.get("id")), f.get("score"))
         for f in families],
        title=title,
        low=1.0,
        high=top,
        origin=(1.0 + top) / 2,
        ticks=[float(t) for t in range(1, int(top) + 1)],
        low_label=str(scale[0]) if scale else "",
        high_label=str(scale[-1]) if scale else "",
        missing_label=missing,
    )

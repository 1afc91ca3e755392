"""Chart geometry for server-rendered inline SVG: pure functions from figures to rectangles,
points and axis labels in a fixed view box. The templates draw them; no script, no library."""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from decimal import Decimal

from django.utils.formats import date_format, number_format

WIDTH = 640
HEIGHT = 220
LEFT = 56  # room for the value axis' labels
RIGHT = 8
TOP = 10
BOTTOM = 28  # room for the dates
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM

# Colours with at least 3:1 contrast against white (WCAG non-text contrast).
PALETTE = ("#005bd3", "#b98900", "#8051ff", "#c70a24", "#007f5f", "#6d7175")


@dataclasses.dataclass(frozen=True)
class Series:
    label: str
    values: list
    colour: str


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _ticks(top: float) -> list[dict]:
    """Gridlines at round values: 4 or 5 intervals when that divides the top evenly."""
    count = next((n for n in (4, 5, 2, 1) if float(top / n).is_integer()), 4) if top >= 1 else 4
    ticks = []
    for i in range(count + 1):
        value = top * i / count
        y = TOP + PLOT_H - PLOT_H * i / count
        shown = int(value) if float(value).is_integer() else round(value, 2)
        ticks.append({"y": round(y, 1), "label": number_format(shown, force_grouping=True)})
    return ticks


def _x_labels(days: list[date], slot: float) -> list[dict]:
    """At most 6 dates under the axis, evenly spread, always the first and the last."""
    if not days:
        return []
    n = len(days)
    wanted = min(n, 6)
    picks = sorted({round(i * (n - 1) / max(wanted - 1, 1)) for i in range(wanted)})
    return [
        {"x": round(LEFT + slot * (i + 0.5), 1), "label": date_format(days[i], "M j")}
        for i in picks
    ]


def daily_bars(*, days: list[date], series: list[Series], stacked: bool = False) -> dict:
    """Bars per day: side by side per series, or stacked."""
    n = max(len(days), 1)
    slot = PLOT_W / n
    if stacked:
        peak = max((sum(float(s.values[i]) for s in series) for i in range(len(days))), default=0)
    else:
        peak = max((float(v) for s in series for v in s.values), default=0)
    top = nice_max(peak)
    bars = []
    gap = slot * 0.15 if slot > 3 else 0
    for i, day in enumerate(days):
        base = TOP + PLOT_H
        width = (slot - gap) if stacked else (slot - gap) / len(series)
        for k, s in enumerate(series):
            value = float(s.values[i])
            h = PLOT_H * max(value, 0) / top
            x = LEFT + slot * i + gap / 2 + (0 if stacked else width * k)
            y = base - h
            bars.append(
                {
                    "x": round(x, 2),
                    "y": round(y, 2),
                    "w": round(max(width, 0.5), 2),
                    "h": round(h, 2),
                    "fill": s.colour,
                    "title": f"{date_format(day, 'M j')}: {s.label} {number_format(s.values[i])}",
                }
            )
            if stacked:
                base = y
    return _frame(top, days, slot) | {"bars": bars, "series": series, "rows": _rows(days, series)}


def daily_line(*, days: list[date], series: list[Series]) -> dict:
    """One polyline per series, a point per day."""
    n = max(len(days), 1)
    slot = PLOT_W / n
    peak = max((float(v) for s in series for v in s.values), default=0)
    top = nice_max(peak)
    lines = []
    for s in series:
        points = " ".join(
            f"{LEFT + slot * (i + 0.5):.1f},{TOP + PLOT_H - PLOT_H * float(v) / top:.1f}"
            for i, v in enumerate(s.values)
        )
        lines.append({"points": points, "colour": s.colour, "label": s.label})
    return _frame(top, days, slot) | {"lines": lines, "series": series, "rows": _rows(days, series)}


def horizontal_bars(*, items: list[tuple[str, int | Decimal]], colour: str = PALETTE[0]) -> dict:
    """One labelled bar per item (tier distribution, points flow)."""
    row = 28
    label_w = 150
    plot_w = WIDTH - label_w - 80
    peak = max((float(v) for _, v in items), default=0)
    top = peak or 1.0
    bars = [
        {
            "label": label,
            "value": number_format(value, force_grouping=True),
            "y": i * row + 4,
            "text_y": i * row + 4 + 14,
            "x": label_w,
            "w": round(plot_w * max(float(value), 0) / top, 2),
            "value_x": round(label_w + plot_w * max(float(value), 0) / top + 6, 2),
            "fill": colour,
        }
        for i, (label, value) in enumerate(items)
    ]
    return {"width": WIDTH, "height": max(len(items), 1) * row + 8, "bars": bars}


def _frame(top: float, days: list[date], slot: float) -> dict:
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "base": TOP + PLOT_H,
        "ticks": _ticks(top),
        "x_labels": _x_labels(days, slot),
        "label_y": HEIGHT - 8,
    }


def _rows(days: list[date], series: list[Series]) -> list[dict]:
    """The chart's figures as table rows: the text alternative next to it."""
    return [{"day": day, "values": [s.values[i] for s in series]} for i, day in enumerate(days)]

"""The geometry of the report's two bar charts, drawn as SVG by a template
(management/_bar_chart.html): no script, no image file, the same figures as the table
that goes with each chart for people who do not see it."""

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.utils.translation import gettext as _

from vaxbook.centres.reports import Figures

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 36
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Bar:
    day: dt.date
    value: float | None  # None: no slots that day, nothing to draw
    text: str  # the value as the table shows it
    x: float
    y: float
    width: float
    height: float
    label_x: float
    labelled: bool  # every seventh day carries its date under the axis


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    slug: str
    title: str
    description: str
    value_heading: str
    bars: list[Bar]
    ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM
    label_y: int = HEIGHT - BOTTOM + 20


class Day(Protocol):
    """A chart's bar: a day's figures (the reports' Figures, the waiting list's totals)."""

    @property
    def day(self) -> dt.date | None: ...


def offers_chart(days: Sequence[Day], made: list[int], accepted: list[int]) -> Chart:
    """The waiting list's offers each day: the bar is the offers made, the text adds how
    many were accepted."""
    values: list[float | None] = [float(count) for count in made]
    texts = [
        _("%(made)d made, %(accepted)d accepted") % {"made": m, "accepted": a}
        for m, a in zip(made, accepted, strict=True)
    ]
    return _chart(
        slug="offers",
        title=_("Places offered from the waiting list, %(days)d days") % {"days": len(days)},
        description=_("Places freed and offered to people on the waiting list, each day."),
        value_heading=_("Offers"),
        days=days,
        values=values,
        texts=texts,
        top=_nice_top(max(made, default=0)),
        tick_label=lambda value: f"{value:.0f}",
    )


def utilisation_chart(days: list[Figures]) -> Chart:
    values = [None if day.utilisation is None else min(day.utilisation, 1.0) * 100 for day in days]
    texts = [_("no slots") if value is None else f"{value:.0f} %" for value in values]
    return _chart(
        slug="utilisation",
        title=_("Places booked, next %(days)d days") % {"days": len(days)},
        description=_("Share of the places offered that are booked, each day from today."),
        value_heading=_("Booked"),
        days=days,
        values=values,
        texts=texts,
        top=100,
        tick_label=lambda value: f"{value:.0f} %",
    )


def no_show_chart(days: list[Figures]) -> Chart:
    values: list[float | None] = [float(day.no_shows) if day.slots else None for day in days]
    texts = [
        _("no slots")
        if day.slots == 0
        else (
            f"{day.no_shows}"
            if day.no_show_rate is None
            else f"{day.no_shows} ({day.no_show_rate * 100:.0f} %)"
        )
        for day in days
    ]
    most = max((value for value in values if value is not None), default=0.0)
    return _chart(
        slug="no-shows",
        title=_("Missed appointments, last %(days)d days") % {"days": len(days)},
        description=_(
            "People who did not come, each day up to yesterday; in brackets, their share "
            "of the appointments whose outcome is known."
        ),
        value_heading=_("Missed"),
        days=days,
        values=values,
        texts=texts,
        top=_nice_top(most),
        tick_label=lambda value: f"{value:.0f}",
    )


def _chart(
    *,
    slug: str,
    title: str,
    description: str,
    value_heading: str,
    days: Sequence[Day],
    values: list[float | None],
    texts: list[str],
    top: float,
    tick_label: Callable[[float], str],
) -> Chart:
    step = PLOT_WIDTH / max(len(days), 1)
    bar_width = step * 0.7
    bars = []
    for index, (day, value, text) in enumerate(zip(days, values, texts, strict=True)):
        height = 0.0 if value is None else PLOT_HEIGHT * value / top
        x = LEFT + index * step + (step - bar_width) / 2
        if day.day is None:  # chart days are grouped by day: never, but never drawn either
            continue
        bars.append(
            Bar(
                day=day.day,
                value=value,
                text=text,
                x=round(x, 1),
                y=round(TOP + PLOT_HEIGHT - height, 1),
                width=round(bar_width, 1),
                height=round(height, 1),
                label_x=round(x + bar_width / 2, 1),
                labelled=index % 7 == 0,
            )
        )
    ticks = [
        Tick(
            y=round(TOP + PLOT_HEIGHT - PLOT_HEIGHT * fraction, 1), label=tick_label(top * fraction)
        )
        for fraction in (0, 0.25, 0.5, 0.75, 1)
    ]
    return Chart(
        slug=slug,
        title=title,
        description=description,
        value_heading=value_heading,
        bars=bars,
        ticks=ticks,
    )


def _nice_top(most: float) -> float:
    """The axis top: 4 when nothing or little was missed, else a round number above `most`
    divisible into four ticks of whole people."""
    if most <= 4:
        return 4.0
    magnitude = 10 ** math.floor(math.log10(most))
    for factor in (1, 2, 2.5, 4, 5, 8, 10):
        top = factor * magnitude
        if top >= most and top % 4 == 0:
            return float(top)
    return float(math.ceil(most / 4) * 4)

"""Server-rendered SVG geometry for the budget burn chart (no chart library, no CDN, no script).

`burn_chart` turns the cumulative use of a budget into pixel positions: the plot box, round
value ticks on the y axis, the period's days on the x axis, a today marker and three series.
Values stay `Decimal`s and days stay `date`s: the template formats them in the viewer's locale.
Floats are pixel geometry only, never money.

Each series carries its whole look (colour, dash pattern, marker, width) and the template
draws both the line and its legend key from it, so they cannot disagree; the dash patterns
and markers differ, so a black-and-white print still tells the series apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from flask_babel import lazy_gettext as _l

BLUE, RED, GREY, INK = "#1d4ed8", "#b91c1c", "#64748b", "#0f172a"
# Round steps of a value axis, times a power of ten.
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
MIN_LABEL_GAP = 44.0  # user units between the centres of two date labels ("30 Sept")


@dataclass(frozen=True)
class Plot:
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class Tick:
    at: float  # position along its axis, in user units
    value: Decimal | date
    label: bool = True  # False: a grid line without a label (room for fewer labels)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: Decimal


@dataclass(frozen=True)
class Label:
    """Where a value's text goes: at (x, y), anchored `start` or `end`."""

    x: float
    y: float
    anchor: str


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    points: str  # an SVG polyline `points` list
    colour: str
    dash: str  # stroke-dasharray; "none" for a solid line
    width: float
    marker: str | None = None  # "circle" or "square", drawn at each of `marks`
    marks: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class BurnChart:
    width: int
    height: int
    plot: Plot
    top_value: Decimal
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    series: tuple[Series, ...]
    today: Tick | None
    budget: Point  # where the budget line starts, with the budget amount
    last: Point  # the latest cumulative use (where the consumed line ends)
    budget_label: Label
    last_label: Label
    font_size: int  # user units; a phone's chart is scaled down less, so it gets larger text
    over: bool
    compact: bool
    start: date
    end: date

    def y_at(self, value: Decimal) -> float:
        return _y(self.plot, self.top_value, value)


def burn_chart(series: list[tuple[date, Decimal]], start: date, end: date, amount: Decimal,
               today: date, *, compact: bool = False) -> BurnChart:
    """The burn chart of a budget of `amount` for `start`..`end` as seen on `today`.

    `series` is the cumulative use per day with entries (`services.budgets.burn_series`).
    `compact` lays it out for a phone: narrower, fewer value ticks, fewer labelled days.
    """
    width, height = (340, 240) if compact else (720, 280)
    plot = Plot(left=64.0, top=22.0, right=float(width) - 14, bottom=float(height) - 30)
    peak = max([amount, *(v for _, v in series), Decimal("0")])
    y_ticks_values, top_value = _value_ticks(peak, 4 if compact else 5)
    span = max((end - start).days, 1)

    def x(day: date) -> float:
        days = min(max((day - start).days, 0), span)
        return round(plot.left + (plot.right - plot.left) * days / span, 1)

    def y(value: Decimal) -> float:
        return _y(plot, top_value, value)

    points: list[str] = []
    marks: list[tuple[float, float]] = []
    last = Decimal("0")
    for day, value in series:
        points.append(f"{x(day)},{y(last)}")
        points.append(f"{x(day)},{y(value)}")
        marks.append((x(day), y(value)))
        last = value
    end_day = min(today, end)
    if end_day >= start and series:
        points.append(f"{x(end_day)},{y(last)}")
    over = last > amount
    last_point = Point(*(marks[-1] if marks else (plot.left, y(Decimal("0")))), value=last)
    lines = (
        Series("consumed", _l("Reserved, committed and spent, cumulative"), " ".join(points),
               RED if over else BLUE, "none", 2.5, "circle", tuple(marks)),
        Series("plan", _l("Even spending over the period"),
               f"{x(start)},{y(Decimal('0'))} {x(end)},{y(amount)}", GREY, "8 5", 1.5),
        Series("budget", _l("Budget"), f"{plot.left},{y(amount)} {plot.right},{y(amount)}",
               INK, "2 3", 1.5, "square", ((plot.left, y(amount)), (plot.right, y(amount)))),
    )
    return BurnChart(
        width=width, height=height, plot=plot, top_value=top_value,
        budget_label=Label(plot.left + 6, y(amount) - 6, "start"),
        last_label=_value_label(plot, last_point, y(amount)), font_size=12 if compact else 11,
        x_ticks=_day_ticks(start, end, x, compact),
        y_ticks=tuple(Tick(y(v), v) for v in y_ticks_values),
        series=lines,
        today=Tick(x(today), today) if start <= today <= end else None,
        budget=Point(plot.left, y(amount), amount), last=last_point, over=over, compact=compact,
        start=start, end=end,
    )


def _value_label(plot: Plot, point: Point, budget_y: float) -> Label:
    """Beside the latest point, on the side with room, and off the budget line: below the point
    when the budget line runs just above it, above it otherwise."""
    right_half = point.x > (plot.left + plot.right) / 2
    x = point.x - 8 if right_half else point.x + 8
    just_under_budget = 0 <= point.y - budget_y < 22
    y = point.y + 16 if just_under_budget or point.y - 8 < plot.top + 4 else point.y - 8
    return Label(round(x, 1), round(min(y, plot.bottom - 4), 1), "end" if right_half else "start")


def _y(plot: Plot, top_value: Decimal, value: Decimal) -> float:
    share = float(value / top_value) if top_value else 0.0  # float: pixels
    return round(plot.bottom - (plot.bottom - plot.top) * share, 1)


def _value_ticks(peak: Decimal, count: int) -> tuple[list[Decimal], Decimal]:
    """Round ticks from 0 to at least `peak` (with a little headroom), about `count` steps."""
    target = max(peak * Decimal("1.05"), Decimal("1")) / count
    power = Decimal(10) ** (len(str(int(target))) - 1) if target >= 1 else Decimal(1)
    step = next(power * s for s in NICE_STEPS if power * s >= target)
    steps = int((max(peak * Decimal("1.05"), Decimal("1")) / step).to_integral_value(ROUND_CEILING))
    ticks = [step * i for i in range(max(steps, 1) + 1)]
    return ticks, ticks[-1]


def _day_ticks(start: date, end: date, x, compact: bool) -> tuple[Tick, ...]:
    """Ticks at the first and last day and, between them, month starts (long periods) or
    weeks (a month); labels only where they do not crowd each other."""
    if (end - start).days > 45:
        days = [start, *_month_starts(start, end)]
    else:
        days = [start + timedelta(days=7 * i) for i in range((end - start).days // 7 + 1)]
    days = [d for d in days if d < end] + [end]
    ticks = [Tick(x(d), d, label=False) for d in days]
    gap = MIN_LABEL_GAP * (1.45 if compact else 1.0)
    labelled: list[Tick] = []
    for tick in ticks:
        if tick is ticks[-1]:
            # The last label is anchored at its end, so it reaches further left than the others.
            while labelled and tick.at - labelled[-1].at < gap * 1.4 and len(labelled) > 1:
                labelled.pop()
            labelled.append(tick)
        elif not labelled or tick.at - labelled[-1].at >= gap:
            labelled.append(tick)
    keep = {id(t) for t in labelled}
    return tuple(Tick(t.at, t.value, id(t) in keep) for t in ticks)


def _month_starts(start: date, end: date) -> list[date]:
    found = []
    day = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    while day <= end:
        found.append(day)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return found

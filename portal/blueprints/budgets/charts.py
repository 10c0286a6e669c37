"""Server-rendered SVG geometry for budget bars and burn charts (no chart library, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class BurnChart:
    width: int
    height: int
    consumed_points: str
    plan_points: str
    budget_y: float
    today_x: float | None
    max_value: Decimal
    over: bool


def burn_chart(series: list[tuple[date, Decimal]], start: date, end: date, amount: Decimal,
               today: date, *, width: int = 640, height: int = 220) -> BurnChart:
    """Polyline points of cumulative consumption against the budget and an even-spend plan."""
    span = max((end - start).days, 1)
    peak = max([amount, *(v for _, v in series), Decimal("0.01")])
    top = float(peak) * 1.08  # float: pixel geometry of the SVG, never money

    def x(day: date) -> float:
        return round(width * min(max((day - start).days, 0), span) / span, 1)

    def y(value: Decimal) -> float:
        return round(height - height * float(value) / top, 1)  # float: pixels

    points = []
    last = Decimal("0")
    for day, value in series:
        points.append(f"{x(day)},{y(last)}")
        points.append(f"{x(day)},{y(value)}")
        last = value
    end_day = min(today, end)
    if end_day >= start:
        points.append(f"{x(end_day)},{y(last)}")
    plan = f"{x(start)},{y(Decimal('0'))} {x(end)},{y(amount)}"
    today_x = x(today) if start <= today <= end else None
    return BurnChart(width, height, " ".join(points), plan, y(amount), today_x, peak, last > amount)

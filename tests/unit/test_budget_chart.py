"""The budget burn chart's geometry (server-rendered SVG): axes, ticks, today marker, legend."""

from datetime import date
from decimal import Decimal

import pytest

from portal.blueprints.budgets.charts import burn_chart

D = Decimal
START, END = date(2026, 1, 1), date(2026, 12, 31)
SERIES = [(START, D("0.00")), (date(2026, 3, 10), D("12000.00")), (date(2026, 6, 1), D("61000.00"))]


def _chart(series=SERIES, amount="58000.00", today=date(2026, 7, 2), **kwargs):
    return burn_chart(series, START, END, D(amount), today, **kwargs)


def test_burn_chart_y_axis_has_round_ticks_from_zero_over_budget_and_use():
    chart = _chart()
    values = [t.value for t in chart.y_ticks]
    assert values[0] == 0
    assert values[-1] >= D("61000.00")
    steps = {b - a for a, b in zip(values, values[1:], strict=False)}
    assert len(steps) == 1
    step = steps.pop()
    assert step / 10 ** (len(str(int(step))) - 1) in {1, D("2"), D("2.5"), 5}
    assert 4 <= len(values) <= 8
    assert chart.y_ticks[0].at == chart.plot.bottom
    assert chart.y_ticks[-1].at == pytest.approx(chart.plot.top)
    # Linear: half the top value is half-way up.
    half = chart.plot.bottom - (chart.plot.bottom - chart.plot.top) / 2
    assert chart.y_at(values[-1] / 2) == pytest.approx(half, abs=0.1)


def test_burn_chart_y_axis_of_a_tiny_or_empty_budget():
    chart = burn_chart([(START, D("0.00"))], START, END, D("0.00"), date(2026, 2, 1))
    assert [t.value for t in chart.y_ticks][0] == 0
    assert len(chart.y_ticks) >= 2
    chart = burn_chart([(START, D("0.00"))], START, END, D("100.00"), date(2026, 2, 1))
    assert chart.y_ticks[-1].value >= 100


def test_burn_chart_x_axis_shows_the_period_from_first_to_last_day():
    chart = _chart()
    days = [t.value for t in chart.x_ticks]
    assert days[0] == START
    assert days[-1] == END
    assert date(2026, 4, 1) in days and date(2026, 12, 1) in days
    assert chart.x_ticks[0].at == chart.plot.left
    assert chart.x_ticks[-1].at == chart.plot.right
    labelled = [t.at for t in chart.x_ticks if t.label]
    assert labelled[0] == chart.plot.left and labelled[-1] == chart.plot.right
    assert min(b - a for a, b in zip(labelled, labelled[1:], strict=False)) >= 40


def test_burn_chart_narrow_labels_fewer_days_but_still_the_ends():
    chart = _chart(compact=True)
    labelled = [t for t in chart.x_ticks if t.label]
    assert labelled[0].value == START and labelled[-1].value == END
    assert 3 <= len(labelled) <= 6
    assert min(b.at - a.at for a, b in zip(labelled, labelled[1:], strict=False)) >= 40


def test_burn_chart_month_period_ticks_weekly_without_crowding_the_end():
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    chart = burn_chart([(start, D("0.00"))], start, end, D("1000.00"), date(2026, 3, 15))
    days = [t.value for t in chart.x_ticks if t.label]
    assert days[0] == start and days[-1] == end
    assert date(2026, 3, 8) in days
    assert min(b.at - a.at for a, b in zip(chart.x_ticks, chart.x_ticks[1:], strict=False)
               if b.label and a.label) >= 40


def test_burn_chart_today_marker_sits_at_todays_share_of_the_period():
    chart = _chart(today=date(2026, 7, 2))  # day 182 of a 364-day span
    plot = chart.plot
    assert chart.today is not None
    assert chart.today.value == date(2026, 7, 2)
    assert chart.today.at == pytest.approx(plot.left + (plot.right - plot.left) * 182 / 364, abs=0.1)
    assert _chart(today=date(2027, 1, 5)).today is None
    assert _chart(today=date(2025, 12, 31)).today is None


def test_burn_chart_series_are_told_apart_without_colour():
    chart = _chart()
    assert [s.key for s in chart.series] == ["consumed", "plan", "budget"]
    looks = {(s.dash, s.marker, s.width) for s in chart.series}
    assert len(looks) == 3
    assert len({s.dash for s in chart.series}) == 3
    assert all(s.label for s in chart.series)


def test_burn_chart_over_budget_changes_the_colour_not_the_pattern():
    over, under = _chart(), _chart(amount="100000.00")
    consumed_over = next(s for s in over.series if s.key == "consumed")
    consumed_under = next(s for s in under.series if s.key == "consumed")
    assert over.over and not under.over
    assert consumed_over.colour != consumed_under.colour
    assert (consumed_over.dash, consumed_over.marker) == (consumed_under.dash, consumed_under.marker)


def test_burn_chart_points_and_markers_stay_in_the_plot():
    chart = _chart()
    plot = chart.plot
    for s in chart.series:
        for pair in s.points.split():
            x, y = map(float, pair.split(","))
            assert plot.left <= x <= plot.right
            assert plot.top <= y <= plot.bottom
    consumed = chart.series[0]
    assert len(consumed.marks) == 3
    last = chart.last
    assert last.value == D("61000.00")
    assert (last.x, last.y) == consumed.marks[-1]


def test_burn_chart_consumption_line_ends_today_not_at_period_end():
    chart = _chart(today=date(2026, 7, 2))
    consumed = chart.series[0]
    xs = [float(p.split(",")[0]) for p in consumed.points.split()]
    assert max(xs) == pytest.approx(chart.today.at)


def test_burn_chart_latest_value_label_keeps_off_the_budget_line():
    near = _chart(series=[(START, D("0.00")), (date(2026, 12, 3), D("52920.00"))], today=date(2026, 12, 5))
    assert near.last_label.y > near.last.y  # below the point: the budget line runs just above it
    assert near.last_label.anchor == "end"  # the point is in the right half: the text goes left
    far = _chart(series=[(START, D("0.00")), (date(2026, 2, 1), D("1000.00"))], today=date(2026, 2, 5))
    assert far.last_label.y < far.last.y and far.last_label.anchor == "start"

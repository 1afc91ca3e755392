"""Chart geometry and the page's number formats, without a database."""

from datetime import date
from decimal import Decimal

import pytest

from loyalty.analytics import charts
from loyalty.analytics.templatetags.analytics_format import count, money, percent, point_money


@pytest.mark.parametrize(
    "peak, top", [(0, 1.0), (3, 5), (4, 5), (7, 10), (160, 200), (390, 500), (2100, 2500)]
)
def test_the_axis_top_is_a_round_number_at_or_above_the_peak(peak, top):
    assert charts.nice_max(peak) == top


def test_gridlines_divide_the_top_evenly():
    bars = charts.daily_bars(
        days=[date(2026, 3, 2)], series=[charts.Series("Issued", [5], charts.PALETTE[0])]
    )

    assert [t["label"] for t in bars["ticks"]] == ["0", "1", "2", "3", "4", "5"]
    assert bars["ticks"][0]["y"] == charts.TOP + charts.PLOT_H


def test_side_by_side_bars_are_as_tall_as_their_share_of_the_top():
    days = [date(2026, 3, 2), date(2026, 3, 3)]
    bars = charts.daily_bars(
        days=days,
        series=[
            charts.Series("Issued", [400, 100], "#000001"),
            charts.Series("Redeemed", [200, 0], "#000002"),
        ],
    )["bars"]

    # Top 500: 400 is 4/5 of the plot's height, 0 is flat; two bars per day, side by side.
    assert [(b["fill"], b["h"]) for b in bars] == [
        ("#000001", round(charts.PLOT_H * 0.8, 2)),
        ("#000002", round(charts.PLOT_H * 0.4, 2)),
        ("#000001", round(charts.PLOT_H * 0.2, 2)),
        ("#000002", 0.0),
    ]
    assert bars[1]["x"] == pytest.approx(bars[0]["x"] + bars[0]["w"], abs=0.02)
    assert bars[0]["title"] == "Mar 2: Issued 400"


def test_stacked_bars_sit_on_each_other():
    bars = charts.daily_bars(
        days=[date(2026, 3, 2)],
        series=[
            charts.Series("Members", [Decimal("150.00")], "#000001"),
            charts.Series("Non-members", [Decimal("50.00")], "#000002"),
        ],
        stacked=True,
    )["bars"]

    low, high = bars
    assert low["y"] + low["h"] == pytest.approx(charts.TOP + charts.PLOT_H)
    assert high["y"] + high["h"] == pytest.approx(low["y"])
    assert low["h"] + high["h"] == pytest.approx(charts.PLOT_H)  # 200 of a top of 200


def test_no_days_draws_an_empty_frame():
    bars = charts.daily_bars(days=[], series=[charts.Series("Issued", [], "#000001")])
    line = charts.daily_line(days=[], series=[charts.Series("Members", [], "#000001")])
    tiers = charts.horizontal_bars(items=[])

    assert (bars["bars"], bars["x_labels"], bars["rows"]) == ([], [], [])
    assert line["lines"][0]["points"] == ""
    assert tiers["bars"] == []


def test_at_most_six_dates_label_the_axis_first_and_last_included():
    days = [date.fromordinal(date(2026, 1, 1).toordinal() + i) for i in range(90)]  # to Mar 31

    labels = charts.daily_bars(days=days, series=[charts.Series("Issued", [1] * 90, "#000001")])[
        "x_labels"
    ]

    assert [label["label"] for label in labels] == [
        "Jan 1",
        "Jan 19",
        "Feb 6",
        "Feb 23",
        "Mar 13",
        "Mar 31",
    ]


def test_formats():
    assert count(1234567) == "1,234,567"
    assert money(Decimal("1234.5"), "MYR") == "1,234.50 MYR"
    assert percent(Decimal("0.3636")) == "36.4\u00a0%"
    assert point_money(Decimal("0.050000")) == "0.05"
    assert point_money(Decimal("0.006667")) == "0.006667"
    assert [f(None) for f in (count, money, percent, point_money)] == ["\u2014"] * 4

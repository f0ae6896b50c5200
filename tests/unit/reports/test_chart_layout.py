"""Chart layout defects an acceptance probe found: on a 30-day report the legend hid the peak bars, and a
report without comments drew a count axis running from -0.04 to 0.04."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.reports.charts import SharePoint, negative_share_chart

T0 = datetime(2026, 10, 24, 16, 0, tzinfo=UTC)  # midnight in Shanghai


def month_with_a_late_peak() -> list[SharePoint]:
    """30 daily buckets, growing, with the peak in the last days (upper right, where the legend was)."""
    points = []
    for day in range(30):
        total = 5 + day + (90 if day in (26, 27) else 0)
        points.append(SharePoint(T0 + timedelta(days=day), negative=total // 3, total=total))
    return points


def _legend(figure):
    legends = list(figure.legends) + [a.get_legend() for a in figure.axes if a.get_legend() is not None]
    return legends


@pytest.mark.parametrize("marks", [{}, {"normal_max": 0.2, "run_start": T0 + timedelta(days=20),
                                        "run_end": T0 + timedelta(days=28)}], ids=["report", "playbook"])
def test_the_legend_sits_outside_the_plot_and_covers_no_data(marks):
    png, figure = negative_share_chart(month_with_a_late_peak(), title="月报", account="澜肌护肤",
                                       time_format="%m-%d", **marks)
    assert png.startswith(b"\x89PNG")
    renderer = figure.canvas.get_renderer()
    [legend] = _legend(figure)
    box = legend.get_window_extent(renderer)
    share_axis, count_axis = figure.axes
    # nothing of the plot area (bars, line, markers) lies under it, nor the tick labels and axis labels
    assert not box.overlaps(share_axis.get_window_extent(renderer))
    for axis in (share_axis, count_axis):
        for item in [*axis.get_xticklabels(), *axis.get_yticklabels(), axis.xaxis.label, axis.yaxis.label]:
            if item.get_text():
                assert not box.overlaps(item.get_window_extent(renderer)), item.get_text()
    # and it is not cut off by the image's edge
    assert figure.bbox.x0 <= box.x0 and box.x1 <= figure.bbox.x1 and figure.bbox.y0 <= box.y0
    labels = [text.get_text() for text in legend.get_texts()]
    assert "负面占比" in labels and "评论数" in labels


def test_a_chart_without_comments_reads_zero_up_and_says_no_data():
    quiet_day = [SharePoint(T0 + timedelta(hours=h), negative=0, total=0) for h in range(24)]
    _png, figure = negative_share_chart(quiet_day, title="日报", account="澜肌护肤")
    share_axis, count_axis = figure.axes
    low, high = count_axis.get_ylim()
    assert low == 0 and high >= 1, (low, high)  # not -0.04 to 0.04
    assert all(tick >= 0 and float(tick).is_integer() for tick in count_axis.get_yticks() if low <= tick <= high)
    assert share_axis.get_ylim() == (0, 100)
    notes = [text.get_text() for text in share_axis.texts]
    assert any("暂无已评分评论" in note and "no scored comments" in note for note in notes), notes
    assert _legend(figure) == []  # no legend for lines that are not drawn


def test_a_chart_with_few_comments_counts_in_whole_numbers():
    few = [SharePoint(T0 + timedelta(hours=h), negative=h % 2, total=h % 3) for h in range(24)]
    _png, figure = negative_share_chart(few, title="日报", account="澜肌护肤")
    _share_axis, count_axis = figure.axes
    low, high = count_axis.get_ylim()
    ticks = [tick for tick in count_axis.get_yticks() if low <= tick <= high]
    assert low == 0 and ticks and all(float(tick).is_integer() for tick in ticks), ticks


@pytest.mark.parametrize("days", [3, 7, 30])
def test_a_daily_chart_names_each_date_once(days):
    """A 3-day report's ticks came every 12 hours, each labelled with its date: 11-20, 11-20, 11-21 ..."""
    points = [SharePoint(T0 + timedelta(days=day), negative=1, total=3 + day) for day in range(days)]
    _png, figure = negative_share_chart(points, title="报告", account="澜肌护肤", time_format="%m-%d")
    share_axis, _count_axis = figure.axes
    labels = [label.get_text() for label in share_axis.get_xticklabels() if label.get_text()]
    assert len(labels) >= 2 and len(labels) == len(set(labels)), labels

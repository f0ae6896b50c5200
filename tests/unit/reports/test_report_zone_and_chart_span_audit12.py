"""A report says which zone its times are in (title, `.md` export), its file name counts calendar days, and
its chart's Description text chunk gives the report's period, not matplotlib's padded axis range."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from PIL import Image

from bot.reports import render
from bot.reports.charts import SharePoint, local_share_series, negative_share_png
from bot.reports.render import Counts, ReportData

BERLIN = ZoneInfo("Europe/Berlin")


def _data(start: datetime, end: datetime, tz: str, **over) -> ReportData:
    return ReportData(channel="console:lanji", audience="澜肌护肤", period_name="日报 / daily report", start=start,
                      end=end, tz=tz, now=Counts(), before=Counts(), **over)


def _description(png: bytes) -> str:
    return Image.open(io.BytesIO(png)).text.get("Description", "")


def test_the_title_names_the_zone_as_the_review_does():
    end = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    data = _data(end - timedelta(days=1), end, "Asia/Shanghai")
    assert render.headline(data) == "日报 / daily report｜澜肌护肤｜2026-11-22 09:00 – 11-23 09:00 Asia/Shanghai（UTC+08:00）"
    assert render.report_message(data, None).title == render.headline(data)


def test_a_period_across_a_dst_change_gives_both_offsets():
    data = _data(datetime(2026, 3, 28, 9, tzinfo=BERLIN), datetime(2026, 3, 29, 9, tzinfo=BERLIN), "Europe/Berlin")
    assert render.headline(data).endswith("｜2026-03-28 09:00 – 03-29 09:00 Europe/Berlin（UTC+01:00 → UTC+02:00）")


def test_the_markdown_export_carries_the_zone(tmp_path):
    end = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    data = _data(end - timedelta(days=1), end, "Asia/Shanghai")
    path = render.write_report_files(tmp_path, data, render.markdown(data), None)
    first = path.with_name(path.name + ".md").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# 日报 / daily report｜澜肌护肤｜2026-11-22 09:00 – 11-23 09:00 Asia/Shanghai（UTC+08:00）"


def test_a_daily_report_of_23_hours_is_still_named_one_day():
    start, end = (datetime(2026, 3, day, 9, tzinfo=BERLIN).astimezone(UTC) for day in (28, 29))  # as stored: UTC
    assert end - start == timedelta(hours=23)
    data = _data(start, end, "Europe/Berlin")
    assert render.report_stem(data) == "report-console-lanji-1d-20260329-0900"
    hours = _data(datetime(2026, 11, 22, 1, tzinfo=UTC), datetime(2026, 11, 22, 7, tzinfo=UTC), "Asia/Shanghai")
    assert render.report_stem(hours) == "report-console-lanji-6h-20261122-1500"


def test_the_report_charts_description_gives_its_period():
    end = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    start = end - timedelta(days=7)
    labelled = [(start + timedelta(hours=h * 5), "neg" if h % 3 else "pos") for h in range(30)]
    series = local_share_series(labelled, start, end, daily=True, tz="Asia/Shanghai")
    data = _data(start, end, "Asia/Shanghai", series=series)
    described = _description(render.chart_png(data))
    # the daily bars start at midnight and matplotlib pads the axis: neither is the period
    assert described.startswith("时间（Asia/Shanghai） 2026-11-16 09:00 – 2026-11-23 09:00"), described


def test_another_charts_description_gives_the_span_of_its_data():
    t0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    points = [SharePoint(t0 + timedelta(hours=h), negative=h % 4, total=10) for h in range(24)]
    described = _description(negative_share_png(points, title="面霜过敏事件", account="抖音官方旗舰店",
                                                run_start=t0 + timedelta(hours=3)))
    assert described.startswith("时间（Asia/Shanghai） 2026-03-01 08:00 – 2026-03-02 07:00；启动预案 2026-03-01 11:00"), described

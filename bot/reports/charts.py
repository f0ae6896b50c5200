"""Charts as PNG bytes (matplotlib, Agg), with Chinese labels that render on a fresh machine.

The CJK font comes from the `pylopdf-fonts-zh-cn` package (Noto Sans SC, SIL OFL 1.1) when installed,
else from a CJK font matplotlib already knows (Noto Sans CJK SC, Source Han Sans SC, WenQuanYi ...).
Figures are built without pyplot, so rendering is safe from worker threads.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

# Families tried when no bundled font is installed, most preferred first.
KNOWN_CJK_FAMILIES = (
    "Noto Sans SC",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)


class NoCJKFontError(RuntimeError):
    """No font with Chinese glyphs is available; install `pylopdf-fonts-zh-cn`."""


@dataclass(frozen=True, slots=True)
class CJKFont:
    family: str
    path: str


def _bundled_font_path() -> Path | None:
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def cjk_font() -> CJKFont:
    """The CJK font charts use, registered with matplotlib; raises NoCJKFontError when none exists."""
    from matplotlib import font_manager

    bundled = _bundled_font_path()
    if bundled is not None:
        font_manager.fontManager.addfont(str(bundled))
        family = font_manager.FontProperties(fname=str(bundled)).get_name()
        return CJKFont(family, str(bundled))
    for family in KNOWN_CJK_FAMILIES:
        try:
            path = font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
        except ValueError:
            continue
        return CJKFont(family, path)
    raise NoCJKFontError(
        "没有可用的中文字体，请安装 pylopdf-fonts-zh-cn / no CJK font found: pip install pylopdf-fonts-zh-cn"
    )


def missing_glyphs(text: str, font_path: str | None = None) -> set[str]:
    """Characters of `text` (ignoring whitespace) that the chart font cannot draw."""
    from matplotlib.ft2font import FT2Font

    charmap = FT2Font(font_path or cjk_font().path).get_charmap()
    return {ch for ch in text if not ch.isspace() and ord(ch) not in charmap}


def _drawable(text: str, families: Sequence[str]) -> str:
    """`text` without the characters none of the chart's fonts can draw: a client named "小厨科技🍳" got a box
    in its chart's title (the PNG's Title text keeps the name as written)."""
    from matplotlib import font_manager

    missing: set[str] | None = None
    for family in families:  # matplotlib draws each character in the first of them that has it
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        lacking = missing_glyphs(text, path)
        missing = lacking if missing is None else missing & lacking
    if not missing:
        return text
    return " ".join("".join(ch for ch in text if ch not in missing).split())


def _fit_title(axis, text: str) -> None:
    """Set `text` as the chart's title, wrapped onto as many lines as it takes to fit the figure's width. A
    long client name ("Lanji Skincare International Holdings (Greater China) Co., Ltd.") ran the one-line
    title off both edges of the image: the report's name and the words after the name were cut off."""
    import textwrap

    figure = axis.get_figure()
    title = axis.set_title(text)
    room = figure.bbox.width * 0.96
    renderer = figure.canvas.get_renderer()
    width = title.get_window_extent(renderer).width
    if width <= room:
        return
    # as many characters a line as fit on average, fewer until every line fits (CJK text has no spaces:
    # textwrap breaks it anywhere)
    per_line = max(10, int(len(text) * room / width))
    while per_line > 10:
        title.set_text("\n".join(textwrap.wrap(text, per_line)))
        if title.get_window_extent(renderer).width <= room:
            return
        per_line -= max(1, per_line // 10)


@dataclass(frozen=True, slots=True)
class SharePoint:
    """Negative share in one time bucket: `negative` of `total` scored comments from `start` on."""

    start: datetime
    negative: int
    total: int

    @property
    def share(self) -> float | None:
        return self.negative / self.total if self.total else None


def local_share_series(
    labelled: Iterable[tuple[datetime, str | None]], start: datetime, end: datetime, *, daily: bool, tz: str
) -> list[SharePoint]:
    """Scored and negative comments per hour or per day of the channel's own calendar, from the bucket
    holding `start` to the one holding `end` (exclusive), empty buckets included.

    Buckets on the Unix epoch are UTC days: in Asia/Shanghai a report's "daily" bar ran from 08:00 to
    08:00 and its first and last bars mixed two local days.
    """
    return counted_share_series(((moment, label, 1) for moment, label in labelled), start, end, daily=daily, tz=tz)


def counted_share_series(
    counted: Iterable[tuple[datetime, str | None, int]], start: datetime, end: datetime, *, daily: bool, tz: str
) -> list[SharePoint]:
    """`local_share_series` of comments counted beforehand: (moment, label, n) stands for n comments of
    that label in the bucket holding `moment` (the database counts them per `steady_span`)."""
    zone = ZoneInfo(tz)

    def floor(moment: datetime) -> datetime:
        local = moment.astimezone(zone)
        if daily:
            return datetime.combine(local.date(), time(0), zone)
        return local.replace(minute=0, second=0, microsecond=0)

    counts: dict[datetime, list[int]] = {}
    if daily:  # calendar days: 23 or 25 hours across a DST change
        cursor = floor(start)
        while cursor < end:
            counts[cursor.astimezone(UTC)] = [0, 0]
            cursor = datetime.combine(cursor.date() + timedelta(days=1), time(0), zone)
    else:
        # The buckets are the distinct local hours `floor` gives, looked for at the start, at every quarter
        # hour of UTC time and at the end (a local hour lasts at least half an hour). Stepping one UTC hour
        # from the last bucket missed every hour after a change of half an hour (Lord Howe Island), and
        # those comments fell outside the chart.
        quarter = timedelta(minutes=15)
        moment = start
        while moment < end:
            counts.setdefault(floor(moment).astimezone(UTC), [0, 0])
            moment = datetime.fromtimestamp(moment.timestamp() // 900 * 900, UTC) + quarter
        if start < end:  # the hour holding the period's last moment, however soon before `end` it starts
            counts.setdefault(floor(end - timedelta(microseconds=1)).astimezone(UTC), [0, 0])
    for moment, label, number in counted:
        if label not in ("neg", "neu", "pos"):
            continue
        key = floor(moment).astimezone(UTC)
        if key in counts:
            counts[key][1] += number
            counts[key][0] += number if label == "neg" else 0
    return [SharePoint(key, neg, total) for key, (neg, total) in counts.items()]


# The spans comments can be counted by, longest first (in seconds): each divides an hour.
STEADY_SPANS = (3600, 1800, 900, 60, 1)


def steady_span(tz: str, start: datetime, end: datetime) -> int:
    """The longest of STEADY_SPANS such that, between `start` and `end`, all the comments of one such span
    of UTC time (counted from the Unix epoch) fall in one bucket of `local_share_series`, hourly or daily.

    That holds when the offsets `tz` has there, and the moments it changes them, are whole multiples of the
    span: a span then shows one stretch of the local clock inside one local hour (and day), on one side of
    any DST change (a repeated hour's fold included). An hour in Berlin or Shanghai, half an hour in India
    or on Lord Howe Island, a quarter in Nepal. Offsets are looked for hourly, each change found to the
    second (no zone changes its offset twice within an hour).
    """
    zone = ZoneInfo(tz)

    def offset(unix: int) -> timedelta:
        return datetime.fromtimestamp(unix, UTC).astimezone(zone).utcoffset() or timedelta(0)

    low = int(start.timestamp()) - 3600
    last = offset(low)
    seconds = {int(last.total_seconds())}  # the offsets, and the moments (Unix time) they begin
    while low < end.timestamp():
        high = low + 3600
        now = offset(high)
        if now != last:
            before, after = low, high  # the change lies in (before, after]
            while after - before > 1:
                middle = (before + after) // 2
                before, after = (before, middle) if offset(middle) == now else (middle, after)
            seconds.update((int(now.total_seconds()), after))
            last = now
        low = high
    return next(span for span in STEADY_SPANS if all(value % span == 0 for value in seconds))


def negative_share_png(points: Sequence[SharePoint], **options: Any) -> bytes:
    """A line chart of the negative share (%) over time with comment counts as bars, the normal range
    shaded and the run's start/end marked; Chinese labels; returns PNG bytes. The options are
    `negative_share_chart`'s."""
    return negative_share_chart(points, **options)[0]


def negative_share_chart(
    points: Sequence[SharePoint],
    *,
    title: str,
    account: str,
    tz: str = "Asia/Shanghai",
    normal_max: float | None = None,
    run_start: datetime | None = None,
    run_end: datetime | None = None,
    width_px: int = 1000,
    height_px: int = 500,
    time_format: str = "%m-%d %H:%M",
    end_label: str | None = None,
    span: tuple[datetime, datetime] | None = None,
    lang: str = "zh",
) -> tuple[bytes, Figure]:
    """`negative_share_png` and the drawn figure it was saved from (its axes, legend and their places can
    be looked at: the figure is laid out and drawn, in the chart's fonts). `end_label` names the run's
    end line (a cancelled run ends with 取消, not 解除; by default 解除, "resolved" in English); the PNG's
    Title and Description text chunks repeat the title and the marked moments, a text alternative to the
    image. The Description's time range is `span` (a report's period), else the time of the first to the
    last point drawn: what the data covers, not the axis (matplotlib pads it beyond both ends). `lang="en"`
    labels it in English (a channel set to `language: en`), its axes, legend and notes capitalised as
    English labels are ("Negative share"); the run's end mark is the caller's word (`end_label`),
    capitalised in an English legend like the rest."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

    from bot.i18n import num

    zone = ZoneInfo(tz)
    en = lang == "en"
    # An English chart's labels are drawn in DejaVu Sans (matplotlib's own font, always there), the CJK font
    # after it only for a Chinese name in its title or legend; a Chinese chart's in the CJK font. Without a
    # CJK font an English chart still says all it has to: no "labels will not render" error for it, which
    # an English channel got on every report of a machine without Chinese fonts.
    try:
        cjk = [cjk_font().family]
    except NoCJKFontError:
        cjk = []
        if not en:
            # A report with boxes for Chinese labels beats no report at all; the log says how to fix it.
            log.error("no CJK font: chart labels will not render; install pylopdf-fonts-zh-cn")
        else:
            log.info("no CJK font: Chinese names in English charts are left out; install pylopdf-fonts-zh-cn")
    families = ["DejaVu Sans", *cjk] if en else [*cjk, "DejaVu Sans"]
    words = {
        "count": "comments" if en else "评论数",
        "share": "negative share" if en else "负面占比",
        "share_axis": "negative share (%)" if en else "负面占比（%）",
        "time": f"time ({tz})" if en else f"时间（{tz}）",
        "title": f"{title} | {account} negative comment share" if en else f"{title}｜{account} 负面评论占比",
        "empty": "no scored comments" if en else "暂无已评分评论 / no scored comments",
        "normal": "normal range" if en else "常态区间",
        "start": "playbook started" if en else "启动预案",
    }
    if end_label is None:  # the Chinese default drew "解除" in an English chart
        end_label = "resolved" if en else "解除"
    # The words as drawn: an English chart's labels start with a capital ("Comments", "Negative share (%)";
    # the lower-case "comments" beside "negative share" read as fragments). The PNG's Description keeps
    # the words as they run on in its sentence ("time (UTC) 2026-11-01 00:00 – …; playbook started …").
    drawn = {key: (word[:1].upper() + word[1:] if en else word) for key, word in words.items()}
    end_drawn = end_label[:1].upper() + end_label[1:] if en else end_label
    rc = {"font.family": families, "axes.unicode_minus": False}
    # tick labels are made while drawing: the figure is drawn and saved inside the font settings
    with matplotlib.rc_context(rc):
        # constrained layout makes room for the legend below the plot (see the legend below)
        figure = Figure(figsize=(width_px / 100, height_px / 100), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        axis = figure.add_subplot(1, 1, 1)
        bars = axis.twinx()
        times = [p.start.astimezone(zone) for p in points]
        shares = [None if p.share is None else p.share * 100 for p in points]
        counts = [p.total for p in points]
        # buckets with no scored comment draw nothing; a chart of nothing but those says so instead of
        # drawing a legend for lines that are not there
        has_data = any(counts)
        if points:
            width = (times[1] - times[0]).total_seconds() / 86400 * 0.8 if len(times) > 1 else 0.02
            bars.bar(times, counts, width=width, color="#c9d6e3", alpha=0.6,
                     label=drawn["count"] if has_data else "_nolegend_", zorder=1)
            axis.plot(
                times,
                [float("nan") if s is None else s for s in shares],
                color="#d62728",
                marker="o",
                markersize=3,
                linewidth=2,
                label=drawn["share"] if has_data else "_nolegend_",
                zorder=3,
                # 0% and 100% lie on the frame: clipped there, an all-negative day showed half a dot and a
                # line hidden in the top border
                clip_on=False,
            )
        if not has_data:
            axis.text(
                0.5, 0.5, drawn["empty"], transform=axis.transAxes, ha="center",
                va="center", fontsize=14, color="#555555",
            )
        if normal_max is not None:
            axis.axhspan(0, normal_max * 100, color="#2ca02c", alpha=0.08, label=drawn["normal"])
            axis.axhline(normal_max * 100, color="#2ca02c", linestyle="--", linewidth=1)
        marked = []
        for moment, label, shown_label, colour in ((run_start, words["start"], drawn["start"], "#ff7f0e"),
                                                   (run_end, end_label, end_drawn, "#1f77b4")):
            if moment is not None:
                axis.axvline(moment.astimezone(zone), color=colour, linestyle=":", linewidth=1.5, label=shown_label)
                marked.append(f"{label} {moment.astimezone(zone):%Y-%m-%d %H:%M}")
        axis.set_zorder(bars.get_zorder() + 1)
        axis.patch.set_visible(False)
        axis.set_ylim(0, 100)
        # Counts start at 0 and are whole numbers. With every bar at 0 matplotlib centred the axis on 0
        # (-0.04 to 0.04): an empty chart's count axis reads 0 to 5 instead.
        bars.set_ylim(0, None if has_data else 5)
        bars.yaxis.set_major_locator(MaxNLocator(integer=True))
        # with thousands separators, as the report's text writes counts (12,000, not 12000)
        bars.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: num(round(value))))
        axis.set_ylabel(drawn["share_axis"])
        bars.set_ylabel(drawn["count"])
        axis.set_xlabel(drawn["time"])
        _fit_title(axis, _drawable(words["title"], families))
        axis.xaxis.set_major_formatter(mdates.DateFormatter(time_format, tz=zone))
        if not points:  # no time range at all: no made-up dates (matplotlib's default range is 1970)
            axis.xaxis.set_major_locator(NullLocator())
        elif "%H" not in time_format:
            # one bar a day, labelled by date: ticks under the bars, from the period's first day on, at most
            # 12. The default locator put a 3-day report's ticks every 12 hours, so each date was written
            # twice; a DayLocator labelled a November report from 10-31 (the axis' margin) and not 11-01.
            axis.xaxis.set_major_locator(FixedLocator(mdates.date2num(times[:: max(1, -(-len(points) // 12))])))
        axis.grid(True, alpha=0.3)
        handles, labels = axis.get_legend_handles_labels()
        more_handles, more_labels = bars.get_legend_handles_labels()
        figure.autofmt_xdate()
        if handles or more_handles:
            # Below the plot, in one row: inside it ("upper right") the legend hid the bars and points of
            # the period's end, where a peak usually is; "best" does not see the bars (another axes).
            figure.legend(handles + more_handles, labels + more_labels, loc="outside lower center",
                          ncols=len(handles) + len(more_handles), fontsize=9, frameon=False)
        buffer = io.BytesIO()
        shown = words["time"]
        if span is None and points:  # without any the axis has no real range (its dates are hidden)
            span = (min(p.start for p in points), max(p.start for p in points))
        if span is not None:
            low, high = (moment.astimezone(zone) for moment in span)
            shown += f" {low:%Y-%m-%d %H:%M} – {high:%Y-%m-%d %H:%M}"
        figure.savefig(buffer, format="png", metadata={
            "Title": words["title"],
            "Description": ("; " if en else "；").join(
                [shown, *marked, *([] if has_data else ["no scored comments" if en else "暂无已评分评论"])]),
        })
    return buffer.getvalue(), figure

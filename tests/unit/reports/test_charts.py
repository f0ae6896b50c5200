"""The negative-share chart renders PNG with every Chinese glyph drawn by a real CJK font."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

from bot.reports.charts import SharePoint, cjk_font, missing_glyphs, negative_share_png

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
LABELS = "负面评论占比（%）评论数时间启动预案解除常态区间暂无已评分评论｜面霜过敏事件抖音官方旗舰店"


def points():
    return [SharePoint(T0 + timedelta(hours=h), negative=(h * 7) % 30, total=40 + h) for h in range(24)]


def test_font_has_every_label_glyph():
    font = cjk_font()
    assert font.path and font.family
    assert missing_glyphs(LABELS) == set()


def test_chart_is_png_and_no_glyph_falls_back():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = negative_share_png(
            points(),
            title="面霜过敏事件",
            account="抖音官方旗舰店",
            normal_max=0.2,
            run_start=T0 + timedelta(hours=3),
            run_end=T0 + timedelta(hours=20),
        )
        empty = negative_share_png([], title="面霜过敏事件", account="抖音官方旗舰店")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert empty.startswith(b"\x89PNG")
    missing = [
        str(w.message) for w in caught if "missing from font" in str(w.message) or "Glyph" in str(w.message)
    ]
    assert missing == []


def test_fallback_detection_works_on_a_font_without_chinese():
    """Control: the warning check above would catch a fallback (DejaVu Sans has no Chinese glyphs)."""
    import io

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with (
        warnings.catch_warnings(record=True) as caught,
        matplotlib.rc_context({"font.family": ["DejaVu Sans"]}),
    ):
        warnings.simplefilter("always")
        figure = Figure()
        FigureCanvasAgg(figure)
        figure.add_subplot(1, 1, 1).set_title("负面")
        figure.savefig(io.BytesIO(), format="png")
    assert any("missing from font" in str(w.message) for w in caught)
    assert missing_glyphs("负面", font_path=matplotlib.font_manager.findfont("DejaVu Sans")) == {"负", "面"}

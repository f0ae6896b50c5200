"""Report and alert keywords against a baseline that is too small to tell what is usual."""

from __future__ import annotations

from bot.sentiment.keywords import extract_keywords

WINDOW = (["质量太差了，用完脸过敏红肿，要退货"] * 12 + ["垃圾产品，骗子，烂脸了"] * 10
          + ["太失望了，客服也不理人"] * 8 + ["假货吧，用了就起痘，差评"] * 8)


def test_a_one_comment_baseline_filters_like_no_baseline():
    """A client's first report: the previous period held one comment. Every term of the window was
    dropped unless it was in over a quarter of the window (one keyword listed instead of eight)."""
    alone = extract_keywords(WINDOW, [], top_k=8)
    with_one = extract_keywords(WINDOW, ["什么时候发货"], top_k=8)
    assert len(alone) == 8
    assert [k.term for k in with_one] == [k.term for k in alone]


def test_a_real_baseline_still_drops_the_usual_terms():
    usual = ["太失望了，客服也不理人"] * 30 + ["什么时候发货"] * 30
    terms = {k.term for k in extract_keywords(WINDOW, usual, top_k=8)}
    assert "客服" not in terms and "过敏" in terms

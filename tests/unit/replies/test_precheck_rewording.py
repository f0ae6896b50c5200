"""The suggested rewording is a sensible sentence: whole risky phrases get safe equivalents or their clause
goes, no dangling punctuation is left, and no rewording is offered where no safe rewrite exists.

Probe findings: `您好，我们已私信您，全网最低价补偿` was reworded to `…我们已私信您，价补偿`, and
`这是全网最好的面霜，100%有效` to `这是全网很好的面霜，有效` (the ranking scope 全网 kept, the sentence broken).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.replies.precheck import PrecheckConfigError, Prechecker

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def checker() -> Prechecker:
    return Prechecker.from_file(ROOT / "config" / "precheck.yaml")


@pytest.mark.parametrize(("text", "reworded"), [
    # the probe's two examples
    ("您好，我们已私信您，全网最低价补偿", "您好，我们已私信您，优惠价补偿"),
    ("这是全网最好的面霜，100%有效", "这是口碑不错的面霜，多数用户反馈有效"),
    # more of config/precheck.yaml's rules
    ("价格全网最低，放心买", "价格优惠，放心买"),
    ("全网最火的面霜，欢迎选购", "很受欢迎的面霜，欢迎选购"),
    ("这是最低价了", "这是优惠价了"),
    ("保证100%有效！", "多数用户反馈有效！"),
    ("100%纯天然，敏感肌可用", "纯天然，敏感肌可用"),
    ("我们是行业第一，放心购买。", "放心购买。"),  # no safe equivalent: the clause goes, not just 第一
    ("您好，扫码领券。", "您好。"),  # the full stop is kept, no "您好，" left hanging
    ("国家级认证，放心用", "放心用"),
    ("安全无副作用，放心用", "安全，放心用"),
    ("保证稳赚，欢迎咨询", "欢迎咨询"),
    ("全网最火的面霜，我们是No.1", "很受欢迎的面霜"),
    ("这是唯一能修护屏障的面霜（全网最好），欢迎试用", "欢迎试用"),
])
def test_rewording_replaces_whole_phrases_and_keeps_sentences_whole(checker: Prechecker, text: str,
                                                                    reworded: str) -> None:
    result = checker.check(text)
    assert result.blocked
    assert result.suggested_text == reworded
    assert not checker.check(reworded).blocked
    for dangling in ("，，", "，。", "。，", "（）"):
        assert dangling not in reworded
    assert not reworded.startswith(("，", "。")) and not reworded.endswith("，")


@pytest.mark.parametrize("text", ["全网最新款面霜", "效果100%", "有效率达到百分之百"])
def test_no_rewording_where_no_safe_rewrite_exists(checker: Prechecker, text: str) -> None:
    """最新款 after a ranking scope or a bare 100% has no safe equivalent: flagged, nothing half-rewritten."""
    result = checker.check(text)
    assert result.blocked and result.findings
    assert result.suggested_text is None


def test_a_rewording_that_would_still_be_blocked_is_not_offered() -> None:
    checker = Prechecker.from_mapping({"categories": {"absolute": {
        "label_zh": "绝对化", "why_zh": "广告法", "blocks": True,
        "terms": [{"term": "最好", "replace": "顶级"}, {"term": "顶级"}]}}})
    assert checker.check("最好的面霜").suggested_text is None


def test_rewrite_takes_only_clause_and_not_with_replace() -> None:
    def build(entry: dict) -> Prechecker:
        return Prechecker.from_mapping({"categories": {"x": {
            "label_zh": "x", "why_zh": "x", "blocks": True, "terms": [entry]}}})

    with pytest.raises(PrecheckConfigError, match="rewrite"):
        build({"term": "第一", "rewrite": "sentence"})
    with pytest.raises(PrecheckConfigError, match="not both"):
        build({"term": "第一", "rewrite": "clause", "replace": ""})
    assert build({"term": "第一", "rewrite": "clause"}).check("行业第一，放心买").suggested_text == "放心买"


def test_a_character_whose_lower_case_is_two_characters_keeps_the_positions(checker):
    # "İ".lower() is "i" + a combining dot: every finding after it was one place off, and the rewording's
    # clause lookup raised StopIteration out of the check
    from bot.replies.precheck import normalise_for_matching

    assert len(normalise_for_matching("İİİİ我们是行业第一")) == len("İİİİ我们是行业第一")
    result = checker.check("İİİİ我们是行业第一，放心购买。")
    assert result.blocked and any(f.term == "第一" for f in result.findings)
    assert result.suggested_text == "放心购买。"  # the first clause, İİİİ included, goes

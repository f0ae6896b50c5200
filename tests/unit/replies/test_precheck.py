"""Precheck findings against the bundled lists and against small inline lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.replies.precheck import PrecheckConfigError, Prechecker, normalise_for_matching

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def checker() -> Prechecker:
    return Prechecker.from_file(ROOT / "config" / "precheck.yaml")


def _terms(result) -> list[tuple[str, str]]:
    return [(f.term, f.category) for f in result.findings]


def test_absolute_terms_block_with_reason_and_rewording(checker: Prechecker) -> None:
    result = checker.check("这是全网最好的面霜，销量第一，100%有效！")
    assert ("全网最好", "absolute") in _terms(result)  # the whole claim, rewritten as a whole
    assert ("第一", "absolute") in _terms(result)
    assert ("100%有效", "absolute") in _terms(result)
    assert result.blocked
    finding = result.findings[0]
    assert "广告法" in finding.why_zh and finding.why_en
    assert finding.suggestion
    assert result.suggested_text is not None
    assert "最" not in result.suggested_text and "100%" not in result.suggested_text
    assert not checker.check(result.suggested_text).blocked


def test_allowed_longer_words_are_not_findings(checker: Prechecker) -> None:
    result = checker.check("最近收到反馈后，我们第一时间联系了您，最迟明天给您答复，最好先停用。")
    assert result.ok, _terms(result)


def test_full_width_and_case_are_folded(checker: Prechecker) -> None:
    assert normalise_for_matching("ＶＸ１００％") == "vx100%"
    result = checker.check("加ＶＸ了解，效果１００％")
    categories = {f.category for f in result.findings}
    assert {"off_platform", "absolute"} <= categories
    # Positions refer to the original text.
    for finding in result.findings:
        assert result.text[finding.start:finding.end] == finding.term


@pytest.mark.parametrize(
    ("text", "category", "blocks"),
    [
        ("有问题加我微信详聊", "off_platform", True),
        ("联系电话13812345678", "off_platform", True),
        ("扫码进群领优惠", "off_platform", True),
        ("点赞关注送小样", "inducement", False),
        ("评论区扣1抽奖", "inducement", False),
        ("这款面霜可以治疗湿疹", "medical", True),
        ("我们的产品无副作用", "medical", True),
        ("跟着买稳赚不赔", "financial", True),
        ("这是您的个人体质问题", "blame", False),
        ("别听那些黑粉造谣", "blame", False),
        ("已为您全额退款", "risk", False),
    ],
)
def test_categories(checker: Prechecker, text: str, category: str, blocks: bool) -> None:
    result = checker.check(text)
    found = [f for f in result.findings if f.category == category]
    assert found, _terms(result)
    assert all(f.blocks is blocks for f in found)
    assert result.blocked is any(f.blocks for f in result.findings)


def test_overlapping_terms_of_one_category_reported_once(checker: Prechecker) -> None:
    result = checker.check("稳赚不赔")
    assert [f.term for f in result.findings if f.category == "financial"] == ["稳赚不赔"]


def test_clean_polite_reply_passes(checker: Prechecker) -> None:
    result = checker.check("您好，非常抱歉给您带来不适，麻烦私信我们订单号，我们会尽快联系您处理。")
    assert result.ok and not result.blocked and result.suggested_text is None


def test_extra_risk_terms_can_be_added(checker: Prechecker) -> None:
    extended = checker.with_extra_terms("risk", ["翻车"])
    assert [f.term for f in extended.check("这次翻车了").findings] == ["翻车"]
    assert checker.check("这次翻车了").ok


def test_bad_lists_are_reported_with_key_paths() -> None:
    bad = {"categories": {
        "absolute": {"label_zh": "x", "why_zh": "y", "terms": [{"term": "最", "pattern": "最"}, {"pattern": "("}]},
        "other": {"label_zh": "x"},
    }}
    with pytest.raises(PrecheckConfigError) as caught:
        Prechecker.from_mapping(bad, source="precheck.yaml")
    message = str(caught.value)
    assert "precheck.yaml: categories.absolute.terms[0]: give exactly one of term or pattern" in message
    assert "categories.absolute.terms[1].pattern" in message
    assert "categories.other: missing why_zh, terms" in message


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PrecheckConfigError, match="file not found"):
        Prechecker.from_file(tmp_path / "nope.yaml")

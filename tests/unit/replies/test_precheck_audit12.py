"""/precheck audit (round 12): traditional characters and Arabic-digit ranks are the same claims, and every
suggested rewording is whole, has no doubled word and passes the check itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.replies.precheck import Prechecker, normalise_for_matching

ROOT = Path(__file__).resolve().parents[3]
DOUBLED_BIGRAM = re.compile(r"([\u4e00-\u9fff]{2})\1")


@pytest.fixture(scope="module")
def checker() -> Prechecker:
    return Prechecker.from_file(ROOT / "config" / "precheck.yaml")


def test_traditional_characters_are_found_and_quoted_as_written(checker: Prechecker) -> None:
    text = "絕對有效，全網最好"
    result = checker.check(text)
    assert [(f.term, text[f.start:f.end]) for f in result.findings] == [("絕對", "絕對"), ("全網最好", "全網最好")]
    # the phrase rule fires (全网最好 -> 口碑不错), and 絕對 does not survive into the rewording
    assert result.suggested_text == "有效，口碑不错"


@pytest.mark.parametrize("text", ["第1名的面霜", "排名第1", "我们是第１", "行业第1的品牌"])
def test_a_rank_with_an_arabic_digit_is_first(checker: Prechecker, text: str) -> None:
    result = checker.check(text)
    assert result.blocked and any(f.rule == "第一" for f in result.findings)
    found = next(f for f in result.findings if f.rule == "第一")
    assert found.term == text[found.start:found.end] and found.term.startswith("第")


@pytest.mark.parametrize("text", ["第1次购买记得领券", "第1天就到货了", "第10名", "第1.5代"])
def test_ordinals_with_a_digit_that_are_no_rank_pass(checker: Prechecker, text: str) -> None:
    assert checker.check(text).ok


def test_positions_stay_aligned_with_zero_width_characters() -> None:
    text = "a\u200b絕對"
    assert len(normalise_for_matching(text)) == len(text)
    assert normalise_for_matching(text)[2:] == "绝对"


@pytest.mark.parametrize(("text", "reworded"), [
    ("这款面霜最适合敏感肌，顶级品质，国家级认证", "这款面霜很适合敏感肌，高品质"),
    ("ＶＸ：abc，微 信也行", "私信也行"),
    ("加我vx: abc123 或打138 1234 5678", "私信我们"),
    ("微信号 abc 联系", "私信 联系"),
    ("请拨打13812345678咨询", "请私信咨询"),
    ("絕對有效，全網最好", "有效，口碑不错"),
])
def test_audit_rewordings(checker: Prechecker, text: str, reworded: str) -> None:
    assert checker.check(text).suggested_text == reworded


BAD_DRAFTS = [
    "絕對有效，全網最好",
    "这款面霜最适合敏感肌，顶级品质，国家级认证",
    "ＶＸ：abc，微 信也行",
    "加我vx: abc123 或打138 1234 5678",
    "微信号 abc 联系",
    "请拨打13812345678咨询",
    "排名第1，品质好",
    "顶级质量，完美体验",
    "这是全网最好的面霜，100%有效",
    "您好，我们已私信您，全网最低价补偿",
    "有问题加我微信详聊",
    "请加V：Lanji2024",
    "微信号：wxid_abc123 联系",
    "我们的面霜是全网最好的，加微信领券",
    "顶级的品质，最好的服务，关注公众号领券",
    "全網最低價，絕對正品，加薇信 abc_123",
    "这款是王牌产品，極致体验，永久保修",
    "本品可治疗皮肤问题，消炎效果好",
    "全网最轻薄的防晒，顶级面料",
]


@pytest.mark.parametrize("text", BAD_DRAFTS)
def test_every_rewording_passes_the_check_and_has_no_doubled_word(checker: Prechecker, text: str) -> None:
    result = checker.check(text)
    assert result.blocked
    reworded = result.suggested_text
    assert reworded is not None, text
    assert checker.check(reworded).findings == (), (text, reworded)
    assert not DOUBLED_BIGRAM.search(reworded), (text, reworded)

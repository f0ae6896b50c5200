"""A labelled table of real-looking brand replies against the bundled /precheck lists.

Each row is what a community manager might actually post. `blocks` is the verdict a public reply should
get: Advertising-Law absolute terms are claims about the product or brand (最好、最佳、第一、全网最低),
not customer-service wording (尽最大努力、最短时间、最新进展); off-platform contact is caught also when it
is spelled to slip past a word list (微 信、加V、vx、spaced phone numbers).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.replies.precheck import Prechecker

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def checker() -> Prechecker:
    return Prechecker.from_file(ROOT / "config" / "precheck.yaml")


SHOULD_PASS = [
    # Service attitude and time/quantity words with 最 (市场监管总局 2023 指南: not absolute terms).
    "非常抱歉，我们会尽最大努力给您答复。",
    "我们会在最短时间内联系您，请留意私信。",
    "最新进展请关注官方公告。",
    "这是我们最不愿意看到的，真的很抱歉。",
    "最近收到不少反馈，我们已经在逐一核实。",
    "最后再次向您致歉。",
    "最终处理结果会私信告知您。",
    "退款最少需要1-3个工作日，最多不超过7天。",
    "最快明天就能给您补发。",
    "您最好先停用，如有不适请及时就医。",
    "我们最关心的是您的皮肤状况，麻烦私信我们订单号。",
    "我们会以最快速度处理，最大程度减少您的损失。",
    "我们第一时间联系了物流，第一批补发已经寄出。",
    "您是第一个反馈这个问题的朋友，谢谢您。",
    "我们会把您的安全放在第一位。",
    "首个工作日内会有专人联系您。",
    # WeChat Pay is how a refund goes back, not a contact channel.
    "您通过微信支付的款项会原路退回，请留意微信零钱。",
    "已经看到您在微博的留言，我们私信您了。",
    # Numbers that are not phone numbers.
    "订单金额 199 元，预计 3 个工作日到账。",
    "请私信我们订单号（如 2026 1122 0001），我们来查。",
]

SHOULD_BLOCK = [
    # Advertising Law art. 9: claims about the product or brand.
    ("这是我们最好的面霜", "absolute"),
    ("口碑最佳的面霜", "absolute"),
    ("采用最先进的工艺", "absolute"),
    ("全网最低价，放心买", "absolute"),
    ("全网最轻薄的防晒", "absolute"),
    ("行业第一品牌", "absolute"),
    ("国家级认证，放心用", "absolute"),
    ("顶级原料", "absolute"),
    ("最高级的护肤体验", "absolute"),
    ("销量第一的面霜", "absolute"),
    # Off-platform contact, including spellings meant to slip past word lists.
    ("加V领取补偿", "off_platform"),
    ("有问题加微，马上处理", "off_platform"),
    ("麻烦加一下微 信，我们详细沟通", "off_platform"),
    ("vx 联系客服领券", "off_platform"),
    ("wx：lanji_kefu", "off_platform"),
    ("有问题加我微信详聊", "off_platform"),
    ("+v 领取小样", "off_platform"),
    ("客服电话 138 1234 5678", "off_platform"),
    ("客服电话 138-1234-5678", "off_platform"),
    ("客服电话 +86 13812345678", "off_platform"),
    ("拨打１３８１２３４５６７８联系我们", "off_platform"),
    ("加qq群领取售后", "off_platform"),
]


@pytest.mark.parametrize("text", SHOULD_PASS)
def test_ordinary_replies_are_not_blocked(checker: Prechecker, text: str) -> None:
    result = checker.check(text)
    assert not result.blocked, [(f.term, f.category) for f in result.findings]


@pytest.mark.parametrize(("text", "category"), SHOULD_BLOCK)
def test_claims_and_contact_attempts_are_blocked(checker: Prechecker, text: str, category: str) -> None:
    result = checker.check(text)
    assert result.blocked
    assert any(f.category == category and f.blocks for f in result.findings), \
        [(f.term, f.category) for f in result.findings]
    # The offered rewording is itself publishable (where one is offered).
    if result.suggested_text is not None:
        assert not checker.check(result.suggested_text).blocked, result.suggested_text


def test_add_me_on_wechat_is_one_finding_rewritten_once(checker: Prechecker) -> None:
    result = checker.check("有问题加我微信详聊")
    assert [f.term for f in result.findings if f.category == "off_platform"] == ["加我微信"]
    assert result.suggested_text == "有问题私信我们详聊"


def test_superlative_is_reworded_keeping_the_adjective(checker: Prechecker) -> None:
    # the ranking scope goes with 最 ("全网很轻薄的" still compared with the whole web)
    assert checker.check("全网最轻薄的防晒").suggested_text == "很轻薄的防晒"


@pytest.mark.parametrize(("text", "reworded"), [
    ("加我vx: abc123 或打 138 1234 5678", "私信我们"),
    ("微信号：wxid_abc123 联系", "私信 联系"),
    ("请加V：Lanji2024", "请私信我们"),
    ("加qq群 123456789 领取", "私信我们 领取"),
])
def test_the_id_after_a_contact_channel_goes_with_it(checker: Prechecker, text: str, reworded: str) -> None:
    """The rewording replaced "vx" and kept the WeChat ID after it ("私信我们: abc123"): still a way off the
    platform, offered as the safe version."""
    result = checker.check(text)
    assert result.suggested_text == reworded
    assert not checker.check(result.suggested_text).blocked


@pytest.mark.parametrize(("text", "reworded"), [
    ("wechat payment 已完成", "私信 payment 已完成"),  # an ordinary word after it is no id
    ("退款已退回微信 20231205 请查收", "退款已退回私信 20231205 请查收"),  # nor a date
])
def test_words_after_a_contact_word_that_are_no_id_stay(checker: Prechecker, text: str, reworded: str) -> None:
    assert checker.check(text).suggested_text == reworded


@pytest.mark.timeout(60)  # a hang guard, not a speed target: the old patterns ran for many minutes here
def test_a_long_run_of_spaces_after_a_contact_word_does_not_hang_the_check(checker: Prechecker) -> None:
    """Three optional whitespace runs in a row backtracked cubically: 2,000 spaces took 15 s, 8,000 did not
    finish in two minutes (the check runs in the dispatcher's two workers)."""
    for word in ("微信", "vx", "加微信"):
        assert checker.check(word + " " * 8000).blocked

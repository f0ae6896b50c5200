"""Template choice by topic keywords and sentiment, variable filling, and the bundled templates' safety."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.replies.precheck import Prechecker
from bot.replies.templates import CommentFacts, ReplyTemplate, TemplateConfigError, TemplateLibrary, fill

ROOT = Path(__file__).resolve().parents[3]
LANJI = "douyin:lanji_official"
XIAOCHU = "bilibili:xiaochu_kitchen"


@pytest.fixture(scope="module")
def library() -> TemplateLibrary:
    return TemplateLibrary.from_file(ROOT / "config" / "reply_templates.yaml")


def _facts(text: str, label: str = "neu", account: str = LANJI, author: str = "小鹿") -> CommentFacts:
    name = "澜肌官方旗舰店" if account == LANJI else "小厨科技官方"
    return CommentFacts(text=text, account_key=account, sentiment_label=label, author_name=author,
                        account_name=name)


@pytest.mark.parametrize(
    ("text", "label", "account", "expected"),
    [
        ("用了面霜第二天就过敏烂脸了", "neg", LANJI, "allergy"),
        ("申请退款被拒，不给退", "neg", LANJI, "refund"),
        ("已经打12315投诉了", "neg", LANJI, "complaint_escalated"),
        ("敏感肌能用吗？", "neu", LANJI, "sensitive_skin"),
        ("首发价多少？", "neu", LANJI, "price"),
        ("回购第三瓶了，好用", "pos", LANJI, "thanks"),
        ("我的X3用了两个月就报E3错误了", "neg", XIAOCHU, "defect"),
        ("快递好慢，赠品也没收到", "neg", LANJI, "shipping"),
        ("这到底是什么情况", "neg", LANJI, "generic_apology"),
        ("能不能做螺蛳粉？", "neu", XIAOCHU, "generic_question"),
        ("哈哈哈哈", "neu", XIAOCHU, "generic_thanks"),
    ],
)
def test_topic_choice(library: TemplateLibrary, text: str, label: str, account: str, expected: str) -> None:
    suggestions = library.choose(_facts(text, label, account))
    assert suggestions and suggestions[0].template_id == expected
    assert len(suggestions) <= 3


def test_variables_are_filled(library: TemplateLibrary) -> None:
    text = library.choose(_facts("回购了，好用", "pos"))[0].text
    assert "小鹿" in text and "澜肌官方旗舰店" in text and "澜肌护肤品" in text
    assert "{" not in text and " " not in text
    defect = library.choose(_facts("涂层掉了", "neg", XIAOCHU))[0]
    assert "整机两年" in defect.text
    # Generated default names are not used to address people.
    assert library.choose(_facts("好用", "pos", author="用户48213377"))[0].text.startswith("谢谢亲")


def test_sentiment_filters_templates(library: TemplateLibrary) -> None:
    # Praise words in a sarcastic negative comment do not pick the thank-you template.
    ids = [s.template_id for s in library.choose(_facts("好用个鬼，烂脸了", "neg"))]
    assert "thanks" not in ids and ids[0] == "allergy"


def test_saved_templates_join_the_choice(library: TemplateLibrary) -> None:
    saved = ReplyTemplate(id="saved-1", text="{author_name}您好，螺蛳粉菜谱下周上线～", name_zh="螺蛳粉",
                          topics=("螺蛳粉",), saved_by="slack:U1")
    extended = library.with_saved([saved])
    assert extended.choose(_facts("下次做个螺蛳粉吧", "neu", XIAOCHU))[0].text == "小鹿您好，螺蛳粉菜谱下周上线～"
    assert library.choose(_facts("下次做个螺蛳粉吧", "neu", XIAOCHU))[0].template_id != "saved-1"


def test_bundled_templates_pass_precheck(library: TemplateLibrary) -> None:
    checker = Prechecker.from_file(ROOT / "config" / "precheck.yaml")
    for template in library.templates:
        for account in (LANJI, XIAOCHU):
            text = fill(template.text, library.variables_for(_facts("x", account=account)))
            assert not checker.check(text).blocked, (template.id, text)


def test_bad_templates_are_reported_with_key_paths() -> None:
    bad = {"templates": [
        {"id": "a", "text": "{nope}您好", "topics": ["x"]},
        {"id": "a", "text": "hi"},
        {"id": "b", "text": "hi", "topics": ["x"], "sentiment": ["angry"]},
    ]}
    with pytest.raises(TemplateConfigError) as caught:
        TemplateLibrary.from_mapping(bad, source="reply_templates.yaml")
    message = str(caught.value)
    assert "reply_templates.yaml: templates[0].text: unknown variable(s) nope" in message
    assert "templates[1].id: 'a' is used twice" in message
    assert "templates[1]: needs topics, or fallback: true" in message
    assert "templates[2].sentiment" in message


def test_check_files_reports_problems(tmp_path: Path) -> None:
    from bot.config import AppConfig
    from bot.replies.wiring import check_files

    assert check_files(None, AppConfig()) == []
    broken = tmp_path / "templates.yaml"
    broken.write_text("templates:\n  - {id: x, text: '{nope}'}\n", encoding="utf-8")
    config = AppConfig.model_validate({"replies": {"templates_file": str(broken)}})
    problems = check_files(None, config)
    assert problems and "unknown variable(s) nope" in problems[0] and str(broken) in problems[0]


def test_fill_ignores_a_format_spec_and_returns_a_malformed_text_as_written():
    from bot.replies.templates import fill

    assert fill("{author_name:>20}您好", {"author_name": "小鹿"}) == "小鹿您好"
    assert fill("您好{", {}) == "您好{"

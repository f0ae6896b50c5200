"""The playbook's own words in a channel set to English: a decision's question (`question_en`), the exit rule
(`exit.rule_en`) and the response statements (a template's `name_en` and `text_en`, whose variables take their
`default_en`) are read in English where the playbook has them, and as written (Chinese) where it has none. A
Chinese channel reads them as before.

Real database, dispatcher, outbox and console port, driven through /crisis commands.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.integration.playbooks.helpers import CrisisDriver, review_markdown

CHANNELS = [{"id": "console:lanji", "client": "lanji", "language": "en"}, {"id": "console:xiaochu", "client": "xiaochu"}]
START = "/crisis start negative-outbreak Cream complaints --severity 1 --var brand=Lanji"
RULE_EN = ("The negative share has been back in its normal range for 2 hours in a row, with no new trending topic, "
           "influencer repost or media report, and the remedy or clarification is done.")
RULE_ZH = "负面占比连续2小时回落到常态区间，且无新增热搜、大V转发或媒体报道；补救/澄清动作已完成。"
QUESTION_EN = "Having checked, are the users' complaints true (are we really at fault)?"
QUESTION_ZH = "经核实，用户反映的问题是否属实（我方确有责任）？"


def flat(message) -> str:
    parts = [message.title or "", message.text or ""]
    parts += [section.text or "" for section in message.sections]
    return "\n".join(parts)


def section_of(message, step_id: str) -> str:
    [text] = [s.text for s in message.sections if f"**{step_id}**" in s.text]
    return text


@pytest.fixture
def bot(make_bot):
    return make_bot({"channels": CHANNELS})


def test_an_english_channel_reads_the_question_rule_and_statements_in_english(bot):
    en = CrisisDriver(bot, "console:lanji")
    en.run(START)
    assert f"Exit rule: {RULE_EN}\n" in en.card(1).text, en.card(1).text
    for command in ("/crisis done triage", "/crisis done monitor", "/crisis done pause_content"):
        en.run(command)
    card = en.card(1)
    assert f"\n❓ {QUESTION_EN}" in section_of(card, "verify"), section_of(card, "verify")
    [steps] = en.run("/crisis next")
    assert f"\n❓ {QUESTION_EN} (" in section_of(steps, "verify"), section_of(steps, "verify")
    statement = section_of(steps, "holding_statement")
    assert ('📝 First response:\n> About the recent reports of "Cream complaints": Lanji has seen them and takes '
            "them very seriously.") in statement, statement
    text = flat(card) + flat(steps)
    for chinese in (QUESTION_ZH, RULE_ZH, "首发回应", "关于近期大家反映的"):
        assert chinese not in text, chinese
    en.run("/crisis resolve calm again")
    [review] = [m for m in en.channel_messages() if m.files and m.files[0].name.endswith("-review.md")]
    assert f"Exit rule: {RULE_EN}" in review_markdown(review)


def test_a_chinese_channel_beside_it_keeps_the_playbooks_own_words(bot):
    zh = CrisisDriver(bot, "console:xiaochu")
    zh.run(START)
    assert f"退出规则：{RULE_ZH}\n" in zh.card(1).text
    for command in ("/crisis done triage", "/crisis done monitor", "/crisis done pause_content"):
        zh.run(command)
    assert f"\n❓ {QUESTION_ZH}" in section_of(zh.card(1), "verify")
    [steps] = zh.run("/crisis next")
    assert f"\n❓ {QUESTION_ZH}（" in section_of(steps, "verify")
    assert "📝 首发回应：\n> 关于近期大家反映的“Cream complaints”，Lanji已经注意到" in section_of(steps, "holding_statement")
    assert "First response" not in flat(steps) and QUESTION_EN not in flat(steps) + flat(zh.card(1))


PLAIN = textwrap.dedent("""\
    id: plain
    name: 无英文预案
    title_en: No English
    roles: {指挥: {en: Commander}}
    variables: {brand: {default: 我们, default_en: our team}}
    steps:
      - id: check
        title: 核实
        title_en: Check
        owner: 指挥
        due: 1h
        question: 是否属实？
        branches: {属实: [say], 不属实: []}
      - id: say
        title: 发声明
        title_en: Post a statement
        owner: 指挥
        due: 2h
        instructions: 请{brand}发布。
        templates:
          - {name: 声明, text: "{brand}已核实。"}
          - {name: 说明, name_en: Note, text: 只有名称有英文。}
          - {name: 致歉, name_en: Apology, text: "{brand}致歉。", text_en: "{brand} is sorry. Sorry from {brand}."}
    exit:
      rule: 平息两小时。
    """)


def test_without_english_words_an_english_channel_reads_the_playbooks_chinese(make_bot, tmp_path):
    (tmp_path / "plain.yaml").write_text(PLAIN, encoding="utf-8")
    bot = make_bot({"channels": CHANNELS, "playbooks": {"directory": str(tmp_path)}})
    en = CrisisDriver(bot, "console:lanji")
    en.run("/crisis start plain Test")
    card = en.card(1)
    assert "Exit rule: 平息两小时。\n" in card.text and "\n❓ 是否属实？" in section_of(card, "check")
    en.run("/crisis done check 属实")
    [steps] = en.run("/crisis next")
    # the Chinese words fill in the Chinese defaults, the English statement the English one (default_en),
    # with a capital where it opens a sentence
    assert section_of(steps, "say").endswith("\n请我们发布。\n📝 声明:\n> 我们已核实。\n📝 Note:\n> 只有名称有英文。"
                                             "\n📝 Apology:\n> Our team is sorry. Sorry from our team."), flat(steps)
    zh = CrisisDriver(bot, "console:xiaochu")
    zh.run("/crisis start plain 测试")
    zh.run("/crisis done check 属实")
    [steps] = zh.run("/crisis next")
    assert section_of(steps, "say").endswith("\n请我们发布。\n📝 声明：\n> 我们已核实。\n📝 说明：\n> 只有名称有英文。"
                                             "\n📝 致歉：\n> 我们致歉。"), flat(steps)

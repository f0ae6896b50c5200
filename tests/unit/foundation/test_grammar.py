import pytest

from bot.handlers.registry import UsageError, parse_command_line, tokenize


def test_plain_command_with_subcommand_args_and_options():
    parsed = parse_command_line('/crisis start 负面舆情爆发 "面霜 过敏" --severity 1 --account douyin:lanji')
    assert parsed.name == "crisis"
    assert parsed.args == ["start", "负面舆情爆发", "面霜 过敏"]
    assert parsed.options == {"severity": "1", "account": "douyin:lanji"}
    assert parsed.sub == "start"


@pytest.mark.parametrize(
    "line, expected",
    [
        ("“中文 引号” 「直角 引号」", ["中文 引号", "直角 引号"]),
        ("a\u3000b", ["a", "b"]),  # full-width space
        ("'single quoted' x", ["single quoted", "x"]),
    ],
)
def test_tokenize_handles_chinese_quotes_and_spaces(line, expected):
    assert tokenize(line) == expected


def test_flags_and_equals_options():
    parsed = parse_command_line("/reply-queue --mine --limit=5 --overdue", flags=frozenset({"mine", "overdue"}))
    assert parsed.options == {"mine": True, "limit": "5", "overdue": True}


def test_full_width_slash_and_em_dash_from_input_methods():
    parsed = parse_command_line("／watch surge douyin:a —factor 3")
    assert parsed.name == "watch"
    assert parsed.options == {"factor": "3"}


@pytest.mark.parametrize("line", ["crisis start", "/", '/crisis "unclosed'])
def test_bad_lines_raise_usage_error(line):
    with pytest.raises(UsageError):
        parse_command_line(line)


CRISIS_OPTIONS = frozenset({"run", "severity", "account", "var"})


@pytest.mark.parametrize(
    "line, index, text",
    [
        # dashes, signatures and quotes inside free text reach people as typed
        ("/reply-queue done 1164 非常抱歉 —— 客服小美", 2, "非常抱歉 —— 客服小美"),
        ("/reply-queue done 1139 您好，我们会尽快处理 --澜肌客服", 2, "您好，我们会尽快处理 --澜肌客服"),
        ("/crisis note 用户说 —紧急 处理中", 1, "用户说 —紧急 处理中"),
        ("/crisis note 预计 --明天 上线", 1, "预计 --明天 上线"),
        ("/crisis 备注 客户说「太差」了", 1, "客户说「太差」了"),
        ("/reply-queue done 1337 「非常抱歉」给您带来不便", 2, "「非常抱歉」给您带来不便"),
        ("/crisis note customer's reply was rude", 1, "customer's reply was rude"),
        ("/reply-queue done 1043 we're sorry", 2, "we're sorry"),
        ("/crisis note 两个空格  保留\u3000全角", 1, "两个空格  保留\u3000全角"),
        # one quoted string loses its quotes; an option between words leaves one space
        ('/reply-queue done 12 "非常抱歉，已处理"', 2, "非常抱歉，已处理"),
        ("/crisis note 第一句 --run 2 第二句", 1, "第一句 第二句"),
    ],
)
def test_free_text_is_kept_as_typed(line, index, text):
    parsed = parse_command_line(line, options=CRISIS_OPTIONS | {"text", "limit"})
    assert parsed.text_from(index) == text


def test_declared_options_are_still_options_in_any_dash_form():
    parsed = parse_command_line("/crisis note 已处理 --run 2", options=CRISIS_OPTIONS)
    assert parsed.options == {"run": "2"} and parsed.args == ["note", "已处理"]
    parsed = parse_command_line("/crisis status —run 3", options=CRISIS_OPTIONS)
    assert parsed.options == {"run": "3"}
    parsed = parse_command_line("/reply-queue －－mine --LIMIT=5", flags=frozenset({"mine"}), options=frozenset({"limit"}))
    assert parsed.options == {"mine": True, "limit": "5"} and parsed.args == []


def test_a_word_like_an_unknown_option_is_an_argument():
    parsed = parse_command_line("/crisis note --urgent 已升级", options=CRISIS_OPTIONS)
    assert parsed.options == {} and parsed.args == ["note", "--urgent", "已升级"]

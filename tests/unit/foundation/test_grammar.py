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

"""Source settings that `config check` used to accept and that then failed every poll, or lost the
source's notices for good: a malformed `notify_channel`, an unknown generic_json `time_zone`, an empty
target id, a Bilibili target that is not the numeric aid. All are listed at once, exit 2."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli import app

SOURCES = [
    '{id: g1, type: generic_json, account: {platform: kuaishou, account_id: k}, targets: [""], '
    'base_url: "http://127.0.0.1:9/x", settings: {time_zone: Mars/Olympus}}',
    '{id: b1, type: bilibili, account: {platform: bilibili, account_id: "1"}, targets: ["BV1xx411c7mD"], '
    "notify_channel: general}",
    '{id: a1, type: announcements, base_url: "http://127.0.0.1:9/feed", notify_channel: "slack:"}',
    '{id: a2, type: announcements, base_url: "http://127.0.0.1:9/feed", notify_channel: "teams:ops"}',
]


def config_file(tmp_path, entries: list[str]) -> dict[str, str]:
    path = tmp_path / "crisisbot.yaml"
    path.write_text("feeds:\n  sources:\n" + "".join(f"    - {e}\n" for e in entries), encoding="utf-8")
    return {"CRISISBOT_CONFIG": str(path), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}


def test_config_check_lists_bad_channels_zones_and_targets(tmp_path):
    result = CliRunner().invoke(app, ["config", "check"], env=config_file(tmp_path, SOURCES))
    assert result.exit_code == 2, result.output
    out = result.output
    assert "feeds.sources[0].targets: 目标 id 不能为空" in out
    assert "feeds.sources[0].settings.time_zone: 未知时区 / unknown time zone 'Mars/Olympus'" in out
    assert "feeds.sources[1].targets: B 站目标须为视频的数字 aid" in out and "'BV1xx411c7mD'" in out
    assert "feeds.sources[1].notify_channel: 应写成 平台:频道ID / must look like 'platform:channel_id'" in out
    assert "feeds.sources[2].notify_channel: 应写成 平台:频道ID / must look like 'platform:channel_id'" in out
    assert "feeds.sources[3].notify_channel: 未知的聊天平台 / chat platform 'teams' is not one of" in out


def test_good_channels_zones_and_targets_pass(tmp_path):
    good = [
        '{id: g1, type: generic_json, account: {platform: kuaishou, account_id: k}, targets: ["p1"], '
        'base_url: "http://127.0.0.1:9/x", settings: {time_zone: Asia/Tokyo}}',
        '{id: b1, type: bilibili, account: {platform: bilibili, account_id: "1"}, targets: [170001, "170002"], '
        "notify_channel: \"slack:C0123\"}",
        '{id: b2, type: bilibili, account: {platform: bilibili, account_id: "1"}, targets: recent}',
    ]
    result = CliRunner().invoke(app, ["config", "check"], env=config_file(tmp_path, good))
    assert result.exit_code == 0, result.output


def test_a_proxy_without_an_http_scheme_is_a_config_problem_not_a_traceback(tmp_path):
    # it passed `config check`, then every command building the bot (serve, ingest, sources) crashed in
    # the HTTP client with "Unknown scheme for proxy URL"
    path = tmp_path / "crisisbot.yaml"
    path.write_text('feeds:\n  proxy: "user:pw@10.0.0.5:3128"\n', encoding="utf-8")
    env = {"CRISISBOT_CONFIG": str(path), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    for args in (["config", "check"], ["sources"]):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "feeds.proxy: 代理须为 http(s) 地址" in result.output and "pw@" not in result.output
    path.write_text('feeds:\n  proxy: "http://10.0.0.5:3128"\n', encoding="utf-8")
    assert CliRunner().invoke(app, ["config", "check"], env=env).exit_code == 0


def test_non_ascii_http_headers_are_config_problems_not_tracebacks(tmp_path):
    # "澜肌监控" as user_agent crashed every command building the bot (UnicodeEncodeError in the HTTP
    # client); in a generic_json header it failed every poll of the source with an internal error
    path = tmp_path / "crisisbot.yaml"
    path.write_text(
        'feeds:\n  user_agent: "澜肌监控"\n  sources:\n'
        '    - {id: g, type: generic_json, account: {platform: kuaishou, account_id: k}, targets: [p], '
        'base_url: "http://127.0.0.1:9", settings: {headers: {X-Team: "舆情组", X-Token: "{credential:token}"}}}\n',
        encoding="utf-8",
    )
    env = {"CRISISBOT_CONFIG": str(path), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    for args in (["config", "check"], ["sources"]):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        out = " ".join(result.output.split())
        assert "feeds.user_agent: user_agent: HTTP 头只能用可打印的 ASCII 字符" in out
        assert "settings.headers: headers.X-Team: HTTP 头只能用可打印的 ASCII 字符" in out
        assert "X-Token" not in out


def test_a_comment_order_other_than_newest_or_oldest_first_is_a_config_problem(tmp_path):
    base = '{id: c1, type: generic_json, account: {platform: kuaishou, account_id: k}, targets: recent, ' \
           'base_url: "http://127.0.0.1:9/x", '
    result = CliRunner().invoke(app, ["config", "check"], env=config_file(tmp_path, [base + "order: latest}"]))
    assert result.exit_code == 2, result.output
    assert ("feeds.sources[0].order: 'latest' 不是可选值之一 / is not one of newest_first or oldest_first"
            in result.output)
    for order in ("newest_first", "oldest_first"):
        result = CliRunner().invoke(app, ["config", "check"], env=config_file(tmp_path, [base + f"order: {order}}}"]))
        assert result.exit_code == 0, result.output

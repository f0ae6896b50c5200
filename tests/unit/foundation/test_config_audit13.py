"""Outside-in audit 13: what `config check` missed and `serve`/`ingest` then failed on.

- `sentiment.model_path` naming a missing file (or a file that is no model) passed the check; serve answered
  every comment webhook 500 and `ingest` ended in a traceback. Now: listed by the check (exit 2), and serve,
  ingest and the console refuse to start with the same message; numpy's "allow_pickle" advice never shown.
"""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

runner = CliRunner()

#: variables a developer's shell may hold that would change what these tests see
ENV = ("CRISISBOT_DATABASE_URL", "DATABASE_URL", "CRISISBOT_FEISHU_DOMAIN", "CRISISBOT_SLACK_API_URL",
       "CRISISBOT_HOST", "CRISISBOT_LANGUAGE", "CRISISBOT_TIMEZONE", "FEISHU_APP_ID", "FEISHU_APP_SECRET",
       "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    return monkeypatch


def _config(tmp_path, monkeypatch, data: dict | str) -> None:
    path = tmp_path / "crisisbot.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))


def _check(*args: str):
    from bot.cli import app

    return runner.invoke(app, ["config", "check", *args])


# --- 1. sentiment.model_path ---------------------------------------------------------------------------


def test_a_missing_model_file_fails_config_check_and_refuses_ingest_and_serve(tmp_path, env):
    from bot.cli import app

    _config(tmp_path, env, {"sentiment": {"model_path": "models/gone.npz"}})
    check = _check()
    assert check.exit_code == 2, check.output
    assert "sentiment.model_path: 找不到模型文件 / model file not found: models/gone.npz" in check.stderr
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"platform":"douyin","account_id":"a","comment_id":"1","text":"太差了"}\n', encoding="utf-8")
    for argv in (["ingest", str(feed)], ["serve", "--port", "0"]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 2, result.output
        assert "sentiment.model_path: 找不到模型文件" in result.stderr
        assert "Traceback" not in result.output
    assert not (tmp_path / "db.sqlite").exists()  # refused before the database was touched


def test_a_csv_named_as_the_model_is_called_no_model_without_numpy_pickle_advice(tmp_path, env):
    from bot.sentiment.cli import app as sentiment_app

    not_a_model = tmp_path / "base.csv"
    not_a_model.write_text("text,label\n太差了,neg\n很好,pos\n", encoding="utf-8")
    _config(tmp_path, env, {"sentiment": {"model_path": str(not_a_model)}})
    check = _check()
    assert check.exit_code == 2 and "不是有效的 crisisbot 情感模型文件" in check.stderr, check.output
    result = runner.invoke(sentiment_app, ["eval", str(not_a_model), "--model", str(not_a_model)])
    assert result.exit_code == 2, result.output
    assert "不是有效的 crisisbot 情感模型文件" in result.stderr and "pickle" not in result.output


def test_a_real_model_file_passes(tmp_path, env):
    from bot.sentiment.model import default_model_path

    _config(tmp_path, env, {"sentiment": {"model_path": str(default_model_path())}})
    assert _check().exit_code == 0


# --- 2. an enabled source's credential variables --------------------------------------------------------

SOURCES = {"accounts": [{"platform": "weibo", "account_id": "w1"}, {"platform": "bilibili", "account_id": "b1"}],
           "feeds": {"sources": [
               {"id": "s2", "type": "weibo", "account": {"platform": "weibo", "account_id": "w1"},
                "targets": "recent", "credentials": {"access_token": "NOPE_VAR"}},
               {"id": "off", "type": "weibo", "enabled": False, "account": {"platform": "weibo", "account_id": "w1"},
                "targets": "recent", "credentials": {"access_token": "ALSO_UNSET"}},
               {"id": "bili", "type": "bilibili", "account": {"platform": "bilibili", "account_id": "b1"},
                "targets": ["1"], "credentials": {"sessdata": "BILI_UNSET"}}]}}


def test_config_check_names_the_unset_credential_variables_of_enabled_sources(tmp_path, env):
    for name in ("NOPE_VAR", "ALSO_UNSET", "BILI_UNSET"):
        env.delenv(name, raising=False)
    _config(tmp_path, env, SOURCES)
    result = _check()
    assert result.exit_code == 0, result.output  # a warning: the other sources and the bot still run
    warnings = [line for line in result.stderr.splitlines() if "缺少凭据" in line]
    # the disabled source and bilibili's optional login cookie are not reported
    assert len(warnings) == 1 and "feeds.sources[0] (s2)" in warnings[0] and "NOPE_VAR" in warnings[0]
    env.setenv("NOPE_VAR", "  ")  # blank is unset
    assert "NOPE_VAR" in _check().stderr
    env.setenv("NOPE_VAR", "token")
    assert "缺少凭据" not in _check().stderr


# --- 3. secrets read from the environment are stripped ---------------------------------------------------


def test_feishu_secrets_with_a_line_end_still_verify_a_correctly_signed_event(monkeypatch):
    from datetime import UTC, datetime

    from bot.adapters.feishu import crypto
    from bot.adapters.feishu.inbound import FeishuEventGuard
    from bot.adapters.feishu.settings import settings_from_values
    from bot.clock import FakeClock
    from bot.config import Settings

    for name, value in (("FEISHU_APP_ID", " cli_a\n"), ("FEISHU_APP_SECRET", "s\n"), ("FEISHU_ENCRYPT_KEY", "k\n"),
                        ("FEISHU_VERIFICATION_TOKEN", "t "), ("CRISISBOT_FEISHU_DOMAIN", "https://open.larksuite.com/ ")):
        monkeypatch.setenv(name, value)
    settings = settings_from_values(Settings())
    assert (settings.app_id, settings.app_secret, settings.domain) == ("cli_a", "s", "https://open.larksuite.com")
    now = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
    event = {"schema": "2.0", "header": {"token": "t", "event_type": "im.message.receive_v1"}, "event": {}}
    body = crypto.encrypted_body("k", event)
    headers = crypto.signed_headers("k", body, timestamp=int(now.timestamp()))
    verdict = FeishuEventGuard(settings, FakeClock(now)).check({k.lower(): v for k, v in headers.items()}, body)
    assert verdict.ok, verdict.reason


def test_a_poller_credential_is_read_without_its_line_end():
    from bot.feeds.pollers.base import PollContext
    from bot.feeds.settings import FeedsConfig

    source = FeedsConfig.model_validate(SOURCES["feeds"]).sources[0]
    context = PollContext(source=source, state=None, http=None, now=None, env={"NOPE_VAR": "tok\r\n"},
                          ingest=None, save=None)
    assert context.credential("access_token") == "tok"
    blank = PollContext(source=source, state=None, http=None, now=None, env={"NOPE_VAR": " \n"}, ingest=None,
                        save=None)
    with pytest.raises(Exception, match="缺少凭据"):
        blank.credential("access_token")


def test_the_reply_webhook_secret_is_stripped_and_blank_is_unset():
    from bot.replies.settings import RepliesConfig
    from bot.replies.wiring import webhook_secret

    posting = RepliesConfig.model_validate({"posting": {"webhook_url": "http://127.0.0.1:9/r"}}).posting
    assert webhook_secret(posting, {posting.secret_env: "s3cret\n"}) == "s3cret"
    assert webhook_secret(posting, {posting.secret_env: "  "}) is None


# --- 5. DATABASE_URL: read last, and serve says which variable chose the database ------------------------


def test_the_database_url_names_the_variable_it_came_from(tmp_path, env):
    from bot.config import AppConfig, Settings, database_url_and_source

    env.delenv("CRISISBOT_DATABASE_URL")
    env.setenv("DATABASE_URL", "sqlite:///other.db")
    assert database_url_and_source(Settings(), AppConfig()) == ("sqlite:///other.db", "DATABASE_URL")
    assert database_url_and_source(Settings(), AppConfig(database_url="sqlite:///cfg.db"))[1] == "database_url (config)"
    env.setenv("CRISISBOT_DATABASE_URL", "sqlite:///mine.db")
    assert database_url_and_source(Settings(), AppConfig()) == ("sqlite:///mine.db", "CRISISBOT_DATABASE_URL")


# --- 6. URL variables ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), [("CRISISBOT_FEISHU_DOMAIN", "open.feishu.cn"),
                                             ("CRISISBOT_SLACK_API_URL", "notaurl"),
                                             ("CRISISBOT_SLACK_API_URL", "ftp://slack.com/api/"),
                                             ("CRISISBOT_FEISHU_DOMAIN", "https://")])
def test_a_url_variable_without_http_scheme_and_host_fails_config_check(tmp_path, env, name, value):
    _config(tmp_path, env, {})
    env.setenv(name, value)
    result = _check()
    assert result.exit_code == 2, result.output
    assert f"environment: {name}={value!r}: 应为以 https:// 或 http:// 开头、带主机名的网址" in result.stderr


def test_good_url_variables_pass(tmp_path, env):
    _config(tmp_path, env, {})
    env.setenv("CRISISBOT_FEISHU_DOMAIN", "https://open.larksuite.com")
    env.setenv("CRISISBOT_SLACK_API_URL", "http://127.0.0.1:9/api/")
    assert _check().exit_code == 0


# --- 4. the config file's encoding and tabs --------------------------------------------------------------


def test_a_gbk_config_file_is_read_like_a_gbk_playbook(tmp_path, env):
    path = tmp_path / "crisisbot.yaml"
    path.write_bytes("# 客户配置\nclients:\n  - id: lanji\n    name: 蓝鲸\n".encode("gbk"))
    env.setenv("CRISISBOT_CONFIG", str(path))
    result = _check()
    assert result.exit_code == 0, result.output
    from bot.config import load_config

    assert load_config(path).clients[0].name == "蓝鲸"


def test_a_file_that_is_no_text_says_which_line_and_to_save_as_utf8(tmp_path, env):
    path = tmp_path / "crisisbot.yaml"
    path.write_bytes(b"timezone: Asia/Shanghai\nclients: \x81\x30\xff\n")
    env.setenv("CRISISBOT_CONFIG", str(path))
    result = _check()
    assert result.exit_code == 2
    assert f"{path}: 第 2 行 / line 2: 不是 UTF-8 或 GB18030 文本，请另存为 UTF-8 / not UTF-8 or GB18030 text: save it as UTF-8" \
        in result.stderr


@pytest.mark.parametrize("text", ["clients:\n\t- id: a\n", "sentiment:\n  backend: default\n\tmodel_path: x\n"])
def test_a_tab_in_the_indentation_is_named(tmp_path, env, text):
    _config(tmp_path, env, text)
    result = _check()
    assert result.exit_code == 2
    assert "第 3 行第 1 列 / line 3, column 1" in result.stderr or "第 2 行第 1 列 / line 2, column 1" in result.stderr
    assert "制表符（Tab）不能用于缩进，请改用空格 / found a tab character where an indentation space is expected" \
        in result.stderr


# --- 9. small ones ---------------------------------------------------------------------------------------


def test_language_and_backend_names_are_read_in_any_case(tmp_path, env):
    from bot.config import load_all
    from bot.sentiment.cli import app as sentiment_app

    _config(tmp_path, env, {"sentiment": {"backend": "Default"}})
    env.setenv("CRISISBOT_LANGUAGE", "EN")
    _settings, config, _ = load_all()
    assert (config.language, config.sentiment.backend) == ("en", "default")
    result = runner.invoke(sentiment_app, ["score", "--backend", "DEFAULT", "太差了", "--json"])
    assert result.exit_code == 0, result.output


# --- 7. ingest --dead-letters piped, --json, empty --------------------------------------------------------


def test_dead_letters_piped_json_and_empty(tmp_path, env):
    import json

    from bot.cli import app

    _config(tmp_path, env, {})
    empty = runner.invoke(app, ["ingest", "--dead-letters"])
    assert empty.exit_code == 0 and empty.stdout.strip() == "没有被拒收的记录 / no rejected records", empty.output
    assert json.loads(runner.invoke(app, ["ingest", "--dead-letters", "--json"]).stdout) == []
    feed = tmp_path / "feed.jsonl"
    feed.write_text('第二行不是 JSON，而且这一行相当长，长到在八十列的表格里会被折成很多行\n{"comment_id": "bad3"}\n',
                    encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(feed)]).exit_code == 0
    piped = runner.invoke(app, ["ingest", "--dead-letters"])
    assert piped.exit_code == 0, piped.output
    # one block per record, each field on its own whole line (no table frame cutting reasons into columns)
    assert "┃" not in piped.stdout and "│" not in piped.stdout
    raws = [line for line in piped.stdout.splitlines() if line.startswith("  原文 raw: ")]
    assert sorted(raws) == sorted(["  原文 raw: 第二行不是 JSON，而且这一行相当长，长到在八十列的表格里会被折成很多行",
                                   '  原文 raw: {"comment_id": "bad3"}'])
    listed = json.loads(runner.invoke(app, ["ingest", "--dead-letters", "--json"]).stdout)
    assert {row["raw"] for row in listed} == {"第二行不是 JSON，而且这一行相当长，长到在八十列的表格里会被折成很多行",
                                             '{"comment_id": "bad3"}'}
    assert all(row["reason"] and row["seen_count"] == 1 for row in listed)
    refused = runner.invoke(app, ["ingest", str(feed), "--json"])
    assert refused.exit_code == 2 and "--json 只用于 --dead-letters" in refused.stderr


def test_a_misspelt_time_zone_gets_the_closest_one(tmp_path, env):
    _config(tmp_path, env, {"timezone": "Asia/Shanghia", "channels": [{"id": "console:x", "timezone": "europe/berln"}]})
    result = _check()
    assert result.exit_code == 2
    assert "timezone: 未知的时区 / unknown time zone 'Asia/Shanghia'（是否想写 / did you mean 'Asia/Shanghai'?）" \
        in result.stderr
    assert "channels[0].timezone: 未知的时区 / unknown time zone 'europe/berln'（是否想写 / did you mean 'Europe/Berlin'?）" \
        in result.stderr


def test_a_bare_channel_name_gets_the_console_address(tmp_path, env):
    _config(tmp_path, env, {"channels": [{"id": "lanji"}]})
    result = _check()
    assert result.exit_code == 2
    assert "channels[0].id: 应写成 平台:频道ID / must look like 'platform:channel_id'（是否想写 / did you mean " \
           "'console:lanji'?）" in result.stderr


def test_unknown_crisisbot_variables_are_warned_about_with_the_closest_name(tmp_path, env):
    _config(tmp_path, env, {"replies": {"posting": {"webhook_url": "http://127.0.0.1:9/r",
                                                    "secret_env": "CRISISBOT_MY_SECRET"}}})
    env.setenv("CRISISBOT_DATABSE_URL", "sqlite:///x.db")
    env.setenv("CRISISBOT_MY_SECRET", "s")  # named by the config: read
    env.setenv("CRISISBOT_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1/test")
    result = _check()
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "reads no such variable" in line]
    assert warnings == ["注意 / warning: environment: CRISISBOT_DATABSE_URL: 机器人不读取这个变量，它不起作用 / the bot "
                        "reads no such variable: it has no effect（是否想写 / did you mean CRISISBOT_DATABASE_URL?）"]


def test_a_missing_playbooks_directory_is_called_a_folder(tmp_path, env):
    _config(tmp_path, env, {"playbooks": {"directory": "nowhere"}})
    result = _check()
    assert result.exit_code == 2
    assert "playbooks.directory: 目录不存在 / folder not found:" in result.stderr and "nowhere" in result.stderr
    assert "(file)" not in result.stderr


def test_serve_help_says_the_host_defaults_to_the_configs():
    from bot.cli import app

    result = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert "default: the config's host" in result.output and "(default 127.0.0.1)" not in result.output

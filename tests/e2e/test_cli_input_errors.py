"""Bad input from outside — environment variables, database URLs, --period, --out — ends a command with
a clear message and exit 2, never a traceback (found by driving the installed CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli

REPO = Path(__file__).resolve().parents[2]
CONFIG = (
    "clients: [{id: lanji, name: 澜肌护肤}]\n"
    "accounts: [{platform: douyin, account_id: lanji_official, name: 澜肌官方旗舰店, client: lanji}]\n"
    "channels: [{id: 'console:lanji', client: lanji}]\n"
)
# Variables that would leak the developer's own setup into these runs.
CLEARED = ("CRISISBOT_PORT", "CRISISBOT_LANGUAGE", "CRISISBOT_LOG_LEVEL", "CRISISBOT_DEFAULT_CHANNEL",
           "CRISISBOT_SECRET_KEY", "CRISISBOT_FEISHU_MODE", "DATABASE_URL")


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return {"CRISISBOT_CONFIG": str(config), "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}


def invoke(args, env):
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


# ---- 1. settings from the environment ------------------------------------------------------------
@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CRISISBOT_PORT", "abc", "CRISISBOT_PORT='abc': 应为整数 / Input should be a valid integer"),
        ("CRISISBOT_LANGUAGE", "fr", "CRISISBOT_LANGUAGE: 'fr' 不是可选值之一 / is not one of zh or en"),
        ("CRISISBOT_LOG_LEVEL", "bogus", "CRISISBOT_LOG_LEVEL='bogus': 未知的日志级别 / unknown log level 'bogus'"),
        ("CRISISBOT_DATABASE_URL", "garbage", "database_url: 不是有效的数据库地址 / not a database URL"),
        ("CRISISBOT_DATABASE_URL", "mysql://u:pw@h/db", "unsupported database 'mysql' (use sqlite or postgresql"),
        ("CRISISBOT_DATABASE_URL", "postgresql+nosuch://h/db", "unknown driver 'postgresql+nosuch'"),
        ("CRISISBOT_DEFAULT_CHANNEL", "slack:", "default_channel: 应写成 平台:频道ID / must look like 'platform:channel_id'"),
    ],
)
def test_config_check_lists_a_bad_environment_variable_and_exits_2(env, variable, value, expected):
    result = invoke(["config", "check"], {**env, variable: value})
    assert result.exit_code == 2, result.output
    assert "配置有误 / invalid configuration:" in result.output and expected in result.output
    assert "configuration OK" not in result.output


def test_config_check_lists_environment_and_file_problems_together(env, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("default_channel: 'slack:'\nport: -1\n", encoding="utf-8")
    result = invoke(["config", "check"], {**env, "CRISISBOT_CONFIG": str(bad), "CRISISBOT_PORT": "abc",
                                          "CRISISBOT_LOG_LEVEL": "bogus"})
    assert result.exit_code == 2
    for expected in ("CRISISBOT_PORT='abc'", "CRISISBOT_LOG_LEVEL='bogus'", f"{bad}: default_channel: 应写成 平台:频道ID / must look like",
                     f"{bad}: port:"):
        assert expected in result.output, result.output


def test_a_bad_database_url_in_the_config_file_is_a_problem(env, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("database_url: 'mysql://root:hunter2@db/crisisbot'\n", encoding="utf-8")
    environment = {**env, "CRISISBOT_CONFIG": str(bad)}
    environment.pop("CRISISBOT_DATABASE_URL")
    result = invoke(["config", "check"], environment)
    assert result.exit_code == 2 and f"{bad}: database_url: 不支持的数据库 / unsupported database 'mysql'" in result.output
    assert "hunter2" not in result.output


def test_a_bad_plain_database_url_variable_is_a_problem(env):
    environment = {**env, "DATABASE_URL": "garbage"}
    environment.pop("CRISISBOT_DATABASE_URL")
    result = invoke(["config", "check"], environment)
    assert result.exit_code == 2 and "environment: DATABASE_URL: 不是有效的数据库地址" in result.output


@pytest.mark.parametrize("args", [["db", "upgrade"], ["report", "--channel", "console:lanji"], ["sources"]])
def test_other_commands_refuse_bad_settings_with_exit_2(env, args):
    for variable, value in (("CRISISBOT_PORT", "abc"), ("CRISISBOT_LOG_LEVEL", "bogus"),
                            ("CRISISBOT_DATABASE_URL", "garbage")):
        result = invoke(args, {**env, variable: value})
        assert result.exit_code == 2, (variable, result.output)
        assert "配置有误 / invalid configuration:" in result.output and variable.removeprefix("CRISISBOT_") in \
            result.output.upper()


def test_a_bad_log_level_is_refused_in_a_real_process_without_a_traceback(env, tmp_path):
    process_env = {**os.environ, **env, "PYTHONPATH": str(REPO), "CRISISBOT_LOG_LEVEL": "bogus"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=tmp_path, env=process_env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "CRISISBOT_LOG_LEVEL='bogus'" in result.stderr


def test_log_level_names_in_any_case_still_work(env):
    result = invoke(["config", "check"], {**env, "CRISISBOT_LOG_LEVEL": "debug"})
    assert result.exit_code == 0, result.output


# ---- 1. a database that cannot be opened ---------------------------------------------------------
def test_an_unreachable_postgresql_server_is_one_line_with_the_password_hidden(env, tmp_path):
    # port 1 on loopback: nothing listens there, the connection is refused at once
    url = "postgresql+psycopg://bob:s3cret@127.0.0.1:1/crisisbot"
    assert invoke(["config", "check"], {**env, "CRISISBOT_DATABASE_URL": url}).exit_code == 0  # form is fine
    result = invoke(["db", "upgrade"], {**env, "CRISISBOT_DATABASE_URL": url})
    assert result.exit_code == 2, result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert line.startswith("错误 / error: postgresql+psycopg://bob:***@127.0.0.1:1/crisisbot: 无法连接数据库")
    assert "s3cret" not in result.output
    queried = invoke(["playbooks", "report", "1", "--out", str(tmp_path)], {**env, "CRISISBOT_DATABASE_URL": url})
    assert queried.exit_code == 2 and "bob:***@127.0.0.1:1/crisisbot: 无法连接数据库" in queried.output


@pytest.mark.parametrize("args", [["db", "upgrade"], ["report", "--channel", "console:lanji"],
                                  ["ingest", "--dead-letters"], ["purge", "--expired"], ["sources"],
                                  ["playbooks", "report", "1"]])  # the last one queries without upgrading
def test_a_file_that_is_not_a_database_is_one_line(env, tmp_path, args, monkeypatch):
    monkeypatch.chdir(tmp_path)  # `playbooks report` writes into the current folder
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("these are my notes, not a database\n" * 100, encoding="utf-8")
    result = invoke(args, {**env, "CRISISBOT_DATABASE_URL": f"sqlite:///{not_a_db}"})
    assert result.exit_code == 2, result.output
    assert f"错误 / error: sqlite:///{not_a_db}: 无法连接数据库 / cannot open the database: file is not a database" \
        in result.output


@pytest.mark.parametrize("args", [["db", "upgrade"], ["sources"], ["ingest", "--dead-letters"]])
def test_a_database_migrated_by_a_newer_crisisbot_is_one_line(env, tmp_path, args):
    # a deploy rolled back after the newer one migrated the database: alembic's "Can't locate revision"
    # traceback (about 100 lines) on every command, and an upgrade must not touch that database
    import sqlite3

    assert invoke(["db", "upgrade"], env).exit_code == 0
    path = env["CRISISBOT_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as con:
        con.execute("insert into alembic_version (version_num) values ('9001_from_the_future')")
    result = invoke(args, env)
    assert result.exit_code == 2, result.output
    assert "已由更新版本的 crisisbot 迁移（版本 9001_from_the_future）" in result.output
    assert "was migrated by a newer crisisbot (revision 9001_from_the_future)" in result.output


def test_db_upgrade_says_when_it_created_a_new_empty_database(env, tmp_path):
    # a typo in the path gave a fresh, empty database and "up to date": the team's data looked gone
    url = f"sqlite:///{tmp_path / 'typo' / 'bot.db'}"
    first = invoke(["db", "upgrade"], {**env, "CRISISBOT_DATABASE_URL": url})
    assert first.exit_code == 0 and "原本不存在，已新建空数据库" in first.output and "did not exist" in first.output
    again = invoke(["db", "upgrade"], {**env, "CRISISBOT_DATABASE_URL": url})
    assert again.exit_code == 0 and "did not exist" not in again.output


def test_a_sqlite_folder_that_cannot_be_created_is_one_line(env, tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    result = invoke(["db", "upgrade"], {**env, "CRISISBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'afile' / 'bot.db'}"})
    assert result.exit_code == 2 and "无法创建数据库目录 / cannot create the database's folder" in result.output


# ---- 2. --period -----------------------------------------------------------------------------------
@pytest.mark.parametrize("period", ["99999999999999999999d", "1000000000d", "9" * 5000 + "h", "14w", "93d"])
def test_report_refuses_a_huge_period_as_too_long(env, period):
    result = invoke(["report", "--channel", "console:lanji", "--period", period], env)
    assert result.exit_code == 2, result.output
    assert "周期无效 / bad period:" in result.output and "is longer than 92 days" in result.output


# ---- 3. --out ---------------------------------------------------------------------------------------
def test_report_out_naming_a_file_is_refused_before_anything_is_queued(env, tmp_path):
    from bot.storage.db import Database
    from bot.storage.models import OutboxMessage

    afile = tmp_path / "afile"
    afile.write_text("keep me", encoding="utf-8")
    result = invoke(["report", "--channel", "console:lanji", "--out", str(afile), "--post"], env)
    assert result.exit_code == 2, result.output
    assert "--out must be a folder" in result.output and "**日报" not in result.output
    assert afile.read_text(encoding="utf-8") == "keep me"
    db = Database(env["CRISISBOT_DATABASE_URL"])
    try:
        db.upgrade()
        with db.session() as session:
            assert session.exec(select(OutboxMessage)).all() == []  # not posted either
    finally:
        db.dispose()


def test_report_out_under_a_file_is_refused_before_anything_is_queued(env, tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    result = invoke(["report", "--channel", "console:lanji", "--out", str(tmp_path / "afile" / "sub"), "--post"], env)
    assert result.exit_code == 2, result.output
    assert "无法创建目录 / cannot create folder" in result.output and "queued" not in result.output


def test_report_out_folder_is_created_and_written(env, tmp_path):
    result = invoke(["report", "--channel", "console:lanji", "--out", str(tmp_path / "new" / "dir")], env)
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "new" / "dir").glob("report-*.md"))


@pytest.mark.parametrize("args, expected", [
    (["ingest", "--dead-letters", "some.jsonl"], "--dead-letters takes no file"),
    (["ingest", "--dead-letters", "--limit", "-1"], "greater than or equal to 1"),
])
def test_dead_letter_listing_refuses_what_it_would_ignore(env, args, expected):
    result = invoke(args, env)
    assert result.exit_code == 2 and expected in result.output


# ---- ingest: CSV headers (found by importing exports by hand) ---------------------------------------
HEADER = "platform,account_id,content_id,comment_id,text,created_at\n"


def _stored_comment_ids(env) -> list[str]:
    from bot.storage.db import Database
    from bot.storage.models import Comment

    db = Database(env["CRISISBOT_DATABASE_URL"])
    try:
        db.upgrade()  # an import that stored nothing may not have created the database
        with db.session() as session:
            return sorted(session.exec(select(Comment.comment_id)).all())
    finally:
        db.dispose()


def _dead_letters(env) -> list[str]:
    from bot.storage.db import Database
    from bot.storage.models import DeadLetter

    db = Database(env["CRISISBOT_DATABASE_URL"])
    try:
        db.upgrade()
        with db.session() as session:
            return [letter.reason for letter in session.exec(select(DeadLetter)).all()]
    finally:
        db.dispose()


def test_a_gb18030_csv_with_its_byte_order_mark_is_read(env, tmp_path):
    path = tmp_path / "gb.csv"
    path.write_bytes(("\ufeff" + HEADER + "douyin,lanji_official,v1,g1,质量太差了,2026-11-22T20:15:00+08:00\n")
                     .encode("gb18030"))
    result = invoke(["ingest", str(path)], env)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())  # rich wraps long lines
    assert "新增 accepted 1" in out and "拒收 rejected 0" in out
    assert _stored_comment_ids(env) == ["g1"]


def test_a_csv_header_without_the_required_columns_is_refused_with_exit_2(env, tmp_path):
    """No row of such a file can be read: a user error (exit 2, as for other bad input), the missing and
    the found columns named, nothing stored, no dead letter. (It exited 0 with "rejected 1" before.)"""
    path = tmp_path / "wrong.csv"
    rows = "".join(f"douyin;lanji_official;v1;c{i};好;1763813700\n" for i in range(3))
    path.write_text(HEADER.replace(",", ";").replace("platform", "Platform") + rows, encoding="utf-8")
    result = invoke(["ingest", str(path)], env)
    assert result.exit_code == 2, result.output
    out = "".join(result.output.split())  # rich wraps long lines, between words or inside Chinese
    assert "无法读取/cannotread" in out
    assert "CSV表头缺少必需列/CSVheaderlacksrequiredcolumn(s):platform,account_id,content_id,comment_id,text," \
           "created_at;找到的列/columnsfound:Platform;account_id;content_id;comment_id;text;created_at" in out
    assert "列之间应以逗号分隔，这个文件用的是分号/columnsmustbeseparatedbycommas,thisfileusessemicolons" in out
    assert "新增" not in out and "rejected" not in out
    assert _stored_comment_ids(env) == [] and _dead_letters(env) == []


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_webhook_body_limit_below_one_byte_is_refused(env, value):
    # it would answer every webhook request, an empty batch included, with 413
    result = invoke(["config", "check"], {**env, "CRISISBOT_INGEST_MAX_BYTES": value})
    assert result.exit_code == 2, result.output
    assert f"CRISISBOT_INGEST_MAX_BYTES='{value}': 数值太小，应不小于 1 / Input should be greater than or equal to 1" in result.output


def test_an_empty_host_variable_means_unset_not_every_interface(env, monkeypatch):
    # `CRISISBOT_HOST=` (an empty line in an env file) made serve listen on 0.0.0.0
    from bot.config import Settings, load_all

    monkeypatch.setenv("CRISISBOT_CONFIG", env["CRISISBOT_CONFIG"])
    monkeypatch.setenv("CRISISBOT_HOST", "")
    _settings, config, _path = load_all(Settings(_env_file=None))  # type: ignore[call-arg]
    assert config.host == "127.0.0.1"


def test_an_empty_host_in_the_config_file_is_refused(env, tmp_path):
    path = tmp_path / "host.yaml"
    path.write_text('host: ""\n', encoding="utf-8")
    result = invoke(["config", "check"], {**env, "CRISISBOT_CONFIG": str(path)})
    assert result.exit_code == 2, result.output
    assert "host: 不能为空 / cannot be empty" in result.output


def test_config_check_lists_every_feature_setting_problem_in_one_run(env, tmp_path):
    # found by an acceptance probe: quiet hours at 25:00, a negative detector threshold and a rota of bare
    # names were accepted, and the backwards surge only showed once the surge's other error was fixed
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        CONFIG.replace("client: lanji}]\n", "client: lanji, quiet_hours: {start: '25:00', end: '99:99'}}]\n")
        + "alerts:\n"
        "  detector: {threshold: -1, min_cout: 3}\n"
        "  surges: [{account: 'douyin:lanji_official', from: '2026-11-11T20:00:00+08:00',"
        " until: '2026-11-10T20:00:00+08:00', factor: 0.5}]\n"
        "  escalation: {rota: [bob]}\n",
        encoding="utf-8",
    )
    result = invoke(["config", "check"], {**env, "CRISISBOT_CONFIG": str(bad)})
    assert result.exit_code == 2, result.output
    for expected in (
        f"{bad}: channels[0].quiet_hours.start: 应为 00:00 到 23:59 之间的 HH:MM",
        f"{bad}: channels[0].quiet_hours.end: 应为 00:00 到 23:59 之间的 HH:MM",
        f"{bad}: alerts.detector.threshold: 数值太小，应大于 0",
        f"{bad}: alerts.detector.min_cout: 未知的检测器设置 / unknown detector settings: 'min_cout'（是不是 / did you mean min_count?）",
        f"{bad}: alerts.surges[0].until: until 必须晚于 from / until must be after from",
        f"{bad}: alerts.surges[0].factor: 数值太小",
        f"{bad}: alerts.escalation.rota[0]: 应写成 平台:用户ID / must look like 'platform:user_id'",
    ):
        assert expected in result.output, result.output
    assert "instance of" not in result.output

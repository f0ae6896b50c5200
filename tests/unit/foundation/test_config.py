import pytest

from bot.config import ConfigError, Settings, apply_env_overrides, load_config, parse_config
from bot.scope import ChannelScope


def test_every_problem_is_listed_with_file_and_key_path(tmp_path):
    path = tmp_path / "crisisbot.yaml"
    path.write_text(
        "timezone: Mars/Base\n"
        "accounts:\n"
        "  - {platform: douyin, account_id: a}\n"
        "  - {platform: weibo, account_id: b, client: nobody}\n"
        "  - {platform: tiktok, account_id: c}\n"
        "channels:\n"
        "  - {id: console:x, colour: red}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems
    assert f"{path}: accounts[2].platform: 'tiktok' 不是可选值之一 / is not one of douyin, kuaishou, bilibili, weibo or xiaohongshu" in problems
    assert any("timezone: 未知的时区 / unknown time zone 'Mars/Base'" in p for p in problems)
    assert any("accounts[1].client: 未知的客户 / unknown client 'nobody'" in p for p in problems)
    assert any("channels[0].colour: 未知的键（请检查拼写）/ unknown key" in p for p in problems)
    assert len(problems) == 4


def test_invalid_yaml_names_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("clients: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "invalid YAML" in info.value.problems[0] and str(path) in info.value.problems[0]


def test_no_file_means_defaults():
    cfg = load_config(None)
    assert cfg.timezone == "Asia/Shanghai" and cfg.port == 8000 and cfg.host == "127.0.0.1"


def test_env_overrides_win(monkeypatch):
    monkeypatch.setenv("CRISISBOT_PORT", "9123")
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", "sqlite:///x.db")
    cfg = apply_env_overrides(parse_config({}, source="t"), Settings())
    assert cfg.port == 9123 and cfg.database_url == "sqlite:///x.db"


def test_chat_platform_on_exactly_when_its_variables_are_set(monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "FEISHU_APP_ID", "FEISHU_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert not Settings().any_chat_platform
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    assert not Settings().slack_enabled
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    assert Settings().slack_enabled
    monkeypatch.setenv("FEISHU_APP_ID", "cli_x")
    assert not Settings().feishu_enabled
    monkeypatch.setenv("FEISHU_APP_SECRET", "y")
    assert Settings().feishu_enabled


def test_channel_scope_isolates_clients(app_config):
    scope = ChannelScope(app_config)
    assert scope.accounts_for("console:lanji") == {"douyin:lanji_official"}
    assert scope.can_see("console:lanji", "douyin:lanji_official")
    assert not scope.can_see("console:lanji", "bilibili:xiaochu_kitchen")
    assert not scope.can_see("console:xiaochu", "douyin:lanji_official")
    # The default channel sees accounts of no client, and no client's accounts.
    assert scope.can_see("console:general", "weibo:unknown")
    assert not scope.can_see("console:general", "douyin:lanji_official")
    # An unmapped channel sees nothing once clients are configured.
    assert not scope.can_see("slack:C999", "weibo:unknown")
    assert scope.channels_for_account("douyin", "lanji_official") == ["console:lanji"]
    assert scope.channels_for_account("weibo", "unknown") == ["console:general"]


def test_env_overrides_keep_what_the_file_left_unset(monkeypatch):
    # a generic_json source naming one field merges it into its preset's fields; after an override the
    # whole config was re-parsed from a full dump, every default counted as set, and the preset's field
    # names were replaced by the defaults (every record then lacked comment_id and created_at)
    from bot.feeds.pollers.generic import effective_settings

    data = {"feeds": {"sources": [{"id": "xhs", "type": "generic_json", "base_url": "http://127.0.0.1:9/c",
                                   "account": {"platform": "xiaohongshu", "account_id": "a"}, "targets": ["n1"],
                                   "settings": {"preset": "crawler", "fields": {"content_id": "note_id"}}}]},
            "alerts": {"surges": [{"account": "xiaohongshu:a", "from": "2026-11-11T20:00:00+08:00",
                                   "until": "2026-11-11T23:00:00+08:00"}]}}
    plain = parse_config(data, source="t")
    monkeypatch.setenv("CRISISBOT_TIMEZONE", "Asia/Tokyo")
    overridden = apply_env_overrides(plain, Settings())
    assert overridden.timezone == "Asia/Tokyo"
    assert effective_settings(overridden.feeds.sources[0].settings) == effective_settings(plain.feeds.sources[0].settings)
    assert overridden.alerts.surges == plain.alerts.surges


def test_a_feed_sources_problem_is_named_by_the_keys_of_the_file(tmp_path):
    # pydantic puts a source's `type` into the path (feeds.sources[1].weibo.interval): no such key is in the file
    path = tmp_path / "crisisbot.yaml"
    path.write_text(
        "feeds:\n"
        "  sources:\n"
        "    - {id: a, type: bilibili, account: {platform: bilibili, account_id: x}, targets: ['1']}\n"
        "    - {id: b, type: weibo, account: {platform: weibo, account_id: y}, targets: ['2'], interval: -5,"
        " intervall: 3}\n"
        "    - {id: c, type: tiktok, account: {platform: douyin, account_id: z}, targets: ['3']}\n"
        "    - {id: d, account: {platform: douyin, account_id: z}, targets: ['3']}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = [p.removeprefix(f"{path}: ") for p in info.value.problems]
    assert any(p.startswith("feeds.sources[1].interval: ") for p in problems), problems
    assert "feeds.sources[1].intervall: 未知的键（是不是 interval？）/ unknown key (did you mean interval?)" in problems
    assert any(p.startswith("feeds.sources[2].type: 未知的类型 'tiktok'，可选：bilibili, douyin, weibo") for p in problems)
    assert any(p.startswith("feeds.sources[3].type: 缺少 type 键") for p in problems), problems
    assert not any(".weibo." in p or "Input tag" in p for p in problems)
    assert len(problems) == 4


def test_role_members_must_be_chat_addresses(tmp_path):
    # a bare name matched nobody: the role's permissions and the on-call rota held no one
    path = tmp_path / "crisisbot.yaml"
    path.write_text("roles:\n  oncall: [alice, 'slack:U1', 'teams:x']\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = [p.removeprefix(f"{path}: ") for p in info.value.problems]
    assert problems[0].startswith("roles.oncall[0]: 应写成 平台:用户ID")
    assert problems[1].startswith("roles.oncall[2]: 未知的聊天平台 'teams'")
    assert len(problems) == 2


def test_a_rota_role_missing_from_the_roles_is_a_warning(tmp_path):
    from bot.config import config_warnings

    path = tmp_path / "crisisbot.yaml"
    path.write_text("roles:\n  commander: ['slack:U1']\n", encoding="utf-8")
    assert any(w.startswith("alerts.escalation.rota_role: 角色 'oncall' 未在 roles: 中定义")
               for w in config_warnings(load_config(path)))
    path.write_text("roles:\n  oncall: ['slack:U1']\n", encoding="utf-8")
    assert not any("rota_role" in w for w in config_warnings(load_config(path)))
    path.write_text("roles: {}\n", encoding="utf-8")  # no roles set up yet (the shipped config): nothing to say
    assert not any("rota_role" in w for w in config_warnings(load_config(path)))

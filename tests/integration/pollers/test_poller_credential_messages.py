"""A poll without its credential explained itself in English only ("missing credential 'app_id': set the
environment variable KUAISHOU_APP_ID"), in `crisisbot poll`, `sources` and the channel notice: Chinese
first now, the English kept. Against the fake Kuaishou server, on the real database."""

from __future__ import annotations


def test_a_missing_credential_env_var_is_explained_chinese_first(make_bot, fakes, monkeypatch):
    monkeypatch.delenv("KS_APP_ID")
    outcome = make_bot().services.sources.poll("ks")
    assert outcome.status == "failed"
    assert outcome.reason == ("config: 缺少凭据 'app_id'：请设置环境变量 KS_APP_ID / "
                              "missing credential 'app_id': set the environment variable KS_APP_ID"), outcome.reason
    assert fakes["kuaishou"].requests == []


def test_a_credential_the_config_does_not_name_is_explained_chinese_first(make_bot, fakes):
    def drop_app_id(sources):
        [ks] = [s for s in sources if s["id"] == "ks"]
        ks["credentials"] = {"access_token": "KS_TOKEN"}

    outcome = make_bot(drop_app_id).services.sources.poll("ks")
    assert outcome.status == "failed"
    assert outcome.reason == ("config: 缺少凭据 'app_id'：请在配置中添加 credentials.app_id: 环境变量名 / "
                              "missing credential 'app_id': add credentials.app_id: ENV_VAR_NAME"), outcome.reason
    assert fakes["kuaishou"].requests == []

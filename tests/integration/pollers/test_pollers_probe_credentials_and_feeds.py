"""Acceptance-probe findings on the pollers, driven through the service and the real CLI against the local
fake platforms (127.0.0.1 only):

- a `generic_json` (Kuaishou preset) source answered HTTP 401 was retried as `transient: HTTP 401` every
  40 s; it is a credentials error naming the env var, with one notice, paused until the env var changes;
- an `announcements` URL serving an HTML page (a login page, a wrong URL) reported `ok | read 0`;
- the re-authorisation notice told Weibo users about a refresh token Weibo does not have, and no notice
  named the env var to change nor that a running bot must be restarted to read it;
- Chinese texts used half-width punctuation, and `poll` showed its argument as `{SOURCE}`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.integration.pollers.conftest import source_configs
from tests.integration.pollers.helpers import comments, outbox

pytestmark = pytest.mark.slow

KS_PATH = "/openapi/photo/comment/list"
# Well-formed: feedparser reads it without complaint as a feed with no items (the probe's `ok | read 0`)
LOGIN_PAGE = "<!DOCTYPE html><html><head><title>登录</title></head><body><p>请先登录</p></body></html>".encode()
# Sloppy HTML (an unclosed <input>): feedparser flags it, and the error said "neither RSS, Atom nor JSON"
WRONG_URL_PAGE = (b"<html><head><title>Not here</title></head><body><form action=\"/search\">"
                  b"<input name=\"q\"></form></body></html>")
# A half-width , : ; ( ) ! ? touching a Chinese character: Chinese text takes full-width punctuation
HALF_WIDTH_IN_CHINESE = re.compile(r"[\u4e00-\u9fff][,:;()!?]|[,:;()!?][\u4e00-\u9fff]")


def _url(db) -> str:
    # The PostgreSQL fixture works in its own schema; the CLI reaches it through libpq's options.
    return db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"


def _cli(tmp_path: Path, fakes, db, monkeypatch, ids: set[str]):
    config = {"default_channel": "console:general", "timezone": "Asia/Shanghai",
              "feeds": {"sources": [s for s in source_configs(fakes) if s["id"] in ids]}}
    path = tmp_path / "crisisbot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CRISISBOT_CONFIG", str(path))
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", _url(db))
    from bot.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def _reauth_notices(db, source_id: str) -> list:
    return [m for m in outbox(db) if m.key.startswith(f"feeds:reauth:{source_id}:")]


# ---------------------------------------------------------------------------- 1. generic_json 401/403


@pytest.mark.parametrize("status, body", [
    (401, b'{"result": 401, "error_msg": "access_token expired"}'),
    (401, b"Unauthorized"),
    (403, b'{"error": "invalid_token", "error_description": "\xe4\xbb\xa4\xe7\x89\x8c\xe5\xb7\xb2\xe5\xa4\xb1\xe6\x95\x88"}'),
])
def test_kuaishou_refusing_the_token_is_a_credentials_error_naming_the_env_var(
    make_bot, fakes, clock, db, monkeypatch, status, body
):
    ks = fakes["kuaishou"]
    ks.add_comment("3xphoto", "k1", content="好用", create_time_ms=int(clock.now().timestamp() * 1000) - 60_000,
                   author_id="fan", author_name="粉丝")
    ks.script(KS_PATH, status=status, raw=body, headers={"Content-Type": "text/plain; charset=utf-8"})
    service = make_bot().services.sources

    outcome = service.poll("ks")
    assert outcome.status == "failed"
    assert outcome.reason.startswith(f"reauth_required: 接口拒绝了凭据（HTTP {status}）"), outcome.reason
    assert "KS_TOKEN" in outcome.reason and "KS_APP_ID" not in outcome.reason  # the token, not the app id
    assert outcome.reason.index("接口拒绝了凭据") < outcome.reason.index("the endpoint refused")  # Chinese first
    [row] = [r for r in service.status() if r.source_id == "ks"]
    assert row.health == "reauth_required" and "KS_TOKEN" in row.last_error

    # Paused, not retried every 40 s: later rounds send nothing and queue no second notice.
    for _ in range(3):
        clock.advance(7200)
        assert service.poll("ks").reason == "waiting for re-authorisation"
    assert len(ks.calls(KS_PATH)) == 1
    [notice] = _reauth_notices(db, "ks")
    assert "KS_TOKEN" in notice.payload["text"] and "重启 crisisbot serve" in notice.payload["text"]

    # A new token exported (and the bot restarted): polling resumes by itself.
    ks.access_token = "ks_token_new"
    monkeypatch.setenv("KS_TOKEN", "ks_token_new")
    assert service.poll("ks").status == "ok"
    assert [c.comment_id for c in comments(db, "kuaishou")] == ["k1"]


APACHE_403 = (b"<html><head><meta name=\"csrf-token\" content=\"x\"><title>403 Forbidden</title></head><body>"
              b"<p>You don't have permission to access this resource.</p></body></html>")


@pytest.mark.parametrize("page", [b"<html><body><h1>403 Forbidden</h1>nginx</body></html>", APACHE_403],
                         ids=["nginx", "apache-permission-csrf"])
def test_a_bare_403_without_credential_words_stays_a_transient_failure(make_bot, fakes, clock, db, page):
    """A web server's or WAF's own 403 page is no verdict on the token, even when it says "permission" or
    carries a csrf-token tag: retried with backoff, no re-auth notice (which paused the source for good)."""
    fakes["kuaishou"].script(KS_PATH, status=403, raw=page, headers={"Content-Type": "text/html"})
    outcome = make_bot().services.sources.poll("ks")
    assert outcome.status == "failed" and outcome.reason == "transient: HTTP 403", outcome.reason
    assert _reauth_notices(db, "ks") == []


# ------------------------------------------------------------------------------ 2. an HTML "feed"


@pytest.mark.parametrize("page", [LOGIN_PAGE, WRONG_URL_PAGE], ids=["login-page", "wrong-url"])
def test_an_announcement_url_serving_html_is_an_error_in_crisisbot_sources(
    make_bot, fakes, clock, db, tmp_path, monkeypatch, page
):
    fakes["announcements"].script("/feed", raw=page, headers={"Content-Type": "text/html; charset=utf-8"})
    cli = _cli(tmp_path, fakes, db, monkeypatch, {"rules"})

    polled = cli("poll", "rules")
    assert polled.exit_code == 1, polled.output
    assert "rules: failed" in polled.output and "read 0" in polled.output
    assert "返回的不是 RSS/Atom/JSON（收到 HTML）/ not a feed: got HTML" in polled.output

    listed = cli("sources")
    assert listed.exit_code == 0, listed.output
    [line] = [x for x in listed.output.splitlines() if x.startswith("rules ")]
    assert "正常 ok" not in line and "重试中 failing" in line
    assert "错误 error: 返回的不是 RSS/Atom/JSON（收到 HTML）/ not a feed: got HTML" in line


def test_an_empty_rss_feed_is_still_healthy(make_bot, fakes, clock, db):
    """A feed with no items yet is a feed: only a document that is no feed at all fails."""
    from tests.fakes.platforms import rss

    fakes["announcements"].document = rss([])
    outcome = make_bot().services.sources.poll("rules")
    assert outcome.status == "ok" and outcome.fetched == 0, outcome.reason


# ---------------------------------------------------------------- 3. re-authorisation notices per platform


def test_weibo_reauth_notice_speaks_of_weibo_names_the_env_var_and_the_restart(make_bot, fakes, clock, db):
    fakes["weibo"].expired = True
    assert make_bot().services.sources.poll("wb").status == "failed"
    [notice] = _reauth_notices(db, "wb")
    text = notice.payload["text"]
    assert "refresh token expired" not in text and "刷新令牌已过期" not in text  # Weibo issues none
    assert "微博访问令牌已过期或被撤销" in text and "Weibo access token expired or was revoked" in text
    assert "环境变量 WB_TOKEN" in text and "put the new access token into WB_TOKEN" in text
    assert "重启 crisisbot serve" in text and "restart crisisbot serve" in text
    assert "crisisbot poll wb" in text
    assert text.index("数据源 wb 需要重新授权") < text.index("Source wb needs re-authorisation")  # Chinese first
    assert notice.payload["title"] == "数据源需要重新授权：wb"


def test_douyin_reauth_notice_names_the_token_pair_env_vars_and_the_restart(make_bot, fakes, clock, db):
    dy = fakes["douyin"]
    dy.expire_access_token()
    dy.refresh_expired = True
    assert make_bot().services.sources.poll("dy").status == "failed"
    [notice] = _reauth_notices(db, "dy")
    text = notice.payload["text"]
    assert "抖音的刷新令牌已过期或被撤销" in text and "Douyin refresh token expired or was revoked" in text
    assert "环境变量 DY_ACCESS、DY_REFRESH" in text and "into DY_ACCESS, DY_REFRESH" in text
    assert "DY_CLIENT_KEY" not in text  # the app's key does not change on re-authorisation
    assert "重启 crisisbot serve" in text and "restart crisisbot serve" in text


# ------------------------------------------------------------------------ 4. punctuation and `poll` usage


def test_poll_help_reads_full_width_in_chinese_and_names_the_argument_source_id(tmp_path, fakes, db, monkeypatch):
    cli = _cli(tmp_path, fakes, db, monkeypatch, {"rules"})
    helped = cli("poll", "-h")
    assert helped.exit_code == 0, helped.output
    flat = " ".join(helped.output.split())
    assert "SOURCE_ID" in flat and "{SOURCE}" not in flat
    assert "立即轮询一次数据源（忽略退避与停用；另一进程正在轮询时跳过，退出码 3）" in flat
    assert not HALF_WIDTH_IN_CHINESE.search(flat), flat
    listed = cli("--help")
    assert "列出数据源：上次轮询" in " ".join(listed.output.split())


def test_feed_notices_use_full_width_punctuation_in_chinese(make_bot, fakes, clock, db, monkeypatch):
    from tests.fakes.platforms import rss

    feed = fakes["announcements"]
    feed.document = rss([{"id": "n1", "title": "评论区管理规则", "url": "https://example.invalid/n1",
                          "published": "Sun, 22 Nov 2026 19:00:00 +0800"}])
    service = make_bot(lambda sources: sources[4].update(backfill="7d",
                                                         backoff={"base": 1, "max": 60, "unhealthy_after": 1})).services.sources
    assert service.poll("rules").status == "ok"
    feed.document = rss([{"id": "n1", "title": "评论区管理规则（修订）", "url": "https://example.invalid/n1",
                          "published": "Sun, 22 Nov 2026 20:00:00 +0800"}])
    clock.advance(600)
    assert service.poll("rules").status == "ok"
    feed.script("/feed", raw=LOGIN_PAGE, headers={"Content-Type": "text/html"})
    clock.advance(600)
    assert service.poll("rules").status == "failed"  # unhealthy at once: its notice
    clock.advance(600)
    assert service.poll("rules").status == "ok"  # recovered: its notice
    fakes["weibo"].expired = True
    service.poll("wb")

    titles = [m.payload["title"] for m in outbox(db)]
    # issue #3 pins the announcement prefix "平台规则更新: " (ASCII colon and space): the one exception
    assert titles[:2] == ["平台规则更新: 评论区管理规则（抖音）", "平台规则更新: 评论区管理规则（修订）（抖音，已修改）"]
    assert "数据源异常：rules" in titles and "数据源已恢复：rules" in titles
    for message in outbox(db):
        chinese = [line.split(" / ")[0] for line in (message.payload["text"] or "").splitlines()
                   if re.search(r"[\u4e00-\u9fff]", line)]
        for line in chinese + [message.payload["title"]]:
            assert not HALF_WIDTH_IN_CHINESE.search(line.removeprefix("平台规则更新: ")), line

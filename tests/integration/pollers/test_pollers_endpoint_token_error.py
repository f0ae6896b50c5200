"""An endpoint that reports an invalid token in its own error field with HTTP 200 (Kuaishou's
`{"result": 28, "error_msg": "access_token 无效"}`) refuses the credentials, as a 401 does: the source
shows `reauth_required`, one notice names the env var, and polling pauses until it changes. It was a
transient error retried every poll for good, its one notice naming neither the token nor the env var."""

from __future__ import annotations

from tests.integration.pollers.helpers import comments, outbox

KS_PATH = "/openapi/photo/comment/list"


def test_an_invalid_token_reported_in_the_answer_pauses_the_source_and_names_the_env_var(
        make_bot, fakes, clock, db, monkeypatch):
    ks = fakes["kuaishou"]
    ks.add_comment("3xphoto", "k1", content="好用", create_time_ms=int(clock.now().timestamp() * 1000) - 60_000,
                   author_id="fan", author_name="粉丝")
    ks.access_token = "ks_token_rotated"  # the platform no longer takes the exported token: result 28
    service = make_bot().services.sources

    outcome = service.poll("ks")
    assert outcome.status == "failed" and outcome.reason.startswith("reauth_required: 接口拒绝了凭据"), outcome
    assert "KS_TOKEN" in outcome.reason and "access_token 无效" in outcome.reason
    for _ in range(3):
        clock.advance(7200)
        assert service.poll("ks").reason == "waiting for re-authorisation"
    assert len(ks.calls(KS_PATH)) == 1
    notices = [m for m in outbox(db) if m.key.startswith("feeds:")]
    assert [m.key.split(":")[1] for m in notices] == ["reauth"]
    assert "KS_TOKEN" in notices[0].payload["text"]

    monkeypatch.setenv("KS_TOKEN", "ks_token_rotated")  # the new token exported: polling resumes
    assert service.poll("ks").status == "ok"
    assert [c.comment_id for c in comments(db, "kuaishou")] == ["k1"]


def test_an_error_answer_that_says_nothing_of_the_token_stays_a_transient_failure(make_bot, fakes):
    fakes["kuaishou"].script(KS_PATH, body={"result": 2, "error_msg": "参数错误: photo_id"})
    outcome = make_bot().services.sources.poll("ks")
    assert outcome.status == "failed" and outcome.reason.startswith("transient: 接口报告错误 result=2"), outcome

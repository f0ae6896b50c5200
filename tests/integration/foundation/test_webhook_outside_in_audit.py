"""`POST /api/v1/comments` after an outside-in audit, real HTTP into the real app: a record limit per request,
a count per rejection reason, a log line and a metric for every refused request, a warning for accounts
missing from the config, and a deadline for a body that trickles in."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from sqlmodel import func, select

from bot.feeds import webhook
from bot.feeds.webhook import MAX_RECORDS
from bot.storage.models import Comment, DeadLetter
from tests.integration.foundation.test_webhook import record
from tests.support.stalled_body import stalled_body_answer

TOKEN = "test-ingest-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}
NDJSON = {**AUTH, "Content-Type": "application/x-ndjson"}
SHORT_DEADLINE_S = 1.0


def url(base: str) -> str:
    return f"{base}/api/v1/comments"


def metric(base: str, name: str, labels: str = "") -> float:
    found = re.search(rf"^{name}{re.escape(labels)} (\S+)$", httpx.get(f"{base}/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def count(db, model) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


# ---- 5. a record limit per request, and one count per rejection reason ------------------------------


@pytest.mark.parametrize("content, headers", [
    ("[" + ",".join(["1"] * (MAX_RECORDS + 1)) + "]", JSON),
    ("\n".join(["1"] * (MAX_RECORDS + 1)), NDJSON),
], ids=["json", "ndjson"])
def test_more_records_than_the_limit_is_a_413_naming_it(base_url, db, content, headers):
    response = httpx.post(url(base_url), content=content.encode(), headers=headers, timeout=60)
    assert response.status_code == 413
    data = response.json()
    assert data["error"] == "too_many_records" and data["limit"] == MAX_RECORDS
    assert data["message"].startswith(f"一次最多 {MAX_RECORDS} 条记录") and f"at most {MAX_RECORDS} records" in data["message"]
    assert count(db, DeadLetter) == 0 and count(db, Comment) == 0


def test_the_answer_counts_each_rejection_reason_once(base_url):
    body = [record("1"), {}, record("2", created_at="yesterday"), {}, {}]
    data = httpx.post(url(base_url), json=body, headers=AUTH).json()
    assert [r["index"] for r in data["results"]] == [0, 1, 2, 3, 4]  # one result per record, as before
    missing = data["results"][1]["reason"]
    assert data["rejection_reasons"] == [
        {"reason": missing, "count": 3, "indexes": [1, 3, 4]},
        {"reason": data["results"][2]["reason"], "count": 1, "indexes": [2]},
    ]


# ---- 6. refused requests leave a trace ---------------------------------------------------------------


def test_a_refused_request_is_logged_once_and_counted(base_url, caplog):
    labels = '{reason="unauthorized",status="401"}'
    before = metric(base_url, "crisisbot_webhook_refused_total", labels)
    with caplog.at_level(logging.WARNING, logger="bot.feeds.webhook"):
        response = httpx.post(url(base_url), json=[record("1")], headers={"Authorization": "Bearer wrong-secret"})
    assert response.status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.feeds.webhook"]
    assert len(lines) == 1 and "401 unauthorized" in lines[0], lines
    assert "wrong-secret" not in lines[0] and "锅好用吗" not in lines[0]
    assert metric(base_url, "crisisbot_webhook_refused_total", labels) == before + 1

    malformed = '{reason="malformed_json",status="400"}'
    before = metric(base_url, "crisisbot_webhook_refused_total", malformed)
    assert httpx.post(url(base_url), content=b"[{", headers=JSON).status_code == 400
    assert metric(base_url, "crisisbot_webhook_refused_total", malformed) == before + 1


def test_a_stored_batch_sets_the_last_batch_time(base_url, clock):
    assert httpx.post(url(base_url), json=[record("1")], headers=AUTH).status_code == 200
    assert metric(base_url, "crisisbot_webhook_last_batch_timestamp_seconds") == clock.now().timestamp()


# ---- 7. accounts missing from the config -------------------------------------------------------------


def test_a_record_of_an_unknown_account_is_stored_with_a_warning_logged_once(base_url, db, caplog):
    typo = record("t1", platform="douyin", account_id="lanji")  # the config has douyin:lanji_official
    with caplog.at_level(logging.WARNING, logger="bot.feeds.webhook"):
        first = httpx.post(url(base_url), json=[typo, record("k1"), record("t2", platform="douyin", account_id="lanji")],
                           headers=AUTH).json()
        second = httpx.post(url(base_url), json=[record("t3", platform="douyin", account_id="lanji")],
                            headers=AUTH).json()
    assert first["accepted"] == 3 and count(db, Comment) == 4
    warning = first["results"][0]["warning"]
    assert "douyin:lanji" in warning and "accounts" in warning and warning.startswith("账号")
    assert "warning" not in first["results"][1]  # a configured account
    assert first["results"][2]["warning"] == warning == second["results"][0]["warning"]
    logged = [r.getMessage() for r in caplog.records if "douyin:lanji" in r.getMessage()]
    assert len(logged) == 1, logged


# ---- 8. a body that trickles in --------------------------------------------------------------------


def test_a_stalled_body_is_answered_408_and_the_connection_closed(base_url, db, monkeypatch):
    assert webhook.BODY_DEADLINE_S > SHORT_DEADLINE_S  # the shortened deadline, not the production one
    monkeypatch.setattr(webhook, "BODY_DEADLINE_S", SHORT_DEADLINE_S)
    status, _took, closed = stalled_body_answer(url(base_url), {**JSON}, timeout=SHORT_DEADLINE_S + 20)
    assert status == 408
    assert closed, "the connection (and the body read so far) must be let go"
    assert count(db, Comment) == 0
    # a whole body is still taken
    assert httpx.post(url(base_url), content=json.dumps([record("1")]).encode(), headers=JSON).status_code == 200

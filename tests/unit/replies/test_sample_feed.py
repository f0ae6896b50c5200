"""The bundled sample feed: size, spread, record format, threads and the shape of its crisis."""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
from collections import Counter
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIELDS = [
    "platform", "account_id", "content_id", "comment_id", "text", "created_at", "parent_id",
    "author_id", "author_name", "author_followers", "like_count", "reply_count", "content_title",
    "content_url", "is_from_account",
]
CRISIS_TERMS = ("过敏", "烂脸", "退款", "投诉", "维权", "12315")
CREAM_VIDEO = "7440861157203340562"


def _load_script():
    spec = importlib.util.spec_from_file_location("make_sample_feed", ROOT / "scripts" / "make_sample_feed.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def raw_text() -> str:
    return resources.files("bot.demo").joinpath("sample_feed.jsonl").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def records(raw_text: str) -> list[dict]:
    return [json.loads(line) for line in raw_text.splitlines()]


def _when(record: dict) -> datetime:
    return datetime.fromisoformat(record["created_at"])


def _has_crisis_term(text: str) -> bool:
    return any(term in text for term in CRISIS_TERMS)


def test_committed_file_is_what_the_script_builds(raw_text: str) -> None:
    script = _load_script()
    assert script.render(script.build_feed()) == raw_text
    # Deterministic: a second build is identical; another seed is not.
    assert script.build_feed() == script.build_feed()
    assert script.build_feed(seed=1) != script.build_feed()


def test_record_format(records: list[dict]) -> None:
    ids = set()
    for record in records:
        assert list(record) == FIELDS
        assert isinstance(record["text"], str)
        when = _when(record)
        assert when.utcoffset() == timedelta(hours=8)
        assert record["created_at"].endswith("+08:00")
        assert isinstance(record["like_count"], int) and record["like_count"] >= 0
        assert isinstance(record["author_followers"], int) and record["author_followers"] >= 0
        assert isinstance(record["is_from_account"], bool)
        assert record["content_url"].startswith("https://")
        key = (record["platform"], record["comment_id"])
        assert key not in ids
        ids.add(key)


def test_counts_accounts_days_and_videos(records: list[dict]) -> None:
    assert len(records) >= 2000
    accounts = {(r["platform"], r["account_id"]) for r in records}
    assert accounts == {("douyin", "lanji_official"), ("bilibili", "xiaochu_kitchen")}
    days = Counter(r["created_at"][:10] for r in records)
    assert sorted(days) == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]
    for account in ("lanji_official", "xiaochu_kitchen"):
        per_day = Counter(r["created_at"][:10] for r in records if r["account_id"] == account)
        assert len(per_day) == 4 and min(per_day.values()) >= 150
    videos = {(r["account_id"], r["content_id"], r["content_title"], r["content_url"]) for r in records}
    assert len(videos) >= 5
    assert len({v[1] for v in videos}) == len(videos)  # one title/url per video


def test_reads_like_chinese_social_comments(records: list[dict]) -> None:
    texts = [r["text"] for r in records]
    chinese = sum(1 for t in texts if any("\u4e00" <= ch <= "\u9fff" for ch in t))
    assert chinese / len(texts) > 0.9
    assert sum("[" in t and "]" in t for t in texts) > 200  # [表情] codes
    assert sum("？" in t or "?" in t or "吗" in t for t in texts) > 150  # questions
    assert any("[捂脸]" in t for t in texts) and any("[doge]" in t for t in texts)
    assert len(set(texts)) > 900


def test_threads_and_own_replies(records: list[dict]) -> None:
    by_id = {r["comment_id"]: r for r in records}
    replies = [r for r in records if r["parent_id"]]
    assert len(replies) > 300
    for reply in replies:
        parent = by_id[reply["parent_id"]]
        assert parent["content_id"] == reply["content_id"]
        assert _when(parent) <= _when(reply)
    reply_counts = Counter(r["parent_id"] for r in replies)
    assert all(r["reply_count"] == reply_counts.get(r["comment_id"], 0) for r in records)
    own = [r for r in records if r["is_from_account"]]
    assert len(own) > 50
    assert all(r["author_id"] == r["account_id"] for r in own)
    assert not any(r["author_id"] == r["account_id"] for r in records if not r["is_from_account"])
    # Both unanswered questions and answered ones exist, so the reply queue has work to show.
    answered_roots = {r["parent_id"] for r in own if r["parent_id"]}
    roots = [r for r in records if not r["parent_id"] and not r["is_from_account"]]
    assert 0.1 < sum(r["comment_id"] in answered_roots for r in roots) / len(roots) < 0.6


def test_daily_rhythm_quiet_nights_busy_evenings(records: list[dict]) -> None:
    ordinary = [r for r in records if r["created_at"][:10] in ("2026-11-20", "2026-11-21")]
    hours = Counter(_when(r).hour for r in ordinary)
    night = sum(hours[h] for h in range(2, 7))
    evening = sum(hours[h] for h in range(19, 24))
    assert evening > 8 * night


def test_crisis_snowballs_on_the_cream_video(records: list[dict]) -> None:
    start = datetime.fromisoformat("2026-11-22T20:00:00+08:00")
    end = start + timedelta(minutes=75)
    lanji = [r for r in records if r["account_id"] == "lanji_official"]
    window = [r for r in lanji if start <= _when(r) < end and r["content_id"] == CREAM_VIDEO]
    negative = [r for r in window if _has_crisis_term(r["text"])]
    assert len(negative) >= 100

    # Far above the account's normal evening hours on the ordinary days.
    baseline = Counter(
        r["created_at"][:13] for r in lanji
        if r["created_at"][:10] in ("2026-11-20", "2026-11-21") and 19 <= _when(r).hour <= 22
    )
    assert len(window) > 4 * statistics.median(baseline.values())

    # Snowball: the last 20 minutes are much busier than the first 20 after the first complaint.
    first_complaint = min(_when(r) for r in negative)
    assert first_complaint.strftime("%H:%M") >= "20:00"
    def comments_between(begin: int, finish: int, subset: list[dict]) -> int:
        return sum(first_complaint + timedelta(minutes=begin) <= _when(r) < first_complaint + timedelta(minutes=finish)
                   for r in subset)

    assert comments_between(40, 60, window) > 3 * comments_between(0, 20, window)
    assert comments_between(40, 60, negative) > 2 * comments_between(0, 20, negative)

    # Heavily liked: the most-liked comments of the whole feed are crisis complaints.
    top = sorted(records, key=lambda r: r["like_count"], reverse=True)[:10]
    assert all(r["content_id"] == CREAM_VIDEO for r in top)
    assert top[0]["like_count"] >= 5000 and _has_crisis_term(top[0]["text"])
    assert sum(r["like_count"] >= 1000 for r in negative) >= 5


def test_crisis_terms_are_rare_on_ordinary_days(records: list[dict]) -> None:
    ordinary = [r for r in records if r["created_at"][:10] in ("2026-11-20", "2026-11-21")]
    assert sum(_has_crisis_term(r["text"]) for r in ordinary) / len(ordinary) < 0.03

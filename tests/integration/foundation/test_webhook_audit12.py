"""`POST /api/v1/comments` after an outside HTTP audit, real HTTP into the real app: a body of many tiny
records does not hold the event loop and gets a compact answer; a database that fails mid-ingest is a
JSON 503, not a bare 500; a batch sent several times at once is accepted once; refusals answered before
the body is read close the connection; a compressed body is a 415; a 400's `position` is a byte offset."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from bot.feeds.webhook import MAX_RECORDS, REASON_INDEXES
from bot.storage.db import Database
from bot.storage.models import Comment, DeadLetter
from tests.integration.foundation.test_webhook import record
from tests.support.asgi_server import running_server

AUTH = {"Authorization": "Bearer test-ingest-token"}
JSON = {**AUTH, "Content-Type": "application/json"}


def comments_url(base: str) -> str:
    return f"{base}/api/v1/comments"


@contextmanager
def served(bot_app):
    try:
        with running_server(bot_app.web) as url:
            yield url
    finally:
        bot_app.stop()


@pytest.fixture
def sqlite_url(sqlite_db, settings, app_config, clock):
    """The bot on SQLite only: what is measured here is the event loop, not the database."""
    from bot.app import build_app

    with served(build_app(settings, app_config, clock=clock, db=sqlite_db, upgrade=False)) as url:
        yield url


# ---- one in-limit body of many tiny records --------------------------------------------------------
def test_many_tiny_records_do_not_blow_up_the_answer(sqlite_url, sqlite_db):
    """`{}` records up to the per-request limit (was 300,000, before there was one): each got a 514-byte
    result (an answer 171x the body). Now the six missing fields are named in one problem, the same
    rejection is one dead letter counted n times, and the answer counts the shared reason once."""
    n = MAX_RECORDS
    body = ("[" + ",".join(["{}"] * n) + "]").encode()
    with httpx.Client(timeout=300) as client:
        response = client.post(comments_url(sqlite_url), content=body, headers=JSON)
    assert response.status_code == 200
    data = response.json()
    assert (data["accepted"], data["duplicates"], data["rejected"]) == (0, 0, n)
    reason = "platform, account_id, content_id, comment_id, text, created_at: 缺少必填字段 / missing required fields"
    assert data["results"][-1] == {"index": n - 1, "status": "rejected", "reason": reason}
    assert data["rejection_reasons"] == [{"reason": reason, "count": n, "indexes": list(range(REASON_INDEXES))}]
    assert len(response.content) / n < 160, len(response.content)  # was 514 bytes a record
    with sqlite_db.session() as s:
        assert [letter.seen_count for letter in s.exec(select(DeadLetter)).all()] == [n]


def test_other_endpoints_answer_while_a_batch_waits_for_the_database(sqlite_url, sqlite_db):
    """A guard for the move of the batch's work into worker threads: while a batch waits for the database
    (another process holds SQLite's write lock), /metrics (and Slack's acks) still answer. The CPU-bound
    part that used to hold the loop (parsing and writing the answer of a big batch: seconds for 4.8 MB) is
    a speed figure, printed by `python -m bench.ingest` ("event loop during one … batch"); the probe's
    timeout here only breaks a deadlock."""
    holder = sqlite3.connect(make_url(sqlite_db.url).database, timeout=30)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a `crisisbot ingest` beside serve holds it
    outcome: dict = {}

    def post() -> None:
        with httpx.Client(timeout=120) as client:
            response = client.post(comments_url(sqlite_url), json=[record("held-1")], headers=AUTH)
            outcome.update(status=response.status_code, data=response.json())

    worker = threading.Thread(target=post)
    try:
        worker.start()
        time.sleep(0.5)  # the batch is in, waiting for the lock
        with httpx.Client(timeout=20) as probe:
            assert probe.get(f"{sqlite_url}/metrics").status_code == 200
        assert worker.is_alive() and not outcome  # answered while the batch still waited
    finally:
        holder.rollback()
        holder.close()
    worker.join(timeout=60)
    assert outcome["status"] == 200 and outcome["data"]["accepted"] == 1


def test_one_missing_field_keeps_its_own_words(base_url):
    missing = {k: v for k, v in record("1").items() if k != "comment_id"}
    reason = httpx.post(comments_url(base_url), json=[missing], headers=AUTH).json()["results"][0]["reason"]
    assert reason == "comment_id: 缺少必填字段 / missing required field"


# ---- the same new batch sent six times at once -----------------------------------------------------
def webhook_ingested(base: str) -> float:
    metrics = httpx.get(f"{base}/metrics").text
    found = re.search(r'^crisisbot_comments_ingested_total\{source="webhook"\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_batch_sent_six_times_at_once_is_accepted_once(base_url, db):
    """Each request looked the batch up before storing it, found nothing (the others had not committed)
    and answered "accepted" for all 300 records, several times over (metrics counted 1800). A record's
    status is now what the upsert itself did: inserted, or updated a stored comment."""
    batch = [record(f"race-{uuid.uuid4().hex[:6]}-{i}") for i in range(300)]
    before = webhook_ingested(base_url)
    answers: list[dict] = []

    def send() -> None:
        with httpx.Client(timeout=120) as client:
            response = client.post(comments_url(base_url), json=batch, headers=AUTH)
            assert response.status_code == 200, response.text
            answers.append(response.json())

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 6
    assert sum(a["accepted"] for a in answers) == 300, [(a["accepted"], a["duplicates"]) for a in answers]
    assert sum(a["duplicates"] for a in answers) == 5 * 300
    # per record: each comment accepted by exactly one request, a duplicate in the five others
    for i in range(300):
        assert sorted(a["results"][i]["status"] for a in answers) == ["accepted"] + ["duplicate"] * 5
    assert webhook_ingested(base_url) - before == 300
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(Comment)).one() == 300


# ---- a database that fails during ingest -------------------------------------------------------------
@contextmanager
def own_postgres_database():
    """A PostgreSQL database of its own, migrated, that the test may drop under the running bot."""
    url = os.environ.get("CRISISBOT_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("PostgreSQL tests need CRISISBOT_TEST_POSTGRES_URL (CI=true)")
        pytest.skip("PostgreSQL tests need CRISISBOT_TEST_POSTGRES_URL")
    name = f"crisisbot_a12_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(make_url(url).set(database=name).render_as_string(hide_password=False))
    try:
        database.upgrade()

        def fail() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))

        yield database, fail
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def locked_sqlite_database(tmp_path, template):
    """A SQLite file another process holds the write lock of. The bot's connections wait 0.2 s for it
    (their busy timeout set after the bot's own 30 s, only to keep the test short), then fail as they
    would after 30 s: "database is locked"."""
    import shutil

    path = tmp_path / "locked.db"
    shutil.copyfile(template, path)
    database = Database(f"sqlite:///{path}")

    @event.listens_for(database.engine, "connect")
    def short_busy_timeout(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    holder = sqlite3.connect(path, isolation_level=None)

    def fail() -> None:
        holder.execute("BEGIN IMMEDIATE")

    try:
        yield database, fail
    finally:
        holder.close()
        database.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_database_failure_during_ingest_is_a_json_503(backend, tmp_path, migrated_sqlite_file, settings,
                                                        app_config, clock, caplog):
    """It was a bare `500 text/plain` with an "Exception in ASGI application" traceback. Now a JSON 503
    like the other refusals (Chinese first), one warning line, nothing stored; a resend after the
    database is back is stored."""
    from bot.app import build_app

    failing = own_postgres_database() if backend == "postgres" else locked_sqlite_database(tmp_path, migrated_sqlite_file)
    with failing as (database, fail), served(build_app(settings, app_config, clock=clock, db=database, upgrade=False)) as url:
        assert httpx.post(comments_url(url), json=[record("before")], headers=AUTH).json()["accepted"] == 1
        fail()
        caplog.clear()
        with caplog.at_level("WARNING", logger="bot.feeds.webhook"):
            response = httpx.post(comments_url(url), json=[record("during"), {"bad": 1}], headers=AUTH, timeout=60)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/json"
        data = response.json()
        assert data["error"] == "database_unavailable"
        assert data["message"].startswith("数据库暂时不可用") and "/ the database is unavailable" in data["message"]
        warnings = [r for r in caplog.records if r.name == "bot.feeds.webhook"]
        assert len(warnings) == 1 and warnings[0].levelname == "WARNING" and warnings[0].exc_info is None
        assert "database unavailable" in warnings[0].getMessage() and "\n" not in warnings[0].getMessage()
        if backend == "postgres":  # as /healthz says
            assert httpx.get(f"{url}/healthz").status_code == 503


# ---- early refusals close the connection -------------------------------------------------------------
def refused_and_closed(base: str, headers: dict[str, str], *, body_first: bool) -> tuple[bytes, bool]:
    """Start a chunked upload that never ends; the status line of the answer, and whether the server then
    closed the connection at once (rather than go on reading the body: uvicorn then closes an idle
    connection only after its 5 s keep-alive timeout, so 2 s tells the two apart).

    A refusal decided by the headers alone is read before any body is sent, and the body's first chunk is
    sent after it: a chunk still unread when the server closes makes its kernel answer with a reset, which
    can discard the answer before it is read (a flaky ConnectionResetError). The 413 needs the chunk first."""
    parts = urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=2)
    chunk = f"{4000:x}\r\n".encode() + b"[" * 4000 + b"\r\n"
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"POST /api/v1/comments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{head}\r\n".encode())
        if body_first:
            sock.sendall(chunk)
        received = b""
        try:
            while True:
                piece = sock.recv(65536)
                if not piece:
                    return received.split(b"\r\n", 1)[0], True
                received += piece
                if not body_first and b"\r\n\r\n" in received:
                    body_first = True  # the answer is in: now the body the server must not wait for
                    try:
                        sock.sendall(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        return received.split(b"\r\n", 1)[0], True
        except ConnectionResetError:  # closed with our chunk unread: closed all the same
            return received.split(b"\r\n", 1)[0], True
        except TimeoutError:
            return received.split(b"\r\n", 1)[0], False
    finally:
        sock.close()


@pytest.mark.parametrize("headers, status", [
    ({"Content-Type": "application/json"}, b"401"),
    ({"Authorization": "Bearer wrong", "Content-Type": "application/json"}, b"401"),
    ({**AUTH, "Content-Type": "text/csv"}, b"415"),
    ({**AUTH, "Content-Type": "application/json; charset=utf-16"}, b"415"),
    ({**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"}, b"415"),
    ({**AUTH, "Content-Type": "application/json"}, b"413"),
])
def test_refusals_before_the_body_close_the_connection(bot, headers, status):
    """The server answered early but kept reading the body to keep the connection (41.9 MB after a 413 or
    a 401 in the audit); /slack/events and /feishu/events close it."""
    from bot.app import create_web_app

    bot.services.settings.ingest_max_bytes = 1000
    with running_server(create_web_app(bot)) as url:
        status_line, closed = refused_and_closed(url, headers, body_first=status == b"413")
    assert status in status_line
    assert closed, f"{status_line!r}: the connection stayed open"


# ---- a compressed body; byte offsets -----------------------------------------------------------------
def test_a_gzip_body_is_415_not_a_bad_encoding(base_url, db):
    import gzip

    body = gzip.compress(json.dumps([record("gz")]).encode())
    response = httpx.post(comments_url(base_url), content=body, headers={**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 415
    data = response.json()
    assert data["error"] == "unsupported_content_encoding" and data["message"].startswith("不支持的内容编码 'gzip'")
    assert response.headers["connection"] == "close"
    with db.session() as s:
        assert s.exec(select(func.count()).select_from(Comment)).one() == 0
    identity = httpx.post(comments_url(base_url), json=[record("plain")], headers={**AUTH, "Content-Encoding": "identity"})
    assert identity.status_code == 200 and identity.json()["accepted"] == 1


@pytest.mark.parametrize("body, content_type, marker", [
    ('[{"text": "中文评论"},\n x]'.encode(), "application/json", b"x"),
    ('[{"text": "中文评论"},\n x]'.encode("gbk"), "application/json; charset=gbk", b"x"),
    (b'\xef\xbb\xbf[{"a": 1}, x]', "application/json", b"x"),
    (b"\xef\xbb\xbf{x\n", "application/x-ndjson", b"x"),
    ('["中文", x\n{y\n'.encode(), "application/x-ndjson", b"x"),
    (b"\xef\xbb\xbf[\xff]", "application/json", b"\xff"),
])
def test_a_400_position_is_a_byte_offset_in_the_body(base_url, body, content_type, marker):
    """`position` counted characters after a BOM was taken off: it pointed before the error in a body
    with a BOM or Chinese before the error."""
    response = httpx.post(comments_url(base_url), content=body, headers={**AUTH, "Content-Type": content_type})
    assert response.status_code == 400, response.text
    position = response.json()["position"]
    assert body[position:position + 1] == marker, (position, body)

"""One process at a time polls a source: `crisisbot poll` beside `crisisbot serve`, or two replicas.

Each process only had its own in-memory lock: two processes polling one source both fetched the same
pages and the last save of the state won (a cursor moving backwards, the platform's rate limit spent
twice). A poll now takes the source's lease in the database; a process that finds the source leased by
another skips that round, and a lease left by a process that died expires.

These tests use separate processes (the real `crisisbot poll`) or separate threads on separate engines
(their own connection pools), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.config import parse_config
from bot.feeds.pollers.service import SKIPPED_LEASE_LOST, SKIPPED_LEASED
from bot.feeds.pollers.store import DatabaseStateStore, Lease, LeaseLost
from bot.storage.db import Database
from tests.conftest import TEST_CONFIG
from tests.integration.pollers.conftest import source_configs
from tests.integration.pollers.helpers import comments

MAIN = "/x/v2/reply/wbi/main"  # the Bilibili comment list the poll reads


def ts(clock, seconds_ago: float) -> int:
    return int((clock.now() - timedelta(seconds=seconds_ago)).timestamp())


def _url(db) -> str:
    # The PostgreSQL fixture works in its own schema; another process reaches it through libpq's options.
    return db.url if db.dialect == "sqlite" else f"{db.url}?options=-csearch_path%3D{db.schema}"


@pytest.fixture
def other_process_bot(db, settings, clock, env, fakes):
    """The bot as a second process would build it: the same config and database, its own engine."""
    from bot.app import build_app

    built = []

    def make(**service_options):
        data = copy.deepcopy(TEST_CONFIG)
        data["feeds"] = {"sources": source_configs(fakes)}
        engine = Database(db.url, schema=db.schema)
        app = build_app(settings, parse_config(data, source="tests"), clock=clock, db=engine, upgrade=False)
        for name, value in service_options.items():
            setattr(app.services.sources, name, value)
        built.append((app, engine))
        return app

    yield make
    for app, engine in built:
        app.services.sources.close()
        app.stop()
        engine.dispose()


@contextmanager
def _polling_held_at_the_platform(app, bili) -> Iterator[dict]:
    """`app` polls "bili" in a thread that is held in its request for the comment page during the block.
    Yields a dict that holds the poll's result under "bili" after the block (the page released, the thread
    joined)."""
    held = bili.hold(MAIN)
    results: dict = {}

    def run() -> None:
        results["bili"] = app.services.sources.poll("bili")

    thread = threading.Thread(target=run, name="poll-bili", daemon=True)
    thread.start()
    try:
        assert held.entered.wait(10), "the poll never reached the platform"
        yield results
    finally:
        held.release()
        thread.join(20)


def test_a_source_polled_by_one_process_is_skipped_by_the_other(make_bot, other_process_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    for i in range(3):
        bili.add_reply("170001", 100 + i, mid=7, uname="u", message=f"评论{i}", ctime=ts(clock, 60 - i))
    serve = make_bot()
    cli = other_process_bot()

    with _polling_held_at_the_platform(serve, bili) as results:
        # the second process tries the same source while the first is in the middle of its poll
        second = cli.services.sources.poll("bili", force=True)

    assert second.status == "skipped", second
    assert second.reason_code == SKIPPED_LEASED
    assert second.leased_by == f"{socket.gethostname()[:80]}:{os.getpid()}"
    assert second.reason.startswith("另一个进程（") and "/ another process" in second.reason
    assert results["bili"].status == "ok" and results["bili"].accepted == 3
    assert len(bili.calls(MAIN)) == 1  # the platform was asked once, not twice
    assert len(comments(db, "bilibili")) == 3

    # the lease is given back at the end: the other process polls the next round
    bili.add_reply("170001", 200, mid=8, uname="v", message="新评论", ctime=ts(clock, 1))
    clock.advance(300)
    assert cli.services.sources.poll("bili").status == "ok"
    assert len(comments(db, "bilibili")) == 4


def test_two_processes_racing_for_a_source_poll_it_once(make_bot, other_process_bot, fakes, clock, db):
    """Both start at the same moment: exactly one takes the lease (the conditional UPDATE decides)."""
    bili = fakes["bilibili"]
    bili.add_reply("170001", 100, mid=7, uname="u", message="评论", ctime=ts(clock, 60))
    apps = [make_bot(), other_process_bot()]
    outcomes: list = []
    start = threading.Barrier(len(apps))
    held = bili.hold(MAIN, timeout=3)  # whoever gets there first waits, so the polls overlap

    def run(app) -> None:
        start.wait()
        outcomes.append(app.services.sources.poll("bili", force=True))

    threads = [threading.Thread(target=run, args=(app,), daemon=True) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    held.release()
    assert sorted(o.status for o in outcomes) == ["ok", "skipped"], outcomes
    assert len(bili.calls(MAIN)) == 1


def test_the_lease_is_renewed_while_a_long_poll_runs(make_bot, other_process_bot, fakes, clock, db):
    bili = fakes["bilibili"]
    bili.add_reply("170001", 100, mid=7, uname="u", message="评论", ctime=ts(clock, 60))
    serve = make_bot()
    serve.services.sources.lease_renew_seconds = 0.05
    cli = other_process_bot()

    with _polling_held_at_the_platform(serve, bili) as results:
        clock.advance(100)  # the page is slow: most of the lease (120 s) has gone by
        time.sleep(0.5)  # the running poll renews its lease meanwhile
        clock.advance(50)  # past the first lease's end, within the renewed one
        second = cli.services.sources.poll("bili", force=True)
    assert second.status == "skipped" and second.reason_code == SKIPPED_LEASED, second
    assert results["bili"].status == "ok"


def test_a_poll_that_outlived_its_lease_stops_without_writing(make_bot, other_process_bot, fakes, clock, db):
    """A process stalled past its lease (suspended, a page slower than the lease, renewal failing) and
    another took the source over: the stalled poll must not overwrite what the new holder saved."""
    bili = fakes["bilibili"]
    bili.add_reply("170001", 100, mid=7, uname="u", message="评论", ctime=ts(clock, 60))
    stalled = make_bot()
    stalled.services.sources.lease_renew_seconds = 3600  # its renewal never comes in time
    other = other_process_bot()

    with _polling_held_at_the_platform(stalled, bili) as results:
        clock.advance(121)  # the stalled poll's lease has expired
        bili.add_reply("170001", 101, mid=8, uname="v", message="新评论", ctime=ts(clock, 5))
        taken_over = other.services.sources.poll("bili")
        assert taken_over.status == "ok", taken_over
        saved = DatabaseStateStore(db, clock).load("bili")
    assert results["bili"].status == "skipped" and results["bili"].reason_code == SKIPPED_LEASE_LOST
    after = DatabaseStateStore(db, clock).load("bili")
    assert after.targets["170001"].hwm == saved.targets["170001"].hwm  # the mark did not move back
    assert after.polls == saved.polls == 1  # the stalled poll's state was never written


def test_store_lease_take_renew_release_and_fencing(db, clock):
    """The lease primitives on both databases: taken only when free or expired, renewed and released only
    by the take that holds it (not by an older take of the same process), and saves fenced by it."""
    from bot.feeds.pollers.base import SourceState

    store = DatabaseStateStore(db, clock)
    now = clock.now()
    until = now + timedelta(seconds=120)
    assert store.take_lease("s1", "a#1", now, until) is None  # no row yet: created, taken
    assert store.take_lease("s1", "b#1", now, until) == Lease("a#1", until)
    assert store.renew_lease("s1", "a#1", until + timedelta(seconds=60))
    later = now + timedelta(seconds=181)  # past the renewed end
    assert store.take_lease("s1", "b#1", later, later + timedelta(seconds=120)) is None
    assert not store.renew_lease("s1", "a#1", later + timedelta(seconds=120))
    with pytest.raises(LeaseLost):
        store.save(SourceState(source_id="s1", polls=99), "bilibili", lease=Lease("a#1", later))
    store.save(SourceState(source_id="s1", polls=1), "bilibili", lease=Lease("b#1", later + timedelta(seconds=120)))
    store.release_lease("s1", "a#1")  # not a's to give back
    assert store.take_lease("s1", "a#2", later, later) == Lease("b#1", later + timedelta(seconds=120))
    store.release_lease("s1", "b#1")
    assert not store.renew_lease("s1", "a#1", later)  # free now, but a's old take is still not a's lease
    assert store.take_lease("s1", "a#2", later, later + timedelta(seconds=1)) is None
    assert store.load("s1").polls == 1


# ---- the real `crisisbot poll` --------------------------------------------------------------------


def _cli_config(tmp_path: Path, fakes) -> Path:
    config = {"default_channel": "console:general", "timezone": "Asia/Shanghai",
              "feeds": {"sources": [s for s in source_configs(fakes) if s["id"] == "bili"]}}
    path = tmp_path / "crisisbot.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def test_crisisbot_poll_says_when_serve_is_polling_the_source(make_bot, fakes, clock, db, tmp_path, monkeypatch):
    clock.set(datetime.now(UTC))  # the command runs on the system clock; leases compare times
    bili = fakes["bilibili"]
    bili.add_reply("170001", 100, mid=7, uname="u", message="评论", ctime=ts(clock, 60))
    serve = make_bot()
    monkeypatch.setenv("CRISISBOT_CONFIG", str(_cli_config(tmp_path, fakes)))
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", _url(db))
    from bot.cli import app

    with _polling_held_at_the_platform(serve, bili) as results:
        result = CliRunner().invoke(app, ["poll", "bili"])
    assert result.exit_code == 3, result.output
    holder = f"{socket.gethostname()[:80]}:{os.getpid()}"
    assert f"bili: 未轮询：另一个进程（{holder}）正在轮询此数据源（租约至 " in result.output
    assert f"/ not polled: another process ({holder}) is polling this source (lease until " in result.output
    assert result.output.index("未轮询") < result.output.index("not polled")  # Chinese first
    assert len(bili.calls(MAIN)) == 1
    assert results["bili"].status == "ok"


def test_a_crashed_crisisbot_poll_does_not_block_the_source(
    make_bot, fakes, clock, db, tmp_path, env
):
    """A real `crisisbot poll` process holds the source, then dies (SIGKILL) in the middle of its poll:
    serve skips the source while that process runs; once it is gone, its lease (a process of this host
    that no longer exists) is taken over at once instead of blocking the source until it expires."""
    clock.set(datetime.now(UTC))
    bili = fakes["bilibili"]
    bili.add_reply("170001", 100, mid=7, uname="u", message="评论", ctime=ts(clock, 60))
    serve = make_bot()
    held = bili.hold(MAIN, timeout=60)
    process_env = {**os.environ, "CRISISBOT_CONFIG": str(_cli_config(tmp_path, fakes)),
                   "CRISISBOT_DATABASE_URL": _url(db)}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "poll", "bili"], cwd=tmp_path, env=process_env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert held.entered.wait(60), process.stdout.read() if process.poll() is not None else "no request"
        skipped = serve.services.sources.poll("bili")
        assert skipped.status == "skipped" and skipped.reason_code == SKIPPED_LEASED, skipped
        assert skipped.leased_by == f"{socket.gethostname()[:80]}:{process.pid}"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        held.release()
    assert clock.now() < skipped.lease_until  # the dead process's lease has not expired
    polled = serve.services.sources.poll("bili")
    assert polled.status == "ok" and polled.accepted == 1, polled


def test_a_lease_held_on_another_host_blocks_the_source_until_it_ends(make_bot, fakes, clock, db):
    """Whether a process of another host still runs cannot be seen from here: its lease is waited for,
    however long ago it was written, until it expires."""
    fakes["bilibili"].add_reply("170001", 100, mid=7, uname="u", message="评论", ctime=ts(clock, 60))
    store = DatabaseStateStore(db, clock)
    until = clock.now() + timedelta(seconds=120)
    # a process of another host (its pid means nothing here)
    assert store.take_lease("bili", "other-host.invalid:999999#abc", clock.now(), until) is None
    serve = make_bot()
    skipped = serve.services.sources.poll("bili")
    assert skipped.reason_code == SKIPPED_LEASED and skipped.leased_by == "other-host.invalid:999999", skipped
    clock.set(until + timedelta(seconds=1))
    polled = serve.services.sources.poll("bili")
    assert polled.status == "ok" and polled.accepted == 1, polled

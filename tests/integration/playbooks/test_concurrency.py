"""Two (or more) responders pressing 完成 on the same step at once: exactly one transition and one
timeline entry, on SQLite and PostgreSQL, with real threads and real connections."""

from __future__ import annotations

import threading

from sqlmodel import select

from bot.messages import Action
from bot.playbooks.machine import Done, TransitionRejected
from bot.playbooks.models import CrisisRun, CrisisTimelineEntry
from tests.integration.playbooks.helpers import CrisisDriver


def _done_entries(db, step_id):
    with db.session() as session:
        return session.exec(
            select(CrisisTimelineEntry).where(
                CrisisTimelineEntry.kind == "done", CrisisTimelineEntry.step_id == step_id
            )
        ).all()


def test_concurrent_done_on_the_same_step_transitions_once(bot, db):
    d = CrisisDriver(bot)
    d.run("/crisis start 负面舆情爆发 并发测试")
    service = d.service
    workers = 8
    barrier = threading.Barrier(workers)
    results: list[str] = []
    lock = threading.Lock()

    def press(n: int) -> None:
        barrier.wait()
        try:
            service.transition(1, Done("triage", f"console:user{n}"))
            outcome = "ok"
        except TransitionRejected as exc:
            outcome = exc.code
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=press, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["ok"] + ["step_state"] * (workers - 1)
    assert len(_done_entries(db, "triage")) == 1
    with db.session() as session:
        assert session.get(CrisisRun, 1).version == 2


def test_concurrent_button_presses_through_the_dispatcher(bot, db):
    d = CrisisDriver(bot)
    d.run("/crisis start 负面舆情爆发 并发测试")
    barrier = threading.Barrier(2)
    replies = []

    def press(user: str, event: str) -> None:
        action = Action(
            "console", "console:lanji", user, "crisis.done", "1:monitor", user_name=user, event_id=event
        )
        barrier.wait()
        replies.extend(bot.dispatcher.handle(action))

    threads = [threading.Thread(target=press, args=(f"console:u{i}", f"press-{i}")) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    texts = sorted(r.text for r in replies)
    assert len(texts) == 2
    assert sum("完成了 monitor" in t for t in texts) == 1
    assert sum("已是「完成」" in t for t in texts) == 1
    assert len(_done_entries(db, "monitor")) == 1


def test_concurrent_changes_to_different_steps_all_land(bot, db):
    d = CrisisDriver(bot)
    d.run("/crisis start 负面舆情爆发 并发测试")
    steps = ["triage", "monitor", "pause_content", "status_report", "review"]
    barrier = threading.Barrier(len(steps))
    errors = []

    def press(step: str) -> None:
        barrier.wait()
        try:
            d.service.transition(1, Done(step, f"console:{step}"))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=press, args=(s,)) for s in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    view = d.service.get(1)
    assert all(view.state.step(s).status.value == "done" for s in steps)
    assert view.version == 1 + len(steps)


def test_two_bot_processes_send_each_reminder_once(make_bot, clock):
    from datetime import timedelta

    first, second = make_bot(), make_bot()
    CrisisDriver(first).run("/crisis start 负面舆情爆发 两个进程")
    clock.advance(timedelta(minutes=40))
    barrier = threading.Barrier(2)
    counts = []

    def tick(app) -> None:
        barrier.wait()
        counts.append(app.services.playbooks.tick()["reminders"])

    threads = [threading.Thread(target=tick, args=(app,)) for app in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(counts) == 2  # 指挥 (triage) and 运营 (monitor, pause_content): once each in total


def test_concurrent_start_from_the_same_alert_starts_one_run(bot, db):
    """Two responders pressing 启动预案 on one alert at once (two dispatcher workers): one run; both
    presses get that run back."""
    service = bot.services.playbooks
    workers = 4
    barrier = threading.Barrier(workers)
    run_ids: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def press(n: int) -> None:
        barrier.wait()
        try:
            view = service.start_run(
                "console:lanji",
                "negative-outbreak",
                "告警：负面突增",
                1,
                "douyin:lanji_official",
                f"console:user{n}",
                alert_id="alert-race",
            )
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure below
            with lock:
                errors.append(exc)
            return
        with lock:
            run_ids.append(view.id)

    threads = [threading.Thread(target=press, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(run_ids) == workers and len(set(run_ids)) == 1
    with db.session() as session:
        runs = session.exec(select(CrisisRun).where(CrisisRun.alert_id == "alert-race")).all()
    assert len(runs) == 1

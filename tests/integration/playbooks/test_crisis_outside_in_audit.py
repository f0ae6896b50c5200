"""The outside-in audit of /crisis: what people type and press, through the real dispatcher and console."""

from __future__ import annotations

from tests.integration.playbooks.helpers import flatten


def test_a_mistyped_start_option_is_refused_naming_the_closest_option(driver):
    text = driver.text("/crisis start rumor 标题 --severty 1 --acount douyin:lanji_official")
    assert "未知选项 --severty" in text and "--severity" in text and "--account" in text, text
    assert len(text.splitlines()) == 1, text  # one line, not the whole usage
    assert driver.service.active_runs("console:lanji") == []
    # a quoted title keeps its "--"; a well-typed option still works
    driver.run('/crisis start rumor "新品 --限时" --severity 1')
    (run,) = driver.service.active_runs("console:lanji")
    assert (run.title, run.severity) == ("新品 --限时", 1)
    assert "未知选项 --rnu" in driver.text("/crisis status --rnu 1")


def test_reasons_notes_and_titles_of_invisible_characters_are_blank(driver):
    invisible = "\u200b\u3000\u2060"  # zero-width space, ideographic space, word joiner
    driver.run(f"/crisis start 负面舆情爆发 {invisible}")
    (run,) = driver.service.active_runs("console:lanji")
    assert run.title.startswith("负面舆情爆发 "), run.title  # the default title, not an invisible one
    assert "需要说明原因" in driver.text(f"/crisis skip monitor {invisible}")
    assert "为空" in driver.text(f"/crisis note {invisible}")
    assert "需要说明原因" in driver.text(f"/crisis cancel {invisible}")
    state = driver.service.get(run.id).state
    assert state.step("monitor").status.value == "open" and state.status.value == "active"
    assert all(e.kind != "note" for e in driver.service.timeline(run.id))
    driver.run(f"/crisis resolve {invisible}")
    assert driver.service.get(run.id).state.close_reason is None  # no summary, not an invisible one


def test_an_answer_followed_by_a_remark_is_taken_with_the_remark_kept(driver):
    driver.run("/crisis start rumor 网传成分造假")
    (run,) = driver.service.active_runs("console:lanji")
    text = driver.text("/crisis done fact_check 不实 因为证据充分")
    assert "fact_check：不实" in text and "因为证据充分" in text and "可选答案" not in text, text
    assert driver.service.get(run.id).state.step("fact_check").answer == "不实"
    notes = [e.text for e in driver.service.timeline(run.id) if e.kind == "note"]
    assert any("因为证据充分" in n for n in notes), notes


def test_a_button_answers_as_the_typed_command_does(driver):
    driver.run("/crisis start 负面舆情爆发 面霜过敏")
    (run,) = driver.service.active_runs("console:lanji")
    (pressed,) = driver.press("crisis.answer", f"{run.id}:verify:yes")  # before triage: finished early
    assert driver.service.get(run.id).state.step("verify").answer == "属实"
    assert pressed.text.startswith("✅ verify：属实（bob）"), pressed.text  # not "yes": what is stored
    assert "提前完成" in pressed.text and "verify: yes" in pressed.text, pressed.text
    (done,) = driver.press("crisis.done", f"{run.id}:holding_statement")
    driver.run("/crisis start 负面舆情爆发 第二起")
    (typed,) = driver.run("/crisis done #2 holding_statement", user="console:bob")
    assert "提前完成" in done.text and done.text == typed.text, (done.text, typed.text)


def test_reminder_snooze_and_list_times_say_their_zone(driver, clock):
    from datetime import timedelta

    driver.run("/crisis start 负面舆情爆发 面霜过敏")
    (run,) = driver.service.active_runs("console:lanji")
    zone = driver.service.channel_tz("console:lanji")
    clock.advance(timedelta(minutes=16))
    driver.service.tick()
    driver.bot.services.outbox.deliver_due()
    (reminder,) = [m for m in driver.channel_messages() if "超时提醒" in (m.title or "")]
    assert "截止" in reminder.text and f"时间均为 {zone}" in reminder.text, reminder.text
    (snoozed,) = driver.press("crisis.snooze", f"{run.id}:triage")
    assert f"（{zone}（UTC" in snoozed.text, snoozed.text
    listed = flatten(driver.run("/crisis list")[0])
    assert "启动" in listed and f"时间均为 {zone}" in listed, listed


def test_links_typed_by_the_team_show_as_typed_not_as_live_links(driver):
    from tests.integration.playbooks.helpers import review_markdown

    live = "](http://evil.example"
    driver.run("/crisis start 负面舆情爆发 [点我](http://evil.example)")
    (run,) = driver.service.active_runs("console:lanji")
    shown = [driver.text("/crisis skip monitor 见 [工单](http://evil.example/x)"),
             driver.text("/crisis timeline"), driver.text("/crisis list"), driver.text("/crisis status"),
             driver.text("/crisis done triage 见 [群](http://evil.example/y)")]
    driver.run("/crisis resolve 平息 [详情](http://evil.example/z)")
    report = next(m for m in driver.channel_messages() if m.files)
    shown += [review_markdown(report), flatten(report), flatten(driver.card(run.id))]
    for text in shown:
        assert live not in text, text
    assert "［点我］(http://evil.example)" in review_markdown(report)  # the address stays visible


def test_the_chat_timeline_collapses_repeated_reminders_as_the_review_does(driver, clock):
    from datetime import timedelta

    driver.run("/crisis start 负面舆情爆发 面霜过敏 --severity 3")
    driver.run("/crisis done monitor")
    driver.run("/crisis done pause_content")
    clock.advance(timedelta(minutes=16))
    for _ in range(4):  # triage alone is late: the same reminder, round after round
        driver.service.tick()
        driver.bot.services.outbox.deliver_due()
        clock.advance(timedelta(minutes=31))
    text = driver.text("/crisis timeline")
    reminded = [line for line in text.splitlines() if "已超时" in line]
    assert len(reminded) == 1 and "此后又 3 次" in reminded[0], text


def test_step_lines_decision_answers_review_headers_and_exit_hint_have_english(make_bot, db, clock):
    import re
    from datetime import timedelta

    from tests.integration.playbooks.helpers import CrisisDriver, review_markdown
    from tests.integration.playbooks.test_crisis_command_usability import START, _comments

    bot = make_bot()
    t0 = clock.now()
    _comments(db, t0 - timedelta(days=3), 72, 10, 0.1, offset=0)
    d = CrisisDriver(bot)
    d.run(START)
    d.run("/crisis done triage")
    status = d.text("/crisis status")
    assert "截止 / due" in status and "未指派 / unassigned" in status and "完成 / done" in status, status
    d.run("/crisis done monitor")
    d.run("/crisis done pause_content")
    d.run("/crisis done holding_statement")
    nxt = d.text("/crisis next")
    assert "属实 (yes/true)" in nxt, nxt  # the decision's answers with their English words
    _comments(db, t0, 2, 30, 0.6, offset=10_000)
    _comments(db, t0 + timedelta(hours=2), 30, 30, 0.05, offset=20_000)
    clock.advance(d.service.get(1).playbook.exit.hold + timedelta(hours=2, minutes=30))
    d.service.tick()
    bot.services.outbox.deliver_due()
    (hint,) = [m for m in d.channel_messages() if "可以考虑解除" in (m.title or "")]
    english = hint.text.splitlines()[-1]
    assert "澜肌官方旗舰店" in english and re.search(r"\d+\.\d%.*≤ \d+\.\d%", english), hint.text
    assert "douyin:lanji_official" not in hint.text, hint.text
    d.run("/crisis resolve 平息")
    review = review_markdown(next(m for m in d.channel_messages() if m.files))
    assert "| 时间 / Time |" in review and "| 步骤 / Step |" in review, review


def test_help_names_every_subcommand_and_claim_takes_a_step(driver):
    text = driver.text("/crisis help")
    for word in ("/crisis answer", "me|我", "启动", "完成", "跳过", "认领", "紧跟子命令或放在命令末尾"):
        assert word in text, (word, text)
    assert "放在命令里任何位置" not in text
    driver.run("/crisis start rumor 网传停产")
    (run,) = driver.service.active_runs("console:lanji")
    assert "capture" in driver.text("/crisis 认领 capture", user="console:carol")
    driver.run("/crisis claim 2", user="console:dan")
    state = driver.service.get(run.id).state
    assert state.step("capture").assignee == "console:carol"
    assert state.steps[1].assignee == "console:dan"


def test_assign_takes_a_person_not_any_word(driver):
    driver.run("/crisis start rumor 网传停产")
    (run,) = driver.service.active_runs("console:lanji")
    text = driver.text("/crisis assign capture 明天下午")
    assert "不是一个人" in text and "@名字" in text and len(text.splitlines()) == 1, text
    assert "不是一个人" in driver.text("/crisis assign capture douyin:someone")  # not this chat's platform
    assert driver.service.get(run.id).state.step("capture").assignee is None
    driver.run("/crisis assign capture @小王")
    assert driver.service.get(run.id).state.step("capture").assignee == "@小王"
    driver.run("/crisis assign capture console:carol")
    assert driver.service.get(run.id).state.step("capture").assignee == "console:carol"


def test_severity_is_changed_by_hand_with_a_reason_and_the_nag_follows(driver, clock):
    from datetime import timedelta

    driver.run("/crisis start 负面舆情爆发 面霜过敏 --severity 3")  # severity 3: a nag after 120 minutes
    (run,) = driver.service.active_runs("console:lanji")
    assert "原因" in driver.text("/crisis severity 1")
    text = driver.text("/crisis 级别 1 大V转发，舆情扩散")
    assert "三级 → 一级" in text and "SEV1" in text, text
    assert driver.service.get(run.id).severity == 1
    assert "一级" in flatten(driver.card(run.id))
    (entry,) = [e for e in driver.service.timeline(run.id) if e.kind == "severity"]
    assert "升级为一级" in entry.text and "大V转发" in entry.text and entry.actor == "console:alice"
    assert "已是一级" in driver.text("/crisis severity 1 再次")
    clock.advance(timedelta(minutes=31))
    assert driver.service.tick()["nags"] == 1  # severity 1's 30 minutes, not severity 3's 120


def test_changing_the_severity_takes_its_permission(make_bot):
    from tests.integration.playbooks.helpers import CrisisDriver

    d = CrisisDriver(make_bot({"roles": {"commander": ["console:boss"]},
                               "playbooks": {"permissions": {"severity": ["commander"]}}}))
    d.run("/crisis start 负面舆情爆发 面霜过敏 --severity 3")
    assert "调整严重程度" in d.text("/crisis severity 2 扩散", user="console:alice")
    assert "SEV2" in d.text("/crisis severity 2 扩散", user="console:boss")

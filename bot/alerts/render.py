"""Alert and notice messages (pure: episode figures in, neutral Message out). Chinese first, English too."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import platform_label
from bot.messages import Button, Field, Message, Section, outsider_text
from bot.sentiment.actions import comment_ref, review_button

SEVERITY_NUMBER = {"sev1": 1, "sev2": 2, "sev3": 3}
SEVERITY_LABEL = {
    "sev1": ("一级·爆发", "SEV1 explosive"),
    "sev2": ("二级·严重", "SEV2 serious"),
    "sev3": ("三级·值得关注", "SEV3 notable"),
}
STATUS_LABEL = {
    "open": ("待处理", "open"),
    "acknowledged": ("已确认", "acknowledged"),
    "resolved": ("已恢复", "resolved"),
    "false_positive": ("误报", "false alarm"),
    "muted": ("已静默", "muted"),
}
ACTION_LABEL = {
    "opened": ("告警", "alerted"),
    "acknowledged": ("确认", "acknowledged"),
    "muted": ("静默 1 小时", "muted for 1 hour"),
    "false_positive": ("标记误报", "marked false alarm"),
    "recovered": ("恢复正常", "back to normal"),
    "playbook": ("启动预案", "started the playbook"),
    "escalated": ("升级提醒", "escalated"),
    "unmuted": ("静默结束", "mute ended"),
    "merged": ("并入同一告警", "merged into one alert"),
    "unmerged": ("原告警已恢复，单独告警", "its alert recovered: alerted on its own"),
}


#: what an alert is about, (Chinese, English): one phrase for the title and the follow-ups (escalation, raised,
#: unmuted), which said "Negative comments surge" and "negative surge" for the same thing
SUBJECT = {
    "negative": ("负面评论激增", "negative comment surge"),
    "volume": ("评论量激增", "comment volume surge"),
}

#: how the history ("记录") names the bot when it acted (an alert, an escalation, the end of a mute)
BOT_ACTOR = ("机器人", "crisisbot")
#: the history line shows the latest entries only
HISTORY_SHOWN = 4


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def account_label(name: str, platform: str, lang: str = "zh") -> str:
    """'澜肌官方旗舰店（抖音）' / '澜肌官方旗舰店 (Douyin)'."""
    return f"{name} ({platform_label(platform, lang)})" if lang == "en" else f"{name}（{platform_label(platform)}）"


def _history_line(history: list[dict[str, Any]], lang: str, zone: ZoneInfo) -> str:
    """'记录：…（共 7 条）；12-05 22:45 机器人 告警；…': the latest entries, saying how many there are when
    earlier ones are left out."""
    trail = []
    if len(history) > HISTORY_SHOWN:
        trail.append(f"…（共 {len(history)} 条）" if lang != "en" else f"… ({len(history)} in all)")
    for h in history[-HISTORY_SHOWN:]:
        user = h.get("user")
        by_bot = not user or user == "bot" or h.get("action") == "escalated"
        who = _pick(BOT_ACTOR, lang) if by_bot else (h.get("user_name") or user)
        line = f"{_fmt_time(h['at'], zone)} {who} {_pick(ACTION_LABEL.get(h['action'], (h['action'],) * 2), lang)}"
        if h.get("action") == "escalated" and user and user != "bot":
            # the bot escalated; the entry's user is the person of the rota it reminded
            paged = user.partition(":")[2] or user
            line += f"（提醒 {paged}）" if lang != "en" else f" (reminded {paged})"
        trail.append(line)
    return "记录：" + "；".join(trail) if lang != "en" else "Log: " + "; ".join(trail)


def _fmt_time(value: str | datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(zone).strftime("%m-%d %H:%M")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100.0 * x:.0f}%"


def _quote(text: str) -> str:
    """A commenter's words in a message: at most 80 characters, and inert (a link written in a comment
    shows as typed, never as a link whose label hides its target)."""
    return outsider_text(text if len(text) <= 80 else text[:79] + "…")


#: from here on a count people read has thousands separators ("2,639"; zh-CN writes them too), as reports
#: and the reply queue write them (`bot.i18n.num`); "负面评论 320 条" stays as it is
SEPARATED_FROM = 1_000


def _count(n: Any) -> str:
    """A count of comments (or likes) for people: "2,639" from 1,000 on, "999" below. Text only: stats,
    JSON and stored values keep the plain number."""
    if isinstance(n, int) and not isinstance(n, bool) and n >= SEPARATED_FROM:
        return f"{n:,}"
    return str(n)


def _num(x: float) -> str:
    if x >= SEPARATED_FROM:
        return f"{x:,.0f}"
    return f"{x:.0f}" if x >= 10 or float(x).is_integer() else f"{x:.1f}"


def alert_message(ep: dict[str, Any], *, lang: str = "zh", zone: ZoneInfo, mentions: tuple[str, ...] = ()) -> Message:
    """The one message of an episode. `ep` holds the episode's fields and stats (see service)."""
    s = ep["stats"]
    sev = ep["severity"]
    status = ep["status"]
    zh = lang != "en"
    account_name = s.get("account_name") or ep["account_id"]
    where = account_label(f"**{account_name}**", ep["platform"], lang)
    if s.get("content_id"):
        title = outsider_text(s.get("content_title") or s["content_id"])
        url = s.get("content_url")
        video = f"[{title}]({url})" if url else title
        where += f" · {'作品' if zh else 'video'}：{video}" if zh else f" · video: {video}"
    minutes = s.get("window_minutes", 5)
    obs, exp = s.get("window_observed", 0.0), s.get("window_expected", 0.0)
    ratio = obs / exp if exp > 0 else float("inf")
    ratio_text = f"x{ratio:.0f}" if ratio >= 10 else f"x{ratio:.1f}"
    negative = s.get("metric", "negative") == "negative"
    noun_zh, noun_en = ("负面评论", "negative comments") if negative else ("评论", "comments")
    no_baseline = s.get("reason") == "no_baseline"
    if no_baseline:
        # monitoring began within the last hours: no normal to compare with, so no "baseline, xN" (it
        # would be the pile-on compared with itself); the share of negative comments is the evidence
        lines = [where, f"{minutes} 分钟内{noun_zh} **{_num(obs)}** 条" if zh
                 else f"**{_num(obs)}** {noun_en} in {minutes} min"]
    elif s.get("window_expected_is_floor"):
        # the baseline is the detector's floor: "基线 2.4 条" read as "usually 2.4" for a video that usually
        # has none
        lines = [where, f"{minutes} 分钟内{noun_zh} **{_num(obs)}** 条，平时几乎没有（基线按下限 {_num(exp)} 条计），{ratio_text}"
                 if zh else f"**{_num(obs)}** {noun_en} in {minutes} min, normally almost none (baseline taken at "
                            f"its floor, {_num(exp)}), {ratio_text}"]
    elif zh:
        lines = [where, f"{minutes} 分钟内{noun_zh} **{_num(obs)}** 条，基线 {_num(exp)} 条，{ratio_text}"]
    else:
        lines = [where, f"**{_num(obs)}** {noun_en} in {minutes} min, baseline {_num(exp)}, {ratio_text}"]
    if s.get("began_in_history"):
        # opened on comments that arrived late (an import, a backlog after downtime) and still going on now
        began = _fmt_time(s["began_in_history"], zone)
        lines.append(f"始于 {began}（补录的历史评论中发现，现在仍在持续）" if zh
                     else f"began {began}, found in comments that arrived late (history); still going on now")
    if not negative:
        lines.append("（未启用情感模型：按全部评论量判断）" if zh else "(no sentiment model: judged on all comments)")
    if no_baseline:
        lines.append(f"负面占比 {_pct(s.get('share'))}。刚开始监测，尚无基线：按负面占比告警" if zh
                     else f"negative share {_pct(s.get('share'))}. Monitoring just began, no baseline yet: "
                          f"raised on the negative share")
    elif s.get("share") is not None:
        share_line = (f"负面占比 {_pct(s.get('share'))}（平时 {_pct(s.get('share_expected'))}）" if zh
                      else f"negative share {_pct(s.get('share'))} (normally {_pct(s.get('share_expected'))})")
        lines.append(share_line)
    if s.get("reason") == "share":
        if ratio < 1.3:  # a planned surge, or a busy hour: the volume itself is as expected
            lines.append("（评论量在预期内，但负面占比异常升高）" if zh else "(volume as planned, but the negative share jumped)")
        else:
            # the share test fired before the volume test did (it needs less evidence): the headline above
            # shows the volume far over its baseline, so "volume as planned" would contradict it
            lines.append("（由负面占比异常升高触发）" if zh else "(raised by the jump in the negative share)")
    if s.get("episode_negative"):
        lines.append(
            # counted from the bucket that raised the alert, so it can be below the headline's window count
            f"告警以来{noun_zh} {_count(s['episode_negative'])} 条 / 全部 {_count(s.get('episode_total', 0))} 条，峰值 {_count(s.get('peak_bucket', 0))} 条/{s.get('bucket_minutes', 5)} 分钟"
            if zh else
            f"since the alert: {_count(s['episode_negative'])} {noun_en} of {_count(s.get('episode_total', 0))} comments, peak {_count(s.get('peak_bucket', 0))} per {s.get('bucket_minutes', 5)} min")
    if status == "resolved" and ep.get("recovered_at"):
        lines.append(f"✅ 已于 {_fmt_time(ep['recovered_at'], zone)} 恢复正常" if zh
                     else f"✅ back to normal at {_fmt_time(ep['recovered_at'], zone)}")
    fields = [
        Field("严重程度" if zh else "Severity", _pick(SEVERITY_LABEL[sev], lang)),
        Field("状态" if zh else "Status", _pick(STATUS_LABEL.get(status, (status, status)), lang)),
        # an episode found in history began before the bucket that opened it: the field agrees with "始于"
        Field("开始" if zh else "Started", _fmt_time(s.get("began_in_history") or ep.get("started_at"), zone)),
    ]
    if ep.get("muted_until") and status == "muted":
        fields.append(Field("静默至" if zh else "Muted until", _fmt_time(ep["muted_until"], zone)))
    sections = []
    keywords = s.get("keywords") or []
    if keywords:
        parts = []
        for k in keywords[:8]:
            base = k.get("baseline_count")
            # the baseline is the whole day before the window, not a window of the same length: "×6（平时 9）"
            # read as "fewer than usual" for a term six times as frequent as the day before
            parts.append(f"{k['term']} ×{_count(k['count'])}" + (f"（前一天 {_count(base)}）" if zh and base is not None
                                                               else f" (day before: {_count(base)})" if base is not None
                                                               else ""))
        sections.append(Section(("**负面关键词**：" if zh else "**Top negative keywords**: ") + ("，" if zh else ", ").join(parts)))
    top = s.get("top_comments") or []
    if top:
        rows = []
        for c in top[:3]:
            text = _quote(c["text"])
            link = f" [{'链接' if zh else 'link'}]({c['url']})" if c.get("url") else ""
            rows.append(f"• {text}（👍 {_count(c['likes'])}）{link}" if zh else f"• {text} (👍 {_count(c['likes'])}){link}")
        fix = review_button((comment_ref(ep["platform"], c["comment_id"]) for c in top[:3] if c.get("comment_id")),
                            lang=lang)
        sections.append(Section(("**高赞负面评论**\n" if zh else "**Most-liked negative comments**\n") + "\n".join(rows),
                                buttons=(fix,) if fix else ()))
    if s.get("playbook"):
        # named as its file names it (负面舆情爆发), not by its id; the id only when no loaded playbook has it
        titles = ep.get("playbook_titles")
        suggested = _pick(tuple(titles), lang) if titles else s["playbook"]
        sections.append(Section(f"**建议预案**：{suggested}" if zh else f"**Suggested playbook**: {suggested}"))
    history = ep.get("history") or []
    if len(history) > 1:
        sections.append(Section(_history_line(history, lang, zone)))
    key = ep["episode_key"]
    buttons: tuple[Button, ...] = ()
    if status in ("open", "acknowledged", "muted"):
        buttons = (
            Button("启动预案" if zh else "Start playbook", "alert.playbook", key, style="primary"),
            Button("确认" if zh else "Acknowledge", "alert.ack", key),
            Button("静默 1 小时" if zh else "Mute 1 hour", "alert.mute", key),
            Button("误报" if zh else "False alarm", "alert.false_positive", key, style="danger"),
        )
    what = SUBJECT["negative" if negative else "volume"]
    head = what[0] if zh else what[1][:1].upper() + what[1][1:]
    # the mark says whether it is still going on: a recovered alert edited in place kept "🚨" and read as live
    mark = "🚨"
    if status == "resolved":
        mark = "✅"
        head = ("已恢复 · " if zh else "Resolved · ") + head
    elif status == "false_positive":
        head = ("误报 · " if zh else "False alarm · ") + head
    return Message(
        title=f"{mark} {head} · {_pick(SEVERITY_LABEL[sev], lang)}",
        text="\n".join(lines),
        fields=tuple(fields),
        sections=tuple(sections),
        buttons=buttons,
        severity=SEVERITY_NUMBER[sev],
        mentions=mentions,
        meta={"alert_episode": key, "kind": "alert"},
    )


def _episode_subject(ep: dict[str, Any]) -> tuple[str, str, str]:
    """(account name, what in Chinese, what in English) of an episode, for the short follow-up messages."""
    stats = ep["stats"]
    account_name = stats.get("account_name") or ep["account_id"]
    what = SUBJECT["negative" if stats.get("metric", "negative") == "negative" else "volume"]
    return account_name, what[0], what[1]


def escalation_message(ep: dict[str, Any], *, lang: str, zone: ZoneInfo, mentions: tuple[str, ...],
                       minutes: float) -> Message:
    zh = lang != "en"
    account_name, what_zh, what_en = _episode_subject(ep)
    text = (f"⏰ {_pick(SEVERITY_LABEL[ep['severity']], lang)} 告警已 {minutes:.0f} 分钟无人确认：{account_name} {what_zh}。请处理。"
            if zh else
            f"⏰ {_pick(SEVERITY_LABEL[ep['severity']], lang)} alert unacknowledged for {minutes:.0f} min: "
            f"{what_en} on {account_name}. Please respond.")
    key = ep["episode_key"]
    return Message(
        text=text,
        severity=SEVERITY_NUMBER[ep["severity"]],
        mentions=mentions,
        buttons=(Button("确认" if zh else "Acknowledge", "alert.ack", key, style="primary"),),
        meta={"alert_episode": key, "kind": "escalation"},
    )


def raised_message(ep: dict[str, Any], *, lang: str, mentions: tuple[str, ...] = (),
                   acknowledged_by: str | None = None, runs: tuple[tuple[int, int, int], ...] = (),
                   alert_here: bool = True) -> Message:
    """Said once per channel when an alert rises to sev1 (the alert itself is edited in place).

    Nobody on it yet: a call to act now (the caller adds the loud mention). Acknowledged (`acknowledged_by`
    names who): the team is on it and must know it got worse, so it says so to them instead of asking the
    channel to respond. `runs` are the playbook runs of this channel that handle it, as (id, severity
    before, severity now); `alert_here` is False in a run's channel the alert itself was not posted to."""
    zh = lang != "en"
    account_name, what_zh, what_en = _episode_subject(ep)
    stats = ep.get("stats") or {}
    minutes, observed = stats.get("window_minutes"), stats.get("window_observed")
    figures = ""
    if minutes and observed is not None:
        figures = (f"，{minutes} 分钟内 {_num(observed)} 条" if zh else f": {_num(observed)} in {minutes} min")
    label = _pick(SEVERITY_LABEL["sev1"], lang)
    where_zh, where_en = "详情见上方告警", "details in the alert above"
    if not alert_here and runs:
        where_zh, where_en = f"详情见预案 #{runs[0][0]}", f"see run #{runs[0][0]}"
    if acknowledged_by:
        text = (f"🔺 已升级为{label}：{account_name} {what_zh}{figures}。{acknowledged_by} 已确认跟进，"
                f"请按一级处置（{where_zh}）。"
                if zh else
                f"🔺 Raised to {label}: {what_en} on {account_name}{figures}. {acknowledged_by} acknowledged it: "
                f"handle it as SEV1 ({where_en}).")
    else:
        text = (f"🔺 已升级为{label}：{account_name} {what_zh}{figures}。请立即处理（{where_zh}）。"
                if zh else
                f"🔺 Raised to {label}: {what_en} on {account_name}{figures}. Please respond now ({where_en}).")
    for run_id, before, after in runs:
        if after < before:  # severities are numbers here: 1 is the most severe
            text += (f"\n预案 #{run_id} 严重程度已由{_RUN_SEVERITY_ZH.get(before, before)}升为{_RUN_SEVERITY_ZH.get(after, after)}。"
                     if zh else f"\nRun #{run_id} raised from SEV{before} to SEV{after}.")
    key = ep["episode_key"]
    buttons: tuple[Button, ...] = ()
    if not acknowledged_by:
        buttons += (Button("确认" if zh else "Acknowledge", "alert.ack", key, style="primary"),)
    if not runs:
        buttons += (Button("启动预案" if zh else "Start playbook", "alert.playbook", key),)
    return Message(
        text=text,
        severity=SEVERITY_NUMBER["sev1"],
        mentions=mentions,
        buttons=buttons,
        meta={"alert_episode": key, "kind": "raised"},
    )


#: a playbook run's severity (a number, as /crisis start --severity takes it) in Chinese
_RUN_SEVERITY_ZH = {1: "一级", 2: "二级", 3: "三级"}


def unmuted_message(ep: dict[str, Any], *, lang: str, mentions: tuple[str, ...] = ()) -> Message:
    """The reminder when a 静默 1 小时 ends and the episode is still going on."""
    zh = lang != "en"
    account_name, what_zh, what_en = _episode_subject(ep)
    text = (f"🔔 静默 1 小时已结束，{account_name} 的{what_zh}仍在持续（{_pick(SEVERITY_LABEL[ep['severity']], lang)}）。请处理。"
            if zh else
            f"🔔 The 1-hour mute has ended and the {what_en} on {account_name} is still going on "
            f"({_pick(SEVERITY_LABEL[ep['severity']], lang)}). Please respond.")
    key = ep["episode_key"]
    return Message(
        text=text,
        severity=SEVERITY_NUMBER[ep["severity"]],
        mentions=mentions,
        buttons=(Button("确认" if zh else "Acknowledge", "alert.ack", key, style="primary"),
                 Button("静默 1 小时" if zh else "Mute 1 hour", "alert.mute", key)),  # as the alert's own button
        meta={"alert_episode": key, "kind": "unmuted"},
    )


def risk_notice_message(notice: dict[str, Any], *, lang: str, zone: ZoneInfo, account_name: str) -> Message:
    zh = lang != "en"
    # most-liked first: the ones people see most are the ones to read first
    examples = sorted(notice.get("examples") or [], key=lambda c: -(c.get("likes") or 0))
    rows = []
    for c in examples[:3]:
        text = _quote(c["text"])
        link = f" [{'链接' if zh else 'link'}]({c['url']})" if c.get("url") else ""
        likes = _count(c.get("likes", 0))
        rows.append(f"• {text}（👍 {likes}）{link}" if zh else f"• {text} (👍 {likes}){link}")
    if notice["kind"] == "liked":
        title = "👀 高赞负面评论" if zh else "👀 Highly-liked negative comment"
        head = (f"{account_name}：{_fmt_time(notice['window_start'], zone)} 起收到 {_count(notice['count'])} 条点赞数很高的负面评论"
                if zh else f"{account_name}: {_count(notice['count'])} negative comment(s) with many likes received since "
                f"{_fmt_time(notice['window_start'], zone)}")
    else:
        title = f"⚠️ 风险词：{notice['term']}" if zh else f"⚠️ Watched term: {notice['term']}"
        # the window counts comments by when they arrived, not when they were posted (an import or a slow
        # poller delivers earlier comments now): the label says "received"
        head = (f"{account_name}：{_fmt_time(notice['window_start'], zone)} 起收到 {_count(notice['count'])} 条评论提到「{notice['term']}」"
                if zh else f"{account_name}: {_count(notice['count'])} comment(s) mentioning “{notice['term']}” received since "
                f"{_fmt_time(notice['window_start'], zone)}")
    return Message(title=title, text=head + ("\n" + "\n".join(rows) if rows else ""),
                   meta={"kind": "risk_notice", "notice": notice["notice_key"]})

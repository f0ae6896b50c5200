"""Soak: does a long-running `crisisbot serve` keep its memory bounded under a steady webhook feed?

    python -m bench.soak [--minutes 30] [--rate 100] [--accounts 15] [--sample-every 15] [--bucket-minutes N]
    python -m bench.soak --feed-days 2 [--per-minute 60] [--accounts 15] [--diverse]

Starts `crisisbot serve` (SQLite in a temp folder, a copy of config/ with --accounts generated accounts
split over the configured clients, console channels only: no Slack/Feishu credentials, nothing leaves the
machine) and feeds it through the authenticated webhook `POST /api/v1/comments` at --rate comments/s in
batches twice a second: realistic Chinese comments over a pool of authors, each account with a few live
videos and a new video every --video-every seconds, and every --burst-every seconds one account gets a
negative pile-on for a minute (alerts fire, reply-queue items appear). Serve runs on the real clock (feed
time is wall time: only the demo replays faster), so --bucket-minutes 1 closes five times more alert
buckets per minute than the default 5.

Every --sample-every seconds it prints elapsed time, comments sent, the serve process's VmRSS, its thread
count and the database size; at the end the row count of every table, and the RSS growth as a least-squares
slope after the warm-up (--warmup minutes), per hour of wall time and per million comments. Figures only,
no assertions. The load loop is bounded by --minutes and stops by itself.

`serve` has no accelerated clock outside the demo (whose replay turns the webhook off), so --feed-days runs
the same parts in this process on a fake clock instead: every simulated minute --per-minute comments go
through the ingest service (as the webhook does), the periodic ticks run (alert bucket closes, scheduled
reports), the reply-queue reminders, the playbook reminders and the retention purge run on their intervals,
and the outbox delivers to the console channels. It prints, every 4 hours of feed time, this process's RSS
and the in-memory structures that grow with feed time: console messages kept (ConsolePort.entries), cached
alert detectors (AlertService._detectors) and the sentiment featurizer's feature-hash cache, then the RSS
growth per day of feed time. --diverse recombines pieces of the sample feed's comments, so the vocabulary
keeps growing as real comment sections do (the fixed phrases alone repeat the same few features).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
TOKEN = "soak-token"

NEUTRAL = [
    "请问敏感肌能用吗？", "求链接", "什么时候补货呀", "已下单，期待效果~", "这个颜色是几号", "主播用的是哪款",
    "666 学到了", "第一次刷到你们家", "价格有点贵，等双十一再买", "有没有小样可以试用", "孕妇可以用吗？",
]
POSITIVE = [
    "这个面霜真的好用，回购第三次了[赞]", "主播好可爱哈哈哈", "包装很精致，送人很合适", "这期视频做得真用心",
    "笑死我了[捂脸]", "用完第二天起来脸水水的[送心]", "客服小姐姐态度超好", "锅很好用，不粘，推荐",
]
NEGATIVE = [
    "用了两天脸上起红疹子，过敏了，怎么退款？", "发货太慢了吧，等了一周还没到", "客服根本不回消息，差评",
    "烂脸了！！！要去12315投诉", "上次买的锅涂层掉了", "虚假宣传吧，根本没效果", "质量太差了，再也不买了",
    "收到的是临期产品，要求维权", "用完刺痛发红，你们到底加了什么", "退款申请三天了没人处理",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
NICKS = ["小猫", "土豆er", "元气少女", "阿布丁", "不吃香菜", "追光者", "夏天的风", "momo", "老王", "奶茶续命"]


class Feed:
    """Generated comments: `accounts` accounts, a few live videos each, rotated every `video_every` s."""

    def __init__(self, accounts: int, video_every: float, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.run = uuid.uuid4().hex[:6]
        platforms = ["douyin", "kuaishou", "bilibili", "weibo", "xiaohongshu"]
        self.accounts = [(platforms[i % len(platforms)], f"soak_acct{i}") for i in range(accounts)]
        self.video_every = video_every
        self.videos = {a: [f"{self.run}-{a[1]}-v{k}" for k in range(4)] for a in self.accounts}
        self.next_video = {a: 4 for a in self.accounts}
        self.last_rotation = time.monotonic()
        self.seq = 0
        self.authors = 0
        self.videos_made = 4 * accounts

    def rotate(self) -> None:
        if self.video_every <= 0 or time.monotonic() - self.last_rotation < self.video_every:
            return
        self.last_rotation = time.monotonic()
        for a in self.accounts:  # each account posts a new video; the oldest stops getting comments
            self.videos[a] = self.videos[a][1:] + [f"{self.run}-{a[1]}-v{self.next_video[a]}"]
            self.next_video[a] += 1
            self.videos_made += 1

    def author(self) -> tuple[str, str]:
        # mostly returning commenters, a steady trickle of new ones
        if self.authors < 50 or self.rng.random() < 0.2:
            self.authors += 1
            n = self.authors
        else:
            n = self.rng.randint(1, self.authors)
        name = self.rng.choice(SURNAMES) + self.rng.choice(NICKS) + str(n % 1000)
        return f"u{self.run}{n}", name

    def comment(self, account=None, negative: bool = False) -> dict:
        self.seq += 1
        account = account or self.rng.choice(self.accounts)
        video = self.videos[account][-1] if negative else self.rng.choice(self.videos[account])
        roll = self.rng.random()
        pool = NEGATIVE if negative or roll < 0.12 else NEUTRAL if roll < 0.55 else POSITIVE
        text = self.rng.choice(pool) + ("" if self.rng.random() < 0.8 else self.rng.choice(pool))
        author_id, author_name = self.author()
        return {
            "platform": account[0], "account_id": account[1], "content_id": video,
            "comment_id": f"{self.run}-{self.seq}", "text": text,
            "created_at": round(time.time() - self.rng.random() * 20, 3),
            "author_id": author_id, "author_name": author_name,
            "author_followers": self.rng.choice([0, 3, 12, 150, 2_000, 48_000]),
            "like_count": int(self.rng.expovariate(1 / 20)) + (self.rng.random() < 0.01) * 800,
            "reply_count": self.rng.randint(0, 5),
            "content_title": f"{account[1]} 的视频 {video[-4:]}",
            "content_url": f"https://example.invalid/video/{video}",
            "is_from_account": False,
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_workdir(root: Path, accounts: list[tuple[str, str]], bucket_minutes: int | None) -> Path:
    shutil.copytree(REPO / "config", root / "config")
    path = root / "config" / "crisisbot.yaml"
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    clients = [c["id"] for c in cfg.get("clients", [])] or [None]
    for i, (platform, account_id) in enumerate(accounts):
        entry = {"platform": platform, "account_id": account_id, "name": f"测试账号{i}"}
        if clients[i % len(clients)]:
            entry["client"] = clients[i % len(clients)]
        cfg.setdefault("accounts", []).append(entry)
    if bucket_minutes:
        cfg.setdefault("alerts", {})["bucket_minutes"] = bucket_minutes
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


def start_serve(workdir: Path, db_url: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FEISHU_"))}
    env.update({"PYTHONPATH": str(REPO), "CRISISBOT_DATABASE_URL": db_url, "CRISISBOT_INGEST_TOKEN": TOKEN,
                "CRISISBOT_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    log = workdir / "serve.log"
    cmd = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base, log
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("serve did not start: " + log.read_text(errors="replace")[-2000:])


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            out[key] = int(value.split()[0])
    return out


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def table_counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {n: con.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else float("nan")


def own_rss_mib() -> float:
    return proc_status(os.getpid())["VmRSS"] / 1024


def accelerated(days: float, per_minute: int, accounts: int, diverse: bool, video_hours: float) -> None:
    """The in-process run on a fake clock (see the module docstring)."""
    import gc
    from datetime import UTC, datetime, timedelta

    root = Path(tempfile.mkdtemp(prefix="crisisbot-soak-fast-"))
    feed = Feed(accounts, 0)
    make_workdir(root, feed.accounts, None)
    os.chdir(root)  # config/ (playbooks, sentiment files) is read relative to the working folder
    os.environ.setdefault("CRISISBOT_LOG_LEVEL", "WARNING")
    from bot.app import build_app
    from bot.clock import FakeClock
    from bot.config import Settings, load_config
    from bot.retention import purge_expired
    from bot.storage.db import Database

    samples = [json.loads(line)["text"] for line in
               (REPO / "bot" / "demo" / "sample_feed.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = feed.rng
    start = datetime(2026, 11, 2, tzinfo=UTC)
    clock = FakeClock(start)
    bot = build_app(Settings(), load_config(root / "config" / "crisisbot.yaml"), clock=clock,
                    db=Database(f"sqlite:///{root / 'soak.db'}"))
    bot.start(scheduler=False)
    services = bot.services
    alerts, replies, playbooks = (services.extra.get(k) for k in ("alerts", "replies", "playbooks"))
    scorer = services.extra["scorer"]
    scorer = scorer() if callable(scorer) else scorer
    cache = getattr(getattr(scorer, "featurizer", None), "_hash_cache", {})

    def text(negative: bool) -> str:
        if negative or not diverse:
            return rng.choice(NEGATIVE if negative else NEUTRAL + POSITIVE + NEGATIVE[:2])
        pieces = []
        for _ in range(rng.randint(1, 3)):
            t = rng.choice(samples)
            at = rng.randint(0, max(0, len(t) - 2))
            pieces.append(t[at:at + rng.randint(2, 12)])
        return "".join(pieces) + rng.choice(["", "", "[流泪]", "！", str(rng.randint(1, 999))])

    minutes = int(days * 1440)
    burst = None
    rows: list[tuple[float, float]] = []
    print(f"{'feed h':>7} {'comments':>10} {'RSS MiB':>8} {'console':>8} {'detectors':>9} {'hash cache':>10} {'wall s':>7}")
    wall = time.monotonic()
    for m in range(minutes + 1):
        now = clock.now()
        if m and m % int(video_hours * 60) == 0:
            for account in feed.accounts:
                feed.videos[account] = feed.videos[account][1:] + [f"{feed.run}-{account[1]}-v{feed.next_video[account]}"]
                feed.next_video[account] += 1
                feed.videos_made += 1
        if m % 240 == 120:  # a 30-minute pile-on every 4 hours
            burst = (rng.choice(feed.accounts), m + 30)
        local_hour = (now.hour + 8) % 24
        batch = []
        for _ in range(int(per_minute * (1.0 if 9 <= local_hour <= 23 else 0.3))):
            negative = bool(burst) and m < burst[1] and rng.random() < 0.5
            record = feed.comment(burst[0] if negative else None, negative=negative)
            record["text"] = text(negative)
            record["created_at"] = (now - timedelta(seconds=rng.random() * 50)).isoformat()
            batch.append(record)
        services.ingest.ingest_records(batch, source="webhook")
        clock.advance(60)
        for tick in bot.wiring.ticks:
            tick()
        if replies is not None and m % 15 == 0:
            replies.overdue_reminders()
        if playbooks is not None and m % 5 == 0:
            playbooks.tick()
        if m % 360 == 0:
            purge_expired(services.db, clock.now(), services.config.retention)
        services.outbox.drain()
        if m % 240 == 0:
            gc.collect()
            rss = own_rss_mib()
            rows.append((m / 60, rss))
            print(f"{m / 60:7.1f} {feed.seq:>10,} {rss:8.1f} {len(bot.console.entries):>8} "
                  f"{len(alerts._detectors) if alerts else 0:>9} {len(cache):>10,} {time.monotonic() - wall:7.0f}",
                  flush=True)
    bot.close()
    warm = [r for r in rows if r[0] >= 4]
    if len(warm) >= 2:
        print(f"RSS growth after the first 4 feed hours: {slope(warm) * 24:+.1f} MiB per day of feed time "
              f"({feed.seq:,} comments, {feed.videos_made} videos)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="wall time of the feed")
    ap.add_argument("--rate", type=float, default=100.0, help="comments per second")
    ap.add_argument("--accounts", type=int, default=15)
    ap.add_argument("--sample-every", type=float, default=15.0, help="seconds between RSS samples")
    ap.add_argument("--warmup", type=float, default=5.0, help="minutes left out of the growth slope")
    ap.add_argument("--burst-every", type=float, default=240.0, help="seconds between negative pile-ons")
    ap.add_argument("--burst-rate", type=float, default=20.0, help="extra negative comments/s during a pile-on")
    ap.add_argument("--video-every", type=float, default=120.0, help="seconds between new videos per account")
    ap.add_argument("--bucket-minutes", type=int, default=None, help="alerts.bucket_minutes (default: config's)")
    ap.add_argument("--workdir", default=None, help="folder for config copy, database and serve.log")
    ap.add_argument("--csv", default=None, help="also write the samples here")
    ap.add_argument("--feed-days", type=float, default=None,
                    help="instead of serve: simulate this many days of feed time in-process on a fake clock")
    ap.add_argument("--per-minute", type=int, default=60, help="with --feed-days: comments per simulated minute")
    ap.add_argument("--video-hours", type=float, default=4.0, help="with --feed-days: hours between new videos")
    ap.add_argument("--diverse", action="store_true", help="with --feed-days: a growing vocabulary")
    a = ap.parse_args()
    if a.feed_days:
        accelerated(a.feed_days, a.per_minute, a.accounts, a.diverse, a.video_hours)
        return

    feed = Feed(a.accounts, a.video_every)
    root = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="crisisbot-soak-"))
    root.mkdir(parents=True, exist_ok=True)
    make_workdir(root, feed.accounts, a.bucket_minutes)
    db_path = root / "soak.db"
    proc, base, log = start_serve(root, f"sqlite:///{db_path}")
    print(f"serve pid {proc.pid} at {base}; folder {root}; {a.rate:g} comments/s for {a.minutes:g} min", flush=True)

    stop = threading.Event()
    stats = {"sent": 0, "accepted": 0, "errors": 0, "slow": 0, "bursts": 0}

    def load() -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        per_tick = a.rate / 2
        carry = 0.0
        burst_until, burst_account, next_burst = 0.0, None, time.monotonic() + a.burst_every / 2
        with httpx.Client(timeout=60) as client:
            tick = time.monotonic()
            while not stop.is_set():
                feed.rotate()
                now = time.monotonic()
                if now >= next_burst:
                    burst_account, burst_until = feed.rng.choice(feed.accounts), now + 60
                    next_burst = now + a.burst_every
                    stats["bursts"] += 1
                carry += per_tick
                n, carry = int(carry), carry - int(carry)
                batch = [feed.comment() for _ in range(n)]
                if now < burst_until:
                    batch += [feed.comment(burst_account, negative=True) for _ in range(int(a.burst_rate / 2))]
                try:
                    started = time.monotonic()
                    r = client.post(base + "/api/v1/comments", json=batch, headers=headers)
                    stats["slow"] += time.monotonic() - started > 2
                    if r.status_code == 200:
                        stats["accepted"] += r.json()["accepted"]
                    else:
                        stats["errors"] += 1
                except httpx.HTTPError:
                    stats["errors"] += 1
                stats["sent"] += len(batch)
                tick += 0.5
                delay = tick - time.monotonic()
                if delay > 0:
                    stop.wait(delay)
                else:
                    tick = time.monotonic()  # behind: do not try to catch up in a rush

    worker = threading.Thread(target=load, daemon=True)
    started = time.monotonic()
    samples: list[tuple[float, int, float, int, int]] = []

    def sample() -> None:
        st = proc_status(proc.pid)
        samples.append((time.monotonic() - started, stats["sent"], st["VmRSS"] / 1024, st["Threads"], db_bytes(db_path)))
        t, sent, rss, threads, size = samples[-1]
        print(f"{t / 60:8.1f} {sent:>10,} {rss:>9.1f} {threads:>7} {size / 2**20:>9.1f} {stats['errors']:>6} "
              f"{stats['bursts']:>6}", flush=True)

    print(f"{'min':>8} {'comments':>10} {'RSS MiB':>9} {'threads':>7} {'db MiB':>9} {'errors':>6} {'bursts':>6}")
    sample()
    worker.start()
    try:
        end = started + a.minutes * 60
        while time.monotonic() < end and proc.poll() is None:
            time.sleep(min(a.sample_every, max(0.0, end - time.monotonic())))
            if proc.poll() is None:
                sample()
    finally:
        stop.set()
        worker.join(timeout=70)
        hwm = proc_status(proc.pid).get("VmHWM", 0) / 1024 if proc.poll() is None else float("nan")
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    if a.csv:
        with open(a.csv, "w", encoding="utf-8") as out:
            out.write("seconds,comments,rss_mib,threads,db_bytes\n")
            out.writelines(",".join(str(v) for v in s) + "\n" for s in samples)

    counts = table_counts(db_path)
    print("\ntables (rows):", json.dumps({k: v for k, v in counts.items() if v}, ensure_ascii=False))
    print(f"database {db_bytes(db_path) / 2**20:.1f} MiB; serve exit code {proc.returncode}; "
          f"{stats['accepted']:,} accepted of {stats['sent']:,} sent, {stats['errors']} failed requests, "
          f"{stats['slow']} slower than 2 s; {feed.videos_made} videos, {feed.authors} authors; "
          f"{log.read_text(errors='replace').count('告警')} lines mentioning 告警 in serve.log")
    warm = [s for s in samples if s[0] >= a.warmup * 60]
    if len(warm) >= 2:
        per_s = slope([(s[0], s[2]) for s in warm])
        per_comment = slope([(s[1], s[2]) for s in warm])
        print(f"RSS: start {samples[0][2]:.1f} MiB, after warm-up {warm[0][2]:.1f}, end {samples[-1][2]:.1f}, "
              f"peak (VmHWM) {hwm:.1f}; growth after warm-up {per_s * 3600:+.1f} MiB per hour of wall time, "
              f"{per_comment * 1e6:+.1f} MiB per million comments")
    else:
        print("RSS: too short a run for a growth figure (see --warmup)")


if __name__ == "__main__":
    main()

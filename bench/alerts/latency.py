"""Alert latency on the bundled sample feed's crisis, with a simulated clock."""

from __future__ import annotations

import time

from bot.alerts.replay import replay_feed


def bench_latency() -> None:
    from importlib import resources

    from bot.alerts.replay import load_feed

    path = resources.files("bot.demo").joinpath("sample_feed.jsonl")
    with resources.as_file(path) as feed:
        records, _ = load_feed(feed)
    cpu = time.process_time()
    result = replay_feed(records)
    cpu = time.process_time() - cpu
    posted = {}
    for m in result.messages:
        if m.kind == "alert" and m.episode_key and m.episode_key not in posted:
            posted[m.episode_key] = m.at
    if not posted:
        print("latency: NO alert for the sample crisis")
        return
    for e in result.episodes:
        if e["key"] not in posted:
            continue
        bucket_end = e["started_at"] + result.bucket
        latency = (posted[e["key"]] - bucket_end).total_seconds()
        print(f"latency: {e['key']} ({e['severity']}) in the outbox {latency:.0f} s after the end of the bucket "
              f"where it became detectable ({(posted[e['key']] - e['started_at']).total_seconds():.0f} s after its "
              f"start) [target: within one bucket + 30 s]")
    note = " (placeholder sentiment: judged on all comments)" if result.placeholder_sentiment else ""
    print(f"replay: {result.accepted} comments through the whole pipeline in {cpu:.1f} s CPU{note}")

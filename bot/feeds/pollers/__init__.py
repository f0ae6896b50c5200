"""Pollers that pull comments and platform announcements from Bilibili, Douyin, Weibo and JSON APIs.

Layout: `base` (errors, pages, state, backoff, time parsing: pure), `http` (one polite httpx client),
one module per source type mapping the platform's shape to neutral ingestion records, `engine` (the
paging/high-water-mark algorithm shared by every comment source) and `service` (health, notices,
metrics, persistence: what the scheduler and the CLI call).
"""

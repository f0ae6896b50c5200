"""Prometheus metrics, served as text at GET /metrics. Features add their own in the default registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

COMMENTS_INGESTED = Counter("crisisbot_comments_ingested_total", "Comments accepted (new)", ["source"])
COMMENTS_UPDATED = Counter("crisisbot_comments_updated_total", "Re-delivered comments (counts updated)", ["source"])
LISTENER_FAILURES = Counter(
    "crisisbot_ingest_listener_failures_total", "Ingest listeners (alerts, reply queue) that failed a batch", ["listener"]
)
COMMENTS_REJECTED = Counter("crisisbot_comments_rejected_total", "Records rejected and dead-lettered", ["source"])
MESSAGES_QUEUED = Counter("crisisbot_messages_queued_total", "Messages written to the outbox", ["platform"])
MESSAGES_SENT = Counter("crisisbot_messages_sent_total", "Messages delivered to a chat platform", ["platform"])
MESSAGES_FAILED = Counter(
    "crisisbot_messages_failed_total", "Messages a platform refused for good (need a person)", ["platform"]
)
CHAT_API_ERRORS = Counter("crisisbot_chat_api_errors_total", "Errors from chat platform APIs", ["platform", "code"])
OUTBOX_PENDING = Gauge("crisisbot_outbox_pending", "Messages waiting in the outbox")
COMMANDS_HANDLED = Counter("crisisbot_commands_total", "Commands and button presses handled", ["platform", "kind"])
WEBHOOK_REFUSED = Counter(
    "crisisbot_webhook_refused_total", "Webhook requests refused, by HTTP status and error code", ["status", "reason"]
)
WEBHOOK_LAST_BATCH = Gauge(
    "crisisbot_webhook_last_batch_timestamp_seconds", "When the webhook last stored a batch (Unix time)"
)

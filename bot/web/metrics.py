"""Prometheus metrics of one app, in a registry of its own (not the process-wide default), so tests
and several apps in one process never clash.

Counters and the latency histogram are updated as things happen (the engine's SendObserver, the
ingest loop); gauges (queue depth, paused chats, database size) are sampled from aggregate queries
when /metrics is scraped.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.store.db import Store

# Seconds a platform call takes: a Bot API answer is ~0.05-0.5 s, a slow one seconds; 120 s is the
# engine's send timeout.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)


class Metrics:
    """The app's metrics; also the engine's SendObserver."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "digestbot_deliveries",
            "Send attempts by platform and outcome (sent, retry_after, transient, uncertain, chat_gone, "
            "format_rejected, migrated, no_answer)",
            ["platform", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "digestbot_send_seconds",
            "Time one platform call took, by platform",
            ["platform"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.ingested = Counter(
            "digestbot_digests_ingested", "Digest versions read and stored", registry=registry
        )
        self.rejected = Counter(
            "digestbot_digests_rejected", "Digest files or feed entries refused as broken", registry=registry
        )
        self.queue = Gauge(
            "digestbot_queue_depth", "Outbox rows not finished, by state", ["state"], registry=registry
        )
        self.paused = Gauge("digestbot_paused_chats", "Subscriptions paused by an outcome", registry=registry)
        self.database = Gauge(
            "digestbot_database_bytes", "Database file plus its write-ahead log", registry=registry
        )

    def send_finished(self, platform: str, outcome: str, seconds: float) -> None:
        self.deliveries.labels(platform, outcome).inc()
        self.latency.labels(platform).observe(seconds)

    def digest_read(self, *, ok: bool) -> None:
        """A source handed over a digest (`ok`) or a broken post."""
        (self.ingested if ok else self.rejected).inc()

    async def exposition(self, store: Store) -> bytes:
        """The text format, with the gauges sampled now (two indexed counts and a stat)."""
        gauges = await store.gauges()
        for state, count in gauges.queue.items():
            self.queue.labels(state).set(count)
        self.paused.set(gauges.paused)
        self.database.set(store.file_size())
        return generate_latest(self.registry)

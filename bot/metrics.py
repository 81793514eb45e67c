"""Prometheus metrics. One registry per bot instance so tests and replicas don't collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "tickerbot_polls_total", "Source polls by outcome", ["source", "outcome"], registry=r
        )
        self.poll_seconds = Histogram(
            "tickerbot_poll_duration_seconds",
            "Fetch + parse + store time of one poll",
            ["source"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )
        self.entries = Counter(
            "tickerbot_entries_total", "Entries stored by kind", ["source", "kind"], registry=r
        )
        self.deliveries = Counter(
            "tickerbot_deliveries_total",
            "Delivery attempts by result and reason",
            ["result", "reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "tickerbot_telegram_429_total", "429 Too Many Requests answers", registry=r
        )
        self.send_latency = Histogram(
            "tickerbot_entry_to_send_seconds",
            "From an entry first seen to its message accepted by Telegram",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
            registry=r,
        )
        self.outbox_depth = Gauge(
            "tickerbot_outbox_pending", "Pending deliveries and edits", ["kind"], registry=r
        )
        self.active = Gauge(
            "tickerbot_active", "1 when this process is the active replica", registry=r
        )
        self.source_failures = Gauge(
            "tickerbot_source_consecutive_failures",
            "Consecutive failed polls per source",
            ["source"],
            registry=r,
        )

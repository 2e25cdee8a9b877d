"""The Prometheus series every service exports (prometheus-client, default registry).

Names are the contract with the alert rules in deploy/: change them together."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

ENTRYPOINT_LABELS = ["service", "entrypoint", "kind", "outcome"]

CALLS = Counter(
    "jinwei_entrypoint_calls_total",
    "Entrypoint calls (rpc, event, timer, http) by outcome: success or the error code.",
    ENTRYPOINT_LABELS,
)
DURATION = Histogram(
    "jinwei_entrypoint_duration_seconds",
    "Time from a worker's start to its result, reply included.",
    ENTRYPOINT_LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PENDING = Gauge(
    "jinwei_outbox_pending_events", "Committed events not yet published.", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "jinwei_outbox_oldest_pending_age_seconds",
    "Age of the oldest committed event not yet published (0 when none).",
    ["service"],
)
EVENTS_PUBLISHED = Counter(
    "jinwei_outbox_published_events_total", "Events the outbox relay published.", ["service"]
)
EVENTS_DUPLICATE = Counter(
    "jinwei_events_duplicate_total",
    "Event deliveries skipped because the handler had already applied that event.",
    ["service", "handler"],
)
EVENTS_IGNORED = Counter(
    "jinwei_events_ignored_total",
    "Events a handler received and deliberately ignored (e.g. arrived too late), by reason.",
    ["service", "handler", "reason"],
)
DEAD_LETTERED = Counter(
    "jinwei_events_dead_lettered_total",
    "Events moved to the dead-letter queue after their last failed attempt.",
    ["service", "handler"],
)
DEAD_LETTERS = Gauge(
    "jinwei_dead_letters",
    "Messages waiting in the service's dead-letter queue (read at scrape time).",
    ["service"],
)


class PoolCollector:
    """Database pool use, read from the live pools at scrape time. shared.platform.db
    registers it with its pools (so metrics imports nothing of db)."""

    def __init__(self, pools):
        self.pools = pools

    def collect(self):
        size = GaugeMetricFamily("jinwei_db_pool_size", "Connections the pool may hold.",
                                 labels=["service"])
        used = GaugeMetricFamily("jinwei_db_pool_connections",
                                 "Pool connections by state (in_use, idle).",
                                 labels=["service", "state"])
        waits = CounterMetricFamily("jinwei_db_pool_waits",
                                    "Times a worker found every connection busy and waited.",
                                    labels=["service"])
        for pool in list(self.pools):
            size.add_metric([pool.name], pool.size)
            used.add_metric([pool.name, "in_use"], pool.in_use)
            used.add_metric([pool.name, "idle"], pool.idle)
            waits.add_metric([pool.name], pool.waits)
        yield size
        yield used
        yield waits


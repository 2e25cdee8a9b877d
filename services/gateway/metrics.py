"""The gateway's metrics, across gunicorn's worker processes (prometheus-client's
multiprocess mode: PROMETHEUS_MULTIPROC_DIR is set by gunicorn_conf.py before any worker
imports prometheus_client; each worker writes its own files, /metrics merges them).

Requests are counted in the same series as every service's entrypoints
(jinwei_entrypoint_calls_total / _duration_seconds), with service="gateway",
kind="http" and the operation as the entrypoint."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from shared.platform.metrics import CALLS, DURATION


def observe(entrypoint: str, outcome: str, seconds: float) -> None:
    labels = ("gateway", entrypoint, "http", outcome)
    CALLS.labels(*labels).inc()
    DURATION.labels(*labels).observe(seconds)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:  # one process (tests that call the app directly)
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST

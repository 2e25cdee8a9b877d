"""Metrics and health of a service, on its own HTTP port (not the worker pool).

`Monitoring` is declared on every service class. As a DependencyProvider it times
each worker (shared.platform.metrics) and tags its logs with nameko's call id; as an extension
it serves, from a greenthread of its own so a saturated worker pool cannot starve it:

    /metrics        Prometheus text format
    /health/live    200 while the process runs (no checks: restarting would not help)
    /health/ready   200 when the broker answers and the service's RPC queue exists,
                    the database answers and every migration is applied; else 503
"""

from __future__ import annotations

import json
import logging
import threading
import time

import eventlet
import eventlet.wsgi
import kombu
import psycopg2
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.timer import Timer
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from shared.errors import outcome_of
from shared.platform import config, logs, metrics
from shared.platform.broker.connections import broker_connection, close_broker, dead_letter_count
from shared.platform.migrate import applied_migration_ids, expected_migration_ids
from shared.platform.pg import close_quietly, first_line

log = logging.getLogger(__name__)


def entrypoint_kind(entrypoint) -> str:
    if isinstance(entrypoint, Rpc):
        return "rpc"
    if isinstance(entrypoint, EventHandler):
        return "event"
    if isinstance(entrypoint, Timer):
        return "timer"
    return "http"


class Monitoring(DependencyProvider):
    def setup(self):
        self.settings: config.Settings = self.container.config["JINWEI"]
        self.service = self.container.service_name
        self.readiness = Readiness(self.settings, self.service)
        self._started: dict = {}
        self.port = None

    def start(self):
        sock = eventlet.listen((self.settings.http_host, self.settings.http_ports[self.service]))
        self.port = sock.getsockname()[1]
        self._socket = sock
        self._thread = self.container.spawn_managed_thread(
            lambda: eventlet.wsgi.server(sock, self.wsgi, log_output=False), "monitoring_http"
        )
        log.info("%s: metrics and health on http://%s:%d", self.service,
                 self.settings.http_host, self.port)

    def stop(self):
        self._thread.kill()
        self._socket.close()
        self.readiness.close()

    kill = stop

    # -- worker hooks ------------------------------------------------------------
    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()
        logs.call_id.set(worker_ctx.call_id)

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        if started is None:
            return
        labels = (self.service, worker_ctx.entrypoint.method_name,
                  entrypoint_kind(worker_ctx.entrypoint),
                  outcome_of(exc_info[1] if exc_info else None))
        metrics.CALLS.labels(*labels).inc()
        metrics.DURATION.labels(*labels).observe(time.perf_counter() - started)

    def worker_teardown(self, worker_ctx):
        self._started.pop(worker_ctx, None)
        logs.call_id.set(None)

    # -- HTTP ----------------------------------------------------------------------
    def wsgi(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            self.readiness.refresh_dead_letters()
            body = generate_latest(REGISTRY)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [body]
        if path == "/health/live":
            return _json(start_response, 200, {"status": "live", "service": self.service})
        if path == "/health/ready":
            ready, checks = self.readiness.check()
            status = "ready" if ready else "not_ready"
            return _json(start_response, 200 if ready else 503,
                         {"status": status, "service": self.service, "checks": checks})
        return _json(start_response, 404, {"status": "not_found", "path": path})


def _json(start_response, status: int, body: dict):
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json")])
    return [json.dumps(body, ensure_ascii=False).encode()]


class Readiness:
    """Checks on connections of its own, bounded by short timeouts, one at a time."""

    TIMEOUT_S = 2

    def __init__(self, settings: config.Settings, service: str):
        self.settings = settings
        self.service = service
        # A service without a database of its own (the gateway) is ready with a broker.
        self.has_database = service in settings.database_urls
        self.expected_migrations = expected_migration_ids(service) if self.has_database else set()
        self._lock = threading.Lock()
        self._db = None
        self._broker: kombu.Connection | None = None

    def check(self) -> tuple[bool, dict]:
        with self._lock:
            checks = {"broker": self._check_broker()}
            if self.has_database:
                checks.update(self._check_database())
        return all(v == "ok" for v in checks.values()), checks

    def refresh_dead_letters(self) -> None:
        with self._lock:
            try:
                # A channel of its own: a missing queue closes the channel it is asked on.
                channel = self._broker_connection().channel()
                try:
                    metrics.DEAD_LETTERS.labels(self.service).set(
                        dead_letter_count(channel, self.service))
                finally:
                    close_quietly(channel)
            except Exception as exc:
                self._close_broker()
                log.warning("could not read the dead-letter queue depth: %s", exc)

    def _check_broker(self) -> str:
        try:
            channel = self._broker_connection().default_channel
            channel.queue_declare(f"rpc-{self.service}", passive=True)
            return "ok"
        except Exception as exc:
            self._close_broker()
            return f"error: {first_line(exc)}"

    def _check_database(self) -> dict:
        try:
            conn = self._database_connection()
            with conn.cursor() as cur:
                missing = self.expected_migrations - applied_migration_ids(cur)
            conn.rollback()
        except Exception as exc:
            self._close_database()
            return {"database": f"error: {first_line(exc)}", "migrations": "unknown"}
        if missing:
            return {"database": "ok", "migrations": f"pending: {', '.join(sorted(missing))}"}
        return {"database": "ok", "migrations": "ok"}

    def _broker_connection(self) -> kombu.Connection:
        if self._broker is None:
            self._broker = broker_connection(self.settings, connect_timeout=self.TIMEOUT_S)
            self._broker.ensure_connection(max_retries=1, timeout=self.TIMEOUT_S)
        return self._broker

    def _database_connection(self):
        if self._db is None or self._db.closed:
            self._db = psycopg2.connect(
                self.settings.database_url(self.service),
                connect_timeout=self.TIMEOUT_S,
                application_name=f"{self.service}-health",
                options=f"-c statement_timeout={self.TIMEOUT_S * 1000}",
            )
        return self._db

    def _close_broker(self):
        if self._broker is not None:
            close_broker(self._broker)
            self._broker = None

    def _close_database(self):
        if self._db is not None:
            close_quietly(self._db)
            self._db = None

    def close(self):
        self._close_broker()
        self._close_database()


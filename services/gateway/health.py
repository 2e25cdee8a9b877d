"""The gateway's readiness: it can reach the broker. Not whether every service answers:
a gateway taken out of its load balancer because one service is down would also stop
serving the others (each failing call answers 503 on its own)."""

from __future__ import annotations

import threading
import time

from shared.platform import config
from shared.platform.broker.connections import broker_connection, close_broker
from shared.platform.pg import first_line


class BrokerCheck:
    TIMEOUT_S = 2
    CACHE_S = 1.0  # probes from several sources do not each open a connection

    def __init__(self, settings: config.Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._last: tuple[float, bool, dict] | None = None

    def check(self) -> tuple[bool, dict]:
        with self._lock:
            now = time.monotonic()
            if self._last and now - self._last[0] < self.CACHE_S:
                return self._last[1], self._last[2]
            connection = broker_connection(self.settings, connect_timeout=self.TIMEOUT_S)
            try:
                connection.ensure_connection(max_retries=1, timeout=self.TIMEOUT_S)
                checks = {"broker": "ok"}
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                checks = {"broker": f"error: {first_line(exc)}"}
            finally:
                close_broker(connection)
            ok = checks["broker"] == "ok"
            self._last = (now, ok, checks)
            return ok, checks

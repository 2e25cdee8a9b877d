"""Structured (JSON) logs that carry nameko's call id, so one request can be followed
across services: the CallContext dependency (shared.platform.metrics) sets `call_id` for the
worker's greenthread, and every record logged there carries it."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        current = call_id.get()
        if current:
            entry["call_id"] = current
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ExpectedErrorsWithoutTraceback(logging.Filter):
    """nameko logs a worker's *expected* exception (a typed error: bad input, not found,
    forbidden...) with its traceback; one line says all there is to say."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("(expected)"):
            record.exc_info = None
            record.exc_text = None
        return True


def configure(service: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(ExpectedErrorsWithoutTraceback())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kombu/amqp log every reconnect attempt at INFO; warnings are what ops need.
    for noisy in ("kombu", "amqp", "yoyo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # nameko's RPC proxy logs every reply whole at DEBUG — a service calling another
    # would write personal data (a whole identity number) into its log. Never below INFO.
    logging.getLogger("nameko.rpc").setLevel(max(level, logging.INFO))

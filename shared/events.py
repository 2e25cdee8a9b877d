"""Idempotent event handlers with bounded retries and a dead-letter queue.

nameko's event_handler acks a message whose handler raised, and the event is gone.
Here a failed message is republished (with publisher confirms, before the original is
acked) to a delay queue whose TTL dead-letters it back onto the handler's queue:
attempt n waits base × 2^(n-1). After the last attempt it goes to the service's
dead-letter queue `<service>.dead-letters`, which `make dead-letters` lists and
replays (shared.dead_letters). A malformed event (ValidationError) cannot get better
by waiting and goes there at once.

Delivery is at least once, so `handles` records the event id in the service's inbox
table in the same transaction as the handler's effects: a repeat is skipped.

    @handles("organizations", "organization_registered")
    def on_registered(self, tx, event): ...
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import traceback

import eventlet
from kombu import Queue
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler

from shared import config, contracts, metrics
from shared.db import retry_once
from shared.errors import EXPECTED, ValidationError

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-jinwei-attempts"
QUEUE_HEADER = "x-jinwei-queue"
ERROR_HEADER = "x-jinwei-error"
HANDLER_HEADER = "x-jinwei-handler"
FAILED_AT_HEADER = "x-jinwei-failed-at"

# Who acts when an event arrives that carries no actor (e.g. replayed by an operator).
SYSTEM_ACTOR = {"subject": "system", "department": "system", "system": "event"}


def dead_letter_queue(service: str) -> Queue:
    return Queue(f"{service}.dead-letters", durable=True, auto_delete=False)


def dead_letter_count(channel, service: str) -> int:
    """Messages waiting in the service's dead-letter queue (declaring it if need be)."""
    queue = dead_letter_queue(service)
    # Every argument as kombu declares it: a different one is refused by the broker.
    _, count, _ = channel.queue_declare(queue.name, durable=True, auto_delete=False)
    return count


def retry_queue(queue_name: str, delay_ms: int) -> Queue:
    # One queue per delay: a per-queue TTL expires messages in order (a per-message
    # TTL only expires the head of a queue). The delay is in the name because queue
    # arguments cannot change once declared.
    return Queue(
        f"{queue_name}.retry-{delay_ms}ms",
        durable=True,
        queue_arguments={
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue_name,
        },
    )


class ReliableEventHandler(EventHandler):
    def __init__(self, source_service, event_type, **kwargs):
        kwargs.setdefault("expected_exceptions", EXPECTED)
        super().__init__(source_service, event_type, **kwargs)

    def setup(self):
        super().setup()
        settings: config.Settings = self.container.config["JINWEI"]
        self.max_attempts = settings.event_max_attempts
        self.base_delay_ms = settings.event_retry_base_ms
        self.publisher = Publisher(settings.amqp_uri, use_confirms=True)

    def unpack_message_headers(self, message):
        # Our bookkeeping headers (and the broker's x-death) stay off the worker's
        # context, which nameko forwards on every call the handler makes.
        data = super().unpack_message_headers(message)
        return {k: v for k, v in data.items() if not k.startswith("x-")}

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is not None:
            try:
                self._reroute(message, exc_info)
            except Exception:
                log.exception("could not reroute a failed %s event; requeued", self.event_type)
                eventlet.sleep(1)  # the broker is struggling: no hot redelivery loop
                self.queue_consumer.requeue_message(message)
                return result, exc_info
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _reroute(self, message, exc_info):
        attempts = int(message.headers.get(ATTEMPTS_HEADER, 0)) + 1
        headers = {k: v for k, v in message.headers.items() if k != "x-death"}
        headers[ATTEMPTS_HEADER] = attempts
        exc = exc_info[1]
        service = self.container.service_name
        if attempts < self.max_attempts and not isinstance(exc, ValidationError):
            delay_ms = self.base_delay_ms * 2 ** (attempts - 1)
            queue = retry_queue(self.queue.name, delay_ms)
            log.warning("event %s failed (attempt %d of %d): %s; retrying in %d ms",
                        message.properties.get("message_id"), attempts, self.max_attempts,
                        exc, delay_ms)
            self._publish(message, headers, queue)
            return
        headers.update({
            QUEUE_HEADER: self.queue.name,
            HANDLER_HEADER: f"{service}.{self.method_name}",
            ERROR_HEADER: "".join(traceback.format_exception_only(exc_info[0], exc)).strip()[:2000],
            FAILED_AT_HEADER: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        })
        log.error("event %s dead-lettered after %d attempt(s): %s",
                  message.properties.get("message_id"), attempts, exc)
        self._publish(message, headers, dead_letter_queue(service))
        metrics.DEAD_LETTERED.labels(service, self.method_name).inc()

    def _publish(self, message, headers, queue: Queue):
        self.publisher.publish(
            message.payload,
            exchange="",  # the default exchange routes by queue name
            routing_key=queue.name,
            declare=[queue],
            headers=headers,
            message_id=message.properties.get("message_id"),
        )


def ignore(service: str, handler: str, reason: str, event: dict) -> None:
    """A handler's deliberate no-op (an event that came too late, say), made visible: a
    log line and jinwei_events_ignored_total — not an error, so no retry loop."""
    log.warning("%s.%s ignored event %s (%s): %s", service, handler, event["id"], event["type"],
                reason)
    metrics.EVENTS_IGNORED.labels(service, handler, reason).inc()


def handles(source_service: str, event_type: str, **kwargs):
    """Declare an idempotent handler: `fn(self, tx, event)` runs in one transaction
    with the inbox record of the event, at most once per event id. The service needs
    a `db` (shared.db.Database)."""

    def decorate(fn):
        handler_name = fn.__name__

        @functools.wraps(fn)
        def handle(self, event):
            event = contracts.load_event(event)
            return retry_once(lambda: _handle_once(self, event))

        def _handle_once(self, event):
            with self.db.transaction(
                actor=event.get("actor") or SYSTEM_ACTOR,
                operation=handler_name,
                request_id=event["id"],
            ) as tx:
                first = tx.scalar(
                    "INSERT INTO inbox (event_id, handler) VALUES (%s, %s)"
                    " ON CONFLICT DO NOTHING RETURNING true",
                    (event["id"], handler_name),
                )
                if not first:
                    metrics.EVENTS_DUPLICATE.labels(self.name, handler_name).inc()
                    log.info("event %s already handled by %s; skipped", event["id"], handler_name)
                    return None
                return fn(self, tx, event)

        return ReliableEventHandler.decorator(source_service, event_type, **kwargs)(handle)

    return decorate

"""Idempotent event handlers with bounded retries and a dead-letter queue, that trust
an event only when RabbitMQ vouches for its publisher.

An event's publisher is its AMQP `user_id`, which RabbitMQ checks against the account
of the connection that published it (a mismatch is refused by the broker). A handler
of `organizations` events accepts one only when user_id is organizations' account
(`Settings.broker_account`), or its own account with the header
`x-jinwei-verified-publisher` naming organizations' account: the service republished
it (a retry, or a dead letter an operator replayed) after checking it, and only this
service can publish as itself. Anything else — a hand-published `grade_assigned`,
say — is dead-lettered unread, with the reason, and counted
(jinwei_messages_refused_total{reason="unverified_publisher"}).

nameko's event_handler acks a message whose handler raised, and the event is gone.
Here a failed message is republished (with publisher confirms, before the original is
acked) to a delay queue whose TTL dead-letters it back onto the handler's queue:
attempt n waits base × 2^(n-1). After the last attempt it goes to the service's
dead-letter queue (shared.platform.broker.letters), which `make dead-letters` lists
and replays (shared.platform.dead_letters). A malformed event (ValidationError) cannot get
better by waiting and goes there at once.

Delivery is at least once, so `handles` records the event id in the service's inbox
table in the same transaction as the handler's effects: a repeat is skipped.

    @handles("organizations", "organization_registered")
    def on_registered(self, tx, event): ...
"""

from __future__ import annotations

import functools
import logging
import traceback

import amqp.exceptions
import eventlet
from kombu import Queue
from nameko.events import EventHandler

from shared import contracts
from shared.errors import EXPECTED, ValidationError
from shared.platform import config, metrics
from shared.platform.broker import guard, letters
from shared.platform.broker.guard import Refusal
from shared.platform.broker.letters import DeadLetters
from shared.platform.db import retry_once

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-jinwei-attempts"
# How many attempts a letter had when it was dead-lettered (a replay starts at 0).
DEAD_LETTERED_ATTEMPTS_HEADER = "x-jinwei-dead-lettered-attempts"
VERIFIED_HEADER = "x-jinwei-verified-publisher"

# Who acts when an event arrives that carries no actor (e.g. replayed by an operator).
SYSTEM_ACTOR = {"subject": "system", "department": "system", "system": "event"}


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
    queue_consumer = guard.GuardedQueueConsumer()
    dead_letters = DeadLetters()
    answers = False  # nobody waits for an event's answer

    def __init__(self, source_service, event_type, **kwargs):
        kwargs.setdefault("expected_exceptions", EXPECTED)
        super().__init__(source_service, event_type, **kwargs)

    def setup(self):
        super().setup()
        settings: config.Settings = self.container.config["JINWEI"]
        self.max_attempts = settings.event_max_attempts
        self.base_delay_ms = settings.event_retry_base_ms
        self.publisher_account = settings.broker_account(self.source_service)
        self.own_account = config.amqp_user(settings.amqp_uri)
        # The series exists at 0 from the start, so the first forgery is an increase
        # the alert sees (JinweiUnverifiedEvents).
        guard.REFUSED.labels(self.container.service_name, "event", "unverified_publisher",
                             "dead_lettered")

    # -- before the handler ---------------------------------------------------------
    def check_message(self, body, message) -> Refusal | None:
        user_id = message.properties.get("user_id")
        verified = (user_id == self.publisher_account
                    or (user_id == self.own_account
                        and (message.headers or {}).get(VERIFIED_HEADER) == self.publisher_account))
        if not verified:
            return Refusal("unverified_publisher",
                           f"published by {user_id or 'an account that did not say'}: only "
                           f"{self.publisher_account} publishes {self.source_service} events")
        if not isinstance(body, dict):
            return Refusal("not_an_object", "an event body must be a JSON object")
        try:
            guard.context_from_headers(message.headers)
        except ValueError as exc:
            return Refusal("bad_context", str(exc))
        return None

    def refuse(self, message, refusal: Refusal) -> None:
        action = "dead_lettered"
        try:
            self.dead_letters.put(message, routing_key=self.queue.name, whole=False,
                                  headers=self._letter_headers(refusal.message, refusal.reason))
        except amqp.exceptions.MessageNacked:
            action = "dropped"  # the dead-letter queue is full: a refusal is not kept
        except Exception:  # noqa: BLE001 - the broker is struggling: try again later
            log.exception("could not dead-letter a refused %s event; requeued", self.event_type)
            eventlet.sleep(1)
            self.queue_consumer.requeue_message(message)
            return
        guard.count_refusal(self.container.service_name, "event", refusal, action)
        self.queue_consumer.ack_message(message)

    def unpack_message_headers(self, message):
        # Only the context keys a caller may set, checked in check_message; our
        # bookkeeping headers (and the broker's x-death) stay off the worker's context,
        # which nameko forwards on every call the handler makes.
        return guard.context_from_headers(message.headers)

    # -- after the handler ----------------------------------------------------------
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
        attempts = _attempts(message) + 1
        exc = exc_info[1]
        if attempts < self.max_attempts and not isinstance(exc, ValidationError):
            delay_ms = self.base_delay_ms * 2 ** (attempts - 1)
            queue = retry_queue(self.queue.name, delay_ms)
            log.warning("event %s failed (attempt %d of %d): %s; retrying in %d ms",
                        message.properties.get("message_id"), attempts, self.max_attempts,
                        exc, delay_ms)
            headers = letters.carried_headers(message)
            headers.update({ATTEMPTS_HEADER: attempts, VERIFIED_HEADER: self.publisher_account})
            self.dead_letters.publish(message.body, message, exchange="",
                                      routing_key=queue.name, headers=headers, declare=[queue])
            return
        error = "".join(traceback.format_exception_only(exc_info[0], exc)).strip()
        headers = self._letter_headers(error, "handler_failed")
        headers.update({VERIFIED_HEADER: self.publisher_account,
                        DEAD_LETTERED_ATTEMPTS_HEADER: attempts})
        log.error("event %s dead-lettered after %d attempt(s): %s",
                  message.properties.get("message_id"), attempts, exc)
        self.dead_letters.put(message, routing_key=self.queue.name, headers=headers)
        metrics.DEAD_LETTERED.labels(self.container.service_name, self.method_name).inc()

    def _letter_headers(self, error: str, reason: str) -> dict:
        """A dead letter's bookkeeping. No verified-publisher header unless the caller
        adds it: a replayed letter is checked again (a forged one is refused again)."""
        return {
            letters.KIND_HEADER: "event",
            letters.QUEUE_HEADER: self.queue.name,
            letters.HANDLER_HEADER: f"{self.container.service_name}.{self.method_name}",
            letters.REASON_HEADER: reason,
            letters.ERROR_HEADER: error[:2000],
            ATTEMPTS_HEADER: 0,
        }


def _attempts(message) -> int:
    """Attempts so far (our header, set by this service itself on a retry)."""
    try:
        return max(0, int((message.headers or {}).get(ATTEMPTS_HEADER, 0)))
    except (TypeError, ValueError):
        return 0


def ignore(service: str, handler: str, reason: str, event: dict) -> None:
    """A handler's deliberate no-op (an event that came too late, say), made visible: a
    log line and jinwei_events_ignored_total — not an error, so no retry loop."""
    log.warning("%s.%s ignored event %s (%s): %s", service, handler, event["id"], event["type"],
                reason)
    metrics.EVENTS_IGNORED.labels(service, handler, reason).inc()


def handles(source_service: str, event_type: str, **kwargs):
    """Declare an idempotent handler: `fn(self, tx, event)` runs in one transaction
    with the inbox record of the event, at most once per event id. The service needs
    a `db` (shared.platform.db.Database)."""

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

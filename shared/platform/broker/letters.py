"""Where a service puts what it refused or failed: its dead-letter exchange and queue.

The queue of a service (`<service>.dead-letters`) is durable and bound to a fanout
exchange of the same name. A message is dead-lettered with the routing key of the queue
it failed on, and the queue dead-letters to the default exchange, so an operator's
basic.reject sends it back to that queue unchanged — its AMQP user_id still the
service's own, which RabbitMQ checked — with no write permission at all
(shared.platform.dead_letters).

It is bounded (100 000 letters, 512 MiB; beyond that RabbitMQ refuses new ones), and of a
refused message only the first 64 KiB are kept: a hostile caller cannot fill the
broker's disk through it. A refused message that finds it full is dropped and counted;
a failed event waits (it is requeued) until an operator makes room.
"""

from __future__ import annotations

import datetime as dt
import logging

from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.extensions import SharedExtension

from shared.platform import config
from shared.platform.broker import accounts
from shared.platform.broker.connections import broker_connection

log = logging.getLogger(__name__)

# Headers the service writes on what it dead-letters (shared.platform.dead_letters reads them).
KIND_HEADER = "x-jinwei-kind"  # rpc | event
QUEUE_HEADER = "x-jinwei-queue"
HANDLER_HEADER = "x-jinwei-handler"
ERROR_HEADER = "x-jinwei-error"
REASON_HEADER = "x-jinwei-reason"
FAILED_AT_HEADER = "x-jinwei-failed-at"
TRUNCATED_HEADER = "x-jinwei-truncated-from"  # the body's size when only its start is kept

MAX_LETTERS = 100_000
MAX_LETTER_BYTES = 512 * 1024 * 1024
KEPT_OF_A_REFUSAL = 64 * 1024
# Headers never carried on: kombu would inflate a `compression`, RabbitMQ would route a
# copy by CC/BCC (and older releases do not check those against topic permissions).
NEVER_CARRIED = frozenset({"compression", "CC", "BCC"})


class DeadLetters(SharedExtension):
    """The service's dead-letter exchange (fanout) and queue, declared at start, and the
    one publisher (confirms, the service's own account as user_id) that puts letters
    there."""

    def setup(self):
        settings: config.Settings = self.container.config["JINWEI"]
        self.service = self.container.service_name
        self.account = config.amqp_user(settings.amqp_uri)
        name = accounts.dead_letters(self.service)
        self.exchange = Exchange(name, type="fanout", durable=True, auto_delete=False)
        self.queue = dead_letter_queue(self.service)
        self.publisher = Publisher(settings.amqp_uri, use_confirms=True,
                                   ssl=settings.amqp_ssl(settings.amqp_uri))
        self.settings = settings

    def start(self):
        """Declared now, so the queue's depth can be read (and listed) before the
        first letter; publishing declares it too, should this fail."""
        try:
            with broker_connection(self.settings) as conn:
                self.queue(conn.default_channel).declare()
        except Exception as exc:  # noqa: BLE001 - not fatal: the first letter declares it
            log.warning("could not declare %s yet: %s", self.queue.name, exc)

    def put(self, message, *, routing_key: str, headers: dict, whole: bool = True) -> None:
        """Republish `message` (body and properties as received) as a dead letter:
        `routing_key` is where a replay sends it back to. Of a refusal (`whole=False`)
        only the first KEPT_OF_A_REFUSAL bytes."""
        kept = carried_headers(message)
        kept.update(headers)
        kept[FAILED_AT_HEADER] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        body = message.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8", "replace")
        if not whole and len(body) > KEPT_OF_A_REFUSAL:
            kept[TRUNCATED_HEADER] = len(body)
            body = body[:KEPT_OF_A_REFUSAL]
        self.publish(body, message, routing_key=routing_key, headers=kept,
                     exchange=self.exchange, declare=[self.queue])

    def publish(self, body: bytes, message, *, routing_key: str, headers: dict, exchange,
                declare=()) -> None:
        """`body` as it came, with `message`'s content type and id, and our user_id."""
        properties = message.properties
        encoding = properties.get("content_encoding")
        self.publisher.publish(
            body, exchange=exchange, routing_key=routing_key, headers=headers,
            declare=list(declare), user_id=self.account,
            content_type=properties.get("content_type") or "application/octet-stream",
            content_encoding=encoding if isinstance(encoding, str) and encoding else "binary",
            message_id=_text_or_none(properties.get("message_id")),
            correlation_id=_text_or_none(properties.get("correlation_id")))


def dead_letter_queue(service: str) -> Queue:
    """The service's dead-letter queue, bound to its fanout exchange; expired or rejected
    letters go to the default exchange under their own routing key (a replay)."""
    name = accounts.dead_letters(service)
    exchange = Exchange(name, type="fanout", durable=True, auto_delete=False)
    return Queue(name, exchange=exchange, durable=True, auto_delete=False,
                 queue_arguments={"x-dead-letter-exchange": "", "x-max-length": MAX_LETTERS,
                                  "x-max-length-bytes": MAX_LETTER_BYTES,
                                  "x-overflow": "reject-publish"})


def carried_headers(message) -> dict:
    """The message's own headers, without ours (x-), the broker's, and the dangerous."""
    headers = message.headers if isinstance(message.headers, dict) else {}
    return {k: v for k, v in headers.items()
            if isinstance(k, str) and not k.startswith("x-") and k not in NEVER_CARRIED}


def _text_or_none(value):
    return value if isinstance(value, str) and len(value) <= 256 else None



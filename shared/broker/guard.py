"""Every message is checked before a service handles it, so no message can stop it.

nameko trusts what arrives: a request without `reply_to` raises KeyError in its
responder and the container dies (the unacked message comes back to the restarted
process: a crash loop); a body that is not JSON raises in kombu's consumer thread;
a `call_id_stack` that is not a list breaks the worker context. Here nameko's queue
consumer is replaced (`GuardedQueueConsumer`, shared by the RPC consumer and every
event handler of a container) by one that, for each message, before anything else:

- refuses a body over `max_message_bytes` unread, and decodes it itself (a decode
  error is a refusal, not an exception in the consumer thread);
- asks the entrypoint (`check_message`) whether the message is acceptable: an RPC
  request needs a direct reply-to address, a correlation id, a JSON object with
  `args` and `kwargs` and a well-typed context; an event needs a publisher RabbitMQ
  vouches for (shared.events);
- hands a refused message to the entrypoint's `refuse`: a request that can be
  answered gets a typed ValidationError; anything else goes to the service's
  dead-letter queue with the reason. Either way it is logged once, counted
  (jinwei_messages_refused_total) and acknowledged, and the service goes on.

The dead-letter queue of a service (`DeadLetters`) is a durable queue bound to a
fanout exchange of the same name. A message is dead-lettered with the routing key
of the queue it failed on, and the queue dead-letters to the default exchange, so
an operator's basic.reject sends it back to that queue unchanged — its AMQP user_id
still the service's own, which RabbitMQ checked — with no write permission at all
(shared.dead_letters).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import partial

from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.extensions import SharedExtension
from nameko.messaging import QueueConsumer
from prometheus_client import Counter

from shared import config
from shared.broker import accounts
from shared.broker.connections import broker_connection

log = logging.getLogger(__name__)

REFUSED = Counter(
    "jinwei_messages_refused_total",
    "Messages refused before any handler saw them (malformed, too large, or from a "
    "publisher RabbitMQ did not vouch for), by kind, reason and what was done "
    "(answered with an error, or dead-lettered).",
    ["service", "kind", "reason", "action"],
)

# Headers the service writes on what it dead-letters (shared.dead_letters reads them).
KIND_HEADER = "x-jinwei-kind"  # rpc | event
QUEUE_HEADER = "x-jinwei-queue"
HANDLER_HEADER = "x-jinwei-handler"
ERROR_HEADER = "x-jinwei-error"
REASON_HEADER = "x-jinwei-reason"
FAILED_AT_HEADER = "x-jinwei-failed-at"

DIRECT_REPLY_ADDRESS = re.compile(r"^amq\.rabbitmq\.reply-to\.[A-Za-z0-9+/=._-]{1,512}$")
MAX_CORRELATION_ID = 200
MAX_TOKEN = 16 * 1024
MAX_CALL_ID = 256
MAX_CALL_IDS = 16
# The context headers a caller may send (nameko's "nameko.<key>"); others are dropped.
CONTEXT_KEYS = ("auth_token", "call_id_stack", "language", "user_agent", "user_id")


@dataclass(frozen=True)
class Refusal:
    """Why a message is not handled. `answerable`: the caller can be told (a request
    with a usable reply address and correlation id)."""

    reason: str
    message: str
    answerable: bool = False


def context_from_headers(headers: dict | None) -> dict:
    """nameko's context from a message's headers, every value checked: a ValueError
    names the first one that is not what nameko and the services expect."""
    context = {}
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not name.startswith("nameko."):
            continue
        key = name[len("nameko."):]
        if key not in CONTEXT_KEYS:
            continue
        if key == "call_id_stack":
            if not (isinstance(value, list) and len(value) <= MAX_CALL_IDS
                    and all(isinstance(v, str) and 0 < len(v) <= MAX_CALL_ID for v in value)):
                raise ValueError(f"nameko.call_id_stack must be a list of at most "
                                 f"{MAX_CALL_IDS} call ids (strings)")
        elif not isinstance(value, str):
            raise ValueError(f"nameko.{key} must be a string, not {type(value).__name__}")
        elif len(value) > (MAX_TOKEN if key == "auth_token" else 1024):
            raise ValueError(f"nameko.{key} is too long")
        context[key] = value
    return context


def check_request(body, message) -> Refusal | None:
    """What an RPC request must be before nameko sees it."""
    properties = message.properties
    reply_to = properties.get("reply_to")
    correlation_id = properties.get("correlation_id")
    if not reply_to:
        return Refusal("no_reply_to", "the request has no reply_to: it cannot be answered")
    if not isinstance(reply_to, str) or not DIRECT_REPLY_ADDRESS.match(reply_to):
        return Refusal("bad_reply_to", "reply_to is not a direct reply-to address "
                       f"({accounts.DIRECT_REPLY_TO}); see docs/contract.md")
    if not correlation_id or not isinstance(correlation_id, str) \
            or len(correlation_id) > MAX_CORRELATION_ID:
        return Refusal("no_correlation_id", "the request has no usable correlation_id: "
                       "its answer could not be told from others")
    if body is UNDECODABLE:
        return None  # the body is refused for itself; the envelope allows an answer
    if not isinstance(body, dict):
        return Refusal("not_an_object", "the request body must be a JSON object "
                       f"{{\"args\": [], \"kwargs\": {{…}}}}, not {_json_type(body)}", True)
    if not isinstance(body.get("args"), list) or not isinstance(body.get("kwargs"), dict):
        return Refusal("bad_arguments", "the request body needs \"args\" (a list) and "
                       "\"kwargs\" (an object)", True)
    try:
        context_from_headers(message.headers)
    except ValueError as exc:
        return Refusal("bad_context", str(exc), True)
    return None


UNDECODABLE = object()  # check_request's body when only the envelope is asked about


def _json_type(value) -> str:
    return {type(None): "null", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


class GuardedQueueConsumer(QueueConsumer):
    """nameko's queue consumer, but a message reaches its entrypoint only after the
    checks above; the entrypoint (provider) offers `check_message(body, message)` →
    Refusal | None and `refuse(message, refusal)`."""

    def setup(self):
        super().setup()
        settings: config.Settings = self.container.config["JINWEI"]
        self.max_message_bytes = settings.max_message_bytes

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            # on_message replaces kombu's decode-then-callbacks: we decode ourselves.
            consumer.on_message = partial(self._on_message, provider)
            consumer.on_decode_error = partial(self._on_decode_error, provider)
        return consumers

    def _on_decode_error(self, provider, message, exc):
        self._refuse(provider, message, Refusal("not_decodable", f"not decodable: {exc}"),
                     decodable=False)

    def _on_message(self, provider, message):
        if len(message.body or b"") > self.max_message_bytes:
            self._refuse(provider, message, Refusal(
                "too_large", f"{len(message.body)} bytes, more than the "
                f"{self.max_message_bytes} a message may have"), decodable=False)
            return
        try:
            body = message.decode()
        except Exception as exc:  # noqa: BLE001 - any decode failure is the caller's
            self._refuse(provider, message, Refusal(
                "not_decodable", f"the body is not valid {message.content_type or 'data'}: "
                f"{str(exc)[:200]}"), decodable=False)
            return
        refusal = provider.check_message(body, message)
        if refusal is not None:
            self._refuse(provider, message, refusal)
            return
        self.handle_message(provider, body, message)

    def _refuse(self, provider, message, refusal: Refusal, *, decodable: bool = True):
        if not decodable and getattr(provider, "answers", False):
            # Answerable when the envelope is fine: the caller learns its body was bad.
            envelope = provider.check_message(UNDECODABLE, message)
            refusal = Refusal(refusal.reason, refusal.message, envelope is None)
        self.container.spawn_managed_thread(
            partial(provider.refuse, message, refusal), identifier="refuse_message")


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

    def put(self, message, *, routing_key: str, headers: dict) -> None:
        """Republish `message` (body and properties as received) as a dead letter:
        `routing_key` is where a replay sends it back to."""
        kept = {k: v for k, v in (message.headers or {}).items()
                if not str(k).startswith("x-")}
        kept.update(headers)
        kept[FAILED_AT_HEADER] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.publish(message.body, message, routing_key=routing_key, headers=kept,
                     exchange=self.exchange, declare=[self.queue])

    def publish(self, body: bytes, message, *, routing_key: str, headers: dict, exchange,
                declare=()) -> None:
        """`body` as it came, with `message`'s content type and id, and our user_id."""
        properties = message.properties
        self.publisher.publish(
            body, exchange=exchange, routing_key=routing_key, headers=headers,
            declare=list(declare), user_id=self.account,
            content_type=properties.get("content_type") or "application/octet-stream",
            content_encoding=properties.get("content_encoding") or "binary",
            message_id=_text_or_none(properties.get("message_id")),
            correlation_id=_text_or_none(properties.get("correlation_id")))


def dead_letter_queue(service: str) -> Queue:
    """The service's dead-letter queue, bound to its fanout exchange; expired or rejected
    letters go to the default exchange under their own routing key (a replay)."""
    name = accounts.dead_letters(service)
    exchange = Exchange(name, type="fanout", durable=True, auto_delete=False)
    return Queue(name, exchange=exchange, durable=True, auto_delete=False,
                 queue_arguments={"x-dead-letter-exchange": ""})


def _text_or_none(value):
    return value if isinstance(value, str) and len(value) <= 256 else None


def count_refusal(service: str, kind: str, refusal: Refusal, action: str) -> None:
    REFUSED.labels(service, kind, refusal.reason, action).inc()
    log.warning("%s refused a%s %s message (%s, %s): %s", service,
                "n" if kind[0] in "aeiou" else "", kind, refusal.reason, action, refusal.message)

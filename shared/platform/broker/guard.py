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
  vouches for (shared.platform.events);
- hands a refused message to the entrypoint's `refuse`: a request that can be
  answered gets a typed ValidationError; anything else goes to the service's
  dead-letter queue with the reason. Either way it is logged once, counted
  (jinwei_messages_refused_total) and acknowledged, and the service goes on.

Before kombu sees a message at all: py-amqp decodes its properties while reading frames
(invalid UTF-8, an impossible timestamp or headers nested thousands deep raise there,
in the consumer's thread), and kombu inflates a body with a `compression` header and
decodes any `content_encoding` (a few hundred bytes become hundreds of megabytes). A
message whose properties cannot be read arrives with only the reason
(`tolerate_unreadable_properties`), and one that is compressed or not UTF-8 is marked
and refused without being inflated or decoded (`unsafe_to_decode`).

Where refused messages go: shared.platform.broker.letters.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import partial

from amqp.serialization import GenericContent
from nameko.messaging import QueueConsumer
from prometheus_client import Counter

from shared.platform import config
from shared.platform.broker import accounts

log = logging.getLogger(__name__)

REFUSED = Counter(
    "jinwei_messages_refused_total",
    "Messages refused before any handler saw them (malformed, too large, or from a "
    "publisher RabbitMQ did not vouch for), by kind, reason and what was done "
    "(answered with an error, or dead-lettered).",
    ["service", "kind", "reason", "action"],
)

# Where the reason a message cannot be read travels with it (a property key of ours).
UNREADABLE = "x-jinwei-unreadable"
# "binary": what kombu says of bytes it was not asked to encode (it decodes nothing).
ACCEPTED_ENCODINGS = (None, "", "utf-8", "utf8", "binary")

DIRECT_REPLY_ADDRESS = re.compile(r"^amq\.rabbitmq\.reply-to\.[A-Za-z0-9+/=._-]{1,512}$")
UNDECODABLE = object()  # check_request's body when only the envelope is asked about
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


def check_request(body, message, service: str) -> Refusal | None:
    """What an RPC request to `service` must be before nameko sees it."""
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
    headers = message.headers if isinstance(message.headers, dict) else {}
    if "CC" in headers or "BCC" in headers:
        # Older RabbitMQ releases do not check CC/BCC against topic permissions: a copy
        # would reach queues the caller may not publish to.
        return Refusal("bad_routing", "CC and BCC are not accepted on a request", True)
    routing_key = (message.delivery_info or {}).get("routing_key")
    if not isinstance(routing_key, str) or not routing_key.startswith(f"{service}."):
        return Refusal("bad_routing", f"the request's routing key is not {service}.<method>",
                       True)
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
            # Before kombu makes its message: mark what must not be inflated or decoded.
            consumer._receive_callback = partial(_mark_unsafe, consumer._receive_callback)
            # on_message replaces kombu's decode-then-callbacks: we decode ourselves.
            consumer.on_message = partial(self._on_message, provider)
            consumer.on_decode_error = partial(self._on_decode_error, provider)
        return consumers

    def _on_decode_error(self, provider, message, exc):
        self._refuse(provider, message, Refusal("not_decodable", f"not decodable: {exc}"),
                     decodable=False)

    def _on_message(self, provider, message):
        unreadable = message.properties.get(UNREADABLE)
        if unreadable:
            self._refuse(provider, message, Refusal("unreadable", unreadable), decodable=False)
            return
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


def _mark_unsafe(receive, raw):
    """kombu's receive callback, given the raw py-amqp message after it is marked."""
    reason = unsafe_to_decode(raw)
    if reason:
        raw.properties[UNREADABLE] = reason
    return receive(raw)


def unsafe_to_decode(raw) -> str | None:
    """Why kombu must not inflate or decode this raw message, if it must not. A
    `compression` header is removed: kombu would inflate the body as it makes its
    message, before any check."""
    properties = raw.properties
    if properties.get(UNREADABLE):
        return properties[UNREADABLE]
    headers = properties.get("application_headers")
    if headers is not None and not isinstance(headers, dict):
        return "its headers are not a table"
    if headers and "compression" in headers:
        del headers["compression"]
        return "compressed bodies are not accepted"
    if properties.get("content_encoding") not in ACCEPTED_ENCODINGS:
        properties["content_encoding"] = None
        return "only UTF-8 bodies are accepted (content_encoding)"
    return None


def tolerate_unreadable_properties() -> None:
    """py-amqp reads a message's properties as its frames arrive, in the consumer's
    thread, where an exception kills the container and the unacknowledged message
    comes back to the next one. A message whose properties cannot be read arrives
    instead with one property of ours, the reason, and is refused (dead-lettered:
    nothing says where to answer). Patched once, for every connection of the process."""
    original = GenericContent._load_properties
    if getattr(original, "jinwei_tolerant", False):
        return

    def load_properties(self, class_id, buf, offset):
        try:
            return original(self, class_id, buf, offset)
        except Exception as exc:  # noqa: BLE001 - bad UTF-8, dates, nesting, truncation
            self.properties = {UNREADABLE: f"its properties cannot be read "
                                            f"({type(exc).__name__})"}
            return offset

    # setattr: a type checker knows no attributes of a function beyond its own.
    setattr(load_properties, "jinwei_tolerant", True)  # noqa: B010
    GenericContent._load_properties = load_properties


tolerate_unreadable_properties()


def count_refusal(service: str, kind: str, refusal: Refusal, action: str) -> None:
    REFUSED.labels(service, kind, refusal.reason, action).inc()
    log.warning("%s refused a%s %s message (%s, %s): %s", service,
                "n" if kind[0] in "aeiou" else "", kind, refusal.reason, action, refusal.message)

"""The services' side of RPC: nameko's entrypoint, behind the guard, answering through
RabbitMQ's direct reply-to.

Callers publish on `nameko-rpc` with `reply_to` = `amq.rabbitmq.reply-to` (the broker
turns it into an address of the caller's channel) and consume nothing but that
pseudo-queue; the service answers on the default exchange with that address as the
routing key. So a caller needs no queue of its own and no permission to read
anything, and no one can bind a queue that receives someone else's replies
(shared.platform.broker.accounts). A request whose reply_to is anything else is refused.
"""

from __future__ import annotations

import logging
import sys

import amqp.exceptions
import eventlet
import kombu.serialization
import nameko.rpc
from kombu import Exchange
from nameko.amqp.publish import Publisher
from nameko.exceptions import UnserializableValueError, serialize
from prometheus_client import Counter

from shared.errors import EXPECTED, ValidationError
from shared.platform.broker import guard, letters
from shared.platform.broker.guard import Refusal
from shared.platform.broker.letters import DeadLetters

log = logging.getLogger(__name__)

DEFAULT_EXCHANGE = Exchange("")  # direct reply-to addresses are routed by it
REFUSED_ROUTING_KEY = "rpc-refused"  # dead letters that no replay may send anywhere

REPLIES_LOST = Counter(
    "jinwei_rpc_replies_lost_total",
    "Answers a service could not publish, so their callers time out: a reply address the "
    "broker would not take, or the broker away while the answer was ready.",
    ["service", "error"],
)


class ReplyFailed(Exception):
    """The answer could not be published; the request is done all the same (a mutating
    call is in the request log: the caller's retry with its request id gets the result)."""


def respond(settings, message, result, exc_info):
    """nameko's Responder.send_response, on the default exchange (direct reply-to) and
    always in JSON (nameko's picks the request's content type, a KeyError for any
    other than its serializers')."""
    error = serialize(exc_info[1]) if exc_info is not None else None
    try:
        kombu.serialization.dumps(result, "json")
    except Exception:  # noqa: BLE001 - nameko's "disaster avoidance" check
        exc_info = sys.exc_info()
        error = serialize(UnserializableValueError(result))
        result = None
    publisher = Publisher(settings.amqp_uri, ssl=settings.amqp_ssl(settings.amqp_uri))
    try:
        publisher.publish({"result": result, "error": error}, serializer="json",
                          exchange=DEFAULT_EXCHANGE, routing_key=message.properties["reply_to"],
                          correlation_id=message.properties.get("correlation_id"))
    except Exception as exc:  # noqa: BLE001 - nameko would let the container die of it
        # A reply address the broker fails to route (RabbitMQ 3.x closes the channel on
        # a forged direct reply-to address) or a broker that went away: the request is
        # acknowledged and the caller times out, instead of the container dying and the
        # request coming back to kill the next one.
        raise ReplyFailed(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    return result, exc_info


class GuardedRpcConsumer(nameko.rpc.RpcConsumer):
    queue_consumer = guard.GuardedQueueConsumer()
    dead_letters = DeadLetters()
    answers = True  # a refused request is answered when it can be

    def setup(self):
        super().setup()
        self.settings = self.container.config["JINWEI"]

    def check_message(self, body, message) -> Refusal | None:
        return guard.check_request(body, message, self.container.service_name)

    def refuse(self, message, refusal: Refusal) -> None:
        service = self.container.service_name
        try:
            if refusal.answerable:
                error = ValidationError(f"malformed request: {refusal.message}",
                                        {"request": [refusal.message], "reason": refusal.reason})
                respond(self.settings, message, None, (ValidationError, error, None))
                action = "answered"
            else:
                self.dead_letters.put(message, routing_key=REFUSED_ROUTING_KEY, whole=False,
                                      headers=self._letter_headers(message, refusal))
                action = "dead_lettered"
        except ReplyFailed as exc:
            self._lost(exc)
            action = "answer_lost"
        except amqp.exceptions.MessageNacked:
            action = "dropped"  # the dead-letter queue is full (letters.MAX_LETTERS)
        except Exception:  # noqa: BLE001 - the broker is struggling: try again later
            log.exception("could not refuse a request; it goes back to the queue")
            eventlet.sleep(1)  # no hot redelivery loop
            self.queue_consumer.requeue_message(message)
            return
        guard.count_refusal(service, "rpc", refusal, action)
        self.queue_consumer.ack_message(message)

    def _letter_headers(self, message, refusal: Refusal) -> dict:
        routing_key = (message.delivery_info or {}).get("routing_key")
        return {letters.KIND_HEADER: "rpc", letters.QUEUE_HEADER: self.queue.name,
                letters.HANDLER_HEADER: str(routing_key)[:200],
                letters.REASON_HEADER: refusal.reason,
                letters.ERROR_HEADER: refusal.message[:2000]}

    def _lost(self, exc: ReplyFailed) -> None:
        REPLIES_LOST.labels(self.container.service_name, str(exc).split(":")[0]).inc()
        log.warning("%s could not publish an answer (its caller will time out): %s",
                    self.container.service_name, exc)

    def handle_result(self, message, result, exc_info):
        try:
            result, exc_info = respond(self.settings, message, result, exc_info)
        except ReplyFailed as exc:
            self._lost(exc)
        self.queue_consumer.ack_message(message)
        return result, exc_info


CORRELATION_KEY = "amqp_correlation_id"


class Rpc(nameko.rpc.Rpc):
    """nameko's rpc entrypoint behind the guard; it also keeps the message's correlation
    id (a mutating call's request id when the caller gives none) and passes on only
    the context keys a caller may set, checked (shared.platform.broker.guard)."""

    rpc_consumer = GuardedRpcConsumer()

    def __init__(self, expected_exceptions=EXPECTED, **kwargs):
        super().__init__(expected_exceptions=expected_exceptions, **kwargs)

    def unpack_message_headers(self, message):
        data = guard.context_from_headers(message.headers)  # checked already: cannot fail
        data[CORRELATION_KEY] = message.properties.get("correlation_id")
        return data

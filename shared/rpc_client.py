"""An RPC client for processes that are not nameko services (the gateway, the CLI):
one long-lived nameko proxy per thread, with a timeout.

Why not a ClusterRpcProxy per request: each leaves a reply queue behind for minutes
after it closes, and opening one costs several broker round trips. Why per thread:
nameko's standalone proxy is not thread-safe, and gunicorn's gthread workers serve
requests from a pool of threads. So each thread keeps its own reply listener (one
reply queue) for its whole life and swaps the caller's token into the context of each
call.

Two things nameko's standalone proxy leaves to us:
- a request that times out stays in the service's queue; were the service down, it
  would run the request whenever it came back, long after the caller was told 503.
  Requests are published with an AMQP expiration equal to the timeout, so RabbitMQ
  drops them unread instead;
- a reply that arrives after its call timed out is kept forever in the listener's
  reply dict; here it is acknowledged and dropped.

Publisher confirms (`confirms`): nameko waits for the broker's confirm of every request,
which is how it tells a service nobody serves (UnknownService) at once. That wait is a
broker round trip per call, ~a quarter of the gateway's time per request (py-spy, see
bench/RESULTS.md). The gateway turns it off: a request to a service that is not there
then ends in the timeout's 503 instead of an immediate one, and the timeout bounds it.
"""

from __future__ import annotations

import logging
import threading
import time

import amqp.exceptions
import kombu.exceptions
from nameko.amqp.publish import Publisher
from nameko.containers import WorkerContext
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import MethodProxy
from nameko.standalone.rpc import (
    PollingQueueConsumer,
    SingleThreadedReplyListener,
    StandaloneProxyBase,
)

from shared.errors import ServiceUnavailable, ValidationError

log = logging.getLogger(__name__)


# What the broker side can raise besides a typed error: the thread's client is dropped
# (a fresh connection next time) and the caller gets ServiceUnavailable.
BROKER_ERRORS = (OSError, ConnectionError, kombu.exceptions.KombuError,
                 amqp.exceptions.AMQPError)


class _UnconfirmedPublisher(Publisher):
    """Without confirms, not mandatory either: the broker's return of an unroutable
    request would arrive later on the pooled channel and fail whichever publish came
    next (UnknownService for a service that is running). Unroutable requests are
    dropped instead, and their caller gets the timeout's 503."""

    def publish(self, payload, **kwargs):
        kwargs["mandatory"] = False
        return super().publish(payload, **kwargs)


class _UnconfirmedMethodProxy(MethodProxy):
    publisher_cls = _UnconfirmedPublisher

# Publishing is retried at most once, at once: a publish must not outlast the timeout.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                 "interval_max": 0.2}


class _Consumer(PollingQueueConsumer):
    def on_message(self, body, message):
        correlation_id = message.properties.get("correlation_id")
        if correlation_id not in self.provider._reply_events:
            message.ack()  # the reply to a call that already timed out
            return
        super().on_message(body, message)

    def get_message(self, correlation_id):
        """nameko's, with the timeout a deadline (its own restarts whenever another
        reply arrives), and no reconnect of its own: on a timeout or a broker error the
        caller drops this client (nameko's reconnect leaves the old channel open, one
        per timeout, until the connection runs out of channels)."""
        deadline = time.monotonic() + self.timeout if self.timeout else None
        try:
            while correlation_id not in self.replies:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError()
                self.consumer.connection.drain_events(timeout=remaining)
        except TimeoutError:
            event = self.provider._reply_events.pop(correlation_id)
            event.send_exception(RpcTimeout(self.timeout))
            return
        except BaseException as exc:
            event = self.provider._reply_events.pop(correlation_id, None)
            if event is not None:
                event.send_exception(exc)
            return
        body, message = self.replies.pop(correlation_id)
        self.provider.handle_message(body, message)


class _ReplyListener(SingleThreadedReplyListener):
    def __init__(self, timeout=None):
        super().__init__(timeout=timeout)
        self.queue_consumer = _Consumer(timeout=timeout)


class _ThreadClient:
    """One thread's reply queue and context; `call` is the only entry."""

    def __init__(self, nameko_config: dict, timeout: float, confirms: bool):
        self.timeout = timeout
        self.confirms = confirms
        base = StandaloneProxyBase(nameko_config, context_data={}, timeout=timeout,
                                   reply_listener_cls=_ReplyListener)
        self.container = base._worker_ctx.container
        self.reply_listener = base._reply_listener
        self.reply_listener.setup()

    def call(self, service: str, method: str, params: dict, context: dict):
        # A context per call: nameko fixes the call id stack when the context is made,
        # so a shared one would give every request of this thread the same call id.
        worker_ctx = WorkerContext(self.container, service=None,
                                   entrypoint=StandaloneProxyBase.Dummy, data=dict(context))
        proxy_cls = MethodProxy if self.confirms else _UnconfirmedMethodProxy
        proxy = proxy_cls(worker_ctx, service, method, self.reply_listener,
                          expiration=self.timeout, use_confirms=self.confirms,
                          retry_policy=PUBLISH_RETRY)
        return proxy(**params)

    def close(self) -> None:
        try:
            self.reply_listener.stop()
        except Exception:  # noqa: BLE001 - closing a broken connection
            log.debug("closing the reply listener failed", exc_info=True)


class RpcClient:
    """Calls `service.method(**params)` as the caller whose token is given.

    A service that does not answer within the timeout, is unknown to the broker, or a
    broker that cannot be reached: ServiceUnavailable (the gateway's 503). The typed
    errors of the service (shared.errors) come back as themselves."""

    def __init__(self, nameko_config: dict, timeout: float, *, confirms: bool = True):
        self.nameko_config = nameko_config
        self.timeout = timeout
        self.confirms = confirms
        self._local = threading.local()
        self._clients: list[_ThreadClient] = []
        self._lock = threading.Lock()

    def _client(self) -> _ThreadClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = _ThreadClient(self.nameko_config, self.timeout, self.confirms)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _forget(self) -> None:
        client = getattr(self._local, "client", None)
        if client is not None:
            self._local.client = None
            with self._lock:
                if client in self._clients:
                    self._clients.remove(client)
            client.close()

    def call(self, service: str, method: str, params: dict, *, token: str | None = None,
             call_id: str | None = None):
        context = {"auth_token": token} if token else {}
        if call_id:
            context["call_id_stack"] = [call_id]
        try:
            return self._client().call(service, method, params, context)
        except RpcTimeout:
            self._forget()  # its consumer is in an unknown state: a fresh one next time
            raise ServiceUnavailable(
                f"{service} did not answer within {self.timeout:g} s",
                {"service": service, "timeout_seconds": self.timeout}) from None
        except UnknownService:
            raise ServiceUnavailable(f"{service} is not running",
                                     {"service": service}) from None
        except BROKER_ERRORS as exc:
            self._forget()  # a fresh connection next time
            raise ServiceUnavailable(f"the message broker did not answer: {exc}",
                                     {"service": service}) from None

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()


def all_pages(fetch, params: dict, *, max_pages: int = 400) -> dict:
    """A paged result whole: `fetch(params)` again with `after=next_cursor` until the last
    page, the list part of each page appended (its `items`, or a roster's `rows`). More
    than `max_pages` pages is a ValidationError rather than a silently cut result."""
    result = fetch(params)
    pages = 1
    while isinstance(result, dict) and result.get("next_cursor"):
        if pages >= max_pages:
            raise ValidationError(f"more than {max_pages} pages: narrow the place or filters",
                                  {"place_code": ["too many rows for one export"]})
        following = fetch({**params, "after": result["next_cursor"]})
        for key in ("items", "rows"):
            if key in following:
                following = {**following, key: [*result[key], *following[key]]}
        result, pages = following, pages + 1
    return result

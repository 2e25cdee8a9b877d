"""Calling the services over the broker: what the gateway, the CLI, the tests and other
departments' systems use. Plain AMQP 0-9-1 (py-amqp), any account with the right to
publish the request's routing key (shared.platform.broker.accounts).

The wire, as nameko's RPC entrypoint reads it (docs/contract.md has it for clients
in other languages):

- publish on the topic exchange `nameko-rpc` with routing key `<service>.<method>`,
  content type `application/json`, body `{"args": [], "kwargs": {…}}`, a fresh
  `correlation_id`, `reply_to` = `amq.rabbitmq.reply-to`, and the caller's token in
  the header `nameko.auth_token` (its call id in `nameko.call_id_stack`);
- the answer arrives on the same channel, which consumes `amq.rabbitmq.reply-to`
  (RabbitMQ's direct reply-to) without acknowledgements: `{"result": …, "error":
  null}` or `{"result": null, "error": {"exc_type", "exc_path", "exc_args", …}}`.

No reply queue is declared (nameko's ClusterRpcProxy declares one, leaves it behind
for minutes, and needs a permission that would let a caller read anyone's replies).
Requests are published `mandatory` and with an AMQP expiration equal to the timeout:
a request to a service nobody serves comes back at once (basic.return), and one that
waits in the queue of a service that is down is dropped by RabbitMQ instead of run long
after its caller was told 503.

One connection and channel per thread (py-amqp channels are not thread-safe), kept for
the thread's life: `RpcClient` holds them. A timeout or a broker error drops the
thread's connection (its state is unknown) and the next call opens another. A
`call_async` reply is read by the thread that made the call, and read: one never read
stays in its connection's books until the connection goes.
"""

from __future__ import annotations

import logging
import select
import threading
import time
import uuid
from urllib.parse import unquote, urlsplit

import amqp
import amqp.exceptions
import kombu.exceptions
from kombu.utils import json
from nameko.exceptions import deserialize, deserialize_to_instance

from shared.errors import EXPECTED, Forbidden, ServiceUnavailable, TooLarge, ValidationError
from shared.platform import config
from shared.platform.broker.accounts import DIRECT_REPLY_TO, RPC_EXCHANGE

log = logging.getLogger(__name__)

# The typed errors come back as themselves (shared.errors stays plain: registering
# them with nameko is the edge's business, here where replies are read).
for _error in EXPECTED:
    deserialize_to_instance(_error)

BROKER_ERRORS = (OSError, ConnectionError, amqp.exceptions.AMQPError,
                 kombu.exceptions.KombuError)
CONNECT_TIMEOUT_S = 5


class _Refused(Exception):
    """The broker closed the channel over a request (a permission it refuses)."""


class BrokerChannel:
    """One thread's connection: publishes requests, collects their replies."""

    def __init__(self, amqp_uri: str, ssl_options: dict | None):
        parts = urlsplit(amqp_uri)
        port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        self.account = unquote(parts.username or "guest")
        self.connection = amqp.Connection(
            host=f"{parts.hostname or '127.0.0.1'}:{port}", userid=self.account,
            password=unquote(parts.password or "guest"), virtual_host=unquote(path) or "/",
            ssl=ssl_options or False, connect_timeout=CONNECT_TIMEOUT_S)
        self.connection.connect()
        self.channel = self.connection.channel()
        self.channel.events["basic_return"].add(self._on_return)
        self.channel.basic_consume(DIRECT_REPLY_TO, no_ack=True, callback=self._on_reply)
        self.waiting: set[str] = set()
        self.replies: dict[str, dict] = {}
        self.returned: dict[str, str] = {}

    def _on_reply(self, message) -> None:
        correlation_id = message.properties.get("correlation_id")
        if correlation_id in self.waiting:  # else: the answer to a call that timed out
            try:
                self.replies[correlation_id] = json.loads(message.body)
            except ValueError as exc:
                self.replies[correlation_id] = {"error": {
                    "exc_type": "MalformedReply", "exc_path": None,
                    "exc_args": [str(exc)], "value": f"the reply is not JSON: {exc}"}}

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        correlation_id = message.properties.get("correlation_id")
        if correlation_id in self.waiting:
            self.returned[correlation_id] = routing_key

    def publish(self, service: str, method: str, body: str, context: dict,
                timeout: float) -> str:
        self._settle()
        correlation_id = uuid.uuid4().hex
        headers = {f"nameko.{key}": value for key, value in context.items()}
        message = amqp.Message(
            body, content_type="application/json",
            content_encoding="utf-8", correlation_id=correlation_id, reply_to=DIRECT_REPLY_TO,
            application_headers=headers, expiration=str(max(1, int(timeout * 1000))),
            user_id=self.account, delivery_mode=1)  # transient: no reply outlives a restart
        self.waiting.add(correlation_id)
        self.channel.basic_publish(message, exchange=RPC_EXCHANGE,
                                   routing_key=f"{service}.{method}", mandatory=True)
        return correlation_id

    def wait(self, correlation_id: str, service: str, deadline: float):
        """The reply's result; its typed error raised; TimeoutError at the deadline."""
        try:
            while correlation_id not in self.replies:
                if correlation_id in self.returned:
                    raise ServiceUnavailable(f"{service} is not running",
                                             {"service": service})
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError()
                try:
                    self.connection.drain_events(timeout=left)
                except TimeoutError:
                    continue
                except (amqp.exceptions.AccessRefused, amqp.exceptions.NotAllowed) as exc:
                    raise _Refused(str(exc)) from None
        finally:
            self.waiting.discard(correlation_id)
            self.returned.pop(correlation_id, None)
        reply = self.replies.pop(correlation_id)
        if reply.get("error"):
            raise deserialize(reply["error"])
        return reply.get("result")

    def _settle(self) -> None:
        """Read what already arrived (a late reply, a closed channel, the broker gone)
        before publishing, so a dead connection fails here, where nothing was sent
        yet, rather than after the request left. (A channel the broker closed is
        reopened by py-amqp without our reply consumer: the closing raised here or in
        `wait`, and the caller dropped this connection.)"""
        sock = getattr(self.connection.transport, "sock", None)
        if sock is None:
            raise ConnectionError("the broker connection is closed")
        while getattr(sock, "pending", lambda: 0)() or _readable(sock):
            self.connection.drain_events(timeout=0.5)

    def close(self) -> None:
        try:
            sock = getattr(self.connection.transport, "sock", None)
            if sock is not None:
                sock.settimeout(2)  # a silent broker must not hold the close
            self.connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            try:
                self.connection.collect()
            except Exception:  # noqa: BLE001
                pass


def _readable(sock) -> bool:
    """Data (or the end of the stream) waits on the socket. poll where there is one (no
    limit on descriptor numbers: select refuses those above 1023); eventlet's green
    select, which has none, is not so limited either."""
    poll = getattr(select, "poll", None)
    if poll is None:
        return bool(select.select([sock], [], [], 0)[0])
    poller = poll()
    poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


class RpcClient:
    """Calls `service.method(**params)` as the caller whose token is given, with one
    broker connection per thread.

    A service that does not answer within the timeout, that nobody serves, or a broker
    that cannot be reached: ServiceUnavailable (the gateway's 503). A request the broker
    refuses (the account may not call that service): Forbidden. The typed errors of the
    service (shared.errors) come back as themselves."""

    def __init__(self, settings: config.Settings | str, timeout: float, *,
                 ca_file: str | None = None):
        """`settings`, or an AMQP URI (an outside system's: amqps:// checks the broker's
        certificate against `ca_file`, else the system's CAs)."""
        if isinstance(settings, str):
            from shared.platform.broker import tls

            self.amqp_uri = settings
            self.ssl_options = tls.client_options(settings, ca_file=ca_file)
        else:
            self.amqp_uri = settings.amqp_uri
            self.ssl_options = settings.amqp_ssl(settings.amqp_uri)
        self.max_message_bytes = getattr(settings, "max_message_bytes",
                                         config.Settings.max_message_bytes)
        self.timeout = timeout
        self._local = threading.local()
        self._channels: list[BrokerChannel] = []
        self._lock = threading.Lock()

    def _channel(self) -> BrokerChannel:
        channel = getattr(self._local, "channel", None)
        if channel is None:
            channel = BrokerChannel(self.amqp_uri, self.ssl_options)
            self._local.channel = channel
            with self._lock:
                self._channels.append(channel)
        return channel

    def _forget(self, channel: BrokerChannel | None = None) -> None:
        current = getattr(self._local, "channel", None)
        channel = channel or current
        if channel is not None:
            if channel is current:
                self._local.channel = None
            with self._lock:
                if channel in self._channels:
                    self._channels.remove(channel)
            channel.close()

    def call(self, service: str, method: str, params: dict, *, token: str | None = None,
             call_id: str | None = None, timeout: float | None = None):
        return self.call_async(service, method, params, token=token, call_id=call_id,
                               timeout=timeout).result()

    def call_async(self, service: str, method: str, params: dict, *,
                   token: str | None = None, call_id: str | None = None,
                   timeout: float | None = None) -> PendingReply:
        """Publish now; `.result()` waits (several calls of one thread may be in flight)."""
        timeout = self.timeout if timeout is None else timeout
        context: dict[str, object] = {"auth_token": token} if token else {}
        if call_id:
            context["call_id_stack"] = [call_id]
        body = self._message(service, params)
        for attempt in (1, 2):
            channel = None
            try:
                channel = self._channel()
                correlation_id = channel.publish(service, method, body, context, timeout)
                reply = PendingReply(self, channel, correlation_id, service, method,
                                     time.monotonic() + timeout, timeout)
                break
            except BROKER_ERRORS as exc:
                self._broken(channel)  # nothing was sent: one fresh connection may do
                if attempt == 2:
                    raise ServiceUnavailable(f"the message broker did not answer: {exc}",
                                             {"service": service}) from None
        return reply

    def _message(self, service: str, params: dict) -> str:
        """The request's body; one the services would refuse unread as too large is
        refused here, as what it is (the gateway's 413). Text past ASCII is escaped in it
        (\\uXXXX: 6 bytes a Chinese character), so parameters under the gateway's body
        limit, or a workbook's rows, may still be too large."""
        body = json.dumps({"args": [], "kwargs": params})
        if len(body) > self.max_message_bytes:
            limit = self.max_message_bytes
            raise TooLarge(f"the request is too large as a message to {service}: {len(body)} "
                           f"bytes, at most {limit} (JINWEI_MAX_MESSAGE_BYTES; text past "
                           "ASCII takes 6 bytes a character there)",
                           {"body": [f"at most {limit} bytes as a message"]})
        return body

    def _broken(self, channel: BrokerChannel | None) -> None:
        """A connection that failed (the broker gone, a channel it closed) goes."""
        self._forget(channel)

    def close(self) -> None:
        with self._lock:
            channels, self._channels = self._channels, []
        for channel in channels:
            channel.close()


class PooledRpcClient(RpcClient):
    """An RpcClient for a nameko service, whose green threads come and go with each
    call: connections are taken from a pool for one call and given back after its
    reply, rather than kept per thread (a worker's thread would leave its connection
    behind). One that timed out or broke is closed, not given back."""

    def __init__(self, amqp_uri: str, ssl_options: dict | None, timeout: float):
        self.amqp_uri, self.ssl_options, self.timeout = amqp_uri, ssl_options, timeout
        self.max_message_bytes = config.Settings.max_message_bytes
        self._local = threading.local()  # stays empty: nothing is kept per thread
        self._channels: list[BrokerChannel] = []
        self._idle: list[BrokerChannel] = []
        self._lock = threading.Lock()

    def _channel(self) -> BrokerChannel:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        channel = BrokerChannel(self.amqp_uri, self.ssl_options)
        with self._lock:
            self._channels.append(channel)
        return channel

    def _broken(self, channel: BrokerChannel | None) -> None:
        """A connection that failed goes, and the idle ones with it: after a broker
        restart they are all dead, and the call's second attempt must not take one. (A
        call that timed out only forgets its own: the others are sound.)"""
        with self._lock:
            idle, self._idle = self._idle, []
            for other in idle:
                if other in self._channels:
                    self._channels.remove(other)
        for other in idle:
            other.close()
        self._forget(channel)

    def call(self, service: str, method: str, params: dict, *, token: str | None = None,
             call_id: str | None = None, timeout: float | None = None):
        reply = self.call_async(service, method, params, token=token, call_id=call_id,
                                timeout=timeout)
        try:
            return reply.result()
        finally:
            with self._lock:
                if reply.channel in self._channels:  # not forgotten after a failure
                    self._idle.append(reply.channel)

    def close(self) -> None:
        with self._lock:
            self._idle = []
        super().close()


class PendingReply:
    def __init__(self, client: RpcClient, channel: BrokerChannel, correlation_id: str,
                 service: str, method: str, deadline: float, timeout: float):
        self.client, self.channel, self.correlation_id = client, channel, correlation_id
        self.service, self.method = service, method
        self.deadline, self.timeout = deadline, timeout

    def result(self):
        try:
            return self.channel.wait(self.correlation_id, self.service, self.deadline)
        except TimeoutError:
            self.client._forget(self.channel)  # a read may have stopped mid-frame: a fresh one next time
            raise ServiceUnavailable(
                f"{self.service} did not answer within {self.timeout:g} s",
                {"service": self.service, "timeout_seconds": self.timeout}) from None
        except _Refused as exc:
            self.client._broken(self.channel)  # the broker closed the channel
            raise Forbidden(f"the broker refused the call {self.service}.{self.method} for "
                            f"this account: {exc}", {"service": self.service,
                                                     "method": self.method}) from None
        except BROKER_ERRORS as exc:
            self.client._broken(self.channel)
            raise ServiceUnavailable(f"the message broker did not answer: {exc}",
                                     {"service": self.service}) from None


class ServiceProxy:
    """`proxy.<service>.<method>(**params)` over an RpcClient, as nameko's proxies read:
    for scripts, tests and the CLI. `.call_async(**params)` returns a PendingReply."""

    def __init__(self, client: RpcClient, token: str | None = None):
        self._client, self._token = client, token

    def __getattr__(self, service: str):
        return _ServiceMethods(self._client, service, self._token)

    def __getitem__(self, service: str):
        return _ServiceMethods(self._client, service, self._token)


class _ServiceMethods:
    def __init__(self, client, service, token):
        self._client, self._service, self._token = client, service, token

    def __getattr__(self, method: str):
        return _Method(self._client, self._service, method, self._token)


class _Method:
    def __init__(self, client, service, method, token):
        self.client, self.service, self.method, self.token = client, service, method, token

    def __call__(self, **params):
        return self.client.call(self.service, self.method, params, token=self.token)

    def call_async(self, **params) -> PendingReply:
        return self.client.call_async(self.service, self.method, params, token=self.token)


class rpc_proxy:  # noqa: N801 - used like nameko's ClusterRpcProxy, as a context manager
    """with rpc_proxy(settings or "amqp://…", token, timeout=10) as proxy:
           proxy.organizations.get_place(place_code="331123000000")"""

    def __init__(self, settings: config.Settings | str, token: str | None = None,
                 timeout: float = 10, *, ca_file: str | None = None):
        self.client = RpcClient(settings, timeout, ca_file=ca_file)
        self.token = token

    def __enter__(self) -> ServiceProxy:
        return ServiceProxy(self.client, self.token)

    def __exit__(self, *exc):
        self.client.close()


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

"""Who may do what on the broker: the names of what the services declare, and the
RabbitMQ permissions of each account, as data.

Every process has an account of its own (docs/operations.md, "The broker"):

- a **service** (`<prefix><service>`, e.g. `jinwei-organizations`) consumes its RPC
  queue and its event queues, answers callers through direct reply-to (the default
  exchange), and is the only account that may publish on its events exchange;
- an **RPC client** — the gateway (`<prefix>gateway`), the operator (the account of
  AMQP_URI, `jinwei` by default) and each outside system (`<prefix>ext-<name>`) — may
  publish requests on `nameko-rpc` with the routing keys of the methods it was given,
  and receives its replies through RabbitMQ's direct reply-to
  (`amq.rabbitmq.reply-to`), which needs no queue and no permission: it declares,
  binds and reads nothing, so it cannot see anyone else's requests or replies. The
  operator may also read the services' dead-letter queues (list and replay).

RabbitMQ checks three regular expressions per account and vhost (configure: declare
and delete; write: publish to an exchange, bind a queue; read: consume a queue, bind
to an exchange), plus topic permissions on topic exchanges: the routing key of a
publish against `write`, the binding key of a queue.bind against `read`. A topic
exchange without topic permissions for an account lets every key through, so every
account that may write or read `nameko-rpc` or an events exchange gets them.

Pure data and regular expressions: tools.launcher.provision applies them with
rabbitmqctl, deploy/generate.py writes them for Kubernetes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

RPC_EXCHANGE = "nameko-rpc"  # nameko's default (RPC_EXCHANGE_CONFIG_KEY is not set)
DEFAULT_EXCHANGE = "amq.default"  # the nameless exchange's name in permissions
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
NOTHING = "^$"

# What a service, a method or an outside system may be called: the names end up in
# regular expressions, queue names and routing keys, so they are kept plain.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
INTEGRATOR_NAME = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
METHOD = r"[a-z][a-z0-9_]*"


def rpc_queue(service: str) -> str:
    return f"rpc-{service}"


def rpc_binding_key(service: str) -> str:
    return f"{service}.*"


def events_exchange(service: str) -> str:
    return f"{service}.events"


def dead_letters(service: str) -> str:
    """The name of both the service's dead-letter exchange (fanout) and its queue."""
    return f"{service}.dead-letters"


def service_account(prefix: str, service: str) -> str:
    return f"{prefix}{service}"


def integrator_account(prefix: str, name: str) -> str:
    return f"{prefix}ext-{name}"


@dataclass(frozen=True)
class Subscription:
    """An event handler of a service: nameko's queue `evt-<source>-<type>--<service>.<handler>`."""

    service: str
    source: str
    event_type: str
    handler: str

    @property
    def queue(self) -> str:
        return f"evt-{self.source}-{self.event_type}--{self.service}.{self.handler}"


@dataclass(frozen=True)
class TopicGrant:
    exchange: str
    write: str
    read: str


@dataclass(frozen=True)
class Grant:
    """One account's permissions on one vhost, as `rabbitmqctl set_permissions` and
    `set_topic_permissions` take them."""

    account: str
    configure: str
    write: str
    read: str
    topics: tuple[TopicGrant, ...] = field(default_factory=tuple)


def exactly(*names: str) -> str:
    """A regular expression that matches these names and nothing else. (As in PCRE,
    `$` also matches before a final newline: `name\n` passes, and matches no queue,
    exchange or method, which are compared whole.)"""
    if not names:
        return NOTHING
    return "^(" + "|".join(re.escape(n) for n in sorted(set(names))) + ")$"


def _one_of(names: Iterable[str]) -> str:
    return "(" + "|".join(re.escape(n) for n in sorted(set(names))) + ")"


def service_grant(account: str, service: str, subscriptions: Iterable[Subscription],
                  calls: Mapping[str, Iterable[str]] | None = None) -> Grant:
    """A service: its RPC queue, its events exchange, its dead letters, its event queues
    (and their retry queues), the exchanges those bind to, and the default exchange
    (replies through direct reply-to, retries and the dead-letter queue's way back).
    `calls`: the other services' methods it requests itself (shared.platform.owner_lookup), by
    direct reply-to like any client."""
    _check_name(service)
    request_keys = _request_keys(calls or {})
    subscriptions = sorted(set(subscriptions), key=lambda s: s.queue)
    if any(s.service != service for s in subscriptions):
        raise ValueError(f"a subscription of another service was given for {service}")
    handler_queues = [s.queue for s in subscriptions]
    sources = sorted({s.source for s in subscriptions})
    own = [rpc_queue(service), events_exchange(service), dead_letters(service)]
    queues = ("^(" + "|".join(re.escape(n) for n in [rpc_queue(service), dead_letters(service)])
              + (f"|{_one_of(handler_queues)}(\\.retry-[0-9]+ms)?" if handler_queues else "")
              + ")$")
    exchanges = [RPC_EXCHANGE, *(events_exchange(s) for s in sources)]
    configure = _union(queues, exactly(*own, *exchanges))
    writable = [events_exchange(service), dead_letters(service), DEFAULT_EXCHANGE]
    write = _union(queues, exactly(*writable, *([RPC_EXCHANGE] if calls else [])))
    # Retry queues are read too: RabbitMQ lets an account declare a queue with a
    # dead-letter exchange only where it may read the queue (and write the exchange).
    read = _union(queues, exactly(*exchanges))
    topics = [
        TopicGrant(RPC_EXCHANGE, request_keys, exactly(rpc_binding_key(service))),
        TopicGrant(events_exchange(service), f"^{METHOD}$", NOTHING),
    ]
    for source in sources:
        types = [s.event_type for s in subscriptions if s.source == source]
        topics.append(TopicGrant(events_exchange(source), NOTHING, exactly(*types)))
    return Grant(account, configure, write, read, tuple(topics))


def client_grant(account: str, methods: Mapping[str, Iterable[str] | None],
                 *, dead_letters_of: Iterable[str] = ()) -> Grant:
    """An RPC client: requests to these services' methods (None: every method of that
    service), replies by direct reply-to; nothing to declare. `dead_letters_of`: the
    services whose dead-letter queues it may read (the operator)."""
    request_keys = _request_keys(methods)
    readable = [dead_letters(s) for s in dead_letters_of]
    return Grant(account, NOTHING, exactly(RPC_EXCHANGE) if request_keys != NOTHING else NOTHING,
                 exactly(*readable), (TopicGrant(RPC_EXCHANGE, request_keys, NOTHING),))


def _request_keys(methods: Mapping[str, Iterable[str] | None]) -> str:
    """The routing keys of requests to these services' methods (None: every method)."""
    keys = []
    for service, names in sorted(methods.items()):
        _check_name(service)
        if names is None:
            keys.append(f"{re.escape(service)}\\.{METHOD}")
        else:
            names = sorted(set(names))
            for name in names:
                _check_name(name)
            if names:
                keys.append(f"{re.escape(service)}\\.{_one_of(names)}")
    return "^(" + "|".join(keys) + ")$" if keys else NOTHING


def _union(*patterns: str) -> str:
    """Anchored alternatives joined: each keeps its own anchors."""
    matching = [p for p in patterns if p != NOTHING]
    if not matching:
        return NOTHING
    return "|".join(matching) if len(matching) > 1 else matching[0]


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise ValueError(f"not a plain lower-case name: {name!r}")

"""Other departments' systems on the broker: an account each, limited to the services and
methods it was given (`make integrator`, `jinwei integrator`).

    add(settings, "finance", ["organizations", "evaluation"])        → its AMQP URI
    add(settings, "stats", [], methods=["organizations.list_organizations"])
    revoke(settings, "finance")
    listed(settings)                                                  → [Integrator]

The account (`<prefix>ext-<name>`) may publish requests on `nameko-rpc` with the routing
keys of its methods and nothing else, declares and reads nothing, and receives its
replies through direct reply-to (shared.platform.broker.accounts.client_grant). It may hold a
few connections and channels at most (RabbitMQ's user limits), so one outside system
cannot exhaust the broker. A new `add` of the same name sets a new password and the
new permissions, and closes the account's connections (they would keep the old ones).

The system still needs a token for every call (`make token … SYSTEM=<name>`): the
broker account says what it may reach, the token whose data it may see.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from shared import contracts
from shared.platform import config
from shared.platform.broker import accounts, topology
from tools.launcher import provision
from tools.launcher.system import InfraError

DEFAULT_LIMITS = {"max-connections": 32, "max-channels": 64}


@dataclass(frozen=True)
class Integrator:
    name: str
    account: str
    request_keys: str  # the topic permission: which routing keys it may publish


def _methods_by_service(services: list[str], methods: list[str]) -> dict[str, list[str] | None]:
    contracts.load_all()
    known = set(contracts.services())
    wanted: dict[str, list[str] | None] = {}
    for service in services:
        if service not in known:
            raise InfraError(f"no service {service!r}; the services are {', '.join(sorted(known))}")
        wanted[service] = None  # every method
    for qualified in methods:
        service, _, method = qualified.partition(".")
        if (service, method) not in contracts.RPC:
            raise InfraError(f"no RPC method {qualified!r} (jinwei methods lists them)")
        chosen = wanted.setdefault(service, [])
        if chosen is not None:  # None: every method already
            chosen.append(method)
    if not wanted:
        raise InfraError("give the services (SERVICES=a,b) or methods (METHODS=s.m,…) it may call")
    return wanted


def account_of(settings: config.Settings, name: str) -> str:
    if not accounts.INTEGRATOR_NAME.match(name or ""):
        raise InfraError(f"an outside system's name is 2-40 lower-case letters, digits and "
                         f"hyphens, starting with a letter: not {name!r}")
    return accounts.integrator_account(settings.broker_account_prefix, name)


def add(settings: config.Settings, name: str, services: list[str],
        methods: Sequence[str] = (), *, limits: dict | None = None) -> str:
    """Create (or renew) the account; returns its AMQP URI with the new password."""
    account = account_of(settings, name)
    grant = accounts.client_grant(account, _methods_by_service(list(services), list(methods)))
    password = secrets.token_urlsafe(24)
    provision.ensure_accounts(settings.amqp_uri, [topology.Account(grant, password)],
                              user_limits={account: dict(limits or DEFAULT_LIMITS)})
    provision.close_connections(settings.amqp_uri, account,
                                "the account was renewed: connect with its new password")
    address = settings.integrator_amqp_address or settings.amqp_uri
    return config.with_credentials(address, account, password)


def revoke(settings: config.Settings, name: str) -> None:
    """Delete the account: its connections are closed by the broker at once."""
    provision.delete_accounts(settings.amqp_uri, [account_of(settings, name)])


def listed(settings: config.Settings) -> list[Integrator]:
    prefix = accounts.integrator_account(settings.broker_account_prefix, "")
    target = provision.parse_amqp_uri(settings.amqp_uri)
    rows = provision.rabbitmqctl_rows(settings.amqp_uri, "list_topic_permissions", "-p",
                                      target.vhost)
    found = []
    for row in rows:
        user, exchange, write = row[0], row[1], row[2]
        if user.startswith(prefix) and exchange == accounts.RPC_EXCHANGE:
            found.append(Integrator(user[len(prefix):], user, write))
    return sorted(found, key=lambda i: i.name)

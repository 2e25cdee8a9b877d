"""What each account needs, read off the service classes themselves: a service's event
handlers are its subscriptions (source, type, handler), so its permissions follow its
code and cannot drift from it. Pure rules are in shared.platform.broker.accounts."""

from __future__ import annotations

import base64
import hashlib
import inspect
import os
from collections.abc import Iterable
from dataclasses import dataclass

from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider

from shared.platform.broker.accounts import (
    Grant,
    Subscription,
    client_grant,
    service_account,
    service_grant,
)


def subscriptions(service_cls) -> list[Subscription]:
    found = []
    for attribute, member in inspect.getmembers(service_cls):
        for entrypoint in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, EventHandler):
                found.append(Subscription(service_cls.name, entrypoint.source_service,
                                          entrypoint.event_type, attribute))
    return found


def calls(service_cls) -> dict[str, tuple[str, ...]]:
    """The other services' methods a service requests itself: what its dependency
    providers declare (`calls`, e.g. shared.platform.owner_lookup.OwnerLookup)."""
    found: dict[str, set[str]] = {}
    for _attribute, member in inspect.getmembers(service_cls):
        if isinstance(member, DependencyProvider):
            for service, methods in getattr(member, "calls", {}).items():
                found.setdefault(service, set()).update(methods)
    return {service: tuple(sorted(methods)) for service, methods in found.items()}


def grant_for_service(prefix: str, service_cls) -> Grant:
    return service_grant(service_account(prefix, service_cls.name), service_cls.name,
                         subscriptions(service_cls), calls(service_cls))


def deployment_grants(prefix: str, operator: str, service_classes: Iterable) -> list[Grant]:
    """Every service's account, the gateway's and the operator's."""
    classes = list(service_classes)
    names = [cls.name for cls in classes]
    every_method = {name: None for name in names}
    return [
        *(grant_for_service(prefix, cls) for cls in classes),
        client_grant(service_account(prefix, "gateway"), every_method),
        client_grant(operator, every_method, dead_letters_of=names),
    ]


@dataclass(frozen=True)
class Account:
    grant: Grant
    password: str


def password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt ‖ sha256(salt ‖ password))
    with a 4-byte random salt, as `rabbitmqctl hash_password` makes it."""
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(vhost: str, accounts: Iterable[Account]) -> dict:
    """A RabbitMQ definitions document (rabbitmqctl import_definitions, the management
    UI's import, or `load_definitions` at boot) with the vhost, the accounts, their
    permissions and topic permissions."""
    accounts = list(accounts)
    return {
        "vhosts": [{"name": vhost}],
        "users": [{"name": a.grant.account, "password_hash": password_hash(a.password),
                   "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}
                  for a in accounts],
        "permissions": [{"user": a.grant.account, "vhost": vhost,
                         "configure": a.grant.configure, "write": a.grant.write,
                         "read": a.grant.read} for a in accounts],
        "topic_permissions": [{"user": a.grant.account, "vhost": vhost, "exchange": t.exchange,
                               "write": t.write, "read": t.read}
                              for a in accounts for t in a.grant.topics],
    }

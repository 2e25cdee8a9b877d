"""Broker connections of this process's own account: opened with TLS where the URI
asks for it, closed without hanging on a broker that does not answer."""

from __future__ import annotations

import amqp.exceptions
import kombu

from shared.platform import config
from shared.platform.broker.accounts import dead_letters

CLOSE_TIMEOUT_S = 2.0


def broker_connection(settings: config.Settings, **options) -> kombu.Connection:
    options.setdefault("connect_timeout", 5)
    return kombu.Connection(settings.amqp_uri, ssl=settings.amqp_ssl(settings.amqp_uri),
                            **options)


def close_broker(connection, timeout: float = CLOSE_TIMEOUT_S) -> None:
    """Close a kombu connection: the close handshake waits at most `timeout` (py-amqp
    waits for the broker's close-ok with no bound: a stopped or partitioned broker
    held a service's shutdown for minutes), then whatever is left is dropped."""
    transport = getattr(connection, "_connection", None)  # never connect just to close
    sock = getattr(getattr(transport, "transport", None), "sock", None)
    try:
        if sock is not None:
            sock.settimeout(timeout)
        connection.close()
    except Exception:  # noqa: BLE001 - a dead or silent broker: it is gone either way
        pass
    finally:
        try:
            connection.collect()
        except Exception:  # noqa: BLE001
            pass


def dead_letter_count(channel, service: str) -> int:
    """Letters waiting in the service's dead-letter queue; 0 when it does not exist yet.
    A passive declare needs no permission (the operator's account has none to declare);
    a missing queue closes the channel, so ask on a channel you may lose."""
    try:
        _, count, _ = channel.queue_declare(dead_letters(service), passive=True)
    except amqp.exceptions.NotFound:
        return 0
    return count

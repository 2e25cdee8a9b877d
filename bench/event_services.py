"""The services the event benchmark runs, each as its own process:

    python bench/event_services.py <producer|consumer|bare_producer|bare_consumer>

producer/consumer use the platform (shared.platform.outbox relay with confirms, its own broker
account as the events' user_id; shared.platform.events handler that checks it, with inbox, one
transaction per event) and each own a database; the bare pair is nameko's own
EventDispatcher and event_handler with nothing of ours, the ceiling.
"""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from marshmallow import Schema, fields  # noqa: E402
from nameko.cli.run import run  # noqa: E402
from nameko.events import EventDispatcher, event_handler  # noqa: E402
from nameko.rpc import rpc  # noqa: E402

from shared import contracts  # noqa: E402
from shared.domain.events import Event  # noqa: E402
from shared.platform import config  # noqa: E402
from shared.platform.db import Database  # noqa: E402
from shared.platform.entrypoints import Rpc  # noqa: E402
from shared.platform.events import SYSTEM_ACTOR, handles  # noqa: E402
from shared.platform.outbox import OutboxRelay  # noqa: E402


class BenchHappened(Schema):
    seq = fields.Integer(required=True)


contracts.event("bench_producer", "bench_happened", data=BenchHappened,
                summary="an event of the event benchmark")

EFFECTS_TABLE = """
CREATE TABLE IF NOT EXISTS bench_effects (
    event_id uuid PRIMARY KEY,
    seq integer NOT NULL,
    occurred_at timestamptz NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
)"""


class Producer:
    """Commits events through the outbox: `emit(count)` writes them in one transaction."""

    name = "bench_producer"
    db = Database()
    relay = OutboxRelay()

    @Rpc.decorator  # ours: behind the guard, answering by direct reply-to
    def emit(self, first_seq, count=1):
        with self.db.transaction(actor=SYSTEM_ACTOR, operation="emit") as tx:
            for seq in range(first_seq, first_seq + count):
                tx.emit(Event("bench_happened", {"seq": seq}))
        return count


class Consumer:
    """Applies each event in its own transaction with the inbox: the real handler path."""

    name = "bench_consumer"
    db = Database()

    @handles("bench_producer", "bench_happened")
    def on_happened(self, tx, event):
        tx.execute("INSERT INTO bench_effects (event_id, seq, occurred_at) VALUES (%s, %s, %s)",
                   (event["id"], event["data"]["seq"], event["occurred_at"]))


class BareProducer:
    name = "bare_producer"
    dispatch = EventDispatcher()

    @rpc
    def emit(self, first_seq, count=1):
        for seq in range(first_seq, first_seq + count):
            self.dispatch("bench_happened", {"seq": seq, "at": time.time()})
        return count


class BareConsumer:
    name = "bare_consumer"
    received: list = []

    @event_handler("bare_producer", "bench_happened")
    def on_happened(self, payload):
        BareConsumer.received.append((payload["seq"], payload["at"], time.time()))

    @rpc
    def take(self):
        """What arrived since the last call: [(seq, sent_at, received_at)]."""
        taken, BareConsumer.received[:] = list(BareConsumer.received), []
        return taken


SERVICES = {"producer": Producer, "consumer": Consumer, "bare_producer": BareProducer,
            "bare_consumer": BareConsumer}

if __name__ == "__main__":
    from shared.platform.broker.tls import client_options

    settings = config.load()
    settings = settings.with_overrides(database_urls={
        name: os.environ[f"{name.upper()}_DATABASE_URL"]
        for name in ("bench_producer", "bench_consumer")
        if f"{name.upper()}_DATABASE_URL" in os.environ})
    if sys.argv[1].startswith("bare"):  # nameko alone, on the account with every permission
        run([SERVICES[sys.argv[1]]], {"AMQP_URI": os.environ["BARE_AMQP_URI"],
                                      "AMQP_SSL": client_options(os.environ["BARE_AMQP_URI"],
                                                                 ca_file=settings.amqp_ca_file),
                                      "serializer": "json"})
    else:
        run([SERVICES[sys.argv[1]]], settings.nameko_config())

"""Transactional outbox and its relay.

A change and the events it causes commit together: `Transaction.emit(event)` collects
them and `write` inserts them into the service's `outbox` table in the same commit.
`OutboxRelay` (a DependencyProvider declared on the service class) publishes pending
rows with publisher confirms onto the exchange and routing key that nameko's
`event_handler(source, event_type)` consumes (`<source>.events`, routing key = type),
then deletes them (a queue, not a history: the audit log is the history). A publish that fails leaves the row pending: the relay
backs off and keeps trying, so events outlive broker outages. Several replicas may
relay at once (`FOR UPDATE SKIP LOCKED`); delivery is at least once, and handlers are
idempotent (shared.platform.events). Order is by commit position within one replica; across
replicas, consumers order by the entity version carried in the event data.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid

import kombu
import psycopg2
import psycopg2.extras
from amqp import spec
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange

from shared import contracts
from shared.domain.events import Event
from shared.platform import config, metrics
from shared.platform.broker.connections import broker_connection, close_broker
from shared.platform.pg import close_quietly, json_dumps, make_psycopg_green

log = logging.getLogger(__name__)

EVENT_SCHEMA_VERSION = 1


def envelope(source: str, event: Event, actor: dict) -> dict:
    """The message body every event handler receives."""
    return {
        "id": str(uuid.uuid4()),
        "type": event.type,
        "source": source,
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "schema_version": EVENT_SCHEMA_VERSION,
        "actor": actor,
        # Dumped through the event's contract schema: what leaves is what the
        # contract says, and an event without a schema fails here, in tests.
        "data": contracts.dump_event(source, event.type, event.data),
    }


def write(tx, events: list[Event]) -> None:
    rows = []
    for event in events:
        body = envelope(tx.service, event, tx.actor)
        rows.append((body["id"], body["type"], psycopg2.extras.Json(body, dumps=json_dumps),
                     tx.call_id))
    tx.defer_rows("INSERT INTO outbox (id, event_type, payload, origin_call_id) VALUES",
                  "(%s::uuid, %s, %s, %s)", rows)
    tx.after_commit(lambda: wake(tx.service))


# The relay of each service running in this process, so a commit can wake it at once
# instead of waiting for its next poll.
_relays: dict[str, OutboxRelay] = {}


def wake(service: str) -> None:
    relay = _relays.get(service)
    if relay is not None:
        relay.wake()


class OutboxRelay(DependencyProvider):
    batch_size = 200
    poll_interval_s = 1.0
    coalesce_s = 0.005
    broker_timeout_s = 10
    request_retention = dt.timedelta(days=7)
    inbox_retention = dt.timedelta(days=30)

    def setup(self):
        make_psycopg_green()
        settings: config.Settings = self.container.config["JINWEI"]
        self.source = self.container.service_name
        self.dsn = settings.database_url(self.source)
        self.settings = settings
        self.exchange = get_event_exchange(self.source, self.container.config)
        self._conn = None
        self._broker = None
        self._publisher = None
        self._wakeup = threading.Event()
        self._running = False
        self._last_gauges = 0.0
        self._last_batch_at = 0.0
        self._last_purge = 0.0

    def start(self):
        self._running = True
        _relays[self.source] = self
        self._thread = self.container.spawn_managed_thread(self._run, "outbox_relay")

    def stop(self):
        self._running = False
        if _relays.get(self.source) is self:
            del _relays[self.source]
        self._wakeup.set()
        self._thread.wait()
        self._close()

    def kill(self):
        self._running = False
        self._close()

    def get_dependency(self, worker_ctx):
        return self

    def wake(self) -> None:
        self._wakeup.set()

    def _run(self):
        failures = 0
        while self._running:
            published = 0
            try:
                published = self.publish_pending()
                failures = 0
            except Exception as exc:  # broker or database away: keep the rows, retry
                failures += 1
                log.warning("outbox relay: %s; retrying", _describe(exc))
                self._close()
            try:
                self._housekeeping()  # the backlog gauges matter most during an outage
            except Exception as exc:
                log.warning("outbox relay housekeeping: %s", _describe(exc))
                self._close()
            if failures:
                self._back_off(min(0.2 * 2 ** min(failures, 5), 5.0))
            elif published < self.batch_size:
                if (self._wakeup.wait(self.poll_interval_s)
                        and time.monotonic() - self._last_batch_at < self.coalesce_s):
                    # Commits are arriving faster than one per window: let those of the
                    # next moment join this batch, rather than paying a round of queries
                    # and a commit for each. An isolated commit goes out at once.
                    time.sleep(self.coalesce_s)
                self._wakeup.clear()

    def _back_off(self, seconds: float) -> None:
        """Wait out a failure; commits do not cut it short, stopping does."""
        deadline = time.monotonic() + seconds
        while self._running and (left := deadline - time.monotonic()) > 0:
            self._wakeup.wait(left)
            self._wakeup.clear()

    def publish_pending(self) -> int:
        """Publish one batch of pending events; returns how many went out."""
        self._last_batch_at = time.monotonic()
        publisher = None
        with self._connection().cursor() as cur:
            # Autocommit connection: BEGIN travels with the SELECT, COMMIT with the DELETE.
            cur.execute(
                "BEGIN; SELECT id::text, event_type, payload::text, origin_call_id FROM outbox"
                " ORDER BY position LIMIT %s FOR UPDATE SKIP LOCKED",
                (self.batch_size,),
            )
            rows = cur.fetchall()
            try:
                if rows:
                    publisher = self._confirms()
                    publisher.publish(rows, self.broker_timeout_s)
            finally:
                # Remove what the broker confirmed even when the rest failed, so it is
                # not published again after the outage.
                confirmed = publisher.acked if publisher else []
                if confirmed:
                    cur.execute("DELETE FROM outbox WHERE id = ANY(%s::uuid[]); COMMIT",
                                (confirmed,))
                else:
                    cur.execute("COMMIT")
        if confirmed:
            metrics.EVENTS_PUBLISHED.labels(self.source).inc(len(confirmed))
        return len(confirmed)

    def _housekeeping(self):
        now = time.monotonic()
        if now - self._last_gauges >= 1.0:
            self._last_gauges = now
            conn = self._connection()
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)"
                    " FROM outbox"
                )
                pending, oldest = cur.fetchone()
            metrics.OUTBOX_PENDING.labels(self.source).set(pending)
            metrics.OUTBOX_OLDEST_AGE.labels(self.source).set(float(oldest))
        if now - self._last_purge >= 600:
            self._last_purge = now
            conn = self._connection()
            with conn.cursor() as cur:
                # The relay also keeps the other platform tables from growing forever.
                # Request ids are answered from the log for a week; an event
                # redelivered after a month would be applied again (the broker holds
                # nothing that long).
                cur.execute(
                    "DELETE FROM request_log WHERE created_at < now() - %(requests)s;"
                    " DELETE FROM inbox WHERE processed_at < now() - %(inbox)s",
                    {"requests": self.request_retention, "inbox": self.inbox_retention},
                )

    def _confirms(self) -> ConfirmingPublisher:
        """A confirm channel of our own, kept across batches."""
        if self._publisher is None:
            self._broker = broker_connection(self.settings)
            self._broker.ensure_connection(max_retries=1)
            # RabbitMQ checks user_id against this connection's account, and consumers
            # trust an event only when it names the source's account (shared.platform.events).
            self._publisher = ConfirmingPublisher(self._broker.channel(), self.exchange,
                                                  user_id=config.amqp_user(self.settings.amqp_uri))
        return self._publisher

    def _connection(self):
        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(
                self.dsn, connect_timeout=5, application_name=f"{self.source}-outbox-relay",
                keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3,
                # The relay holds a transaction open across its publishes: never for long.
                # Its commits only delete published rows; one lost in a crash means the
                # event goes out again, which handlers absorb: no need to wait for the
                # WAL flush.
                options="-c idle_in_transaction_session_timeout=60000"
                        " -c statement_timeout=30000 -c synchronous_commit=off",
            )
            self._conn.autocommit = True
        return self._conn

    def _close(self):
        if self._conn is not None:
            close_quietly(self._conn)
            self._conn = None
        if self._broker is not None:
            close_broker(self._broker)  # bounded: a silent broker must not hold a shutdown
            self._broker = self._publisher = None


class ConfirmingPublisher:
    """Publishes a batch on a channel in confirm mode and waits for the broker's acks
    once for the whole batch (kombu's confirm_publish waits after every message: one
    round trip each, which in a busy process costs a trip round the hub each)."""

    def __init__(self, channel, exchange, user_id: str):
        self.channel = channel
        self.user_id = user_id
        exchange(channel).declare()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self.producer = kombu.Producer(channel, exchange=exchange)
        self.next_tag = 1  # delivery tags count from 1 on a confirm channel
        self.waiting: dict[int, str] = {}  # tag → event id, published, not yet confirmed
        self.acked: list[str] = []
        self.nacked = False

    def _on_ack(self, tag, multiple):
        for t in ([t for t in self.waiting if t <= tag] if multiple else [tag]):
            if t in self.waiting:
                self.acked.append(self.waiting.pop(t))

    def _on_nack(self, tag, multiple):
        self.nacked = True
        for t in ([t for t in self.waiting if t <= tag] if multiple else [tag]):
            self.waiting.pop(t, None)

    def publish(self, rows, timeout: float) -> None:
        """Publish `rows`; `acked` then holds the event ids the broker confirmed (all of
        them, unless this raises or the broker refused some)."""
        self.acked, self.nacked = [], False
        for event_id, event_type, payload, call_id in rows:
            # The body as stored: already the JSON the contract describes.
            self.producer.publish(
                payload.encode(), routing_key=event_type, message_id=event_id,
                content_type="application/json", content_encoding="utf-8",
                delivery_mode=2, retry=False, user_id=self.user_id,
                headers={"nameko.call_id_stack": [call_id]} if call_id else {})
            self.waiting[self.next_tag] = event_id
            self.next_tag += 1
        deadline = time.monotonic() + timeout
        while self.waiting:
            # A blocked broker (memory or disk alarm) must not hold the rows locked and
            # the relay still forever: give up, back off, try again.
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(self.waiting)} publishes unconfirmed after {timeout}s")
            self.channel.wait([spec.Basic.Ack, spec.Basic.Nack], timeout=left)
        if self.nacked:
            log.warning("the broker refused some events; they stay pending")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"

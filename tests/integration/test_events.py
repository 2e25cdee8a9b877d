"""Outbox, idempotent handlers, retries and the dead-letter queue, on the real broker
and database. A small probe service consumes the organizations service's events and
emits its own, using the same shared machinery as every real service."""

import json
import uuid

import kombu
import psycopg2
import pytest
from marshmallow import Schema, fields
from prometheus_client import REGISTRY

from services.organizations.service import OrganizationsService
from shared import contracts
from shared.domain.events import Event
from shared.platform import dead_letters
from shared.platform.auth import CallerIdentity
from shared.platform.db import Database
from shared.platform.entrypoints import Rpc
from shared.platform.events import SYSTEM_ACTOR, handles
from shared.platform.migrate import PLATFORM_MIGRATIONS, migrate
from shared.platform.outbox import OutboxRelay
from tests.support import XIHU, Running, eventually, publish_event, rpc, sample_places, token

TOWNSHIP = "330106002000"
POISON = "毒"  # an organization whose name starts so: its event always fails the probe


class ProbeHappened(Schema):
    note = fields.String(required=True)


contracts.event("probe", "probe_happened", data=ProbeHappened, summary="test probe event")


class ProbeService:
    name = "probe"
    db = Database()
    caller = CallerIdentity()
    relay = OutboxRelay()

    @Rpc.decorator
    def emit(self, note, fail=False):
        with self.db.transaction(actor=SYSTEM_ACTOR, operation="emit") as tx:
            tx.execute("INSERT INTO probe_notes (note) VALUES (%s)", (note,))
            tx.emit(Event("probe_happened", {"note": note}))
            if fail:
                raise RuntimeError("rolled back on purpose")

    @handles("organizations", "organization_registered")
    def on_registered(self, tx, event):
        if tx.scalar("SELECT failing FROM probe_behaviour"):
            raise RuntimeError("the probe handler is told to fail")
        if event["data"]["organization"]["name"].startswith(POISON):
            raise RuntimeError("this one event always fails (a poison message)")
        tx.execute("INSERT INTO probe_effects (event_id, organization_id, envelope)"
                   " VALUES (%s, %s, %s)",
                   (event["id"], event["data"]["organization"]["id"], json.dumps(event, default=str)))


PROBE_TABLES = """
CREATE TABLE probe_notes (note text NOT NULL);
CREATE TABLE probe_effects (event_id uuid NOT NULL, organization_id bigint, envelope jsonb);
CREATE TABLE probe_behaviour (failing boolean NOT NULL);
INSERT INTO probe_behaviour VALUES (false);
"""


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    org_url, probe_url = databases.create("org_events"), databases.create("probe")
    migrate("organizations", org_url)
    migrate("probe", probe_url, sources=[PLATFORM_MIGRATIONS])
    sql(probe_url, PROBE_TABLES)
    settings = base_settings.with_overrides(
        database_urls={"organizations": org_url, "probe": probe_url})
    with Running(settings, OrganizationsService, ProbeService) as running:
        running.org_url, running.probe_url = org_url, probe_url
        with rpc(settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU))
        yield running


def sql(url, statement, params=None):
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def scalar(url, statement, params=None):
    return sql(url, statement, params)[0][0]


@pytest.fixture
def organizations(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        yield proxy.organizations


def register(organizations):
    return organizations.register_organization(
        name=f"党支部{uuid.uuid4().hex[:6]}", kind="631", sector="urban_community",
        place_code=TOWNSHIP, full_members=5, founded_on="2024-01-01")


def publish(settings, body, routing_key="organization_registered"):
    publish_event(settings, body, source="organizations", routing_key=routing_key)


@pytest.fixture
def listener(stack):
    """A queue of our own bound to probe.events: what the broker really carried."""
    conn = kombu.Connection(stack.settings.amqp_uri)
    queue = kombu.Queue(f"test-listener-{uuid.uuid4().hex[:8]}",
                        exchange=kombu.Exchange("probe.events", type="topic", durable=True),
                        routing_key="#", exclusive=True)
    channel = conn.channel()
    queue(channel).declare()
    received = []

    def drain(timeout=1.0):
        with kombu.Consumer(channel, queues=[queue],
                            callbacks=[lambda body, message: (received.append(body), message.ack())]):
            try:
                conn.drain_events(timeout=timeout)
                while True:
                    conn.drain_events(timeout=0.2)
            except TimeoutError:
                pass
        return received

    yield drain
    conn.release()


def test_an_event_is_published_exactly_when_its_change_commits(stack, organizations):
    org = register(organizations)
    rows = eventually(lambda: sql(stack.probe_url, "SELECT envelope FROM probe_effects"
                                  " WHERE organization_id = %s", (org["id"],)))
    envelope = rows[0][0]
    assert envelope["type"] == "organization_registered" and envelope["source"] == "organizations"
    assert envelope["schema_version"] == 1 and envelope["occurred_at"] and uuid.UUID(envelope["id"])
    assert envelope["actor"]["subject"] == "tester"
    assert envelope["data"]["organization"]["place_code"] == TOWNSHIP
    eventually(lambda: scalar(stack.org_url, "SELECT count(*) FROM outbox WHERE id = %s",
                              (envelope["id"],)) == 0)  # published: gone from the outbox


def test_a_rolled_back_change_publishes_nothing(stack, listener):
    with rpc(stack.settings, None) as proxy:
        with pytest.raises(Exception, match="rolled back on purpose"):
            proxy.probe.emit(note="never", fail=True)
        proxy.probe.emit(note="committed")
    bodies = listener(timeout=5)
    assert [b["data"]["note"] for b in bodies] == ["committed"]
    assert scalar(stack.probe_url, "SELECT count(*) FROM probe_notes WHERE note = 'never'") == 0
    assert scalar(stack.probe_url, "SELECT count(*) FROM outbox WHERE payload->'data'->>'note'"
                                   " = 'never'") == 0


def duplicates_counted():
    return REGISTRY.get_sample_value("jinwei_events_duplicate_total",
                                     {"service": "probe", "handler": "on_registered"}) or 0


def test_the_same_event_delivered_twice_is_applied_once(stack, organizations):
    org = register(organizations)
    eventually(lambda: sql(stack.probe_url, "SELECT 1 FROM probe_effects WHERE organization_id = %s",
                           (org["id"],)))
    envelope = scalar(stack.probe_url, "SELECT envelope FROM probe_effects"
                      " WHERE organization_id = %s", (org["id"],))  # as it was delivered
    before = duplicates_counted()
    publish(stack.settings, envelope)
    publish(stack.settings, envelope)
    eventually(lambda: duplicates_counted() >= before + 2)
    assert scalar(stack.probe_url, "SELECT count(*) FROM probe_effects WHERE event_id = %s",
                  (envelope["id"],)) == 1
    assert scalar(stack.probe_url, "SELECT count(*) FROM inbox WHERE event_id = %s",
                  (envelope["id"],)) == 1


def test_a_failing_handler_ends_in_the_dead_letter_queue_and_replay_applies_it(stack, organizations):
    assert dead_letters.list_dead_letters(stack.settings, "probe") == []
    sql(stack.probe_url, "UPDATE probe_behaviour SET failing = true")
    try:
        org = register(organizations)
        letters = eventually(lambda: dead_letters.list_dead_letters(stack.settings, "probe"))
    finally:
        sql(stack.probe_url, "UPDATE probe_behaviour SET failing = false")
    assert len(letters) == 1
    letter = letters[0]
    assert letter.attempts == stack.settings.event_max_attempts == 3
    assert letter.handler == "probe.on_registered" and "told to fail" in letter.error
    assert letter.event_type == "organization_registered"
    assert scalar(stack.probe_url, "SELECT count(*) FROM probe_effects WHERE organization_id = %s",
                  (org["id"],)) == 0
    # listing did not consume it
    assert len(dead_letters.list_dead_letters(stack.settings, "probe")) == 1

    assert dead_letters.replay(stack.settings, "probe", {letter.event_id}) == 1
    eventually(lambda: scalar(stack.probe_url, "SELECT count(*) FROM probe_effects"
                                               " WHERE organization_id = %s", (org["id"],)) == 1)
    assert dead_letters.list_dead_letters(stack.settings, "probe") == []


def test_a_poison_message_is_dead_lettered_and_the_messages_behind_it_are_processed(
        stack, organizations):
    amqp_uri = stack.settings.amqp_uri
    assert dead_letters.list_dead_letters(stack.settings, "probe") == []
    poison = organizations.register_organization(
        name=f"{POISON}党支部", kind="631", sector="urban_community", place_code=TOWNSHIP,
        full_members=5, founded_on="2024-01-01")
    behind = [register(organizations)["id"] for _ in range(8)]
    eventually(lambda: scalar(stack.probe_url, "SELECT count(*) FROM probe_effects"
                                               " WHERE organization_id = ANY(%s)", (behind,))
               == len(behind), timeout=15)
    (letter,) = eventually(lambda: dead_letters.list_dead_letters(stack.settings, "probe"),
                           timeout=15)
    assert letter.attempts == stack.settings.event_max_attempts and "poison" in letter.error
    assert scalar(stack.probe_url, "SELECT count(*) FROM probe_effects WHERE organization_id"
                                   " = %s", (poison["id"],)) == 0
    with kombu.Connection(amqp_uri) as conn:  # it would only fail again
        conn.channel().queue_purge("probe.dead-letters")


def test_a_malformed_event_goes_to_the_dead_letter_queue_at_once(stack):
    publish(stack.settings, {"id": str(uuid.uuid4()), "type": "organization_registered"})
    letters = eventually(lambda: dead_letters.list_dead_letters(stack.settings, "probe"))
    assert letters[0].attempts == 1 and "malformed event" in letters[0].error
    assert dead_letters.replay(stack.settings, "probe", {"no-such-id"}) == 0
    # drop it: replaying would only dead-letter it again
    with kombu.Connection(stack.settings.amqp_uri) as conn:
        conn.channel().queue_purge("probe.dead-letters")


def test_replaying_letters_that_fail_again_ends_and_keeps_them(stack, organizations):
    """A replayed event that fails again comes back to the dead-letter queue; replay
    handles what was there when it started, once, and stops."""
    sql(stack.probe_url, "UPDATE probe_behaviour SET failing = true")
    try:
        for _ in range(3):
            register(organizations)
        eventually(lambda: len(dead_letters.list_dead_letters(stack.settings, "probe")) == 3,
                   timeout=15)
        assert dead_letters.replay(stack.settings, "probe") == 3  # returns: it did not loop
        eventually(lambda: len(dead_letters.list_dead_letters(stack.settings, "probe")) == 3,
                   timeout=15)  # failed again, all three back
    finally:
        sql(stack.probe_url, "UPDATE probe_behaviour SET failing = false")
    assert dead_letters.replay(stack.settings, "probe") == 3
    eventually(lambda: dead_letters.list_dead_letters(stack.settings, "probe") == [])


def test_two_relays_on_one_outbox_publish_each_event_once(stack, listener):
    """Replicas relay the same outbox at once (FOR UPDATE SKIP LOCKED)."""
    with Running(stack.settings, ProbeService):  # a second replica, relay and all
        with rpc(stack.settings, None) as proxy:
            notes = [f"replica-{i}" for i in range(60)]
            for note in notes:
                proxy.probe.emit(note=note)
        eventually(lambda: scalar(stack.probe_url, "SELECT count(*) FROM outbox") == 0)
    bodies = listener(timeout=5)
    assert sorted(b["data"]["note"] for b in bodies) == sorted(notes)

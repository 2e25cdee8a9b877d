"""A broker outage loses no event: changes commit while RabbitMQ is down, their events
wait in the outbox and go out, once each, when it is back."""

import uuid

import kombu
import psycopg2
import pytest
from nameko.testing.services import entrypoint_hook
from prometheus_client import REGISTRY

from shared.platform.migrate import PLATFORM_MIGRATIONS, migrate
from tests.integration.test_events import PROBE_TABLES, ProbeService, sql
from tests.support import Running, eventually

pytestmark = [pytest.mark.infra, pytest.mark.timeout(180)]


@pytest.fixture
def stack(private_broker_settings, databases):
    url = databases.create("probe_outage")
    migrate("probe", url, sources=[PLATFORM_MIGRATIONS])
    sql(url, PROBE_TABLES)
    settings = private_broker_settings.with_overrides(database_urls={"probe": url})
    with Running(settings, ProbeService) as running:
        running.url = url
        yield running


def pending(url):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM outbox")
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_changes_commit_while_the_broker_is_down_and_their_events_go_out_after(
        stack, private_rabbit):
    amqp_uri = stack.settings.amqp_uri
    listener = kombu.Queue(f"outage-listener-{uuid.uuid4().hex[:6]}", durable=True,
                           exchange=kombu.Exchange("probe.events", type="topic", durable=True),
                           routing_key="probe_happened")
    with kombu.Connection(amqp_uri) as conn:
        listener(conn.channel()).declare()

    container = stack.container("probe")
    notes = [f"during-outage-{i}" for i in range(20)]
    private_rabbit.stop_app()
    try:
        for note in notes:
            with entrypoint_hook(container, "emit") as emit:  # no broker needed to call it
                emit(note=note)
        assert sql(stack.url, "SELECT count(*) FROM probe_notes")[0][0] == 20
        eventually(lambda: REGISTRY.get_sample_value(
            "jinwei_outbox_pending_events", {"service": "probe"}) == 20, timeout=10)
        assert pending(stack.url) == 20
    finally:
        private_rabbit.start_app()

    eventually(lambda: pending(stack.url) == 0, timeout=60)
    received = []
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(listener.name, no_ack=True)) is not None:
            received.append(message)
    import json

    bodies = [json.loads(m.body) for m in received]
    assert sorted(b["data"]["note"] for b in bodies) == sorted(notes)
    assert len({b["id"] for b in bodies}) == 20  # each event once

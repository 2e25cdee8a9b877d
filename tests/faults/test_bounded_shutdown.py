"""Stopping a service never hangs. The organizations service runs as its own process on
a private RabbitMQ node, its outbox relay busy with pending events, when the broker
stops answering: frozen (SIGSTOP: connections stay open and silent, the worst case —
a close waits for an answer that never comes) or stopped (its port closed). SIGTERM
must end the process within its shutdown bound (JINWEI_SHUTDOWN_TIMEOUT, here 15 s;
50 s by default, inside Kubernetes' 60 s grace)."""

import json
import os
import signal
import time
import uuid

import psycopg2
import pytest

from shared.platform.migrate import migrate
from tests.ops.support import ServiceProcess
from tests.support import free_ports

pytestmark = [pytest.mark.infra, pytest.mark.timeout(240)]

BOUND_S = 15
GRACE_S = 60  # Kubernetes' terminationGracePeriodSeconds (k8s/base)


def pend_events(url: str, count: int) -> None:
    """Committed events for the relay to publish."""
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        for _ in range(count):
            event_id = str(uuid.uuid4())
            cur.execute("INSERT INTO outbox (id, event_type, payload) VALUES (%s, %s, %s)",
                        (event_id, "places_imported", json.dumps({
                            "id": event_id, "type": "places_imported",
                            "source": "organizations", "data": {"places": []}})))
    conn.close()


def pending(url: str) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM outbox")
        count = cur.fetchone()[0]
    conn.close()
    return count


@pytest.mark.parametrize("outage", ["frozen", "stopped"])
def test_sigterm_with_the_relay_busy_and_the_broker_away_ends_within_the_bound(
        outage, private_rabbit, private_broker_settings, databases, token_secret, tmp_path):
    url = databases.create(f"bounded_{outage}")
    migrate("organizations", url)
    service = ServiceProcess("organizations", settings=private_broker_settings,
                             database_url=url, port=free_ports(1)[0],
                             token_secret=token_secret, var_dir=tmp_path,
                             extra_env={"JINWEI_SHUTDOWN_TIMEOUT": str(BOUND_S)})
    service.start()
    beam = private_rabbit.beam_pid()
    try:
        pend_events(url, 50)
        deadline = time.monotonic() + 20
        while pending(url) and time.monotonic() < deadline:  # the relay works
            time.sleep(0.2)
        assert pending(url) == 0
        if outage == "frozen":
            os.kill(beam, signal.SIGSTOP)
        else:
            private_rabbit.stop_app()
        pend_events(url, 500)  # the relay is busy with them, and cannot get through
        time.sleep(3)
        assert service.process.poll() is None
        took = service.terminate(timeout=GRACE_S + 30)
    finally:
        if outage == "frozen":
            os.kill(beam, signal.SIGCONT)
        else:
            private_rabbit.start_app()
        service.kill()
    print(f"\nbroker {outage}: SIGTERM to exit {took:.1f} s (bound {BOUND_S} s, "
          f"grace {GRACE_S} s); exit code {service.process.returncode}")
    assert took < BOUND_S + 5 < GRACE_S, service.log_tail()
    assert pending(url) > 0  # nothing was lost: the events wait in the outbox

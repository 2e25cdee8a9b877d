"""SIGTERM to a service under load (`python -m shared.platform.runner organizations`, as every
deployment runs it): the calls in flight finish and are answered, the process exits
well within its grace period, and nothing is lost — every call either succeeded or
failed with a clear error, a retry with the same request id after a restart succeeds,
and the database holds exactly one organization per request id."""

import signal
import time
import uuid

import eventlet
import psycopg2
import pytest

from shared.errors import ServiceUnavailable
from shared.platform.migrate import migrate
from tests.ops.support import ServiceProcess
from tests.support import XIHU, free_ports, rpc, sample_places, token

pytestmark = pytest.mark.timeout(150)

LOCKED_PLACE = "330106002000"  # 北山街道: held locked so calls there stay in flight
IN_FLIGHT = 6  # of 10 workers: the other 4 keep serving the load
GRACE_S = 60  # k8s terminationGracePeriodSeconds of a service (deploy/generate.py)
CALL_TIMEOUT_S = 6


def other_township() -> str:
    places = sample_places(XIHU)
    return next(p["code"] for p in places
                if p["code"].endswith("000") and p["code"][6:9] != "000"
                and p["code"] != LOCKED_PLACE)


def organization(request_id: str, place: str) -> dict:
    return {"request_id": request_id, "name": f"支部{request_id[:8]}", "kind": "631",
            "sector": "urban_community", "place_code": place, "full_members": 5,
            "founded_on": "2024-01-01"}


def timed_out(exc) -> bool:
    return isinstance(exc, ServiceUnavailable) and "did not answer within" in exc.message


def waiting_on_locks(url: str) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'")
        count = cur.fetchone()[0]
    conn.close()
    return count


def test_sigterm_under_load_finishes_calls_in_flight_and_loses_nothing(
        databases, base_settings, token_secret, tmp_path):
    url = databases.create("ops_sigterm_organizations")
    migrate("organizations", url)
    port = free_ports(1)[0]
    service = ServiceProcess("organizations", settings=base_settings,
                             database_url=url, port=port, token_secret=token_secret,
                             var_dir=tmp_path)
    callers = token(token_secret)
    settings = base_settings
    service.start()
    try:
        with rpc(settings, callers) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU))
        busy_place = other_township()

        # Calls that will be in flight at SIGTERM: their inserts wait on a lock we hold.
        lock = psycopg2.connect(url)
        lock_cursor = lock.cursor()
        lock_cursor.execute("SELECT code FROM places WHERE code = %s FOR UPDATE",
                            (LOCKED_PLACE,))
        in_flight: dict[str, object] = {}

        def held_call(request_id):
            try:
                with rpc(settings, callers, timeout=40) as proxy:
                    in_flight[request_id] = proxy.organizations.register_organization(
                        **organization(request_id, LOCKED_PLACE))["id"]
            except Exception as exc:  # noqa: BLE001 - asserted below
                in_flight[request_id] = exc

        held = [str(uuid.uuid4()) for _ in range(IN_FLIGHT)]
        held_threads = [eventlet.spawn(held_call, rid) for rid in held]

        # ... and a steady load beside them.
        outcomes: dict[str, object] = {}
        running = [True]

        def load():
            with rpc(settings, callers, timeout=CALL_TIMEOUT_S) as proxy:
                while running[0]:
                    request_id = str(uuid.uuid4())
                    try:
                        outcomes[request_id] = proxy.organizations.register_organization(
                            **organization(request_id, busy_place))["id"]
                    except Exception as exc:  # noqa: BLE001 - asserted below
                        outcomes[request_id] = exc
                        if not timed_out(exc):
                            time.sleep(0.05)

        loaders = [eventlet.spawn(load) for _ in range(3)]
        deadline = time.monotonic() + 20
        while waiting_on_locks(url) < IN_FLIGHT or len(outcomes) < 20:
            assert time.monotonic() < deadline, "the calls did not get in flight"
            eventlet.sleep(0.1)

        sigterm_at = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        eventlet.sleep(1.5)
        assert service.process.poll() is None, "exited with calls in flight"
        assert not any(rid in in_flight for rid in held), "answered while still locked"
        lock.rollback()  # the calls in flight go on and finish
        lock.close()
        while service.process.poll() is None:
            assert time.monotonic() - sigterm_at < GRACE_S, "not stopped within its grace"
            eventlet.sleep(0.05)
        exit_s = time.monotonic() - sigterm_at
        exit_code = service.process.returncode
        for thread in held_threads:
            thread.wait()
        running[0] = False
        for thread in loaders:
            thread.wait()
    finally:
        service.kill()

    # Calls in flight at SIGTERM were finished and answered.
    assert all(isinstance(in_flight[rid], int) for rid in held), in_flight
    successes = {rid: v for rid, v in outcomes.items() if isinstance(v, int)}
    failures = {rid: v for rid, v in outcomes.items() if not isinstance(v, int)}
    # Failing calls failed clearly: the caller's timeout while no replica consumed.
    assert all(timed_out(v) for v in failures.values()), failures
    assert exit_code == 0, service.log_tail()

    # After a restart, every failed call retried with its request id succeeds once.
    restarted = ServiceProcess("organizations", settings=base_settings,
                               database_url=url, port=port, token_secret=token_secret,
                               var_dir=tmp_path)
    restarted.start()
    try:
        retried = {}
        with rpc(settings, callers, timeout=15) as proxy:
            for rid in failures:
                retried[rid] = proxy.organizations.register_organization(
                    **organization(rid, busy_place))["id"]
            again = proxy.organizations.register_organization(
                **organization(held[0], LOCKED_PLACE))["id"]
        idle_exit_s = restarted.terminate(timeout=GRACE_S)
    finally:
        restarted.kill()
    assert again == in_flight[held[0]], "a repeat returns the first result"

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM organizations")
        stored = {row[0] for row in cur.fetchall()}
        cur.execute("SELECT count(*) FROM request_log WHERE operation = 'register_organization'")
        logged = cur.fetchone()[0]
    conn.close()
    answered = {*in_flight.values(), *successes.values(), *retried.values()}
    request_ids = {*held, *outcomes}
    assert stored == answered, "every stored organization was answered to its caller"
    assert len(stored) == len(request_ids) == logged, "one per request id: none lost, none twice"
    print(f"\nSIGTERM under load: {len(held)} calls in flight finished; "
          f"{len(successes)} load calls answered, {len(failures)} timed out while no replica "
          f"consumed and succeeded on retry; exit {exit_s:.2f} s after SIGTERM "
          f"(1.5 s of it waiting for the held calls; grace {GRACE_S} s); "
          f"idle exit {idle_exit_s:.2f} s")

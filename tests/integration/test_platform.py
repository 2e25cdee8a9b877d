"""The shared platform on the real database and broker: the pool and psycogreen, broken
connections, metrics and health, the contract document."""

import time

import eventlet
import psycopg2
import pytest

from services.organizations.service import OrganizationsService
from shared import contracts
from shared.contracts import document
from shared.errors import ValidationError
from shared.platform import config
from shared.platform.db import ConnectionPool, StaleConnection, retry_once
from shared.platform.entrypoints import Rpc
from shared.platform.migrate import migrate
from shared.platform.monitoring import Monitoring
from tests.support import XIHU, Running, organizations_service, rpc, sample_places, token


@pytest.fixture(scope="module")
def stack(databases, base_settings):
    with organizations_service(databases, base_settings, "org_platform") as running:
        yield running


def test_concurrent_slow_queries_overlap(stack):
    """psycopg2 yields to eventlet's hub while it waits (psycogreen): five half-second
    queries on five green threads are all in flight at once."""
    pool = ConnectionPool(stack.url, size=5, name="overlap-test")
    # Counted, not timed: on a loaded machine a time bound says more about the load than
    # about psycopg2. A query that blocked the hub would keep the others from starting.
    running, most = 0, 0
    try:
        def slow():
            nonlocal running, most
            conn, _ = pool.acquire()
            try:
                running += 1
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_sleep(0.5), 1")
                most = max(most, running)
                running -= 1
                conn.rollback()
            finally:
                pool.release(conn)

        threads = [eventlet.spawn(slow) for _ in range(5)]
        for thread in threads:
            thread.wait()
    finally:
        pool.close()
    assert most == 5, f"at most {most} of 5 queries were in flight at once: they did not overlap"


def test_a_pool_waits_for_a_free_connection_instead_of_failing(stack):
    pool = ConnectionPool(stack.url, size=1, name="wait-test", acquire_timeout_s=5)
    try:
        first, _ = pool.acquire()
        eventlet.spawn_after(0.2, pool.release, first)
        second, reused = pool.acquire()
        assert reused and second is first and pool.waits == 1
        pool.release(second)
    finally:
        pool.close()


def test_connections_killed_under_the_pool_are_replaced(stack, base_settings):
    """What a database restart does to idle pooled connections: the next unit of work
    finds its connection dead before doing anything, and runs again on a fresh one."""
    pool = ConnectionPool(stack.url, size=2, name="stale-test")
    try:
        conn, _ = pool.acquire()
        pid = conn.get_backend_pid()
        pool.release(conn)
        admin = psycopg2.connect(base_settings.postgres_admin_url)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
        admin.close()
        time.sleep(0.2)
        attempts = []

        def unit_of_work():
            conn, reused = pool.acquire()
            attempts.append(reused)
            broken = False
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    return cur.fetchone()[0]
            except psycopg2.OperationalError:
                broken = True
                raise StaleConnection("stale") from None
            finally:
                pool.release(conn, broken=broken)

        assert retry_once(unit_of_work) == 1
        assert attempts == [True, False]
    finally:
        pool.close()


def test_the_service_answers_after_its_connections_are_killed(stack, base_settings, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        proxy.organizations.import_places(places=sample_places(XIHU)[:5])
        admin = psycopg2.connect(base_settings.postgres_admin_url)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = %s AND application_name = 'organizations'",
                        (stack.url.rsplit("/", 1)[1],))
            assert cur.fetchone()[0] >= 1
        admin.close()
        assert proxy.organizations.get_place(place_code="330000000000")["name"] == "浙江省"


def test_metrics_show_the_named_series(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        proxy.organizations.get_place(place_code="330000000000")
        with pytest.raises(ValidationError):
            proxy.organizations.get_place(place_code="bad")
    status, text = stack.http_get("organizations", "/metrics")
    assert status == 200
    for series in (
        'jinwei_entrypoint_calls_total{entrypoint="get_place",kind="rpc",outcome="success",'
        'service="organizations"}',
        'jinwei_entrypoint_calls_total{entrypoint="get_place",kind="rpc",'
        'outcome="validation_error",service="organizations"}',
        'jinwei_entrypoint_duration_seconds_bucket{entrypoint="get_place"',
        'jinwei_outbox_pending_events{service="organizations"}',
        'jinwei_outbox_oldest_pending_age_seconds{service="organizations"}',
        'jinwei_dead_letters{service="organizations"}',
        'jinwei_db_pool_size{service="organizations"}',
        'jinwei_db_pool_connections{service="organizations",state="in_use"}',
        "process_resident_memory_bytes",
    ):
        assert series in text, series


def test_health_live_and_ready(stack):
    assert stack.http_get("organizations", "/health/live")[0] == 200
    status, body = stack.health("organizations")
    assert status == 200 and body["checks"] == {"broker": "ok", "database": "ok",
                                                "migrations": "ok"}
    assert stack.http_get("organizations", "/nope")[0] == 404


def test_health_is_not_ready_when_the_database_is_missing(databases, base_settings):
    settings = base_settings.with_overrides(database_urls={
        "organizations": databases.base + "jinwei_no_such_database"})
    with Running(settings, OrganizationsService) as running:
        status, body = running.health("organizations")
    assert status == 503 and body["checks"]["database"].startswith("error")


def test_health_is_not_ready_while_migrations_are_pending(databases, base_settings):
    url = databases.create("org_unmigrated")
    settings = base_settings.with_overrides(database_urls={"organizations": url})
    with Running(settings, OrganizationsService) as running:
        status, body = running.health("organizations")
        assert status == 503 and body["checks"]["migrations"].startswith("pending")
        migrate("organizations", url)
        assert running.health("organizations")[0] == 200


@pytest.mark.parametrize("service", config.SERVICES)
def test_every_rpc_method_has_a_contract_and_every_event_a_schema(service):
    from nameko.rpc import Rpc as NamekoRpc

    from shared.platform.containers import service_class

    cls = service_class(service)
    rpc_methods, handled = set(), set()
    for name in dir(cls):
        for entrypoint in getattr(getattr(cls, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, NamekoRpc):
                rpc_methods.add(name)
            else:
                handled.add((entrypoint.source_service, entrypoint.event_type))
    contracts.load_all()
    assert rpc_methods == {m for (s, m) in contracts.RPC if s == service}
    assert handled <= set(contracts.EVENTS), "a handler listens for an event without a schema"


def test_the_contract_document_is_current():
    with open(document.DOC_PATH, encoding="utf-8") as fh:
        assert fh.read() == document.render(), "docs/contract.md is stale: make contract"


def test_migrations_are_safe_when_several_replicas_start_at_once(databases):
    url = databases.create("org_concurrent_migrate")
    results = []

    def replica():
        results.append(migrate("organizations", url))

    threads = [eventlet.spawn(replica) for _ in range(4)]
    for thread in threads:
        thread.wait()
    applied = [ids for ids in results if ids]
    assert len(applied) == 1, results  # one replica applied everything, the others nothing
    assert migrate("organizations", url) == []


class SlowService:
    """A service whose only worker is kept busy, to show health does not queue behind it."""

    name = "slow"
    monitoring = Monitoring()

    @Rpc.decorator
    def nap(self, seconds):
        eventlet.sleep(seconds)


def test_liveness_answers_while_every_worker_is_busy(base_settings):
    settings = base_settings.with_overrides(max_workers=1, http_ports={"slow": 0})
    with Running(settings, SlowService) as running:
        with rpc(settings, None, timeout=10) as proxy:
            calls = [proxy.slow.nap.call_async(seconds=1) for _ in range(3)]
            time.sleep(0.2)
            started = time.monotonic()
            status, _ = running.http_get("slow", "/health/live")
            # The three 1 s calls queue behind the one worker for 3 s: an answer well
            # inside that did not wait for them (generous: a loaded machine is slow).
            waited = time.monotonic() - started
            assert status == 200 and waited < 2.0, f"liveness waited {waited:.1f} s for workers"
            for call in calls:
                call.result()

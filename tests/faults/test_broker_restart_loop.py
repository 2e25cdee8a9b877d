"""The broker restarts while the campaign loop runs under load: organizations and
evaluation as their own processes (as deployed), grades being set for 40 organizations
from several callers, RabbitMQ stopped and started in the middle. Afterwards, counted
in the databases: every grade once, and every average or poor grade opened exactly one
rectification case — no event lost, no effect applied twice.

Callers retry a failed call with the same request id (what a client of an at-least-once
system does); a service whose container died while the broker was away (nameko cannot
publish a reply) is started again, as supervisord or Kubernetes would."""

import random
import threading
import time

import eventlet
import pytest

from shared.errors import ServiceUnavailable
from shared.platform.migrate import migrate
from shared.platform.rpc_client import RpcClient
from tests.ops.support import ServiceProcess
from tests.support import SUICHANG, eventually, free_ports, sample_places, sql_value, token

pytestmark = [pytest.mark.infra, pytest.mark.timeout(300)]

ORGANIZATIONS = 40
CALLERS = 4




class Supervised:
    """The services as child processes, started again whenever one has exited."""

    def __init__(self, settings, urls, token_secret, var_dir):
        self.processes = {name: ServiceProcess(name, settings=settings, database_url=url,
                                               port=free_ports(1)[0], token_secret=token_secret,
                                               var_dir=var_dir)
                          for name, url in urls.items()}
        self.restarts = 0
        self._stop = threading.Event()

    def start(self):
        for process in self.processes.values():
            process.start(ready_timeout=60)
        eventlet.spawn(self._watch)
        return self

    def _watch(self):
        while not self._stop.is_set():
            for process in self.processes.values():
                if process.process.poll() is not None:
                    self.restarts += 1
                    try:
                        process.start(ready_timeout=60)
                    except RuntimeError:
                        pass  # the broker is still away: the next round tries again
            eventlet.sleep(0.5)

    def stop(self):
        self._stop.set()
        for process in self.processes.values():
            process.kill()


def call_until_done(client, secret, service, method, params, deadline, retries: list):
    """The same call, same request id, until it succeeds or the deadline passes."""
    while True:
        try:
            return client.call(service, method, params, token=token(secret))
        except (ServiceUnavailable, OSError):
            retries.append(method)
            if time.monotonic() > deadline:
                raise
            eventlet.sleep(0.5)


def test_a_broker_restart_under_load_loses_no_event_and_applies_none_twice(
        private_rabbit, private_broker_settings, databases, token_secret, tmp_path):
    urls = {name: databases.create(f"restart_{name}") for name in ("organizations", "evaluation")}
    for name, url in urls.items():
        migrate(name, url)
    settings = private_broker_settings
    services = Supervised(settings, urls, token_secret, tmp_path).start()
    client = RpcClient(settings, 10)
    try:
        client.call("organizations", "import_places", {"places": sample_places(SUICHANG)},
                    token=token(token_secret))
        townships = [p["code"] for p in client.call(
            "organizations", "list_children", {"place_code": SUICHANG}, token=token(token_secret))["items"]]
        orgs = [client.call("organizations", "register_organization", {
            "name": f"党支部{n}", "kind": "631", "sector": "rural_village",
            "place_code": townships[n % len(townships)], "full_members": 5,
            "founded_on": "2020-05-01"}, token=token(token_secret))["id"]
            for n in range(ORGANIZATIONS)]
        eventually(lambda: sql_value(urls["evaluation"], "SELECT count(*) FROM organizations")
                   == ORGANIZATIONS, timeout=30)
        round_id = client.call("evaluation", "open_round", {
            "place_code": SUICHANG, "year": 2026, "name": "重启测试"},
            token=token(token_secret))["id"]

        rng = random.Random(7)
        retries: list = []
        grades = {org: rng.choice(["good", "fairly_good", "average", "poor"]) for org in orgs}
        deadline = time.monotonic() + 150

        def caller(share):
            own = RpcClient(settings, 5)
            try:
                for org in share:
                    call_until_done(own, token_secret, "evaluation", "set_grade", {
                        "round_id": round_id, "organization_id": org, "grade": grades[org],
                        "reason": "重启测试", "request_id": f"restart-{round_id}-{org}"},
                        deadline, retries)
                    eventlet.sleep(0.4)  # the loop outlasts the stop_app below
            finally:
                own.close()

        workers = [eventlet.spawn(caller, orgs[i::CALLERS]) for i in range(CALLERS)]
        eventually(lambda: sql_value(urls["evaluation"], "SELECT count(*) FROM gradings")
                   >= ORGANIZATIONS // 4, timeout=30)  # the loop is running
        private_rabbit.stop_app()
        eventlet.sleep(3)
        private_rabbit.start_app()
        for worker in workers:
            worker.wait()

        def settled():
            return (sql_value(urls["evaluation"], "SELECT count(*) FROM outbox") == 0
                    and sql_value(urls["organizations"], "SELECT count(*) FROM outbox") == 0
                    and sql_value(urls["organizations"], "SELECT count(*) FROM"
                              " rectification_cases") == sum(
                        g in ("average", "poor") for g in grades.values()))

        eventually(settled, timeout=90, interval=0.5)
        assert retries, "the outage hit no call: it did not happen under load"
        # Once each: one case per organization, at most; one grade per organization.
        assert sql_value(urls["organizations"], "SELECT count(*) FROM (SELECT organization_id"
                     " FROM rectification_cases GROUP BY 1 HAVING count(*) > 1) d") == 0
        assert sql_value(urls["evaluation"], "SELECT count(DISTINCT organization_id) FROM gradings"
                     " WHERE round_id = %s", (round_id,)) == ORGANIZATIONS
        print(f"\nbroker restarted mid-loop: {len(retries)} calls retried, services "
              f"restarted {services.restarts} times; {ORGANIZATIONS} grades, every case once")
    finally:
        client.close()
        services.stop()

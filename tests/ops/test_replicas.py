"""Two replicas of a service on one machine (two `python -m shared.platform.runner organizations`
processes on one vhost and one database) compete for its queue `rpc-organizations`:
both do work, and between them every call is answered once. Scaling out is adding
replicas (compose --scale, KEDA, the HPA)."""

import os
import subprocess
import sys
import time
import uuid

import eventlet
import kombu
import psycopg2
import pytest

from shared.platform.migrate import migrate
from tests.ops.support import REPO, ServiceProcess, samples
from tests.support import XIHU, free_ports, rpc, sample_places, token

pytestmark = pytest.mark.timeout(120)

TOWNSHIP = "330106002000"
CALLS = 60


def test_two_replicas_share_the_queue_and_both_work(databases, base_settings, token_secret,
                                                    tmp_path):
    url = databases.create("ops_replicas_organizations")
    migrate("organizations", url)
    replicas = [ServiceProcess("organizations", settings=base_settings,
                               database_url=url, port=port, token_secret=token_secret,
                               var_dir=tmp_path)
                for port in free_ports(2)]
    try:
        for replica in replicas:
            replica.start()
        def consumers() -> int:
            with kombu.Connection(base_settings.amqp_uri) as conn:
                return conn.default_channel.queue_declare("rpc-organizations", passive=True)[2]

        # both replicas, and nobody else (an earlier test's service may still be leaving)
        deadline = time.monotonic() + 15
        while consumers() != 2:
            assert time.monotonic() < deadline, f"{consumers()} consumers, not 2"
            time.sleep(0.2)

        callers = token(token_secret)
        with rpc(base_settings, callers) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU))
        answered = []

        def caller(count):
            with rpc(base_settings, callers) as proxy:
                for _ in range(count):
                    request_id = str(uuid.uuid4())
                    org = proxy.organizations.register_organization(
                        request_id=request_id, name=f"支部{request_id[:8]}", kind="631",
                        sector="urban_community", place_code=TOWNSHIP, full_members=5,
                        founded_on="2024-01-01")
                    answered.append(org["id"])

        threads = [eventlet.spawn(caller, CALLS // 6) for _ in range(6)]
        for thread in threads:
            thread.wait()

        served = [samples(r.metrics(), "jinwei_entrypoint_calls_total",
                          entrypoint="register_organization", outcome="success")
                  for r in replicas]
        pids = [r.process.pid for r in replicas]
        # the image's HEALTHCHECK script answers for a live replica
        env = {**os.environ, "ORGANIZATIONS_HTTP_PORT": str(replicas[0].port),
               "JINWEI_VAR_DIR": str(tmp_path)}
        health = subprocess.run([sys.executable, "deploy/docker/healthcheck.py", "organizations"],
                                cwd=REPO, env=env, capture_output=True, timeout=30)
        exits = [r.terminate(timeout=60) for r in replicas]
    finally:
        for replica in replicas:
            replica.kill()

    print(f"\ntwo replicas (pids {pids[0]}, {pids[1]}): {served[0]:.0f} and {served[1]:.0f} of "
          f"{CALLS} calls; exits after SIGTERM {exits[0]:.2f} s, {exits[1]:.2f} s")
    logs = "\n".join(r.log_tail(1500) for r in replicas)
    assert all(count > 0 for count in served), f"both replicas did work\n{logs}"
    assert sum(served) == CALLS == len(answered) == len(set(answered)), (served, logs)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM organizations")
        assert cur.fetchone()[0] == CALLS
    conn.close()
    assert health.returncode == 0, health.stderr

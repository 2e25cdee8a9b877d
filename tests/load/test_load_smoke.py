"""A load smoke: locust (headless) against the gateway under gunicorn, in front of the
organizations service on the real broker and database, for 12 s: not one request failed
(every response 2xx). How many it serves is a figure of the machine, measured by
bench/gateway_bench.py, not asserted here; the count is printed."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import SUICHANG, Gateway, rpc, sample_places, services_running, token

pytestmark = pytest.mark.timeout(180)
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def test_requests_under_load_without_an_error(databases, base_settings, token_secret,
                                              tmp_path):
    with services_running(databases, base_settings, "load", "organizations") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG))
            org = proxy.organizations.register_organization(
                name="负载测试党支部", kind="631", sector="rural_village", place_code=SUICHANG,
                full_members=5, founded_on="2020-05-01")
        with Gateway(running.settings, tmp_path, rpc_timeout=10) as gateway:
            env = {**os.environ, "JINWEI_TOKEN": token(token_secret),
                   "JINWEI_COUNTY": SUICHANG, "JINWEI_ORGANIZATION": str(org["id"])}
            result = subprocess.run(
                [str(Path(sys.executable).with_name("locust")), "-f", str(LOCUSTFILE),
                 "--headless", "--users", "10", "--spawn-rate", "10", "--run-time", "12s",
                 "--host", gateway.url, "--csv", str(tmp_path / "load"), "--only-summary",
                 "--stop-timeout", "5"],
                env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                stdin=subprocess.DEVNULL)
    with open(tmp_path / "load_stats.csv", newline="") as fh:
        total = next(row for row in csv.DictReader(fh) if row["Name"] == "Aggregated")
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    print(f"\nlocust: {requests} requests, {failures} failures, "
          f"{float(total['Requests/s']):.0f}/s, p99 {total['99%']} ms")
    assert failures == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert requests > 0, result.stderr[-3000:]  # locust ran and reached the gateway

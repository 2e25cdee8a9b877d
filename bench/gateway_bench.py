"""The HTTP gateway under gunicorn beside bare nameko echo RPC, in the same run
(`make bench`), and a 10 000-row spreadsheet import through it.

Processes as in production: the organizations service (`python -m shared.platform.runner`), the
bare echo service, and the gateway (`python -m services.gateway`: gunicorn, gthread).
One client process drives N concurrent callers (threads): HTTP callers each keep one
keep-alive connection; echo callers each keep one long-lived nameko ClusterRpcProxy,
as a bare nameko client would. Paths take
turns round after round. The bench gets its own vhost and database, removed after.

Prints a table and writes bench/out/gateway.json.
"""

import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from common import BenchBroker, percentile, wait_ready
from nameko.standalone.rpc import ClusterRpcProxy

from services.gateway import spreadsheets
from shared import contracts
from shared.platform import auth, config
from shared.platform.containers import service_class
from shared.platform.migrate import migrate
from shared.platform.rpc_client import RpcClient
from tools.launcher import provision

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
COUNTY = "331123000000"  # 遂昌县: the sample has its townships and villages




def drive(make_call, callers, seconds, warmup):
    """`make_call()` gives each thread its call; latencies of the measured window."""
    latencies, lock = [], threading.Lock()
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    def loop():
        call = make_call()
        mine = []
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            call()
            t1 = time.monotonic()
            if t0 >= measure_from:
                mine.append(t1 - t0)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies




def http_json(port, method, path, token, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12, help="measured seconds per row")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--callers", default="10")
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the import")
    args = parser.parse_args(argv)

    base = config.load()
    run_id = f"gwbench{os.getpid()}"
    pg = urlsplit(base.postgres_admin_url)
    db_url = (f"postgresql://{run_id}:{secrets.token_hex(8)}@{pg.hostname}:{pg.port or 5432}"
              f"/{run_id}_organizations")
    secret = secrets.token_urlsafe(48)
    service_port, gateway_port = 18198, 18180
    OUT.mkdir(parents=True, exist_ok=True)
    broker = BenchBroker(run_id, [service_class("organizations")], gateway=True).__enter__()
    provision.ensure_database(base.postgres_admin_url, db_url)
    processes, results, imported = [], [], {}
    try:
        migrate("organizations", db_url)
        env = {**os.environ, "ORGANIZATIONS_DATABASE_URL": db_url,
               "JINWEI_TOKEN_SECRET": secret, "ORGANIZATIONS_HTTP_PORT": str(service_port),
               "GATEWAY_HTTP_PORT": str(gateway_port), "PYTHONWARNINGS": "ignore",
               "JINWEI_VAR_DIR": str(OUT / "gateway-var")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        log = open(OUT / "gateway-services.log", "w")  # noqa: SIM115 - closed at exit
        for argv_, own in (
                ([sys.executable, "-m", "shared.platform.runner", "organizations"],
                 broker.env("organizations")),
                ([sys.executable, str(ROOT / "bench" / "echo_service.py"), broker.admin_uri], {}),
                ([sys.executable, "-m", "services.gateway"], broker.env("gateway"))):
            processes.append(subprocess.Popen(argv_, env={**env, **own}, cwd=ROOT, stdout=log,
                                              stderr=log))
        wait_ready(service_port)
        wait_ready(gateway_port)
        token = auth.issue_token(secret, subject="bench", department="bench",
                                 place_code="330000000000", roles=list(auth.ROLES),
                                 system="bench", ttl_seconds=3600)
        nameko_config = broker.bare_config()
        setup = RpcClient(broker.settings, 30)
        places = [row for row in _sample(COUNTY)]
        setup.call("organizations", "import_places", {"places": places}, token=token)
        seed = setup.call("organizations", "register_organization", {
            "name": "基准党支部", "kind": "631", "sector": "rural_village",
            "place_code": COUNTY, "full_members": 5, "founded_on": "2024-01-01"}, token=token)
        path = f"/v1/organizations/get_organization?organization_id={seed['id']}"
        headers = {"Authorization": f"Bearer {token}"}

        def echo_call():  # bare nameko: its own standalone proxy, one per thread
            proxy = ClusterRpcProxy(nameko_config, context_data={"auth_token": token},
                                    timeout=30).start()
            return lambda: proxy.echo.echo(value={"organization_id": 1})

        def gateway_call():
            conn = http.client.HTTPConnection("127.0.0.1", gateway_port, timeout=30)

            def call():
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise SystemExit(f"gateway answered {response.status}")
            return call

        paths = [("echo (bare nameko RPC)", echo_call), ("GET get_organization", gateway_call)]
        for callers in [int(c) for c in args.callers.split(",")]:
            measured = {name: [] for name, _ in paths}
            for _ in range(args.rounds):
                for name, make_call in paths:
                    measured[name] += drive(make_call, callers, args.seconds / args.rounds,
                                            args.warmup)
            for name, _ in paths:
                latencies = measured[name]
                results.append({"path": name, "callers": callers, "calls": len(latencies),
                                "calls_per_s": len(latencies) / args.seconds,
                                "p50_ms": 1000 * statistics.median(latencies),
                                "p99_ms": 1000 * percentile(latencies, 0.99)})
        contracts.load_all()
        if args.rows and ("organizations", "start_import") in contracts.RPC:
            imported = bench_import(gateway_port, token, setup, args.rows)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.__exit__(None, None, None)
        provision.drop_database(base.postgres_admin_url, db_url, drop_role=True)

    echo_rate = {r["callers"]: r["calls_per_s"] for r in results if r["path"].startswith("echo")}
    print(f"\nGateway benchmark: {args.seconds:.0f} s measured per row in {args.rounds} turns, "
          f"{os.cpu_count()} cores; gunicorn gthread, "
          f"{os.environ.get('JINWEI_GATEWAY_WORKERS', 2)} workers × "
          f"{os.environ.get('JINWEI_GATEWAY_THREADS', 8)} threads\n")
    print(f"{'path':<26}{'callers':>8}{'calls/s':>10}{'vs echo':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for r in results:
        r["vs_echo"] = r["calls_per_s"] / echo_rate[r["callers"]]
        print(f"{r['path']:<26}{r['callers']:>8}{r['calls_per_s']:>10.0f}{r['vs_echo']:>8.0%}"
              f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}")
    if imported:
        print(f"\nImport of {imported['rows']} organizations from .xlsx through the gateway: "
              f"parse+upload {imported['upload_s']:.1f} s; dry run {imported['dry_run_s']:.1f} s; "
              f"real import {imported['import_s']:.1f} s "
              f"({imported['rows'] / imported['import_s']:.0f} rows/s); total "
              f"{imported['total_s']:.1f} s; progress seen {imported['progress_seen']} times")
    (OUT / "gateway.json").write_text(json.dumps({"rpc": results, "import": imported},
                                                 indent=2, ensure_ascii=False))


def _sample(county):
    from shared.national import regions

    rows = regions.read_places_csv(config.REPO_ROOT / "deploy" / "sample" / "places-zhejiang.csv")
    wanted = set(regions.ancestors(county)) | {county}
    return [{"code": r.code, "name": r.name} for r in rows
            if r.code in wanted or regions.in_subtree(r.code, county)]


def bench_import(port, token, client, rows):
    """A workbook of `rows` organizations over the county's villages: dry run, then real."""
    villages = [p["code"] for p in _sample(COUNTY) if not p["code"].endswith("000")]
    values = [{"name": f"第{n}党支部", "kind": "631", "sector": "rural_village",
               "place_code": villages[n % len(villages)], "full_members": 3 + n % 4,
               "founded_on": "2019-07-01"} for n in range(rows)]
    workbook = spreadsheets.write_rows("organizations", values)
    figures = {"rows": rows, "progress_seen": 0}
    started = time.monotonic()
    for dry_run in (True, False):
        t0 = time.monotonic()
        status, job = http_json(port, "POST", f"/v1/imports/organizations?dry_run={str(dry_run).lower()}",
                                token, body=workbook,
                                headers={"Content-Type": "application/octet-stream"})
        if status != 202:
            raise SystemExit(f"import answered {status}: {job}")
        if dry_run:
            figures["upload_s"] = time.monotonic() - t0
        while job["status"] == "running":
            time.sleep(0.2)
            job = http_json(port, "GET", f"/v1/imports/organizations/{job['id']}", token)[1]
            if 0 < job["processed"] < job["total"]:
                figures["progress_seen"] += 1
        expected = "valid" if dry_run else "applied"
        if job["status"] != expected:
            raise SystemExit(f"import ended {job['status']}: {job['errors'][:5]}")
        figures["dry_run_s" if dry_run else "import_s"] = time.monotonic() - t0
    figures["total_s"] = time.monotonic() - started
    return figures


if __name__ == "__main__":
    main()

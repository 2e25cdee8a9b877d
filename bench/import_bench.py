"""A bulk import job of 10 000 organizations, dry run and real (shared/platform/imports.py).

The organizations service runs as its own process, as in production (`python -m
shared.platform.runner organizations`), on a vhost and database of the bench's own. The places
are the shipped sample's 遂昌县 (20 townships, 322 villages); the rows are organizations
spread over them, every row valid. For each mode the clock runs from the start_import
call to the get_import that shows the job ended (polled every 50 ms), on a fresh
file each round (a real run registers its rows); the service's CPU over the same window
comes from /proc/<pid>/stat. `--profile` records py-spy raw stacks of the service into
bench/out/ during the first real run.

Prints rows/s per mode and writes bench/out/imports.json.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from shared.platform.containers import service_class  # noqa: E402
from shared.platform.rpc_client import rpc_proxy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this tree's code, whatever the venv's editable install points at

from common import BenchBroker, wait_ready  # noqa: E402

from shared.national import regions  # noqa: E402
from shared.platform import auth, config  # noqa: E402
from shared.platform.migrate import migrate  # noqa: E402
from tools.launcher import provision  # noqa: E402

OUT = ROOT / "bench" / "out"
SAMPLE = ROOT / "deploy" / "sample" / "places-zhejiang.csv"
COUNTY = "331123000000"  # 遂昌县
PORT = 18211


def county_places():
    rows = regions.read_places_csv(SAMPLE)
    wanted = {*regions.ancestors(COUNTY), COUNTY}
    return [{"code": r.code, "name": r.name} for r in rows
            if r.code in wanted or regions.in_subtree(r.code, COUNTY)]


def organization_rows(places, n, tag):
    spots = [p["code"] for p in places if regions.level_of(p["code"]) in ("township", "village")]
    rows = []
    for i in range(n):
        place = spots[i % len(spots)]
        village = regions.level_of(place) == "village"
        rows.append({"row": i + 2, "values": {
            "name": f"{tag}第{i}党支部", "kind": "631",
            "sector": "rural_village" if village else "government_agency", "place_code": place,
            "full_members": 3 + i % 4, "founded_on": "2021-07-01"}})
    return rows




def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_import(proxy, pid, rows, dry_run):
    """Seconds from start_import to the job's end; the reply's own seconds; CPU; the job."""
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    job = proxy.organizations.start_import(kind="organizations", rows=rows, dry_run=dry_run)
    replied = time.monotonic() - t0
    while job["status"] == "running":
        time.sleep(0.05)
        job = proxy.organizations.get_import(job_id=job["id"])
    return time.monotonic() - t0, replied, cpu_seconds(pid) - cpu0, job


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="py-spy the first real run")
    args = parser.parse_args(argv)

    base = config.load()
    run_id = f"impbench{os.getpid()}"
    pg = urlsplit(base.postgres_admin_url)
    url = (f"postgresql://{run_id}:{secrets.token_hex(8)}@{pg.hostname}:{pg.port or 5432}"
           f"/{run_id}_organizations")
    secret = secrets.token_urlsafe(48)
    broker = BenchBroker(run_id, [service_class("organizations")]).__enter__()
    provision.ensure_database(base.postgres_admin_url, url)
    process = None
    results = {"dry_run": [], "real": []}
    try:
        migrate("organizations", url)
        env = {**os.environ, **broker.env("organizations"), "JINWEI_TOKEN_SECRET": secret,
               "PYTHONWARNINGS": "ignore", "ORGANIZATIONS_DATABASE_URL": url,
               "ORGANIZATIONS_HTTP_PORT": str(PORT)}
        log = open(OUT / "imports-service.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([sys.executable, "-m", "shared.platform.runner", "organizations"],
                                   env=env, cwd=ROOT, stdout=log, stderr=log)
        wait_ready(PORT)
        token = auth.issue_token(secret, subject="bench", department="bench",
                                 place_code="330000000000", roles=list(auth.ROLES),
                                 system="bench")
        places = county_places()
        with rpc_proxy(broker.settings, token, timeout=120) as proxy:
            proxy.organizations.import_places(places=places)
            warm = organization_rows(places, 500, "warm")
            timed_import(proxy, process.pid, warm, True)
            for round_ in range(args.rounds):
                for mode, dry_run in (("dry_run", True), ("real", False)):
                    rows = organization_rows(places, args.rows, f"r{round_}")
                    spy = None
                    if args.profile and mode == "real" and round_ == 0:
                        spy = subprocess.Popen([
                            str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                            str(process.pid), "--format", "raw", "--rate", "200", "--nonblocking",
                            "--output", str(OUT / "profile-import.txt")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        time.sleep(1)
                    seconds, replied, cpu, job = timed_import(proxy, process.pid, rows, dry_run)
                    if spy is not None:
                        spy.send_signal(2)
                        spy.wait(timeout=30)
                    expected = "valid" if dry_run else "applied"
                    assert job["status"] == expected, job
                    results[mode].append({"seconds": seconds, "reply_seconds": replied,
                                          "service_cpu_seconds": cpu})
                    print(f"round {round_ + 1} {mode:7}: {args.rows} rows in {seconds:5.1f} s "
                          f"= {args.rows / seconds:5.0f} rows/s (reply {replied:.2f} s, "
                          f"service CPU {cpu:.1f} s)", flush=True)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.__exit__(None, None, None)
        provision.drop_database(base.postgres_admin_url, url, drop_role=True)

    print(f"\nImport of {args.rows} organizations (median of {args.rounds}):")
    summary = {}
    for mode, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        summary[mode] = {"rows": args.rows, "median_seconds": seconds,
                         "rows_per_second": args.rows / seconds, "runs": runs}
        print(f"  {mode:7}: {seconds:5.1f} s, {args.rows / seconds:5.0f} rows/s")
    (OUT / "imports.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    main()

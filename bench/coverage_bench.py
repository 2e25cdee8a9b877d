"""The npe coverage report at province scale (`make bench`).

Zhejiang's real place tree (11 cities, 90 counties, 1 387 townships) with villages
generated under every township (seed 2012), and 200 000 enterprises spread over them
with a mix of operating status and party members, a third of the operating ones covered
by a regional organization per township, all loaded through the services' own bulk paths (import_places, import_enterprises, establish_organization), then
VACUUM ANALYZE (what autovacuum does within a minute of such a load). Then the report
is timed for the province and for one county: the median and the slowest of the calls,
as a caller sees them (RPC included).
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from common import BenchBroker, wait_ready  # noqa: E402

from shared.national import credit_code, regions  # noqa: E402
from shared.platform import auth, config  # noqa: E402
from shared.platform.containers import service_class  # noqa: E402
from shared.platform.migrate import migrate  # noqa: E402
from shared.platform.rpc_client import rpc_proxy  # noqa: E402
from tools.launcher import provision  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
REGIONS = ROOT.parent / "shared" / "data" / "regions"
SAMPLE = ROOT / "deploy" / "sample" / "places-zhejiang.csv"
PORTS = {"organizations": 18201, "npe": 18203}
COUNTY = "330106000000"  # 杭州市西湖区


def province_places(seed):
    if REGIONS.exists():
        rows = regions.load_national(REGIONS, "33")
        rows += regions.generate_villages([r for r in rows if r.level == "township"], seed)
    else:  # the national files live beside the repo; the shipped sample has two counties
        rows = regions.read_places_csv(SAMPLE)
    return sorted(rows, key=lambda r: r.code)




def vacuum_analyze(url, table):
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"VACUUM ANALYZE {table}")
    finally:
        conn.close()


def timed(call, repeat):
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return result, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--enterprises", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--keep", action="store_true", help="keep the databases (to study them)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    base = config.load()
    run_id = f"covbench{os.getpid()}"
    pg = urlsplit(base.postgres_admin_url)
    owner = f"postgresql://{run_id}:{secrets.token_hex(8)}@{pg.hostname}:{pg.port or 5432}"
    urls = {service: f"{owner}/{run_id}_{service}" for service in PORTS}
    secret = secrets.token_urlsafe(48)
    broker = BenchBroker(run_id, [service_class(s) for s in PORTS]).__enter__()
    for url in urls.values():
        provision.ensure_database(base.postgres_admin_url, url)
    processes = []
    try:
        for service, url in urls.items():
            migrate(service, url)
        env = {**os.environ, "JINWEI_TOKEN_SECRET": secret,
               "PYTHONWARNINGS": "ignore",
               **{f"{s.upper()}_DATABASE_URL": u for s, u in urls.items()},
               **{f"{s.upper()}_HTTP_PORT": str(p) for s, p in PORTS.items()}}
        log = open(OUT / "coverage-services.log", "w")  # noqa: SIM115 - closed with the processes
        for service in PORTS:
            processes.append(subprocess.Popen([sys.executable, "-m", "shared.platform.runner", service],
                                              env={**env, **broker.env(service)}, cwd=ROOT,
                                              stdout=log, stderr=log))
        for port in PORTS.values():
            wait_ready(port)
        token = auth.issue_token(secret, subject="bench", department="bench",
                                 place_code="330000000000", roles=list(auth.ROLES),
                                 system="bench", ttl_seconds=7200)
        with rpc_proxy(broker.settings, token, timeout=600) as proxy:
            started = time.monotonic()
            places = province_places(args.seed)
            for start in range(0, len(places), 5000):
                proxy.organizations.import_places(places=[{"code": p.code, "name": p.name}
                                                          for p in places[start:start + 5000]])
            villages = [p.code for p in places if p.level == "village"]
            townships = [p.code for p in places if p.level == "township"]
            while proxy.npe.coverage_report(place_code="330000000000")["by_child_place"] == []:
                time.sleep(0.5)  # npe learns the places from the events
            print(f"places: {len(places)} ({len(villages)} villages) in "
                  f"{time.monotonic() - started:.1f} s", flush=True)

            started = time.monotonic()
            spots = villages + townships
            enterprises = []
            for index in range(args.enterprises):
                first17 = "91" + "330000" + f"{index:09d}"
                enterprises.append({
                    "credit_code": credit_code.with_check_character(first17),
                    "name": f"浙江某某{index}有限公司", "place_code": rng.choice(spots),
                    "industry": rng.choice("CFIEHLM"), "size": rng.choice(["micro", "small",
                                                                          "medium"]),
                    "operating_status": rng.choices(["operating", "suspended", "closed"],
                                                    [88, 8, 4])[0],
                    "employees": rng.randrange(3, 3000),
                    "full_members": rng.choices([0, 1, 2, 3, 5, 12], [35, 20, 15, 12, 10, 8])[0]})
            for start in range(0, len(enterprises), 5000):
                proxy.npe.import_enterprises(enterprises=enterprises[start:start + 5000])
            loaded = time.monotonic() - started
            print(f"enterprises: {len(enterprises)} in {loaded:.1f} s "
                  f"({len(enterprises) / loaded:.0f}/s)", flush=True)

            started = time.monotonic()
            by_township: dict[str, list[dict]] = {}
            for e in enterprises:
                if e["operating_status"] == "operating":
                    by_township.setdefault(e["place_code"][:9] + "000", []).append(e)
            covered = 0
            for township, local in by_township.items():  # a regional organization each
                members = local[: rng.randrange(20, 80)]
                proxy.npe.establish_organization(kind="regional", name="区域性党组织",
                                                 place_code=township,
                                                 credit_codes=[e["credit_code"] for e in members],
                                                 full_members=30, founded_on="2024-01-01")
                covered += len(members)
            print(f"coverage: {len(by_township)} regional organizations over {covered} "
                  f"enterprises in {time.monotonic() - started:.1f} s", flush=True)
            # What autovacuum does within a minute of such a load: statistics for the
            # planner, and the visibility map for index-only scans.
            vacuum_analyze(urls["npe"], "enterprises")

            proxy.npe.coverage_report(place_code="330000000000")  # warm caches
            province, province_s = timed(
                lambda: proxy.npe.coverage_report(place_code="330000000000"), args.repeat)
            county, county_s = timed(lambda: proxy.npe.coverage_report(place_code=COUNTY),
                                     args.repeat)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.__exit__(None, None, None)
        for index, url in enumerate(urls.values()):
            if args.keep:
                print(f"kept {url}")
            else:
                provision.drop_database(base.postgres_admin_url, url,
                                        drop_role=index == len(urls) - 1)

    result = {
        "enterprises": province["total"]["enterprises"],
        "province_ms": {"median": 1000 * statistics.median(province_s),
                        "max": 1000 * max(province_s)},
        "county_ms": {"median": 1000 * statistics.median(county_s), "max": 1000 * max(county_s)},
        "province_rates": {k: province["total"][k] for k in ("organizational_rate", "own_rate",
                                                             "work_rate")},
        "county_enterprises": county["total"]["enterprises"],
    }
    print(f"\nCoverage report over {result['enterprises']} enterprises ({args.repeat} calls each):")
    print(f"  province 330000000000: median {result['province_ms']['median']:.0f} ms, "
          f"slowest {result['province_ms']['max']:.0f} ms")
    print(f"  county   {COUNTY} ({result['county_enterprises']} enterprises): median "
          f"{result['county_ms']['median']:.0f} ms, slowest {result['county_ms']['max']:.0f} ms")
    (OUT / "coverage.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    main()

"""The reports at province scale (issue 9): moving-up, a ledger page, coverage, the
reserve shortfall; and every service process's resident memory while it serves them.

    .venv/bin/python bench/province_bench.py --scale 0.1            # a quick run
    .venv/bin/python bench/province_bench.py --keep                 # full scale, kept
    .venv/bin/python bench/province_bench.py --reuse bench/out/province-env.json

Method. The organizations, evaluation, npe and cadres services run as their own
processes (`python -m shared.platform.runner <service>`) on a vhost and databases of this run.
A province from bench/province.py (Zhejiang, seed 2012; `--scale` shrinks it) is loaded
through the services' own bulk paths — or, with --reuse, one kept by an earlier run is
served again. Grades: a round for the province is opened and its grades imported as
gradings jobs (`evaluation.start_import`, set_grade's path per row; a share of the
organizations: `--grade-share`), then a second round regrades half of them (some move up); grade_assigned opens the
rectification cases the ledger lists. Then `VACUUM ANALYZE` in every database (what
autovacuum does within a minute of such a load), and each report is called
`--repeat` times after two warm-ups, as a caller sees it (RPC, token, query, result
schema); p50 and p99 of the calls. VmRSS and VmHWM of each service process from
/proc/<pid>/status after the reports. `--profile` records py-spy raw stacks of each
service during its report's calls into bench/out/.

Writes bench/out/province.json.
"""

import eventlet
from common import percentile  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import province as prov  # noqa: E402

OUT = prov.OUT
CITY = "330100000000"  # 杭州市
COUNTY = "330106000000"  # 西湖区
TARGETS_MS = {"moving_up_report": 300, "ledger_page": 50, "coverage_report": 300}
MEMORY_TARGET_MB = 200
BASELINE_GRADES = (["good", "fairly_good", "average", "poor"], [35, 40, 18, 7])
BETTER = {"poor": "average", "average": "fairly_good", "fairly_good": "good", "good": "good"}


def organization_ids(proxy, root: str) -> list[int]:
    ids, after = [], None
    while True:
        page = proxy.organizations.list_organizations(place_code=root, limit=500, after=after)
        ids.extend(o["id"] for o in page["items"])
        after = page["next_cursor"]
        if after is None:
            return ids


def grade(stack, root: str, ids: list[int], seed: int) -> dict:
    """A baseline round over `ids`, a second round over half of them, each imported as
    gradings jobs (evaluation.start_import: set_grade's path per row, ≤ 20 000 rows a job).
    {round: {grades, seconds, per_second}}."""
    rng = random.Random(f"grades:{seed}")
    baseline = {i: rng.choices(*BASELINE_GRADES)[0] for i in ids}
    later = {i: (BETTER[g] if rng.random() < 0.5 else g)
             for i, g in baseline.items() if rng.random() < 0.5}
    figures = {}
    with stack.proxy(timeout=120) as proxy:
        rounds = [(proxy.evaluation.open_round(place_code=root, year=year, name=name)["id"], plan)
                  for year, name, plan in ((2025, "2025年度基层党组织定级", baseline),
                                           (2026, "2026年度基层党组织定级", later))]
        for round_id, plan in rounds:
            values = [{"round_id": round_id, "organization_id": organization_id, "grade": value,
                       "reason": "年度定级（基准测试）"} for organization_id, value in plan.items()]
            seconds = prov.run_import(proxy, "evaluation", "gradings", values,
                                      f"grades of round {round_id}")
            figures[f"round {round_id}"] = {"grades": len(values), "seconds": round(seconds, 1),
                                            "per_second": round(len(values) / seconds, 1)}
    return figures


def settle(stack) -> float:
    """Seconds until every outbox is empty and the cases stop changing."""
    def quiet():
        pending = sum(stack.sql(s, "SELECT count(*) FROM outbox")[0][0] for s in stack.urls)
        return pending == 0
    seconds = prov.wait_for("the outboxes to drain", quiet, every=2)
    last, started = None, time.monotonic()
    while True:
        cases = stack.sql("organizations", "SELECT count(*) FROM rectification_cases")[0][0]
        if cases == last:
            return seconds + time.monotonic() - started
        last = cases
        time.sleep(3)


def rss(pid: int) -> dict:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(value.split()[0]) / 1024
    return values




def time_calls(call, repeat):
    call(), call()  # warm-up
    ms = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        ms.append(1000 * (time.perf_counter() - started))
    return result, ms


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--reuse", type=Path, help="serve a province kept by --keep")
    parser.add_argument("--keep", action="store_true", help="keep the province for --reuse")
    parser.add_argument("--enterprise-path", choices=("jobs", "batch"), default="jobs")
    parser.add_argument("--grade-share", type=float, default=1.0,
                        help="share of the organizations graded")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="py-spy each report's service")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)

    result = {"scale": args.scale, "seed": args.seed}
    stack = prov.Stack(env_file=args.reuse, keep=args.keep)
    try:
        stack.start()
        root = "330000000000"
        if args.reuse is None:
            p = prov.generate("33", args.seed, args.scale)
            result["counts"] = p.counts()
            print(f"province: {p.counts()}", flush=True)
            result["load"] = prov.load(stack, p, args.enterprise_path)
        graded = stack.sql("evaluation", "SELECT count(*) FROM gradings")[0][0]
        if graded == 0 and args.grade_share > 0:
            with stack.proxy() as proxy:
                ids = organization_ids(proxy, root)
            ids = sorted(random.Random(args.seed).sample(ids, round(len(ids) * args.grade_share)))
            result["grading"] = grade(stack, root, ids, args.seed)
            result["grading"]["settled_seconds"] = round(settle(stack), 1)
        started = time.monotonic()
        for service in stack.urls:
            stack.sql(service, "VACUUM ANALYZE")
        print(f"VACUUM ANALYZE: {time.monotonic() - started:.1f} s", flush=True)
        result["data"] = {
            "organizations": stack.sql("organizations", "SELECT count(*) FROM organizations")[0][0],
            "graded": stack.sql("evaluation", "SELECT count(*) FROM organizations"
                                " WHERE baseline_grade IS NOT NULL")[0][0],
            "cases": stack.sql("organizations", "SELECT count(*) FROM rectification_cases")[0][0],
            "enterprises": stack.sql("npe", "SELECT count(*) FROM enterprises")[0][0],
            "reserves": stack.sql("cadres", "SELECT count(*) FROM reserves")[0][0]}
        print(f"data: {result['data']}", flush=True)

        reports = [
            ("moving_up_report", "evaluation",
             lambda px: px.evaluation.moving_up_report(place_code=root)),
            ("ledger_page", "organizations",
             lambda px: px.organizations.ledger(place_code=CITY, limit=100)),
            ("ledger_page_county", "organizations",
             lambda px: px.organizations.ledger(place_code=COUNTY, limit=100)),
            ("coverage_report", "npe", lambda px: px.npe.coverage_report(place_code=root)),
            ("reserve_shortfall", "cadres",
             lambda px: px.cadres.reserve_shortfall(place_code=root)),
        ]
        result["reports"], memory = {}, {}
        with stack.proxy(timeout=120) as proxy:
            for name, service, call in reports:
                spy = None
                if args.profile:
                    spy = subprocess.Popen([
                        str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                        str(stack.processes[service].pid), "--format", "raw", "--rate", "250",
                        "--nonblocking", "--output", str(OUT / f"profile-province-{name}.txt")],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(1)
                answer, ms = time_calls(lambda c=call: c(proxy), args.repeat)
                if spy is not None:
                    spy.send_signal(2)
                    spy.wait(timeout=60)
                figures = {"p50_ms": round(statistics.median(ms), 1),
                           "p99_ms": round(percentile(ms, 0.99), 1),
                           "max_ms": round(max(ms), 1), "calls": len(ms)}
                if name.startswith("ledger"):
                    figures["rows"] = len(answer["items"])
                result["reports"][name] = figures
                print(f"{name}: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms",
                      flush=True)
                for s, process in stack.processes.items():
                    now = rss(process.pid)
                    memory[s] = {"rss_mb": round(max(memory.get(s, {}).get("rss_mb", 0),
                                                     now["VmRSS"]), 1),
                                 "hwm_mb": round(now["VmHWM"], 1)}
        result["memory"] = memory
    finally:
        stack.stop()

    print(f"\nReports at province scale (scale {args.scale}; {result['data']}):")
    print("| report | p50 ms | p99 ms | target | met |\n|---|---:|---:|---:|---|")
    for name, f in result["reports"].items():
        target = TARGETS_MS.get(name)
        met = "" if target is None else ("yes" if f["p99_ms"] < target else
                                         "p50 only" if f["p50_ms"] < target else "no")
        print(f"| {name} | {f['p50_ms']} | {f['p99_ms']} | {target or ''} | {met} |")
    print("| service | RSS MB (max while serving) | peak (VmHWM) MB |\n|---|---:|---:|")
    for s, m in result["memory"].items():
        print(f"| {s} | {m['rss_mb']} | {m['hwm_mb']} |")
    (OUT / "province.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

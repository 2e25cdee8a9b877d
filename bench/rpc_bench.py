"""RPC throughput and latency of the organizations service beside a bare nameko echo
service, on the same broker, in the same run (`make bench`).

Each service runs as its own process, as in production (`python -m shared.platform.runner`), on
its own least-privilege broker account. One client process drives N concurrent callers
(green threads): ours each with a connection of its own (shared.platform.rpc_client: direct
reply-to, the operator's account), the bare echo's each with one ClusterRpcProxy (a
reply queue, an account with every permission), for a fixed time after a warm-up, and
records every call's latency. The bench gets its own vhost and database and removes
them after. `--broker private` / `private-tls` runs it on a private node of its own,
plain or TLS only: the two side by side give TLS's cost.

Prints a table and writes bench/out/rpc.json. The headline is the ratio of each real
path's throughput to bare echo's at the same concurrency.
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
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from common import BenchBroker, percentile, wait_ready  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from shared.platform import auth, config  # noqa: E402
from shared.platform.containers import service_class  # noqa: E402
from shared.platform.migrate import migrate  # noqa: E402
from shared.platform.rpc_client import RpcClient, ServiceProxy  # noqa: E402
from tools.launcher import provision  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
TOWNSHIP = "330106002000"
PLACES = [("330000000000", "浙江省"), ("330100000000", "杭州市"), ("330106000000", "西湖区"),
          (TOWNSHIP, "北山街道")]




class Callers:
    """How a path's callers connect: ours through shared.platform.rpc_client (direct reply-to),
    bare echo's through nameko's ClusterRpcProxy (a reply queue each)."""

    def __init__(self, broker, token):
        self.broker, self.token = broker, token

    def open(self, bare: bool):
        if bare:
            proxy = ClusterRpcProxy(self.broker.bare_config(),
                                    context_data={"auth_token": self.token}, timeout=30)
            return proxy.start(), proxy.stop
        client = RpcClient(self.broker.settings, 30)
        return ServiceProxy(client, self.token), client.close


def drive(callers_of, bare, call, callers, seconds, warmup):
    """Run `call(proxy)` from `callers` green threads; latencies of the measured window."""
    latencies, stop_at, measure_from = [], [0.0], [0.0]
    opened = [callers_of.open(bare) for _ in range(callers)]
    started = [proxy for proxy, _ in opened]

    def loop(proxy):
        while time.monotonic() < stop_at[0]:
            t0 = time.monotonic()
            call(proxy)
            t1 = time.monotonic()
            if t0 >= measure_from[0]:
                latencies.append(t1 - t0)

    now = time.monotonic()
    measure_from[0] = now + warmup
    stop_at[0] = now + warmup + seconds
    threads = [eventlet.spawn(loop, proxy) for proxy in started]
    for thread in threads:
        thread.wait()
    for _, close in opened:
        close()
    return latencies


def profile(pid, name, callers, args):
    """py-spy the service process over the measured window (after the warm-up)."""
    out = OUT / f"profile-{name.split()[0]}-{callers}-{time.monotonic_ns()}.txt"
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
               "--format", "raw", "--output", str(out), "--nonblocking", "--rate", "400",
               "--duration", str(max(1, int(args.seconds / args.rounds)))]
    return eventlet.spawn_after(args.warmup, lambda: subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def cpu_seconds(pids):
    """User + system CPU seconds of these processes so far (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def pids_of(name):
    out = subprocess.run(["pgrep", "-f", name], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None




def measure_scaling(args, env, log, port, processes, callers_of, paths):
    """The same load on 1, then 2, … organizations processes: replicas are competing
    consumers of one queue. Extra replicas get the health ports after the first's."""
    replicas_running, rows = [processes[0]], []
    for replicas in [int(r) for r in args.replicas.split(",") if r]:
        while len(replicas_running) < replicas:
            extra = port + len(replicas_running)
            process = subprocess.Popen(
                [sys.executable, "-m", "shared.platform.runner", "organizations"], cwd=ROOT,
                env={**env, "ORGANIZATIONS_HTTP_PORT": str(extra)}, stdout=log, stderr=log)
            processes.append(process)
            replicas_running.append(process)
            wait_ready(extra)
        for name, call in paths:
            latencies = drive(callers_of, False, call, args.scaling_callers,
                              args.seconds / args.rounds, args.warmup)
            rows.append({"path": name, "replicas": replicas,
                         "calls_per_s": len(latencies) / (args.seconds / args.rounds),
                         "p50_ms": 1000 * statistics.median(latencies),
                         "p99_ms": 1000 * percentile(latencies, 0.99)})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12, help="measured seconds per row")
    parser.add_argument("--rounds", type=int, default=3, help="turns the paths take")
    parser.add_argument("--warmup", type=float, default=1, help="unmeasured seconds per turn")
    parser.add_argument("--callers", default="1,10,50")
    parser.add_argument("--replicas", default="1,2",
                        help="scaling: organizations processes sharing its queue, in turn")
    parser.add_argument("--scaling-callers", type=int, default=10)
    parser.add_argument("--only", default=None, help="run only the paths containing this text")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the organizations process during each measured row")
    parser.add_argument("--broker", choices=["machine", "private", "private-tls"],
                        default="machine", help="the broker AMQP_URI names, or a private "
                        "node of the bench's own, plain or TLS only")
    args = parser.parse_args(argv)
    concurrency = [int(c) for c in args.callers.split(",")]

    base = config.load()
    run_id = f"bench{os.getpid()}"
    pg = urlsplit(base.postgres_admin_url)
    db_url = (f"postgresql://{run_id}:{secrets.token_hex(8)}@{pg.hostname}:{pg.port or 5432}"
              f"/{run_id}_organizations")
    secret = secrets.token_urlsafe(48)
    port = 18199
    broker = BenchBroker(run_id, [service_class("organizations")], broker=args.broker)
    broker.__enter__()
    provision.ensure_database(base.postgres_admin_url, db_url)
    processes = []
    try:
        migrate("organizations", db_url)
        env = {**os.environ, **broker.env("organizations"), "ORGANIZATIONS_DATABASE_URL": db_url,
               "JINWEI_TOKEN_SECRET": secret, "ORGANIZATIONS_HTTP_PORT": str(port),
               "PYTHONWARNINGS": "ignore"}
        log = open(OUT / "services.log", "w")  # noqa: SIM115 - closed with the processes
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "shared.platform.runner", "organizations"], env=env, cwd=ROOT,
            stdout=log, stderr=log))
        processes.append(subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "echo_service.py"), broker.admin_uri,
             str(broker.ca_file or "")], env=env, cwd=ROOT, stdout=log, stderr=log))
        wait_ready(port)
        token = auth.issue_token(secret, subject="bench", department="bench",
                                 place_code="330000000000", roles=list(auth.ROLES),
                                 system="bench", ttl_seconds=3600)
        callers_of = Callers(broker, token)
        proxy, close = callers_of.open(bare=False)
        try:
            proxy.organizations.import_places(places=[{"code": c, "name": n} for c, n in PLACES])
            seed = proxy.organizations.register_organization(
                name="基准党支部", kind="631", sector="urban_community", place_code=TOWNSHIP,
                full_members=5, founded_on="2024-01-01")
        finally:
            close()

        def echo(proxy):
            proxy.echo.echo(value={"organization_id": 1})

        def get(proxy):
            proxy.organizations.get_organization(organization_id=seed["id"])

        def register(proxy):
            proxy.organizations.register_organization(
                request_id=str(uuid.uuid4()), name=f"基准党支部{uuid.uuid4().hex[:8]}", kind="631",
                sector="urban_community", place_code=TOWNSHIP, full_members=5,
                founded_on="2024-01-01")

        paths = [(name, call) for name, call in (("echo (bare nameko)", echo),
                                                 ("get_organization", get),
                                                 ("register_organization", register))
                 if not args.only or args.only in name or name.startswith("echo")]
        results = []
        for callers in concurrency:
            # Paths take turns, round after round, so that a drift of the machine's speed
            # (it has other tenants) lands on all of them alike and not on one row.
            measured = {name: {"latencies": [], "wall": 0.0, "cpu": {}} for name, _ in paths}
            for _ in range(args.rounds):
                for name, call in paths:
                    spy = (profile(processes[0].pid, name, callers, args)
                           if args.profile and "echo" not in name else None)
                    groups = {"service": [processes[1].pid if "echo" in name
                                          else processes[0].pid],
                              "client": [os.getpid()], "rabbitmq": pids_of("beam.smp"),
                              "postgres": pids_of("postgres")}
                    before = {k: cpu_seconds(v) for k, v in groups.items()}
                    started = time.monotonic()
                    latencies = drive(callers_of, name.startswith("echo"), call, callers,
                                      args.seconds / args.rounds, args.warmup)
                    wall = time.monotonic() - started
                    row = measured[name]
                    row["latencies"] += latencies
                    row["wall"] += wall
                    for group, pids in groups.items():
                        row["cpu"][group] = row["cpu"].get(group, 0) + cpu_seconds(pids) - before[group]
                    if spy:
                        spy.wait()
            for name, _ in paths:
                row = measured[name]
                results.append({
                    "path": name, "callers": callers, "calls": len(row["latencies"]),
                    "calls_per_s": len(row["latencies"]) / args.seconds,
                    "p50_ms": 1000 * statistics.median(row["latencies"]),
                    "p99_ms": 1000 * percentile(row["latencies"], 0.99),
                    "cpu_cores": {g: c / row["wall"] for g, c in row["cpu"].items()},
                })
        memory = {"organizations": rss_mb(processes[0].pid), "echo": rss_mb(processes[1].pid)}
        scaling = measure_scaling(args, env, log, port, processes, callers_of,
                                  [(n, c) for n, c in paths if not n.startswith("echo")])
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.__exit__(None, None, None)
        provision.drop_database(base.postgres_admin_url, db_url, drop_role=True)

    echo_rate = {r["callers"]: r["calls_per_s"] for r in results if r["path"].startswith("echo")}
    print(f"\nRPC benchmark ({args.broker} broker): {args.seconds:.0f} s measured per row, in "
          f"{args.rounds} turns taken in rotation (each after {args.warmup:.0f} s warm-up), "
          f"{os.cpu_count()} cores\n")
    print(f"{'path':<24}{'callers':>8}{'calls/s':>10}{'vs echo':>9}{'p50 ms':>9}{'p99 ms':>9}"
          "   CPU cores busy: service client rabbitmq postgres")
    for r in results:
        r["vs_echo"] = r["calls_per_s"] / echo_rate[r["callers"]]
        cpu = r["cpu_cores"]
        print(f"{r['path']:<24}{r['callers']:>8}{r['calls_per_s']:>10.0f}{r['vs_echo']:>8.0%}"
              f"{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{'':>19}{cpu['service']:>7.2f}"
              f"{cpu['client']:>7.2f}{cpu['rabbitmq']:>9.2f}{cpu['postgres']:>9.2f}")
    print(f"\nresident memory after the run: organizations {memory['organizations']:.0f} MB,"
          f" echo {memory['echo']:.0f} MB")
    print(f"\nScaling: {args.scaling_callers} callers, organizations replicas sharing its queue"
          f" ({args.seconds / args.rounds:.0f} s each)\n")
    print(f"{'path':<24}{'replicas':>9}{'calls/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for r in scaling:
        print(f"{r['path']:<24}{r['replicas']:>9}{r['calls_per_s']:>10.0f}{r['p50_ms']:>9.2f}"
              f"{r['p99_ms']:>9.2f}")
    (OUT / f"rpc-{args.broker}.json").write_text(json.dumps({
        "broker": args.broker, "results": results, "rss_mb": memory, "scaling": scaling,
        "seconds": args.seconds}, indent=2))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    main()

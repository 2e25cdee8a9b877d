"""Events through the outbox to a handler, beside bare nameko event dispatch, in the same
run (`make bench`).

Four processes on one broker: a producer that commits events through the outbox
(relay with publisher confirms) and a consumer that applies each in its own
transaction with the inbox, after checking RabbitMQ vouches for its publisher
(bench/event_services.py; each on its own least-privilege account) — the platform's
path — and nameko's own EventDispatcher and event_handler with nothing in between (an
account with every permission). `--broker private|private-tls` as in rpc_bench. For each:

- burst: N events from 10 concurrent callers as fast as they go, one event (ours: one
  commit) per call, time from the first event's creation to the last one's effect →
  events/s; and, for ours, a backlog of N committed in one transaction draining through
  the relay and the handler (what a relay meets after a broker outage);
- steady: events at a fixed rate (one commit each), and the lag from each event's
  creation (occurred_at, stamped just before its commit) to its effect (the handler's
  row, clock_timestamp() at insert; bare: the handler's receive time) → p50, p99.

Prints a table and writes bench/out/events.json.
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

import kombu  # noqa: E402
import psycopg2  # noqa: E402
from common import BenchBroker, percentile  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from shared.platform import config  # noqa: E402
from shared.platform.migrate import PLATFORM_MIGRATIONS, migrate  # noqa: E402
from shared.platform.rpc_client import RpcClient, ServiceProxy  # noqa: E402
from tools.launcher import provision  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "bench"))
from event_services import EFFECTS_TABLE, Consumer, Producer  # noqa: E402

QUEUES = ["evt-bench_producer-bench_happened--bench_consumer.on_happened",
          "evt-bare_producer-bench_happened--bare_consumer.on_happened"]




def wait_for_queues(broker, timeout=60):
    deadline = time.monotonic() + timeout
    with kombu.Connection(broker.admin_uri, ssl=broker.ssl) as conn:
        for name in QUEUES:
            while True:
                channel = conn.channel()
                try:
                    channel.queue_declare(name, passive=True)
                    break
                except kombu.exceptions.ChannelError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"the consumer queue {name} never appeared") from None
                    time.sleep(0.3)
                finally:
                    try:
                        channel.close()
                    except Exception:
                        pass


def effects(url, first_seq, count, timeout=120):
    """Wait until the consumer applied seq first..first+count; their (occurred, applied)."""
    deadline = time.monotonic() + timeout
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            while True:
                cur.execute("SELECT count(*) FROM bench_effects WHERE seq >= %s AND seq < %s",
                            (first_seq, first_seq + count))
                if cur.fetchone()[0] >= count:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("the consumer did not apply every event in time")
                time.sleep(0.05)
            cur.execute("SELECT extract(epoch FROM occurred_at), extract(epoch FROM applied_at)"
                        " FROM bench_effects WHERE seq >= %s AND seq < %s",
                        (first_seq, first_seq + count))
            return [(float(o), float(a)) for o, a in cur.fetchall()]
    finally:
        conn.close()


def bare_effects(proxy, count, timeout=120):
    deadline = time.monotonic() + timeout
    got = []
    while len(got) < count:
        got += [(sent, received) for _, sent, received in proxy.bare_consumer.take()]
        if time.monotonic() > deadline:
            raise SystemExit("the bare consumer did not receive every event in time")
        time.sleep(0.05)
    return got


def summarize(name, mode, pairs):
    lags = [applied - occurred for occurred, applied in pairs]
    span = max(a for _, a in pairs) - min(o for o, _ in pairs)
    return {"path": name, "mode": mode, "events": len(pairs),
            "events_per_s": len(pairs) / span if span > 0 else None,
            "lag_p50_ms": 1000 * statistics.median(lags), "lag_p99_ms": 1000 * percentile(lags, 0.99)}


def flood(broker, service, first_seq, count, callers=10):
    """`count` events from `callers` concurrent callers, one emit(seq) call each: ours
    through shared.platform.rpc_client, bare through nameko's proxy."""
    def caller(offset):
        if service.startswith("bare"):
            with ClusterRpcProxy(broker.bare_config(), timeout=120) as proxy:
                emit = getattr(proxy, service).emit
                for seq in range(first_seq + offset, first_seq + count, callers):
                    emit(first_seq=seq)
        else:
            client = RpcClient(broker.settings, 120)
            try:
                for seq in range(first_seq + offset, first_seq + count, callers):
                    client.call(service, "emit", {"first_seq": seq})
            finally:
                client.close()

    threads = [eventlet.spawn(caller, offset) for offset in range(callers)]
    for thread in threads:
        thread.wait()


def steady(emit, rate, seconds, first_seq):
    """Call emit(seq) at `rate` per second, paced against the clock."""
    count = int(rate * seconds)
    started = time.monotonic()
    pending = []
    for index in range(count):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pending.append(emit(first_seq + index))
    for reply in pending:
        reply.result()
    return count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--broker", choices=["machine", "private", "private-tls"],
                        default="machine")
    args = parser.parse_args(argv)

    base = config.load()
    run_id = f"evbench{os.getpid()}"
    pg = urlsplit(base.postgres_admin_url)
    owner = f"postgresql://{run_id}:{secrets.token_hex(8)}@{pg.hostname}:{pg.port or 5432}"
    urls = {name: f"{owner}/{run_id}_{name}" for name in ("bench_producer", "bench_consumer")}
    broker = BenchBroker(run_id, [Producer, Consumer], broker=args.broker).__enter__()
    for url in urls.values():
        provision.ensure_database(base.postgres_admin_url, url)
    processes = []
    try:
        for name, url in urls.items():
            migrate(name, url, sources=[PLATFORM_MIGRATIONS])
        conn = psycopg2.connect(urls["bench_consumer"])
        with conn, conn.cursor() as cur:
            cur.execute(EFFECTS_TABLE)
        conn.close()
        env = {**os.environ, "JINWEI_TOKEN_SECRET": "x" * 40,
               "BENCH_PRODUCER_DATABASE_URL": urls["bench_producer"],
               "BENCH_CONSUMER_DATABASE_URL": urls["bench_consumer"], "PYTHONWARNINGS": "ignore",
               "BARE_AMQP_URI": broker.admin_uri}
        if broker.ca_file:
            env["JINWEI_AMQP_CA_FILE"] = str(broker.ca_file)
        log = open(OUT / "event-services.log", "w")  # noqa: SIM115 - closed with the processes
        for role in ("producer", "consumer", "bare_producer", "bare_consumer"):
            own = broker.env(f"bench_{role}") if role in ("producer", "consumer") else {}
            processes.append(subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "event_services.py"), role],
                env={**env, **own}, cwd=ROOT, stdout=log, stderr=log))
        wait_for_queues(broker)
        results = []
        ours = RpcClient(broker.settings, 120)
        with ClusterRpcProxy(broker.bare_config(), timeout=120) as proxy:
            mine = ServiceProxy(ours)
            # warm-up: connections, pools, queues
            mine.bench_producer.emit(first_seq=-100, count=50)
            effects(urls["bench_consumer"], -100, 50)
            proxy.bare_producer.emit(first_seq=-100, count=50)
            bare_effects(proxy, 50)

            flood(broker, "bench_producer", 0, args.burst)
            results.append(summarize("outbox → handler", "burst",
                                     effects(urls["bench_consumer"], 0, args.burst)))
            flood(broker, "bare_producer", 0, args.burst)
            results.append(summarize("bare nameko dispatch", "burst",
                                     bare_effects(proxy, args.burst)))
            mine.bench_producer.emit(first_seq=50_000, count=args.burst)
            results.append(summarize("outbox → handler", "backlog",
                                     effects(urls["bench_consumer"], 50_000, args.burst)))

            seq = 100_000
            count = steady(lambda s: mine.bench_producer.emit.call_async(first_seq=s),
                           args.rate, args.seconds, seq)
            results.append(summarize("outbox → handler", f"steady {args.rate:.0f}/s",
                                     effects(urls["bench_consumer"], seq, count)))
            count = steady(lambda s: proxy.bare_producer.emit.call_async(first_seq=s),
                           args.rate, args.seconds, seq)
            results.append(summarize("bare nameko dispatch", f"steady {args.rate:.0f}/s",
                                     bare_effects(proxy, count)))
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
            provision.drop_database(base.postgres_admin_url, url, drop_role=index == 1)

    bare = next(r for r in results if r["path"].startswith("bare") and r["mode"] == "burst")
    print(f"\nEvent benchmark ({args.broker} broker): burst of {args.burst} from 10 callers "
          "(one event per call), "
          f"backlog of {args.burst} in one commit, steady {args.rate:.0f}/s for "
          f"{args.seconds:.0f} s, {os.cpu_count()} cores\n")
    print(f"{'path':<24}{'mode':<14}{'events':>8}{'events/s':>10}{'vs bare':>9}"
          f"{'lag p50 ms':>12}{'lag p99 ms':>12}")
    for r in results:
        ratio = (f"{r['events_per_s'] / bare['events_per_s']:>8.0%}"
                 if r["mode"] == "burst" and r["events_per_s"] else f"{'':>8}")
        rate = (f"{r['events_per_s']:>10.0f}" if r["mode"] in ("burst", "backlog")
                else f"{'':>10}")
        print(f"{r['path']:<24}{r['mode']:<14}{r['events']:>8}{rate}{ratio} "
              f"{r['lag_p50_ms']:>11.1f}{r['lag_p99_ms']:>12.1f}")
    (OUT / f"events-{args.broker}.json").write_text(json.dumps(
        {"broker": args.broker, "results": results}, indent=2))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    main()

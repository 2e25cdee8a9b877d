"""The staff console's pages at province scale (issue 19): each page's server time as a
browser's client sees it (p50 / p99 / max), its transfer size, and the first page load.

    .venv/bin/python bench/console_bench.py --scale 0.05           # a quick run
    .venv/bin/python bench/console_bench.py --keep                 # full scale, kept
    .venv/bin/python bench/console_bench.py --reuse bench/out/console-env.json [--drop]

Method. All six services (organizations, evaluation, npe, cadres, resources, accounts) run
as their own processes (`python -m shared.platform.runner <service>`) on a vhost and
databases of this run, and the gateway as in production (`python -m services.gateway`:
gunicorn gthread, 2 workers × 8 threads by default). The province of bench/province.py
(Zhejiang, seed 2012; `--scale` shrinks it) is loaded through the services' bulk paths
and graded as bench/province_bench.py grades it (a baseline round over every
organization, a second round over half: the ledger's cases), then VACUUM ANALYZE.
resources stays empty (its reports answer over no venues).

Two console accounts are created through accounts.create_account, as `jinwei admin
create` creates one (every holdable role): one at the province, one at 西湖区. Each signs
in as a browser does (GET /console/login for the nonce cookie and the form's CSRF field,
then POST). Then each page is asked `--warmup` times, then `--repeat` times in a row on
one keep-alive connection with the session cookie: the time from sending the request to
the last byte of the answer (p50 / p99 / max). A page whose route answers 404 (its view
not written yet) is skipped and said so. Each page's size: the HTML's bytes, and what
gzip (level 6) would make of them — the gateway sends pages uncompressed unless the
answer says Content-Encoding. The first page load: the sign-in page, console.css and
icon.svg as a new browser fetches them, bodies and headers.

Writes bench/out/console.json; the services' and the gateway's logs in bench/out/.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import gzip  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote, urlencode  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import province as prov  # noqa: E402
import province_bench  # noqa: E402
from common import percentile, wait_ready  # noqa: E402

OUT = prov.OUT
SERVICES = ("organizations", "evaluation", "npe", "cadres", "resources", "accounts")
KEEP_FILE = OUT / "console-env.json"
GATEWAY_PORT = 18380
PROVINCE, CITY, COUNTY = "330000000000", province_bench.CITY, province_bench.COUNTY
PASSWORD = "Console-bench-2026"
# p99 targets (issue 19), by the page's group; the first page load's bytes.
TARGETS_MS = {"dashboard": 300, "ledger": 300, "search": 100}
FIRST_LOAD_TARGET_BYTES = 500 * 1024
MISSING_ROUTE = "没有这个页面"  # pages.Console: werkzeug's NotFound, a route no view has
OTHER = set("中共党支部委员会总")  # in (nearly) every name: no use as a search


class Client:
    """A browser's cookies on one keep-alive connection, no redirect followed. Each
    request's time: from sending it to the answer's last byte."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, tuple[str, str]] = {}  # name → (value, path)
        self.connection: http.client.HTTPConnection | None = None
        self.used = 0.0

    def _connect(self) -> http.client.HTTPConnection:
        if self.connection is not None:
            self.connection.close()
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.connection.connect()
        return self.connection

    def request(self, method: str, path: str, form: dict | None = None):
        """(status, headers, body bytes, seconds, header bytes)."""
        headers = {"Accept-Encoding": "gzip", "Accept": "text/html"}
        sent = [f"{name}={value}" for name, (value, where) in self.cookies.items()
                if path.split("?")[0].startswith(where)]
        if sent:
            headers["Cookie"] = "; ".join(sent)
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        # gunicorn closes a connection idle for `keepalive` (5) seconds: a fresh one, outside
        # the time, rather than a timed request on a closing one.
        if self.connection is None or time.monotonic() - self.used > 4:
            self._connect()
        for attempt in (1, 2):
            try:
                connection = self.connection or self._connect()
                started = time.perf_counter()
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                seconds = time.perf_counter() - started
                break
            except (http.client.HTTPException, ConnectionError, BrokenPipeError):
                if attempt == 2:
                    raise
                self._connect()  # closed under us between two requests: again, fresh
        self.used = time.monotonic()
        if response.will_close:
            connection.close()
            self.connection = None
        header_bytes = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + sum(
            len(f"{k}: {v}\r\n") for k, v in response.getheaders()) + 2
        for header in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            attributes = {k.strip().lower(): v for k, _, v in
                          (part.partition("=") for part in header.split(";")[1:])}
            if attributes.get("max-age") == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = (value, attributes.get("path", "/"))
        return response.status, response.headers, data, seconds, header_bytes

    def sign_in(self, username: str) -> None:
        status, _, html, _, _ = self.request("GET", "/console/login")
        csrf = re.search(rb'name="csrf" value="([^"]+)"', html)
        if status != 200 or csrf is None:
            raise SystemExit(f"the sign-in form answered {status}")
        status, headers, html, _, _ = self.request("POST", "/console/login", form={
            "csrf": csrf.group(1).decode(), "username": username, "password": PASSWORD})
        if status != 303 or headers.get("Location") != "/console/":
            raise SystemExit(f"signing in {username} answered {status}: "
                             f"{html.decode(errors='replace')[:300]}")


def start_gateway(stack, workers: int, threads: int) -> subprocess.Popen:
    var = OUT / "console-gateway-var"
    var.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JINWEI_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(stack.gateway_env, JINWEI_TOKEN_SECRET=stack.secret,
               GATEWAY_HTTP_PORT=str(GATEWAY_PORT), JINWEI_VAR_DIR=str(var),
               JINWEI_GATEWAY_WORKERS=str(workers), JINWEI_GATEWAY_THREADS=str(threads),
               PYTHONWARNINGS="ignore", PYTHONUNBUFFERED="1")
    log = open(OUT / "console-gateway.log", "a")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([sys.executable, "-m", "services.gateway"], env=env,
                               cwd=prov.ROOT, stdout=log, stderr=log)
    wait_ready(GATEWAY_PORT, path="/health/ready")
    return process


def create_account(stack, place: str, label: str) -> str:
    """A console account at `place` with every role an account can hold, as `jinwei admin
    create` makes the first administrator; its user name."""
    from services.accounts import domain as accounts
    from shared.contracts.accounts import OPERATOR_CLI_SYSTEM
    from shared.platform import auth
    from shared.platform.rpc_client import rpc_proxy

    username = f"bench.{label}.{uuid.uuid4().hex[:8]}"
    # As the operator's command line: a password it sets need not be changed first.
    operator = auth.issue_token(stack.secret, subject="operator-cli", department="运维",
                                place_code="330000000000", roles=list(auth.ROLES),
                                system=OPERATOR_CLI_SYSTEM)
    with rpc_proxy(stack.operator_uri, operator, timeout=60) as proxy:
        proxy.accounts.create_account(
            request_id=str(uuid.uuid4()), username=username, display_name=f"基准{label}",
            department="组织部", place_code=place,
            roles=sorted({*accounts.HOLDABLE, "accounts.admin"}), password=PASSWORD)
    return username


def search_terms(stack) -> list[tuple[str, str]]:
    """[(label, text)]: texts that match some names in the province — a frequent single
    character (many pages of matches), then 1, 2 and 3 characters of the rarest kind that
    still matches (~20 organizations: fewer than a page, so the search reads as far as it
    can before it has its page)."""
    names = [row[0] for row in stack.sql(
        "organizations", "SELECT name FROM organizations WHERE status = 'active'")]
    terms = []
    for size in (1, 2, 3):
        found: Counter = Counter()
        for name in names:
            found.update({name[i:i + size] for i in range(len(name) - size + 1)})
        han = {t: n for t, n in found.items()
               if all("\u4e00" <= c <= "\u9fff" for c in t) and not set(t) & OTHER}
        if size == 1:
            common = max(han, key=lambda t: (han[t], t))
            terms.append(("1 字，常见", common))
        rare = min(han, key=lambda t: (abs(han[t] - 20), t))
        terms.append((f"{size} 字，少见", rare))
    return [(f"{label}（{count_matches(names, text)} 个）", text) for label, text in terms]


def count_matches(names, text) -> int:
    return sum(text in name for name in names)


def pages(stack) -> list[tuple[str, str, str, str]]:
    """[(group, page, account, path)] of the pages timed."""
    # A case, and its organization, in 西湖区 — or anywhere, where a small province has none.
    case = stack.sql("organizations", "SELECT c.id, c.organization_id FROM rectification_cases"
                     " c JOIN organizations o ON o.id = c.organization_id ORDER BY o.place_code"
                     " BETWEEN %s AND %s DESC, c.id LIMIT 1", ("330106000000", "330106999999"))
    organization = stack.sql("organizations", "SELECT id FROM organizations WHERE parent_id"
                             " IS NOT NULL ORDER BY place_code BETWEEN %s AND %s DESC, id"
                             " LIMIT 1", ("330106000000", "330106999999"))
    listed = [
        ("dashboard", "首页 · 浙江省", "province", "/console/"),
        ("dashboard", "首页 · 杭州市", "province", f"/console/?place={CITY}"),
        ("dashboard", "首页 · 西湖区", "province", f"/console/?place={COUNTY}"),
        ("dashboard", "首页 · 西湖区（区账号）", "county", "/console/"),
        ("ledger", "台账 · 浙江省", "province", "/console/ledger"),
        ("ledger", "台账 · 杭州市", "province", f"/console/ledger?place={CITY}"),
        ("ledger", "台账 · 西湖区", "province", f"/console/ledger?place={COUNTY}"),
        ("ledger", "台账 · 西湖区（区账号）", "county", "/console/ledger"),
    ]
    if case:
        listed.append(("ledger", "台账 · 一个案件", "province",
                       f"/console/ledger/cases/{case[0][0]}"))
    for label, text in search_terms(stack):
        listed.append(("search", f"名称搜索 · {text}：{label}", "province",
                       f"/console/organizations/search?q={quote(text)}"))
    listed += [
        ("organizations", "组织 · 浙江省（树）", "province", "/console/organizations"),
    ]
    if organization or case:
        org_id = case[0][1] if case else organization[0][0]
        listed.append(("organizations", "组织 · 一个组织", "province",
                       f"/console/organizations/{org_id}"))
    listed += [
        ("readonly", "非公企业 · 浙江省", "province", "/console/enterprises"),
        ("readonly", "非公企业 · 西湖区（区账号）", "county", "/console/enterprises"),
        ("readonly", "后备干部 · 浙江省", "province", "/console/reserves"),
        ("readonly", "后备干部 · 西湖区（区账号）", "county", "/console/reserves"),
        ("readonly", "阵地经费 · 浙江省", "province", "/console/venues"),
    ]
    return listed


def first_load(port: int) -> dict:
    """A new browser's first visit: the sign-in page, then its stylesheet and icon."""
    client, parts, total = Client(port), {}, 0
    for path in ("/console/login", "/console/static/console.css", "/console/static/icon.svg"):
        status, headers, data, _, header_bytes = client.request("GET", path)
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
        parts[path] = {"body_bytes": len(data), "header_bytes": header_bytes,
                       "content_encoding": headers.get("Content-Encoding")}
        total += len(data) + header_bytes
    return {"parts": parts, "total_bytes": total}


def time_page(client: Client, path: str, warmup: int, repeat: int) -> dict:
    status, headers, data, _, _ = client.request("GET", path)
    if status == 404 and MISSING_ROUTE.encode() in data:
        return {"skipped": "404: no view for this route yet"}
    if status != 200:  # a page that fails: said, its request id to find it in the log
        return {"skipped": f"{status}, request {headers.get('X-Request-Id')} in "
                           "bench/out/console-gateway.log"}
    for _ in range(warmup):
        client.request("GET", path)
    ms: list[float] = []
    errors: Counter = Counter()
    for _ in range(repeat):
        status, headers, data, seconds, _ = client.request("GET", path)
        if status != 200:
            errors[status] += 1
            continue
        ms.append(1000 * seconds)
    encoding = headers.get("Content-Encoding")
    html = gzip.decompress(data) if encoding == "gzip" else data
    figures = {"p50_ms": round(statistics.median(ms), 1), "p99_ms": round(percentile(ms, 0.99), 1),
               "max_ms": round(max(ms), 1), "calls": len(ms), "html_bytes": len(html),
               "sent_bytes": len(data), "content_encoding": encoding,
               "gzip_bytes": len(gzip.compress(html, 6))}
    if errors:
        figures["errors"] = dict(errors)
    return figures


def dashboard_parts(stack, place: str, repeat: int) -> dict:
    """The dashboard's service calls one by one (as our caller, not through the gateway):
    where its time goes. {call: p50 ms}."""
    calls = {
        "evaluation.moving_up_report": lambda px: px.evaluation.moving_up_report(
            place_code=place),
        "organizations.ledger (1 row)": lambda px: px.organizations.ledger(
            place_code=place, status=None, listed=None, limit=1, after=None),
        "npe.coverage_report": lambda px: px.npe.coverage_report(place_code=place),
        "cadres.reserve_shortfall": lambda px: px.cadres.reserve_shortfall(place_code=place),
        "resources.venue_report": lambda px: px.resources.venue_report(place_code=place),
        "organizations.place_path": lambda px: px.organizations.place_path(place_code=place),
    }
    asked = {  # the same, each sent before any is waited for (RpcClient.call_async)
        "evaluation": ("moving_up_report", {}), "npe": ("coverage_report", {}),
        "cadres": ("reserve_shortfall", {}), "resources": ("venue_report", {}),
        "organizations": ("ledger", {"status": None, "listed": None, "limit": 1,
                                     "after": None})}

    def all_at_once(px):
        pending = [getattr(getattr(px, service), method).call_async(place_code=place, **more)
                   for service, (method, more) in asked.items()]
        pending.append(px.organizations.place_path.call_async(place_code=place))
        return [reply.result() for reply in pending]

    figures = {}
    with stack.proxy(timeout=120) as proxy:
        for name, call in {**calls, "all six at once (call_async)": all_at_once}.items():
            _, ms = province_bench.time_calls(lambda c=call: c(proxy), repeat)
            figures[name] = {"p50_ms": round(statistics.median(ms), 1),
                             "p99_ms": round(percentile(ms, 0.99), 1)}
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--reuse", type=Path, help=f"serve a province kept by --keep "
                                                   f"({KEEP_FILE.relative_to(prov.ROOT)})")
    parser.add_argument("--keep", action="store_true", help="keep the province for --reuse")
    parser.add_argument("--drop", action="store_true", help="with --reuse: drop it after")
    parser.add_argument("--enterprise-path", choices=("jobs", "batch"), default="batch")
    parser.add_argument("--grade-share", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads a worker")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)

    result: dict = {"scale": args.scale, "seed": args.seed, "repeat": args.repeat,
                    "gunicorn": f"{args.workers} workers × {args.threads} threads"}
    stack = prov.Stack(services=SERVICES, env_file=args.reuse, keep=args.keep,
                       log_name="console-services.log", gateway=True, keep_file=KEEP_FILE)
    if args.reuse is not None and not stack.gateway_env:
        raise SystemExit(f"{args.reuse} was kept without a gateway account: keep a province "
                         "with this bench's --keep")
    gateway = None
    try:
        stack.start()
        if args.reuse is None:
            p = prov.generate("33", args.seed, args.scale)
            result["counts"] = p.counts()
            print(f"province: {p.counts()}", flush=True)
            result["load"] = prov.load(stack, p, args.enterprise_path)
        graded = stack.sql("evaluation", "SELECT count(*) FROM gradings")[0][0]
        if graded == 0 and args.grade_share > 0:
            import random

            with stack.proxy() as proxy:
                ids = province_bench.organization_ids(proxy, PROVINCE)
            ids = sorted(random.Random(args.seed).sample(ids, round(len(ids) * args.grade_share)))
            result["grading"] = province_bench.grade(stack, PROVINCE, ids, args.seed)
            result["grading"]["settled_seconds"] = round(province_bench.settle(stack), 1)
        if args.reuse is None:
            started = time.monotonic()
            for service in stack.urls:
                stack.sql(service, "VACUUM ANALYZE")
            print(f"VACUUM ANALYZE: {time.monotonic() - started:.1f} s", flush=True)
        result["data"] = {
            "organizations": stack.sql("organizations", "SELECT count(*) FROM organizations")[0][0],
            "cases": stack.sql("organizations", "SELECT count(*) FROM rectification_cases")[0][0],
            "enterprises": stack.sql("npe", "SELECT count(*) FROM enterprises")[0][0],
            "reserves": stack.sql("cadres", "SELECT count(*) FROM reserves")[0][0]}
        print(f"data: {result['data']}", flush=True)

        gateway = start_gateway(stack, args.workers, args.threads)
        clients = {}
        for label, place in (("province", PROVINCE), ("county", COUNTY)):
            clients[label] = Client(GATEWAY_PORT)
            clients[label].sign_in(create_account(stack, place, label))
        result["first_load"] = first_load(GATEWAY_PORT)
        print(f"first page load: {result['first_load']['total_bytes']} bytes", flush=True)

        result["pages"] = []
        for group, name, account, path in pages(stack):
            figures = time_page(clients[account], path, args.warmup, args.repeat)
            result["pages"].append({"group": group, "page": name, "account": account,
                                    "path": path, **figures})
            said = (f"skipped ({figures['skipped']})" if "skipped" in figures else
                    f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, "
                    f"{figures['html_bytes']} bytes")
            print(f"{name}: {said}", flush=True)
        result["dashboard_parts"] = dashboard_parts(stack, PROVINCE, min(args.repeat, 30))
    finally:
        if gateway is not None:
            gateway.terminate()
            try:
                gateway.wait(timeout=40)
            except subprocess.TimeoutExpired:
                gateway.kill()
        if args.drop and args.reuse is not None:
            stack.drop()
        else:
            stack.stop()

    report(result)
    (OUT / "console.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))


def report(result: dict) -> None:
    print(f"\nConsole pages at province scale (scale {result['scale']}; {result['data']}; "
          f"gunicorn {result['gunicorn']}; {result['repeat']} requests a page):")
    print("| page | p50 ms | p99 ms | max ms | HTML bytes | gzip bytes | target p99 | met |\n"
          "|---|---:|---:|---:|---:|---:|---:|---|")
    for page in result["pages"]:
        if "skipped" in page:
            print(f"| {page['page']} | skipped: {page['skipped']} | | | | | | |")
            continue
        target = TARGETS_MS.get(page["group"])
        met = "" if target is None else ("yes" if page["p99_ms"] < target else
                                         "p50 only" if page["p50_ms"] < target else "no")
        print(f"| {page['page']} | {page['p50_ms']} | {page['p99_ms']} | {page['max_ms']} | "
              f"{page['html_bytes']} | {page['gzip_bytes']} | {target or ''} | {met} |")
    encodings = {page.get("content_encoding") for page in result["pages"] if "skipped" not in page}
    print(f"(Content-Encoding sent by the gateway: {', '.join(map(str, encodings))}; "
          "gzip bytes: what gzip -6 would make of the HTML)")
    first = result["first_load"]
    parts = " + ".join(f"{path.rsplit('/', 1)[-1]} {p['body_bytes']}+{p['header_bytes']}"
                       for path, p in first["parts"].items())
    met = "yes" if first["total_bytes"] < FIRST_LOAD_TARGET_BYTES else "no"
    print(f"\nFirst page load (body+header bytes): {parts} = {first['total_bytes']} bytes "
          f"(target < {FIRST_LOAD_TARGET_BYTES}: {met})")
    print("\nThe province dashboard's service calls, as our caller (p50 / p99 ms):")
    parts = result["dashboard_parts"]
    for name, f in parts.items():
        print(f"- {name}: {f['p50_ms']} / {f['p99_ms']}")
    one_by_one = [f["p50_ms"] for name, f in parts.items() if "at once" not in name]
    print(f"- sum of the p50s one by one: {sum(one_by_one):.1f}")


if __name__ == "__main__":
    main()

"""Helpers the tests share: running services, tokens, RPC clients, sample places."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.error
import urllib.request
from contextlib import ExitStack

from nameko.runners import ServiceRunner
from nameko.standalone.rpc import ClusterRpcProxy

from shared import auth, config, regions
from shared.monitoring import Monitoring

PROVINCE = "330000000000"
HANGZHOU, XIHU = "330100000000", "330106000000"
LISHUI, SUICHANG = "331100000000", "331123000000"
SAMPLE = config.REPO_ROOT / "deploy" / "sample" / "places-zhejiang.csv"

ALL_ROLES = tuple(auth.ROLES)
READ = ("organizations.read",)
WRITE = ("organizations.read", "organizations.write")


def sample_places(*roots: str) -> list[dict]:
    """The shipped sample's places in these subtrees, with their ancestors."""
    rows = regions.read_places_csv(SAMPLE)
    wanted = {code for root in roots for code in (*regions.ancestors(root), root)}
    return [{"code": r.code, "name": r.name} for r in rows
            if r.code in wanted or any(regions.in_subtree(r.code, root) for root in roots)]


class Running:
    """Services running in this process on a nameko ServiceRunner."""

    def __init__(self, settings: config.Settings, *service_classes):
        self.settings = settings
        self.runner = ServiceRunner(settings.nameko_config())
        for cls in service_classes:
            self.runner.add_service(cls)

    def __enter__(self):
        self.runner.start()
        return self

    def __exit__(self, *exc):
        self.runner.stop()

    def container(self, name: str):
        return next(c for c in self.runner.containers if c.service_name == name)

    def http_port(self, name: str) -> int:
        ext = next(e for e in self.container(name).extensions if isinstance(e, Monitoring))
        return ext.port

    def http_get(self, name: str, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.http_port(name)}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def health(self, name: str) -> tuple[int, dict]:
        status, body = self.http_get(name, "/health/ready")
        return status, json.loads(body)


@contextlib.contextmanager
def services_running(databases, base_settings, name: str, *services: str):
    """These services, each on a fresh, migrated database of its own; `running.urls`
    maps a service to its database (and `running.url` is the first one's)."""
    from shared.migrate import migrate
    from shared.runner import service_class

    urls = {}
    for service in services:
        urls[service] = databases.create(f"{name}_{service}")
        migrate(service, urls[service])
    settings = base_settings.with_overrides(database_urls=urls)
    with Running(settings, *(service_class(s) for s in services)) as running:
        running.urls, running.url = urls, urls[services[0]]
        yield running


def organizations_service(databases, base_settings, name: str):
    """The organizations service on a fresh, migrated database of its own."""
    return services_running(databases, base_settings, name, "organizations")


def token(secret: str, *, place: str = PROVINCE, roles=ALL_ROLES, subject: str = "tester",
          department: str = "浙江省委组织部", system: str = "test-suite") -> str:
    return auth.issue_token(secret, subject=subject, department=department, place_code=place,
                            roles=list(roles), system=system)


@contextlib.contextmanager
def rpc(settings: config.Settings, auth_token: str | None, timeout: float = 15):
    context = {"auth_token": auth_token} if auth_token else {}
    with ClusterRpcProxy(settings.nameko_config(), context_data=context, timeout=timeout) as proxy:
        yield proxy


def eventually(check, timeout: float = 10, interval: float = 0.05):
    """Poll `check()` until it returns a truthy value; its last value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {check}")
        time.sleep(interval)


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_ports(count: int) -> list[int]:
    """Distinct ports nothing listens on, with their +/-20000 neighbour free too (the
    private RabbitMQ node's distribution port)."""
    ports: list[int] = []
    with ExitStack() as stack:
        while len(ports) < count:
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            neighbour = port + 20000 if port + 20000 <= 65535 else port - 20000
            if port not in (5672, 5432) and not port_answers(neighbour):
                ports.append(port)
    return ports


class Gateway:
    """The HTTP gateway under a real gunicorn (a child process), on a free port."""

    def __init__(self, settings: config.Settings, var_dir, *, rpc_timeout: float = 3,
                 workers: int = 2, threads: int = 4):
        import os
        import sys

        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("JINWEI_")}
        self.env.update(AMQP_URI=settings.amqp_uri, GATEWAY_HTTP_PORT=str(self.port),
                        JINWEI_VAR_DIR=str(var_dir), JINWEI_RPC_TIMEOUT=str(rpc_timeout),
                        JINWEI_GATEWAY_WORKERS=str(workers),
                        JINWEI_GATEWAY_THREADS=str(threads), PYTHONUNBUFFERED="1")
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.argv = [sys.executable, "-m", "services.gateway"]
        self.log = open(f"{var_dir}/gateway.log", "ab")  # noqa: SIM115 - closed in stop
        self.process = None

    def __enter__(self):
        import subprocess

        self.process = subprocess.Popen(self.argv, env=self.env, cwd=str(config.REPO_ROOT),
                                        stdout=self.log, stderr=subprocess.STDOUT)
        try:
            eventually(lambda: self.process.poll() is not None or self._live(), timeout=30,
                       interval=0.2)
        except AssertionError:
            self.stop()
            raise
        if self.process.poll() is not None:
            self.log.flush()
            raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n"
                               + open(self.log.name, errors="replace").read()[-3000:])
        return self

    def __exit__(self, *exc):
        self.stop()

    def _live(self) -> bool:
        try:
            return self.get("/health/live", timeout=2)[0] == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except Exception:  # noqa: BLE001 - bounded: kill what did not stop
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()

    def request(self, method: str, path: str, *, token: str | None = None, body=None,
                data: bytes | None = None, headers: dict | None = None, timeout: float = 30):
        """(status, headers, parsed JSON body or raw bytes)."""
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.headers, _body(response)
        except urllib.error.HTTPError as error:
            return error.code, error.headers, _body(error)

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, body=None, **kw):
        return self.request("POST", path, body=body, **kw)


def _body(response):
    raw = response.read()
    kind = response.headers.get("Content-Type", "")
    return json.loads(raw) if "json" in kind and raw else raw


def sql_value(url: str, statement: str, params=()):
    """The first column of the first row of a query on the database at `url` (a count,
    mostly): what tests read back to check what a service wrote."""
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchone()[0]
    finally:
        conn.close()

"""Helpers the tests share: running services, tokens, RPC clients, sample places."""

from __future__ import annotations

import contextlib
import inspect
import json
import socket
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from urllib.parse import unquote, urlsplit

from shared.national import regions
from shared.platform import auth, config
from shared.platform.containers import Runner
from shared.platform.monitoring import Monitoring
from shared.platform.rpc_client import rpc_proxy

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


# Broker nodes other than the machine's (a fault test's private node), by host and port:
# where rabbitmqctl must go to make accounts for that broker.
PRIVATE_NODES: dict[tuple[str, int], str] = {}


def _node_of(amqp_uri: str) -> str | None:
    parts = urlsplit(amqp_uri)
    return PRIVATE_NODES.get((parts.hostname, parts.port or 5672))


def with_service_accounts(settings: config.Settings, *service_classes) -> config.Settings:
    """`settings` with a broker account for each of these services that has none yet (a
    test-only service), made as `make run` makes the real ones."""
    import secrets

    from shared.platform.broker import topology
    from tools.launcher import provision

    missing = [cls for cls in service_classes if cls.name not in settings.service_amqp_uris]
    if not missing:
        return settings
    accounts, uris = [], dict(settings.service_amqp_uris)
    for cls in missing:
        grant = topology.grant_for_service(settings.broker_account_prefix, cls)
        password = secrets.token_hex(12)
        accounts.append(topology.Account(grant, password))
        uris[cls.name] = config.with_credentials(settings.amqp_uri, grant.account, password)
    provision.ensure_accounts(settings.amqp_uri, accounts, node=_node_of(settings.amqp_uri))
    return settings.with_overrides(service_amqp_uris=uris)


def accounts_on(settings: config.Settings, admin_uri: str, *, node: str | None = None
                ) -> config.Settings:
    """`settings` moved to another vhost or broker: `admin_uri` (an account with every
    permission there, made already) for the test's own use, and every real service and
    the gateway on an account of its own there — the same names and passwords, which
    are global to a broker. Test-only services get theirs when they start (Running)."""
    from shared.platform.broker import topology
    from shared.platform.containers import service_class
    from tools.launcher import provision

    if node:
        parts = urlsplit(admin_uri)
        PRIVATE_NODES[(parts.hostname, parts.port or 5672)] = node
    grants = {g.account: g for g in topology.deployment_grants(
        settings.broker_account_prefix, "unused-operator",
        [service_class(s) for s in config.SERVICES])}
    accounts, uris = [], {}
    for process in config.PROCESSES:
        account = settings.broker_account(process)
        password = unquote(urlsplit(settings.amqp_uri_of(process)).password)
        accounts.append(topology.Account(grants[account], password))
        uris[process] = config.with_credentials(admin_uri, account, password)
    provision.ensure_accounts(admin_uri, accounts, node=node)
    return settings.with_overrides(amqp_uri=admin_uri, service_amqp_uris=uris)


class Running:
    """Services running in this process, each container on its own broker account."""

    def __init__(self, settings: config.Settings, *service_classes):
        settings = with_service_accounts(settings, *service_classes)
        self.settings = settings
        self.runner = Runner(settings)
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
    from shared.platform.containers import service_class
    from shared.platform.migrate import migrate

    urls = {}
    for service in services:
        urls[service] = databases.create(f"{name}_{service}")
        migrate(service, urls[service])
    settings = base_settings.with_overrides(database_urls=urls)
    classes = [service_class(s) for s in services]
    try:
        with Running(settings, *classes) as running:
            running.urls, running.url = urls, urls[services[0]]
            yield running
    finally:
        _delete_event_queues(settings.amqp_uri, classes)


def _delete_event_queues(amqp_uri: str, service_classes) -> None:
    """The services' event queues go with them: the run's vhost outlives a test module,
    and a durable queue left behind would gather the next module's events (another
    module's organizations, with ids of its own database) for the next module that runs
    the service to consume as its own."""
    import kombu

    from shared.platform.broker import topology

    with kombu.Connection(amqp_uri, connect_timeout=10) as connection:
        channel = connection.channel()
        for service_cls in service_classes:
            for subscription in topology.subscriptions(service_cls):
                channel.queue_delete(subscription.queue)


def organizations_service(databases, base_settings, name: str):
    """The organizations service on a fresh, migrated database of its own."""
    return services_running(databases, base_settings, name, "organizations")


def token(secret: str, *, place: str = PROVINCE, roles=ALL_ROLES, subject: str = "tester",
          department: str = "浙江省委组织部", system: str = "test-suite") -> str:
    return auth.issue_token(secret, subject=subject, department=department, place_code=place,
                            roles=list(roles), system=system)


def operator_token(secret: str, *, place: str = PROVINCE) -> str:
    """The operator's command line (`make admin`, `jinwei --as-operator`): every role; a
    password it sets for an account need not be changed at the first sign-in."""
    from shared.contracts.accounts import OPERATOR_CLI_SYSTEM

    return token(secret, place=place, subject="operator-cli", department="运维",
                 system=OPERATOR_CLI_SYSTEM)


def rpc(settings: config.Settings, auth_token: str | None, timeout: float = 15):
    """`with rpc(settings, token) as proxy: proxy.<service>.<method>(**params)`, as the
    account of settings.amqp_uri (direct reply-to; shared.platform.rpc_client)."""
    return rpc_proxy(settings, auth_token, timeout=timeout)


class RawRpc:
    """Hand-made RPC requests on one channel that consumes its direct reply-to address:
    for messages no client would send. `publish(key, body, **properties)` sends `body`
    (bytes as they are, anything else as JSON); `replies(n)` collects answers."""

    def __init__(self, amqp_uri: str, ssl_options: dict | None = None):
        import amqp

        self.amqp = amqp
        parts = urlsplit(amqp_uri)
        port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
        self.connection = amqp.Connection(
            host=f"{parts.hostname}:{port}", userid=unquote(parts.username),
            password=unquote(parts.password), virtual_host=unquote(parts.path[1:]) or "/",
            ssl=ssl_options or False)
        self.connection.connect()
        self.channel = self.connection.channel()
        self.received: list = []
        self.channel.basic_consume("amq.rabbitmq.reply-to", no_ack=True,
                                   callback=self.received.append)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001 - a connection the broker closed
            pass

    def publish(self, routing_key: str, body, *, exchange: str = "nameko-rpc", **properties):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
            properties.setdefault("content_type", "application/json")
        headers = properties.pop("headers", None)
        if headers is not None:
            properties["application_headers"] = headers
        self.channel.basic_publish(self.amqp.Message(body, **properties), exchange=exchange,
                                   routing_key=routing_key)

    def replies(self, count: int, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            try:
                self.connection.drain_events(timeout=0.2)
            except TimeoutError:
                pass
        return [json.loads(m.body) for m in self.received]


def publish_event(settings: config.Settings, body, *, source: str | None = None,
                  routing_key: str | None = None, exchange: str | None = None,
                  as_account: str | None = None) -> None:
    """Publish an event body as its source service's relay would: on its events exchange,
    from its own broker account (RabbitMQ checks the user_id). `as_account` names
    another account of settings.service_amqp_uris to publish from instead (a forgery)."""
    import kombu

    source = source or body["source"]
    uri = settings.amqp_uri_of(as_account or source)
    with kombu.Connection(uri, transport_options={"confirm_publish": True}) as conn:
        kombu.Producer(conn.channel()).publish(
            body, exchange=f"{source}.events" if exchange is None else exchange,
            routing_key=routing_key or body["type"], serializer="json",
            message_id=body.get("id") if isinstance(body, dict) else None,
            user_id=config.amqp_user(uri))


def eventually(check, timeout: float = 30, interval: float = 0.05, what: str = ""):
    """Poll `check()` until it returns a truthy value: that value, or AssertionError
    saying what was waited for (`what`, else the check's source line) and its last value.
    The bound is generous (30 s): it is there to end a test that would hang, not to
    measure the machine's speed, which on a loaded CI machine varies tenfold."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {what or _source(check)}"
                                 f" (last: {value!r})")
        time.sleep(interval)


def _source(check) -> str:
    try:
        return inspect.getsource(check).strip()
    except (OSError, TypeError):
        return repr(check)


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
                 workers: int = 2, threads: int = 4, port: int | None = None,
                 extra_env: dict | None = None):
        import os
        import sys

        self.port = port or free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("JINWEI_")}
        self.env.update(AMQP_URI=settings.amqp_uri_of("gateway"),
                        JINWEI_BROKER_ACCOUNT_PREFIX=settings.broker_account_prefix,
                        JINWEI_TOKEN_SECRET=settings.token_secrets[0],
                        GATEWAY_HTTP_PORT=str(self.port),
                        JINWEI_VAR_DIR=str(var_dir), JINWEI_RPC_TIMEOUT=str(rpc_timeout),
                        JINWEI_GATEWAY_WORKERS=str(workers),
                        JINWEI_GATEWAY_THREADS=str(threads), PYTHONUNBUFFERED="1",
                        **(extra_env or {}))
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


# -- "not yours" and "not there" compared (docs/platform.md, jurisdiction without oracles) --
NOWHERE = 987_654_321  # an id no record has


def refusal(call):
    """What `call()` is refused with, as a caller gets it: (type, message, details)."""
    import pytest

    with pytest.raises(Exception) as caught:
        call()
    return type(caught.value), caught.value.message, caught.value.details


def as_sent(error):
    """An error's message and details as a caller gets them (nameko sends values as text)."""
    from nameko.exceptions import safe_for_serialization

    return error.message, safe_for_serialization(error.details)


def answer(call, record_id) -> tuple:
    """What `call(record_id)` raises, the id itself masked: a record of another county must
    get the very answer (type, message, details) that an id nobody has gets, or the
    difference would tell that it exists."""
    import re

    kind, message, details = refusal(lambda: call(record_id))

    def mask(text: str) -> str:
        return re.sub(rf"\b{record_id}\b", "<id>", text)

    return kind, mask(message), mask(json.dumps(details, ensure_ascii=False))

"""Test harness: the real RabbitMQ and PostgreSQL, isolated per run.

A test run gets its own RabbitMQ vhost and accounts, and its own PostgreSQL role and
databases, created through the project's provisioning (tools.launcher.provision) on the
servers the configuration points at, and deleted afterwards.

On the broker, as in production, every service (and the gateway) has an account of its
own with the least permissions it needs (shared.platform.broker.accounts), named
`jinwei_<run>-<service>`; a test-only service gets one when it starts
(tests.support.Running). The run's own account (`amqp_uri`, settings.amqp_uri) has
every permission on the vhost: the tests' scaffolding (listeners, hand-made messages).
"""

import warnings

warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything imports socket; nameko's services need it

import os  # noqa: E402
import secrets  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import pytest  # noqa: E402

from shared.platform import config, personal_data  # noqa: E402
from shared.platform.pg import make_psycopg_green  # noqa: E402
from tools.launcher import provision  # noqa: E402

make_psycopg_green()

BASE = config.load()
RUN_ID = f"t{os.getpid()}{secrets.token_hex(3)}"


def _host_port(url: str, default: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default


ACCOUNT_PREFIX = f"jinwei_{RUN_ID}-"


@pytest.fixture(scope="session")
def amqp_uri():
    host, port = _host_port(BASE.amqp_uri, 5672)
    uri = f"amqp://jinwei_{RUN_ID}:{secrets.token_hex(8)}@{host}:{port}/jinwei_{RUN_ID}"
    provision.ensure_vhost(uri)
    yield uri
    provision.delete_vhost(uri, delete_user=True)
    provision.delete_accounts_with_prefix(uri, ACCOUNT_PREFIX)


@pytest.fixture(scope="session")
def service_amqp_uris(amqp_uri):
    """An account for every real service and the gateway, as `make run` makes them."""
    from shared.platform.broker import topology
    from shared.platform.containers import service_class

    accounts, uris = [], {}
    grants = topology.deployment_grants(ACCOUNT_PREFIX, "unused-operator",
                                        [service_class(s) for s in config.SERVICES])
    for grant in grants:
        if grant.account.startswith(ACCOUNT_PREFIX):
            password = secrets.token_hex(12)
            accounts.append(topology.Account(grant, password))
            uris[grant.account[len(ACCOUNT_PREFIX):]] = config.with_credentials(
                amqp_uri, grant.account, password)
    provision.ensure_accounts(amqp_uri, accounts)
    return uris


class Databases:
    """Databases of this test run, all owned by one role, dropped at the end."""

    def __init__(self):
        host, port = _host_port(BASE.postgres_admin_url, 5432)
        self.admin_url = BASE.postgres_admin_url
        self.role = f"jinwei_{RUN_ID}"
        self.base = f"postgresql://{self.role}:{secrets.token_hex(8)}@{host}:{port}/"
        self.created: list[str] = []

    def create(self, name: str) -> str:
        url = f"{self.base}jinwei_{RUN_ID}_{name}"
        provision.ensure_database(self.admin_url, url)
        self.created.append(url)
        return url

    def drop_all(self) -> None:
        for index, url in enumerate(self.created):
            provision.drop_database(self.admin_url, url,
                                    drop_role=index == len(self.created) - 1)


@pytest.fixture(scope="session")
def databases():
    dbs = Databases()
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def token_secret():
    return secrets.token_urlsafe(48)


@pytest.fixture(scope="session")
def base_settings(amqp_uri, service_amqp_uris, token_secret):
    """Settings for services under test: this run's vhost and accounts, fast event
    retries, and health ports chosen by the kernel (port 0)."""
    return BASE.with_overrides(
        amqp_uri=amqp_uri,
        service_amqp_uris=dict(service_amqp_uris),
        broker_account_prefix=ACCOUNT_PREFIX,
        token_secrets=(token_secret,),
        personal_data_keys=(personal_data.new_key(),),
        http_ports={name: 0 for name in BASE.http_ports},
        event_max_attempts=3,
        event_retry_base_ms=100,
        database_urls={},
    )

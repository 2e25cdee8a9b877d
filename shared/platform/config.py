"""Configuration from environment variables, with defaults that match `make run`.

One place decides every name and default, so the services, the tools, `make run`
and the tests agree. Nothing here opens a connection.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[2]

# Services built so far, in start order. A service joins this list when it lands.
SERVICES: tuple[str, ...] = ("organizations", "evaluation", "npe", "cadres", "resources",
                             "accounts")
# What `make run` starts: the services, then the HTTP gateway in front of them.
PROCESSES: tuple[str, ...] = (*SERVICES, "gateway")

# Health and metrics port of each service (its HTTP side port, not the worker pool).
DEFAULT_HTTP_PORTS = {
    "organizations": 8101,
    "evaluation": 8102,
    "npe": 8103,
    "cadres": 8104,
    "resources": 8105,
    "accounts": 8106,
    "gateway": 8080,
}

# The operator's account (the `jinwei` CLI, make targets) on the local broker; its
# password is generated into var/broker/ by `make run` (see broker_password).
DEFAULT_AMQP_ADDRESS = "amqp://127.0.0.1:5672/jinwei"
DEFAULT_OPERATOR_ACCOUNT = "jinwei"
DEFAULT_BROKER_ACCOUNT_PREFIX = "jinwei-"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE_PASSWORD = "jinwei"


def default_database_url(service: str, host: str = "127.0.0.1", port: int = 5432) -> str:
    return (
        f"postgresql://jinwei_{service}:{DEFAULT_DATABASE_PASSWORD}"
        f"@{host}:{port}/jinwei_{service}"
    )


def database_env_name(service: str) -> str:
    return f"{service.upper()}_DATABASE_URL"


def with_credentials(amqp_uri: str, user: str, password: str) -> str:
    """The same broker and vhost, another account."""
    parts = urlsplit(amqp_uri)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(
        netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


def amqp_user(amqp_uri: str) -> str:
    return unquote(urlsplit(amqp_uri).username or "guest")


def amqp_password(amqp_uri: str) -> str:
    return unquote(urlsplit(amqp_uri).password or "")


def broker_password_file(var_dir: Path, account: str) -> Path:
    """Where `make run` keeps an account's generated broker password (0600)."""
    return Path(var_dir) / "broker" / f"{account}.password"


def read_broker_password(var_dir: Path, account: str) -> str | None:
    try:
        return broker_password_file(var_dir, account).read_text().strip() or None
    except OSError:
        return None


def ensure_broker_password(var_dir: Path, account: str) -> str:
    """The account's password from var/broker/, generated there the first time."""
    password = read_broker_password(var_dir, account)
    if password is None:
        path = broker_password_file(var_dir, account)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        password = secrets.token_urlsafe(24)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")
    return password


@dataclass(frozen=True)
class Settings:
    # This process's own broker account: the operator's in a shell (AMQP_URI), the
    # gateway's in the gateway; a service uses service_amqp_uris[service].
    amqp_uri: str
    postgres_admin_url: str
    database_urls: dict[str, str]
    http_host: str
    http_ports: dict[str, int]
    # The first secret signs new tokens; every listed secret verifies (rotation).
    token_secrets: tuple[str, ...]
    token_ttl_seconds: int
    max_workers: int
    rpc_timeout: float
    # A failing event handler is retried with backoff (base × 2^n) this many times
    # in all, then its message goes to the service's dead-letter queue.
    event_max_attempts: int
    event_retry_base_ms: int
    var_dir: Path
    rules_file: Path | None
    # The first key seals personal data; every listed key opens (shared.platform.personal_data).
    personal_data_keys: tuple[str, ...] = ()
    # Each service's (and the gateway's) own broker account, where this process knows
    # it: <SERVICE>_AMQP_URI, or AMQP_URI when it names that account, or the password
    # `make run` generated into var/broker/ (see load).
    service_amqp_uris: dict[str, str] = field(default_factory=dict)
    # The accounts the services publish as are <prefix><service>: a consumer trusts an
    # event only when RabbitMQ vouches (AMQP user_id) that its source's account sent it.
    broker_account_prefix: str = DEFAULT_BROKER_ACCOUNT_PREFIX
    # A service's stop (SIGTERM) may take this long; then the process exits anyway.
    # Below Kubernetes' terminationGracePeriodSeconds (60) and supervisord's stopwaitsecs.
    shutdown_timeout_s: float = 50.0
    # No token lives longer than this (exp − iat): one that does is refused, whoever
    # signed it (JINWEI_TOKEN_MAX_TTL_SECONDS; 7 days).
    token_max_ttl_seconds: int = 7 * 24 * 3600
    # A message larger than this is refused unread (dead-lettered or answered).
    max_message_bytes: int = 16 * 1024 * 1024
    # How long a service waits for the organizations service when it asks for a place
    # or an organization whose event has not reached it yet (shared.platform.owner_lookup);
    # well under the callers' own timeout, so a caller hears 503, not its own timeout.
    owner_lookup_timeout_s: float = 3.0
    # Where outside systems reach the broker, when not where this process does
    # (JINWEI_INTEGRATOR_AMQP_ADDRESS, e.g. amqps://mq.example.gov.cn:5671/jinwei).
    integrator_amqp_address: str | None = None
    # TLS to the broker (amqps:// URIs): the CA that signed the broker's certificate,
    # and a client certificate where the broker asks for one.
    amqp_ca_file: Path | None = None
    amqp_cert_file: Path | None = None
    amqp_key_file: Path | None = None
    # Web pages (origins, e.g. https://portal.example.gov.cn) whose scripts may call the
    # gateway from a browser (CORS): JINWEI_CORS_ORIGINS, comma-separated, exact. None
    # by default: no CORS headers at all (services/gateway/cors.py).
    cors_origins: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    def broker_account(self, service: str) -> str:
        """The account whose messages RabbitMQ vouches came from `service`."""
        return f"{self.broker_account_prefix}{service}"

    def amqp_uri_of(self, process: str) -> str:
        """The broker account a service (or the gateway) runs as: its own, never another's
        (its events would be refused, or it would hold rights that are not its own)."""
        uri = self.service_amqp_uris.get(process)
        if uri is not None and amqp_user(uri) != self.broker_account(process):
            raise MissingBrokerAccount(
                f"{process} would run on the broker account {amqp_user(uri)!r}, not its own "
                f"{self.broker_account(process)!r} (JINWEI_BROKER_ACCOUNT_PREFIX is "
                f"{self.broker_account_prefix!r}): fix {process.upper()}_AMQP_URI")
        if uri is None:
            raise MissingBrokerAccount(
                f"no broker account for {process}: set {process.upper()}_AMQP_URI, or run "
                f"`make run` (or `make infra`), which creates {self.broker_account(process)} "
                f"and keeps its password in "
                f"{broker_password_file(self.var_dir, self.broker_account(process))}")
        return uri

    def amqp_ssl(self, amqp_uri: str | None = None):
        """kombu's / py-amqp's `ssl` option for this URI: None for amqp://; for amqps://
        the broker's certificate checked against amqp_ca_file (else the system's CAs)
        and its name against the URI's host."""
        from shared.platform.broker import tls

        return tls.client_options(amqp_uri or self.amqp_uri, ca_file=self.amqp_ca_file,
                                  cert_file=self.amqp_cert_file, key_file=self.amqp_key_file)

    def nameko_config(self, service: str | None = None, **overrides) -> dict:
        """The dict a nameko ServiceContainer is started with: `service`'s own broker
        account (or, for a client, this process's).

        nameko keys (AMQP_URI, AMQP_SSL, max_workers, serializer) plus ours under
        JINWEI, which the shared dependency providers read.
        """
        amqp_uri = self.amqp_uri_of(service) if service else self.amqp_uri
        config = {
            "AMQP_URI": amqp_uri,
            "AMQP_SSL": self.amqp_ssl(amqp_uri),
            "max_workers": self.max_workers,
            "serializer": "json",
            # A reply that cannot be published is retried this often before the
            # container gives up (see architecture.md, known traps).
            "HEARTBEAT": 30,
            # What the shared dependency providers read: inside a service's container,
            # amqp_uri is that service's own account.
            "JINWEI": self.with_overrides(amqp_uri=amqp_uri) if service else self,
        }
        config.update(overrides)
        return config

    def for_process(self, process: str) -> Settings:
        """These settings as seen inside `process` (a service or the gateway): its own
        account is amqp_uri."""
        return self.with_overrides(amqp_uri=self.amqp_uri_of(process))

    def with_overrides(self, **changes) -> Settings:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return Settings(**values)


class MissingBrokerAccount(RuntimeError):
    """A service was to connect to the broker without an account of its own."""


def _service_amqp_uris(env: Mapping[str, str], operator_uri: str, var_dir: Path,
                       prefix: str) -> dict[str, str]:
    uris = {}
    for process in (*DEFAULT_HTTP_PORTS,):
        account = f"{prefix}{process}"
        uri = env.get(f"{process.upper()}_AMQP_URI")
        if not uri and amqp_user(operator_uri) == account:
            uri = operator_uri  # a container given only its own AMQP_URI (compose, k8s)
        if not uri:
            password = read_broker_password(var_dir, account)
            uri = with_credentials(operator_uri, account, password) if password else None
        if uri:
            uris[process] = uri
    return uris


def _operator_uri(env: Mapping[str, str], var_dir: Path) -> str:
    if env.get("AMQP_URI"):
        uri = env["AMQP_URI"]
        if env.get("JINWEI_AMQP_PASSWORD_FILE"):  # a container's secret, not in the URI
            password = Path(env["JINWEI_AMQP_PASSWORD_FILE"]).read_text().strip()
            uri = with_credentials(uri, amqp_user(uri), password)
        return uri
    password = read_broker_password(var_dir, DEFAULT_OPERATOR_ACCOUNT) or ""
    return with_credentials(DEFAULT_AMQP_ADDRESS, DEFAULT_OPERATOR_ACCOUNT, password)


def _optional_path(env: Mapping[str, str], name: str) -> Path | None:
    return Path(env[name]) if env.get(name) else None


def _ca_file(env: Mapping[str, str], var_dir: Path) -> Path | None:
    """JINWEI_AMQP_CA_FILE, else the CA that `make run` made for its private TLS broker."""
    local = Path(var_dir) / "tls" / "ca.pem"
    return _optional_path(env, "JINWEI_AMQP_CA_FILE") or (local if local.exists() else None)


def _token_secrets(env: Mapping[str, str], var_dir: Path) -> tuple[str, ...]:
    current = env.get("JINWEI_TOKEN_SECRET")
    if not current:
        secret_file = Path(env.get("JINWEI_TOKEN_SECRET_FILE", var_dir / "token-secret"))
        if secret_file.exists():
            current = secret_file.read_text().strip()
    previous = [s for s in env.get("JINWEI_TOKEN_SECRET_PREVIOUS", "").split(",") if s]
    return tuple(s for s in [current, *previous] if s)


def ensure_token_secret_file(settings: Settings) -> Path:
    """Create var/token-secret for a local run when no secret is configured."""
    path = settings.var_dir / "token-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48) + "\n")
        path.chmod(0o600)
    return path


def _personal_data_keys(env: Mapping[str, str], var_dir: Path) -> tuple[str, ...]:
    current = env.get("JINWEI_PERSONAL_DATA_KEY")
    if not current:
        path = Path(env.get("JINWEI_PERSONAL_DATA_KEY_FILE", var_dir / "personal-data-key"))
        if path.exists():
            current = path.read_text().strip()
    previous = [k for k in env.get("JINWEI_PERSONAL_DATA_KEY_PREVIOUS", "").split(",") if k]
    return tuple(k for k in [current, *previous] if k)


def ensure_personal_data_key_file(settings: Settings) -> Path:
    """Create var/personal-data-key (32 random bytes, base64url) for a local run when no
    key is configured. Whoever loses it loses the identity numbers sealed with it."""
    path = settings.var_dir / "personal-data-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n")
        path.chmod(0o600)
    return path


def load(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    var_dir = Path(env.get("JINWEI_VAR_DIR", REPO_ROOT / "var"))
    admin_url = env.get("POSTGRES_ADMIN_URL", DEFAULT_POSTGRES_ADMIN_URL)
    admin = urlsplit(admin_url)
    pg_host, pg_port = admin.hostname or "127.0.0.1", admin.port or 5432
    database_urls = {
        service: env.get(database_env_name(service))
        or default_database_url(service, pg_host, pg_port)
        for service in DEFAULT_HTTP_PORTS
        if service != "gateway"
    }
    http_ports = {
        service: int(env.get(f"{service.upper()}_HTTP_PORT", port))
        for service, port in DEFAULT_HTTP_PORTS.items()
    }
    rules_file = env.get("JINWEI_RULES_FILE")
    operator_uri = _operator_uri(env, var_dir)
    prefix = env.get("JINWEI_BROKER_ACCOUNT_PREFIX", DEFAULT_BROKER_ACCOUNT_PREFIX)
    return Settings(
        amqp_uri=operator_uri,
        postgres_admin_url=admin_url,
        database_urls=database_urls,
        http_host=env.get("JINWEI_HTTP_HOST", "127.0.0.1"),
        http_ports=http_ports,
        token_secrets=_token_secrets(env, var_dir),
        token_ttl_seconds=int(env.get("JINWEI_TOKEN_TTL_SECONDS", 8 * 3600)),
        max_workers=int(env.get("JINWEI_MAX_WORKERS", 10)),
        rpc_timeout=float(env.get("JINWEI_RPC_TIMEOUT", 10)),
        event_max_attempts=int(env.get("JINWEI_EVENT_MAX_ATTEMPTS", 5)),
        event_retry_base_ms=int(env.get("JINWEI_EVENT_RETRY_BASE_MS", 1000)),
        var_dir=var_dir,
        rules_file=Path(rules_file) if rules_file else None,
        personal_data_keys=_personal_data_keys(env, var_dir),
        service_amqp_uris=_service_amqp_uris(env, operator_uri, var_dir, prefix),
        broker_account_prefix=prefix,
        shutdown_timeout_s=float(env.get("JINWEI_SHUTDOWN_TIMEOUT", 50)),
        token_max_ttl_seconds=int(env.get("JINWEI_TOKEN_MAX_TTL_SECONDS", 7 * 24 * 3600)),
        max_message_bytes=int(env.get("JINWEI_MAX_MESSAGE_BYTES", 16 * 1024 * 1024)),
        owner_lookup_timeout_s=float(env.get("JINWEI_OWNER_LOOKUP_TIMEOUT", 3)),
        integrator_amqp_address=env.get("JINWEI_INTEGRATOR_AMQP_ADDRESS") or None,
        amqp_ca_file=_ca_file(env, var_dir),
        amqp_cert_file=_optional_path(env, "JINWEI_AMQP_CERT_FILE"),
        amqp_key_file=_optional_path(env, "JINWEI_AMQP_KEY_FILE"),
        cors_origins=tuple(origin.strip() for origin in env.get("JINWEI_CORS_ORIGINS", "")
                           .split(",") if origin.strip()),
    )

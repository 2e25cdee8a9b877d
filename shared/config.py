"""Configuration from environment variables, with defaults that match `make run`.

One place decides every name and default, so the services, the tools, `make run`
and the tests agree. Nothing here opens a connection.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent

# Services built so far, in start order. A service joins this list when it lands.
SERVICES: tuple[str, ...] = ("organizations", "evaluation", "npe", "cadres", "resources")
# What `make run` starts: the services, then the HTTP gateway in front of them.
PROCESSES: tuple[str, ...] = (*SERVICES, "gateway")

# Health and metrics port of each service (its HTTP side port, not the worker pool).
DEFAULT_HTTP_PORTS = {
    "organizations": 8101,
    "evaluation": 8102,
    "npe": 8103,
    "cadres": 8104,
    "resources": 8105,
    "gateway": 8080,
}

DEFAULT_AMQP_URI = "amqp://jinwei:jinwei@127.0.0.1:5672/jinwei"
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE_PASSWORD = "jinwei"


def default_database_url(service: str, host: str = "127.0.0.1", port: int = 5432) -> str:
    return (
        f"postgresql://jinwei_{service}:{DEFAULT_DATABASE_PASSWORD}"
        f"@{host}:{port}/jinwei_{service}"
    )


def database_env_name(service: str) -> str:
    return f"{service.upper()}_DATABASE_URL"


@dataclass(frozen=True)
class Settings:
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
    # The first key seals personal data; every listed key opens (shared.personal_data).
    personal_data_keys: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    def nameko_config(self, **overrides) -> dict:
        """The dict a nameko ServiceContainer/ServiceRunner is started with.

        nameko keys (AMQP_URI, max_workers, serializer) plus ours under JINWEI, which
        the shared dependency providers read.
        """
        config = {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.max_workers,
            "serializer": "json",
            # A reply that cannot be published is retried this often before the
            # container gives up (see architecture.md, known traps).
            "HEARTBEAT": 30,
            "JINWEI": self,
        }
        config.update(overrides)
        return config

    def with_overrides(self, **changes) -> Settings:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return Settings(**values)


def _token_secrets(env, var_dir: Path) -> tuple[str, ...]:
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


def _personal_data_keys(env, var_dir: Path) -> tuple[str, ...]:
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


def load(env: dict | None = None) -> Settings:
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
    return Settings(
        amqp_uri=env.get("AMQP_URI", DEFAULT_AMQP_URI),
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
    )

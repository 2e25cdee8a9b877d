"""Create what a service needs on the broker and the database server, idempotently.

    ensure_accounts("amqp://…@127.0.0.1:5672/jinwei", [Account(grant, password), …])
        the vhost and every account with its password and least permissions
        (shared.platform.broker.accounts), in one `rabbitmqctl import_definitions`.
    ensure_vhost("amqp://bench:secret@127.0.0.1:5672/bench")
        vhost and one user with full permissions on it (benchmarks' bare nameko).
    ensure_database("postgresql://postgres@127.0.0.1:5432/postgres",
                    "postgresql://jinwei_organizations:jinwei@127.0.0.1:5432/jinwei_organizations")
        role with LOGIN and that password, database owned by it.

Every call can be repeated; the drop/delete counterparts give a test run its own vhost
and databases and take them away afterwards.

RabbitMQ: rabbitmqctl runs as the `rabbitmq` account when we are root (as Debian's
wrapper does), so it shares the nodes' Erlang cookie. Which node: the one named, else a
private node that `make run` started for the URI's port (var/infra/started.json), else
$JINWEI_RABBITMQ_NODE, else the machine's default node.

PostgreSQL: statements go through the admin URL with psycopg2, identifiers quoted by
psycopg2.sql and values passed as parameters. When the admin URL cannot connect and the
server is local, the same work is done by `psql` run as the `postgres` OS account over
the local unix socket: Debian's default pg_hba.conf allows that account in by `peer`
authentication while asking for a password (scram) over TCP. There, values go in as
psql variables and identifiers are quoted by the server (format('%I')).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import psycopg2
from psycopg2 import errors, sql
from psycopg2.extensions import parse_dsn

from shared.platform.broker.topology import Account, definitions
from tools.launcher.local import postgres_bindir, rabbitmqctl
from tools.launcher.system import (
    InfraError,
    chown,
    is_local_host,
    mask_url,
    run,
    service_user,
    user_env,
)

__all__ = [
    "AmqpTarget",
    "broker_accepts",
    "delete_accounts",
    "delete_vhost",
    "drop_database",
    "ensure_accounts",
    "ensure_database",
    "ensure_vhost",
    "parse_amqp_uri",
]

FULL = ".*"


# -- RabbitMQ --------------------------------------------------------------------------


@dataclass(frozen=True)
class AmqpTarget:
    host: str
    port: int
    user: str
    password: str
    vhost: str


def parse_amqp_uri(amqp_uri: str) -> AmqpTarget:
    """amqp://user:password@host:port/vhost, as kombu reads it (no path → vhost "/")."""
    parts = urlsplit(amqp_uri)
    if parts.scheme not in ("amqp", "amqps", "pyamqp"):
        raise InfraError(f"not an AMQP URI: {mask_url(amqp_uri)}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    return AmqpTarget(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (5671 if parts.scheme == "amqps" else 5672),
        user=unquote(parts.username or "guest"),
        password=unquote(parts.password or "guest"),
        vhost=unquote(path) or "/",
    )


def _node_for(target: AmqpTarget, node: str | None) -> str | None:
    if node:
        return node
    if is_local_host(target.host):
        from shared.platform import config
        from tools.launcher.state import State

        recorded = State.load(config.load().var_dir).rabbit_node(target.port)
        if recorded:
            return recorded.node
    return os.environ.get("JINWEI_RABBITMQ_NODE") or None


def ensure_vhost(amqp_uri: str, node: str | None = None) -> None:
    """Create the URI's vhost and user (password reset if the user exists) and give the
    user configure/write/read on that vhost. Idempotent."""
    target = parse_amqp_uri(amqp_uri)
    node = _node_for(target, node)
    rabbitmqctl("add_vhost", target.vhost, node=node)  # a no-op when it exists
    added = rabbitmqctl("add_user", "--", target.user, target.password, node=node, check=False)
    if added.returncode != 0:
        if "already exists" not in added.stdout + added.stderr:
            raise InfraError(
                f"rabbitmqctl add_user {target.user} failed:\n{(added.stdout + added.stderr).strip()}"
            )
        rabbitmqctl("change_password", "--", target.user, target.password, node=node)
    rabbitmqctl("set_permissions", "-p", target.vhost, target.user, FULL, FULL, FULL, node=node)


def ensure_accounts(amqp_uri: str, accounts: Iterable[Account], node: str | None = None,
                    *, user_limits: dict | None = None, ssl_options: dict | None = None) -> None:
    """The URI's vhost and these accounts, each with its password, permissions and topic
    permissions, as one definitions import (one rabbitmqctl call instead of five per
    account). An account that exists gets the new password and permissions. Waits
    until the broker lets the first account in: the import is asynchronous."""
    accounts = list(accounts)
    target = parse_amqp_uri(amqp_uri)
    node = _node_for(target, node)
    document = definitions(target.vhost, accounts)
    user = service_user("rabbitmq")
    fd, path = tempfile.mkstemp(prefix="jinwei-definitions-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as out:  # password hashes only, readable by rabbitmq alone
            json.dump(document, out)
        if user is not None:
            chown(path, user)
        rabbitmqctl("import_definitions", path, node=node)
    finally:
        os.unlink(path)
    for account, limits in (user_limits or {}).items():
        rabbitmqctl("set_user_limits", account, json.dumps(limits), node=node)
    if accounts:
        from shared.platform import config

        probe = config.with_credentials(amqp_uri, accounts[0].grant.account,
                                        accounts[0].password)
        deadline = time.monotonic() + 15
        while not broker_accepts(probe, timeout=3, ssl_options=ssl_options):
            if time.monotonic() > deadline:
                raise InfraError(f"RabbitMQ did not let {accounts[0].grant.account} into "
                                 f"vhost {target.vhost!r} after importing its definitions")
            time.sleep(0.2)


def close_connections(amqp_uri: str, account: str, why: str, node: str | None = None) -> None:
    """Close every connection of the account (they keep the permissions they opened
    with); none open is not an error."""
    node = _node_for(parse_amqp_uri(amqp_uri), node)
    rabbitmqctl("close_all_user_connections", "--", account, why, node=node, check=False)


def delete_accounts(amqp_uri: str, accounts: Iterable[str], node: str | None = None) -> None:
    """Delete these accounts (their connections are closed by the broker); an account
    that does not exist is not an error."""
    target = parse_amqp_uri(amqp_uri)
    node = _node_for(target, node)
    for account in accounts:
        if account == "guest":
            raise InfraError("refusing to delete the user 'guest'")
        result = rabbitmqctl("delete_user", "--", account, node=node, check=False)
        output = result.stdout + result.stderr
        if result.returncode != 0 and "does not exist" not in output:
            raise InfraError(f"rabbitmqctl delete_user {account} failed:\n{output.strip()}")


def rabbitmqctl_rows(amqp_uri: str, *args: str, node: str | None = None) -> list[list[str]]:
    """A rabbitmqctl listing as rows of tab-separated fields, without headers."""
    node = _node_for(parse_amqp_uri(amqp_uri), node)
    listed = rabbitmqctl(*args, "--quiet", "--no-table-headers", node=node).stdout
    return [line.split("\t") for line in listed.splitlines() if line.strip()]


def delete_accounts_with_prefix(amqp_uri: str, prefix: str, node: str | None = None) -> None:
    """Delete every account whose name starts with `prefix` (a test run's)."""
    if len(prefix) < 6:
        raise InfraError(f"refusing to delete the accounts named {prefix!r}…: too broad")
    target = parse_amqp_uri(amqp_uri)
    node = _node_for(target, node)
    listed = rabbitmqctl("list_users", "--quiet", "--no-table-headers", node=node).stdout
    names = [line.split("\t")[0] for line in listed.splitlines() if line.strip()]
    delete_accounts(amqp_uri, [n for n in names if n.startswith(prefix)], node=node)


def delete_vhost(amqp_uri: str, node: str | None = None, *, delete_user: bool = False) -> None:
    """Delete the URI's vhost (its queues and exchanges go with it); with delete_user,
    also the URI's user. Nothing to delete is not an error."""
    target = parse_amqp_uri(amqp_uri)
    node = _node_for(target, node)
    if target.vhost == "/":
        raise InfraError("refusing to delete the default vhost '/'")
    result = rabbitmqctl("delete_vhost", target.vhost, node=node, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0 and "does not exist" not in output:
        raise InfraError(f"rabbitmqctl delete_vhost {target.vhost} failed:\n{output.strip()}")
    if delete_user:
        if target.user == "guest":
            raise InfraError("refusing to delete the user 'guest'")
        result = rabbitmqctl("delete_user", "--", target.user, node=node, check=False)
        output = result.stdout + result.stderr
        if result.returncode != 0 and "does not exist" not in output:
            raise InfraError(f"rabbitmqctl delete_user {target.user} failed:\n{output.strip()}")


def broker_accepts(amqp_uri: str, timeout: float = 5, ssl_options: dict | None = None) -> bool:
    """True when the broker accepts a connection with the URI's user, password and vhost."""
    import amqp

    from shared.platform.broker import tls

    target = parse_amqp_uri(amqp_uri)
    if ssl_options is None and tls.is_tls(amqp_uri):
        from shared.platform import config

        ssl_options = config.load().amqp_ssl(amqp_uri)
    connection = amqp.Connection(
        host=f"{target.host}:{target.port}",
        userid=target.user,
        password=target.password,
        virtual_host=target.vhost,
        connect_timeout=timeout,
        ssl=ssl_options or False,
    )
    try:
        connection.connect()
        return True
    except Exception:
        return False
    finally:
        try:
            connection.collect()
        except Exception:
            pass


# -- PostgreSQL ------------------------------------------------------------------------


@dataclass(frozen=True)
class _DatabaseTarget:
    role: str
    password: str | None
    database: str


def _database_target(database_url: str) -> _DatabaseTarget:
    dsn = parse_dsn(database_url)
    role, database = dsn.get("user"), dsn.get("dbname")
    if not role or not database:
        raise InfraError(f"database URL needs a user and a database: {mask_url(database_url)}")
    return _DatabaseTarget(role=role, password=dsn.get("password"), database=database)


PROTECTED_DATABASES = frozenset({"postgres", "template0", "template1"})


def _admin_connection(admin_url: str):
    connection = psycopg2.connect(admin_url, connect_timeout=10)
    connection.autocommit = True
    return connection


def _local_fallback_allowed(admin_url: str) -> bool:
    host = parse_dsn(admin_url).get("host") or "127.0.0.1"
    return is_local_host(host) or host.startswith("/")


def ensure_database(admin_url: str, database_url: str) -> None:
    """Role with LOGIN and the URL's password, database owned by it. Idempotent."""
    target = _database_target(database_url)
    try:
        connection = _admin_connection(admin_url)
    except psycopg2.OperationalError as exc:
        if not _local_fallback_allowed(admin_url):
            raise InfraError(f"cannot connect to {mask_url(admin_url)}: {exc}".strip()) from exc
        _psql_as_postgres(admin_url, _ENSURE_SQL, target, first_error=exc)
        return
    try:
        with connection.cursor() as cur:
            _ensure_role(cur, target)
            _ensure_database(cur, target)
    finally:
        connection.close()


def _ensure_role(cur, target: _DatabaseTarget) -> None:
    role = sql.Identifier(target.role)
    params: tuple[str, ...]
    if target.password is not None:
        options, params = sql.SQL("LOGIN PASSWORD %s"), (target.password,)
    else:
        options, params = sql.SQL("LOGIN"), ()
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (target.role,))
    if cur.fetchone() is None:
        try:
            cur.execute(sql.SQL("CREATE ROLE {} WITH {}").format(role, options), params)
            return
        except (errors.DuplicateObject, errors.UniqueViolation):
            pass  # created concurrently: fall through to set the password
    cur.execute(sql.SQL("ALTER ROLE {} WITH {}").format(role, options), params)


def _ensure_database(cur, target: _DatabaseTarget) -> None:
    database, role = sql.Identifier(target.database), sql.Identifier(target.role)
    cur.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (target.database,)
    )
    row = cur.fetchone()
    if row is None:
        try:
            cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(database, role))
            return
        except (errors.DuplicateDatabase, errors.UniqueViolation):
            pass  # created concurrently
        row = (None,)
    if row[0] != target.role:
        cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(database, role))


def drop_database(admin_url: str, database_url: str, drop_role: bool = False) -> None:
    """Terminate the database's sessions and drop it; with drop_role, drop its role too.
    Nothing to drop is not an error."""
    target = _database_target(database_url)
    if target.database in PROTECTED_DATABASES:
        raise InfraError(f"refusing to drop the database {target.database!r}")
    admin_user = parse_dsn(admin_url).get("user")
    if drop_role and target.role in ("postgres", admin_user):
        raise InfraError(f"refusing to drop the role {target.role!r}")
    try:
        connection = _admin_connection(admin_url)
    except psycopg2.OperationalError as exc:
        if not _local_fallback_allowed(admin_url):
            raise InfraError(f"cannot connect to {mask_url(admin_url)}: {exc}".strip()) from exc
        script = _DROP_SQL + (_DROP_ROLE_SQL if drop_role else "")
        _psql_as_postgres(admin_url, script, target, first_error=exc)
        return
    try:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (target.database,),
            )
            drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(target.database))
            if connection.server_version >= 130000:
                drop += sql.SQL(" WITH (FORCE)")  # also ends sessions that connect meanwhile
            cur.execute(drop)
            if drop_role:
                cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(target.role)))
    finally:
        connection.close()


# The psql fallback: values arrive as psql variables (:'name' quotes them as literals),
# statements are built by the server with format(%I, %L) and run by \gexec.
_ENSURE_SQL = r"""
SELECT format('CREATE ROLE %I', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT CASE WHEN :'has_password' = 'yes'
            THEN format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'role', :'password')
            ELSE format('ALTER ROLE %I WITH LOGIN', :'role') END \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'database', :'role')
 WHERE (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'database')
       IS DISTINCT FROM :'role' \gexec
"""

_DROP_SQL = r"""
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
 WHERE datname = :'database' AND pid <> pg_backend_pid();
SELECT format('DROP DATABASE IF EXISTS %I', :'database') \gexec
"""

_DROP_ROLE_SQL = r"""
SELECT format('DROP ROLE IF EXISTS %I', :'role') \gexec
"""


def _psql_as_postgres(admin_url: str, script: str, target: _DatabaseTarget, first_error) -> None:
    bindir = postgres_bindir()
    psql = str(bindir / "psql") if bindir and (bindir / "psql").exists() else shutil.which("psql")
    if not psql:
        raise InfraError(
            f"cannot connect to {mask_url(admin_url)} ({str(first_error).strip()}) and psql "
            "is not installed for the local fallback"
        )
    dsn = parse_dsn(admin_url)
    user = service_user("postgres")
    cmd = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"]
    if dsn.get("port"):
        cmd += ["-p", str(dsn["port"])]
    if (dsn.get("host") or "").startswith("/"):
        cmd += ["-h", dsn["host"]]
    variables = {
        "role": target.role,
        "database": target.database,
        "password": target.password or "",
        "has_password": "yes" if target.password is not None else "no",
    }
    for name, value in variables.items():
        cmd += ["-v", f"{name}={value}"]
    try:
        run(cmd, user=user, env=user_env(user), input=script, timeout=120, what="psql")
    except InfraError as exc:
        raise InfraError(
            f"cannot connect to {mask_url(admin_url)} ({str(first_error).strip()}), and the "
            f"local fallback (psql as the postgres OS user over the unix socket) failed too: {exc}"
        ) from exc

"""The local infrastructure's command line; the Makefile's verbs call it.

    python -m tools.launcher run              # up + start-services + wait-ready + info (make run)
    python -m tools.launcher stop             # stop-services + down                    (make stop)
    python -m tools.launcher up               # broker and database answer, provisioned, migrated
    python -m tools.launcher down             # stop the RabbitMQ/PostgreSQL that `up` started
    python -m tools.launcher start-services   # supervisord with one program per service
    python -m tools.launcher stop-services
    python -m tools.launcher wait-ready       # every service's /health/ready is 200 (bounded)
    python -m tools.launcher status | info | logs | clean

Configuration comes from the environment through shared.platform.config (AMQP_URI,
POSTGRES_ADMIN_URL, <SERVICE>_DATABASE_URL, <SERVICE>_HTTP_PORT, JINWEI_VAR_DIR).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from shared.platform import config
from tools.launcher import local, provision, supervise
from tools.launcher.state import State
from tools.launcher.system import (
    InfraError,
    is_local_host,
    is_root,
    mask_url,
    port_answers,
    say,
)


def _install_allowed(args) -> bool:
    if getattr(args, "no_install", False) or os.environ.get("JINWEI_NO_INSTALL") == "1":
        return False
    return is_root()


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _with_host_port(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{userinfo}{host}:{port}"))


# -- up / down -------------------------------------------------------------------------


def ensure_rabbitmq(settings: config.Settings, state: State, install: bool) -> str | None:
    """Make the configured broker answer; returns the node name when it is ours."""
    host, port = _host_port(settings.amqp_uri, 5672)
    ours = state.rabbit_node(port) if is_local_host(host) else None
    if ours is None and is_local_host(host):
        ours = local.find_rabbitmq(port, settings.var_dir)  # left by an interrupted run
        if ours:
            state.record(ours)
    if port_answers(host, port):
        if ours and ours.ping():
            say(f"RabbitMQ: our private node {ours.node} answers at {host}:{port}")
            return ours.node
        if ours:
            state.forget(ours)
        say(f"RabbitMQ answers at {host}:{port}: using it")
        return None
    if not is_local_host(host):
        raise InfraError(
            f"RabbitMQ at {host}:{port} (AMQP_URI) does not answer, and it is not on this "
            "machine, so `make run` cannot start it: start it, or point AMQP_URI at 127.0.0.1"
        )
    if local.rabbitmq_script("rabbitmq-server") is None:
        local.ensure_rabbitmq_installed(install=install)
        if port_answers(host, port):  # the package started the machine's own broker there
            say(
                f"RabbitMQ: the newly installed package's broker answers at {host}:{port}: using it"
            )
            return None
    epmd_was_running = local.epmd_answers()
    tls = None
    if urlsplit(settings.amqp_uri).scheme == "amqps":
        from shared.platform.broker.tls import LocalAuthority

        tls = LocalAuthority(Path(settings.var_dir).absolute() / "tls").ensure()
        say(f"RabbitMQ: AMQP over TLS only, with a local CA and certificate in {tls.directory}")
    say(f"RabbitMQ: nothing answers at {host}:{port}; starting a private node on that port")
    node = local.start_rabbitmq(port, settings.var_dir, install=install, tls=tls)
    state.record(node)
    if not epmd_was_running and local.epmd_answers():
        state.epmd_started = True
        state.save()
    say(f"RabbitMQ: node {node.node} is up (data and logs in {node.base_dir})")
    return node.node


def ensure_postgres(settings: config.Settings, state: State, install: bool) -> dict[tuple, str]:
    """Make every configured PostgreSQL server answer; returns an admin URL per server."""
    admin_host, admin_port = _host_port(settings.postgres_admin_url, 5432)
    servers = {(admin_host, admin_port)}
    for service in config.SERVICES:
        servers.add(_host_port(settings.database_url(service), 5432))
    admin_urls = {}
    for host, port in sorted(servers):
        ours = state.postgres_cluster(port) if is_local_host(host) else None
        if ours is None and is_local_host(host):
            ours = local.find_postgres(port, settings.var_dir)  # left by an interrupted run
            if ours:
                state.record(ours)
        if port_answers(host, port):
            if ours and ours.is_running():
                say(f"PostgreSQL: our private cluster answers at {host}:{port}")
            else:
                if ours:
                    state.forget(ours)
                    ours = None
                say(f"PostgreSQL answers at {host}:{port}: using it")
        elif not is_local_host(host):
            raise InfraError(
                f"PostgreSQL at {host}:{port} does not answer, and it is not on this machine, "
                "so `make run` cannot start it: start it, or point the URL at 127.0.0.1"
            )
        elif local.postgres_bindir() is None and _installed_postgres_answers(host, port, install):
            say(
                f"PostgreSQL: the newly installed package's cluster answers at {host}:{port}: using it"
            )
        else:
            say(f"PostgreSQL: nothing answers at {host}:{port}; starting a private cluster")
            ours = local.start_postgres(port, settings.var_dir, install=install)
            state.record(ours)
            say(f"PostgreSQL: cluster on port {port} is up (data and log in {ours.base_dir})")
        admin_url = _with_host_port(settings.postgres_admin_url, host, port)
        if ours is not None:
            _ensure_admin_role(ours, admin_url)
        admin_urls[(host, port)] = admin_url
    return admin_urls


def _installed_postgres_answers(host: str, port: int, install: bool) -> bool:
    """Install PostgreSQL; True when the package started the machine's own cluster on
    `port` (Debian's postinst creates and starts `main` where an init system runs)."""
    local.ensure_postgres_installed(install=install)
    return port_answers(host, port)


def _ensure_admin_role(cluster: local.PostgresCluster, admin_url: str) -> None:
    """A private cluster has only the superuser `postgres`; give the configured admin
    URL's user a superuser role too, so that URL works against it."""
    import psycopg2
    from psycopg2 import sql
    from psycopg2.extensions import parse_dsn

    dsn = parse_dsn(admin_url)
    user, password = dsn.get("user") or "postgres", dsn.get("password")
    if user == "postgres" and password is None:
        return
    connection = psycopg2.connect(cluster.admin_url, connect_timeout=10)
    connection.autocommit = True
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            options = sql.SQL("SUPERUSER LOGIN") + (
                sql.SQL(" PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("")
            )
            cur.execute(sql.SQL(verb + " ROLE {} WITH {}").format(sql.Identifier(user), options))
    finally:
        connection.close()


def ensure_broker_passwords(settings: config.Settings) -> config.Settings:
    """Passwords for the accounts the configuration leaves open (a local run): the
    operator's (when AMQP_URI is not set) and each process's without an <X>_AMQP_URI,
    generated once into var/broker/ (0600). Returns the settings that read them."""
    if not os.environ.get("AMQP_URI"):
        config.ensure_broker_password(settings.var_dir, config.DEFAULT_OPERATOR_ACCOUNT)
    for process in config.PROCESSES:
        if process not in settings.service_amqp_uris:
            config.ensure_broker_password(settings.var_dir, settings.broker_account(process))
    return config.load()


def provision_all(settings, node, admin_urls) -> None:
    target = provision.parse_amqp_uri(settings.amqp_uri)
    if node is None and not is_local_host(target.host):
        if all(provision.broker_accepts(uri) for uri in
               (settings.amqp_uri, *settings.service_amqp_uris.values())):
            say(f"RabbitMQ at {target.host}:{target.port}: every account gets into vhost "
                f"{target.vhost!r}; permissions are the broker's administrators' "
                "(python -m shared.platform.broker.definitions)")
        else:
            raise InfraError(
                f"RabbitMQ at {target.host}:{target.port} does not accept every account, and "
                "rabbitmqctl only reaches this machine's nodes: import the accounts there "
                "(python -m shared.platform.broker.definitions > definitions.json; docs/operations.md)"
            )
    else:
        accounts = broker_accounts(settings)
        say(f"RabbitMQ: vhost {target.vhost!r}, accounts "
            + ", ".join(a.grant.account for a in accounts) + " (least privilege)")
        provision.ensure_accounts(settings.amqp_uri, accounts, node=node)
    for service in config.SERVICES:
        url = settings.database_url(service)
        admin_url = admin_urls[_host_port(url, 5432)]
        provision.ensure_database(admin_url, url)
        say(f"PostgreSQL: database for {service}: {mask_url(url)}")


def migrate() -> None:
    say("applying migrations (python -m shared.platform.migrate)")
    result = subprocess.run([sys.executable, "-m", "shared.platform.migrate"], stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise InfraError(f"migrations failed (exit {result.returncode}); see the output above")


def broker_accounts(settings: config.Settings):
    """The operator's, the gateway's and every service's account, with their passwords."""
    from shared.platform.broker import topology
    from shared.platform.containers import service_class

    grants = topology.deployment_grants(
        settings.broker_account_prefix, config.amqp_user(settings.amqp_uri),
        [service_class(s) for s in config.SERVICES])
    passwords = {config.amqp_user(uri): config.amqp_password(uri)
                 for uri in (settings.amqp_uri, *settings.service_amqp_uris.values())}
    missing = [g.account for g in grants if not passwords.get(g.account)]
    if missing:
        raise InfraError(f"no password for the broker accounts {', '.join(missing)}: set "
                         "their <PROCESS>_AMQP_URI, or leave them to `make run`")
    return [topology.Account(g, passwords[g.account]) for g in grants]


def cmd_up(args) -> int:
    settings = config.load()
    if not args.no_databases:
        settings = ensure_broker_passwords(settings)
    state = State.load(settings.var_dir)
    install = _install_allowed(args)
    node = ensure_rabbitmq(settings, state, install)
    admin_urls = ensure_postgres(settings, state, install)
    if args.no_databases:
        # make test, make bench: their runs make vhosts, accounts and databases of their
        # own; the deployment's accounts (and their passwords) are left as they are.
        say("RabbitMQ and PostgreSQL answer; nothing provisioned (--no-databases)")
        return 0
    provision_all(config.load(), node, admin_urls)  # again: a TLS CA may be new
    if not args.no_migrate:
        migrate()
    return 0


def cmd_down(args) -> int:
    settings = config.load()
    state = State.load(settings.var_dir)
    if state.empty:
        say("no RabbitMQ or PostgreSQL started by `make run` is recorded; nothing to stop")
        return 0
    for port in list(state.rabbitmq):
        node = state.rabbit_node(int(port))
        assert node is not None  # a port recorded
        say(f"stopping RabbitMQ node {node.node} (port {node.port})")
        node.stop()
        state.forget(node)
    for port in list(state.postgres):
        cluster = state.postgres_cluster(int(port))
        assert cluster is not None  # a port recorded
        say(f"stopping PostgreSQL on port {cluster.port} ({cluster.data_dir})")
        cluster.stop()
        state.forget(cluster)
    if state.epmd_started:
        if local.stop_epmd_if_idle():
            say("stopped epmd (started along with our RabbitMQ node)")
        state.epmd_started = False
        state.save()
    return 0


# -- services --------------------------------------------------------------------------


def cmd_start_services(args) -> int:
    settings = config.load()
    if not settings.token_secrets:
        path = config.ensure_token_secret_file(settings)
        say(f"token secret: {path}")
    if not settings.personal_data_keys:
        path = config.ensure_personal_data_key_file(settings)
        say(f"personal-data key: {path} (back it up: identity numbers are sealed with it)")
    settings = config.load()
    supervise.start(settings)
    return 0


def cmd_stop_services(args) -> int:
    settings = config.load()
    if not supervise.stop(settings):
        say("supervisord is not running; no services to stop")
    return 0


def cmd_wait_ready(args) -> int:
    settings = config.load()
    timeout = args.timeout or float(os.environ.get("JINWEI_READY_TIMEOUT", 120))
    say(f"waiting for the services to be ready (at most {timeout:.0f}s)")
    supervise.wait_ready(settings, timeout=timeout)
    return 0


def cmd_run(args) -> int:
    cmd_up(args)
    cmd_start_services(args)
    cmd_wait_ready(args)
    cmd_info(args)
    return 0


def cmd_stop(args) -> int:
    cmd_stop_services(args)
    cmd_down(args)
    return 0


# -- outside systems -------------------------------------------------------------------


def _names(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def cmd_integrator_add(args) -> int:
    from tools.launcher import integrators

    settings = config.load()
    uri = integrators.add(settings, args.name, _names(args.services), _names(args.methods))
    account = integrators.account_of(settings, args.name)
    granted = ", ".join([f"{s}.*" for s in _names(args.services)] + _names(args.methods))
    print(f"outside system {args.name}: broker account {account}", file=sys.stderr)
    print(f"  may call {granted}; replies by direct reply-to (amq.rabbitmq.reply-to);"
          " may declare, bind, read and publish nothing else", file=sys.stderr)
    print(f"  at most {integrators.DEFAULT_LIMITS['max-connections']} connections and "
          f"{integrators.DEFAULT_LIMITS['max-channels']} channels", file=sys.stderr)
    print(f"  each call also needs a token: make token SUBJECT={args.name} DEPARTMENT=… "
          f"PLACE=… ROLES=… SYSTEM={args.name}", file=sys.stderr)
    print("  its AMQP URI (shown once; `make integrator` again sets a new password):",
          file=sys.stderr, flush=True)
    print(uri, flush=True)
    return 0


def cmd_integrator_revoke(args) -> int:
    from tools.launcher import integrators

    integrators.revoke(config.load(), args.name)
    say(f"outside system {args.name}: broker account deleted (its connections are closed)")
    return 0


def cmd_integrator_list(args) -> int:
    from tools.launcher import integrators

    for found in integrators.listed(config.load()):
        print(f"{found.name}\t{found.account}\t{found.request_keys}")
    return 0


# -- reports ---------------------------------------------------------------------------


def cmd_info(args) -> int:
    settings = config.load()
    state = State.load(settings.var_dir)
    p = supervise.paths(settings)
    amqp_host, amqp_port = _host_port(settings.amqp_uri, 5672)
    node = state.rabbit_node(amqp_port)
    lines = [
        "",
        "Jinwei is running.",
        "",
        f"  RabbitMQ     {mask_url(settings.amqp_uri)}",
        "               "
        + (
            f"private node {node.node}, files in {node.base_dir}"
            if node
            else "the one that was already running"
        ),
        f"               an account per process ({settings.broker_account('<process>')}), "
        f"least privilege; passwords in {Path(settings.var_dir).absolute() / 'broker'}",
        "               outside systems: make integrator NAME=… SERVICES=…",
    ]
    if urlsplit(settings.amqp_uri).scheme == "amqps":
        authority = settings.amqp_ca_file or "the system's CAs"
        lines.append(f"               TLS only; the broker's certificate checked against {authority}")
    lines += [
        f"  PostgreSQL   admin {mask_url(settings.postgres_admin_url)}",
    ]
    for port, record in sorted(state.postgres.items()):
        lines.append(
            f"               private cluster on port {port}, files in {record['base_dir']}"
        )
    if not state.postgres:
        lines.append("               the one that was already running")
    for service in config.SERVICES:
        lines.append(f"    {service:<12} {mask_url(settings.database_url(service))}")
    lines.append("  Services     (supervisord; one process per service)")
    gateway = f"http://{settings.http_host}:{settings.http_ports['gateway']}"
    lines.append(f"    {'console':<12} {gateway}/console/   (staff console, 中文; first account: "
                 "make admin PLACE=<12 digits> USER=<name>)")
    lines.append(f"    {'gateway':<12} {gateway}/docs   (REST API; {gateway}/openapi.json)")
    for service in config.PROCESSES:
        lines.append(f"    {service:<12} health {supervise.health_url(settings, service)}")
        lines.append(f"    {'':<12} live   {supervise.health_url(settings, service, 'live')}")
        lines.append(f"    {'':<12} metrics {supervise.metrics_url(settings, service)}")
    lines += [
        f"  Logs         {p.log_dir}/<service>.log   (make logs)",
        f"  State        {Path(settings.var_dir).absolute()}   (JINWEI_VAR_DIR)",
        "  Status       make status",
        "  Stop         make stop   (stops the services, then only what make run started)",
        "",
    ]
    print("\n".join(lines), flush=True)
    return 0


def cmd_status(args) -> int:
    settings = config.load()
    state = State.load(settings.var_dir)
    amqp_host, amqp_port = _host_port(settings.amqp_uri, 5672)
    up = "answers" if port_answers(amqp_host, amqp_port) else "DOES NOT ANSWER"
    node = state.rabbit_node(amqp_port)
    print(
        f"RabbitMQ   {amqp_host}:{amqp_port} {up}"
        + (f" (private node {node.node})" if node else "")
    )
    pg_host, pg_port = _host_port(settings.postgres_admin_url, 5432)
    up = "answers" if port_answers(pg_host, pg_port) else "DOES NOT ANSWER"
    ours = " (private cluster)" if state.postgres_cluster(pg_port) else ""
    print(f"PostgreSQL {pg_host}:{pg_port} {up}{ours}")
    if not supervise.is_running(settings):
        print("services   supervisord is not running (make run starts it)")
        return 0
    result = supervise.ctl(settings, "status")
    print(result.stdout, end="", flush=True)
    return result.returncode


def cmd_logs(args) -> int:
    settings = config.load()
    p = supervise.paths(settings)
    services = args.services or list(config.PROCESSES)
    files = [str(p.service_log(s)) for s in services]
    if not any(Path(f).exists() for f in files):
        raise InfraError(f"no service logs in {p.log_dir} yet (make run)")
    sys.stdout.flush()
    os.execvp("tail", ["tail", "-n", str(args.lines), *([] if args.no_follow else ["-F"]), *files])


def cmd_clean(args) -> int:
    """Stop everything, then remove var/infra (data of private instances), var/log and
    var/supervisor. The token secret stays."""
    cmd_stop(args)
    settings = config.load()
    var_dir = Path(settings.var_dir).absolute()
    infra = var_dir / "infra"
    if infra.is_dir():
        for entry in infra.iterdir():
            if entry.is_symlink():
                target = Path(os.readlink(entry))
                shutil.rmtree(target, ignore_errors=True)
                entry.unlink()
                with contextlib.suppress(OSError):
                    target.parent.rmdir()  # /var/tmp/jinwei-<hash>, once empty
    for name in ("infra", "log", "supervisor"):
        shutil.rmtree(var_dir / name, ignore_errors=True)
    say(f"removed {infra}, {var_dir / 'log'} and {var_dir / 'supervisor'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.launcher", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, func, help):
        command = sub.add_parser(name, help=help)
        command.set_defaults(func=func)
        return command

    for name, func, text in [
        ("run", cmd_run, "up, start-services, wait-ready, info (make run)"),
        ("up", cmd_up, "make RabbitMQ and PostgreSQL answer; provision; migrate"),
    ]:
        command = add(name, func, text)
        command.add_argument("--no-install", action="store_true", help="never apt-get install")
        command.add_argument("--no-migrate", action="store_true", help="skip migrations")
        command.add_argument(
            "--no-databases",
            action="store_true",
            help="only make the servers answer: no accounts, databases or migrations",
        )
        command.add_argument("--timeout", type=float, help="seconds to wait for readiness")
    add("down", cmd_down, "stop the RabbitMQ/PostgreSQL that up started")
    add("start-services", cmd_start_services, "start the services under supervisord")
    add("stop-services", cmd_stop_services, "stop the services and supervisord")
    add("wait-ready", cmd_wait_ready, "wait for every /health/ready").add_argument(
        "--timeout", type=float, help="seconds (default $JINWEI_READY_TIMEOUT or 120)"
    )
    add("stop", cmd_stop, "stop-services, then down (make stop)")
    add("status", cmd_status, "what answers, and supervisorctl status")
    add("info", cmd_info, "where everything listens")
    logs = add("logs", cmd_logs, "tail the service logs")
    logs.add_argument("services", nargs="*")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.add_argument("--no-follow", action="store_true")
    add("clean", cmd_clean, "stop, then delete private data, logs and supervisor files")
    integrator = sub.add_parser("integrator", help="outside systems' broker accounts")
    verbs = integrator.add_subparsers(dest="verb", required=True)
    adding = verbs.add_parser("add", help="create or renew an account; prints its AMQP URI")
    adding.set_defaults(func=cmd_integrator_add)
    adding.add_argument("name")
    adding.add_argument("--services", help="comma-separated: every method of these")
    adding.add_argument("--methods", help="comma-separated service.method")
    revoking = verbs.add_parser("revoke", help="delete an account")
    revoking.set_defaults(func=cmd_integrator_revoke)
    revoking.add_argument("name")
    verbs.add_parser("list", help="the accounts and what they may call").set_defaults(
        func=cmd_integrator_list)
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except InfraError as exc:
        print(f"jinwei: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The services under supervisord: one program per service, restarted whenever it exits.

nameko exits when the broker vanishes while a worker replies (architecture.md, known
traps), so a program must keep being restarted through a long broker outage:
autorestart, a large startretries and a small startsecs. Each program is
`<venv>/bin/python -m shared.platform.runner <service>`, exec'd by supervisord without a shell,
so SIGTERM reaches the service itself (nameko stops gracefully, bounded by stopwaitsecs).

Files: var/supervisor/supervisord.conf, .pid, .sock; var/log/<service>.log and
var/log/supervisord.log.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import xmlrpc.client
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.platform import config
from tools.launcher.system import (
    MAX_UNIX_SOCKET_PATH,
    InfraError,
    pid_alive,
    read_pid,
    say,
    tail,
    terminate,
    wait_until,
)

# Environment variables that configure the services; written into each program's
# environment= so a changed configuration changes the program (and `update` restarts it).
PASSED_ENV = re.compile(
    r"^(JINWEI_\w+|POSTGRES_\w+|PG[A-Z]+|\w+_DATABASE_URL|\w+_HTTP_PORT|TZ|LANG|LC_\w+)$"
)

STARTSECS = 1  # up for a second counts as started: a later exit restarts at once
STARTRETRIES = 1_000_000  # quick deaths (broker down at start) retry, with a growing backoff
STOPWAITSECS = 60  # graceful shutdown (a service bounds its own: 50 s), then SIGKILL


@dataclass(frozen=True)
class Paths:
    var_dir: Path

    @property
    def dir(self) -> Path:
        return self.var_dir / "supervisor"

    @property
    def conf(self) -> Path:
        return self.dir / "supervisord.conf"

    @property
    def pid_file(self) -> Path:
        return self.dir / "supervisord.pid"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def socket(self) -> Path:
        preferred = self.dir / "supervisor.sock"
        if len(str(preferred)) <= MAX_UNIX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha1(str(preferred).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"jinwei-supervisor-{digest}.sock"

    def service_log(self, service: str) -> Path:
        return self.log_dir / f"{service}.log"


def paths(settings: config.Settings) -> Paths:
    return Paths(Path(settings.var_dir).absolute())


def health_url(settings: config.Settings, service: str, which: str = "ready") -> str:
    return f"http://{settings.http_host}:{settings.http_ports[service]}/health/{which}"


def metrics_url(settings: config.Settings, service: str) -> str:
    return f"http://{settings.http_host}:{settings.http_ports[service]}/metrics"


# -- configuration ---------------------------------------------------------------------


def _quote(value: str) -> str:
    """A value for supervisord's ini file: % doubled (its own %(ENV_X)s expansion)."""
    return value.replace("%", "%%")


def _env_value(value: str) -> str:
    if '"' not in value:
        return f'"{_quote(value)}"'
    if "'" not in value:
        return f"'{_quote(value)}'"
    raise InfraError(f"cannot pass a value with both quote kinds to supervisord: {value!r}")


def program_environment(settings: config.Settings,
                        environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The configuration every program is started with: what this process sees,
    resolved; no broker account (each program gets its own: program_account)."""
    environ = os.environ if environ is None else environ
    env = {k: v for k, v in environ.items() if PASSED_ENV.match(k)}
    env.update(
        {
            "POSTGRES_ADMIN_URL": settings.postgres_admin_url,
            "JINWEI_BROKER_ACCOUNT_PREFIX": settings.broker_account_prefix,
            "JINWEI_VAR_DIR": str(Path(settings.var_dir).absolute()),
            "JINWEI_HTTP_HOST": settings.http_host,
            "PYTHONUNBUFFERED": "1",
        }
    )
    if settings.amqp_ca_file:
        env["JINWEI_AMQP_CA_FILE"] = str(Path(settings.amqp_ca_file).absolute())
    for service, url in settings.database_urls.items():
        env[config.database_env_name(service)] = url
    for service, port in settings.http_ports.items():
        env[f"{service.upper()}_HTTP_PORT"] = str(port)
    return dict(sorted(env.items()))


def render_config(
    settings: config.Settings,
    services: Sequence[str],
    python: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    p = paths(settings)
    python = python or sys.executable
    env = program_environment(settings, environ)
    lines = [
        "; Written by `python -m tools.launcher start-services` (make run); edits are overwritten.",
        "[unix_http_server]",
        f"file = {_quote(str(p.socket))}",
        "chmod = 0700",
        "",
        "[supervisord]",
        f"logfile = {_quote(str(p.log_dir / 'supervisord.log'))}",
        "logfile_maxbytes = 10MB",
        "logfile_backups = 3",
        f"pidfile = {_quote(str(p.pid_file))}",
        f"childlogdir = {_quote(str(p.log_dir))}",
        f"directory = {_quote(str(config.REPO_ROOT))}",
        "nodaemon = false",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl = unix://{_quote(str(p.socket))}",
        "",
    ]
    for service in services:
        # The gateway execs gunicorn (python -m services.gateway); a service runs nameko.
        module = "services.gateway" if service == "gateway" else f"shared.platform.runner {service}"
        # Each program's environment carries its own broker account only.
        own = {**env, "AMQP_URI": settings.amqp_uri_of(service)}
        env_line = ",".join(f"{key}={_env_value(value)}" for key, value in sorted(own.items()))
        lines += [
            f"[program:{service}]",
            f"command = {_quote(python)} -m {module}",
            f"directory = {_quote(str(config.REPO_ROOT))}",
            "autostart = true",
            "autorestart = true",
            f"startsecs = {STARTSECS}",
            f"startretries = {STARTRETRIES}",
            "stopsignal = TERM",
            f"stopwaitsecs = {STOPWAITSECS}",
            "stopasgroup = true",
            "killasgroup = true",
            "redirect_stderr = true",
            f"stdout_logfile = {_quote(str(p.service_log(service)))}",
            "stdout_logfile_maxbytes = 20MB",
            "stdout_logfile_backups = 5",
            f"environment = {env_line}",
            "",
        ]
    return "\n".join(lines)


# -- supervisord -----------------------------------------------------------------------


def _bin(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


def rpc(settings: config.Settings, timeout: float = 10):
    """An XML-RPC proxy to our supervisord over its unix socket, every call bounded."""
    from supervisor.xmlrpc import SupervisorTransport

    socket_path = str(paths(settings).socket)
    transport = SupervisorTransport(None, None, f"unix://{socket_path}")
    transport._get_connection = lambda: _UnixConnection(socket_path, timeout)
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def is_running(settings: config.Settings) -> bool:
    try:
        return rpc(settings).supervisor.getState()["statename"] == "RUNNING"
    except Exception:
        return False


def supervisord_pid(settings: config.Settings) -> int | None:
    pid = read_pid(paths(settings).pid_file)
    return pid if pid_alive(pid) else None


def ctl(settings: config.Settings, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_bin("supervisorctl"), "-c", str(paths(settings).conf), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=STOPWAITSECS + 60,
        check=check,
    )


def start(
    settings: config.Settings,
    services: Sequence[str] | None = None,
    python: str | None = None,
    timeout: float = 30,
) -> None:
    """Write the configuration and start supervisord, or apply a changed one to it."""
    services = list(config.PROCESSES if services is None else services)
    p = paths(settings)
    for directory in (p.dir, p.log_dir):
        directory.mkdir(parents=True, exist_ok=True)
    text = render_config(settings, services, python)
    changed = not p.conf.exists() or p.conf.read_text() != text
    if changed:
        tmp = p.conf.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o600)  # holds database passwords
        os.replace(tmp, p.conf)
    if is_running(settings):
        if changed:
            say("supervisord is running; applying the changed configuration (supervisorctl update)")
            result = ctl(settings, "update")
            if result.returncode != 0:
                raise InfraError(f"supervisorctl update failed:\n{result.stdout}{result.stderr}")
        ctl(settings, "start", "all")
        return
    stale = supervisord_pid(settings)
    if stale:  # alive but its socket does not answer
        say(f"stopping unresponsive supervisord (pid {stale})")
        terminate(stale, timeout=STOPWAITSECS + 5)
    if p.socket.exists():
        p.socket.unlink()
    say(f"starting supervisord ({p.conf})")
    with open(p.log_dir / "supervisord.start.log", "ab") as log:
        result = subprocess.run(
            [_bin("supervisord"), "-c", str(p.conf)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(config.REPO_ROOT),
            timeout=timeout,
        )
    if result.returncode != 0:
        raise InfraError(
            f"supervisord did not start (exit {result.returncode}); see "
            f"{p.log_dir / 'supervisord.start.log'}:\n{tail(p.log_dir / 'supervisord.start.log', 10)}"
        )
    wait_until(
        lambda: is_running(settings),
        timeout,
        "supervisord to answer on its socket",
        hint=f"; see {p.log_dir / 'supervisord.log'}",
    )


def stop(settings: config.Settings, timeout: float = STOPWAITSECS + 30) -> bool:
    """Stop every service (SIGTERM, bounded) and supervisord. False when none was running."""
    pid = supervisord_pid(settings)
    if not is_running(settings):
        if pid:
            terminate(pid, timeout=timeout)
            return True
        return False
    say("stopping the services and supervisord")
    try:
        server = rpc(settings, timeout=timeout)
        server.supervisor.stopAllProcesses(True)
        server.supervisor.shutdown()
    except Exception as exc:  # shutting down closes the socket under us
        if pid is None:
            raise InfraError(f"could not stop supervisord: {exc}") from exc
    if pid:
        wait_until(lambda: not pid_alive(pid), timeout, f"supervisord (pid {pid}) to exit")
    return True


def process_info(settings: config.Settings) -> list[dict]:
    try:
        return rpc(settings).supervisor.getAllProcessInfo()
    except Exception:
        return []


def wait_ready(
    settings: config.Settings,
    services: Iterable[str] | None = None,
    timeout: float = 120,
    max_restarts: int = 5,
) -> None:
    """Wait until every service's /health/ready answers 200; bounded.

    Fails early, with the end of its log, when a service keeps dying (a crash at
    start-up is not going to heal by waiting).
    """
    services = list(config.PROCESSES if services is None else services)
    p = paths(settings)
    pending = set(services)
    pids: dict[str, set[int]] = {s: set() for s in services}
    deadline = time.monotonic() + timeout
    while pending:
        for service in sorted(pending):
            if _ready(health_url(settings, service)):
                pending.discard(service)
                say(f"{service} is ready")
        if not pending:
            return
        for info in process_info(settings):
            name = info["name"]
            if name not in pending:
                continue
            if info["pid"]:
                pids[name].add(info["pid"])
            if info["statename"] == "FATAL" or len(pids[name]) > max_restarts:
                raise InfraError(
                    f"service {name} keeps exiting ({info['statename']}, "
                    f"{len(pids[name])} starts); its log is {p.service_log(name)}:\n"
                    f"{tail(p.service_log(name), 25)}"
                )
        if time.monotonic() >= deadline:
            details = "\n".join(
                f"  {s}: {health_url(settings, s)} not 200; log {p.service_log(s)}\n"
                f"{tail(p.service_log(s), 15)}"
                for s in sorted(pending)
            )
            raise InfraError(f"not ready after {timeout:.0f}s:\n{details}")
        time.sleep(0.5)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False

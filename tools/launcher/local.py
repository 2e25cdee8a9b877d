"""Private RabbitMQ nodes and PostgreSQL clusters on this machine, from its packages.

`make run` starts one of each where the configured URL points at a local port where
nothing answers; the fault tests start their own on free ports and stop, restart and
crash them. Each instance keeps all its files under `<var_dir>/infra/<kind>-<port>/`
and listens on 127.0.0.1 only.

    node = start_rabbitmq(5673, var_dir)        # jinwei-5673@localhost
    node = start_rabbitmq(5671, var_dir, tls=LocalAuthority(var_dir / "tls").ensure())
    node.stop_app(); node.start_app(); node.restart(); node.stop()
    pg = start_postgres(5433, var_dir)          # trust auth, superuser postgres
    pg.restart(); pg.stop(mode="immediate"); pg.start(); pg.stop()

As root the servers run as their own accounts (`rabbitmq`, `postgres`): RabbitMQ as
root gets 1 024 file descriptors and initdb refuses root. As anyone else they run as
that user. Every wait is bounded and fails with a message that names the log to read.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.launcher.system import (
    InfraError,
    ServiceUser,
    apt_install,
    chown,
    instance_dir,
    is_local_host,
    pid_alive,
    pid_cmdline,
    pid_environ,
    port_answers,
    read_pid,
    run,
    say,
    service_user,
    short_socket_dir,
    spawn_detached,
    tail,
    terminate,
    user_env,
    wait_until,
)

__all__ = [
    "PostgresCluster",
    "RabbitNode",
    "ensure_postgres_installed",
    "ensure_rabbitmq_installed",
    "port_answers",
    "postgres_bindir",
    "rabbitmqctl",
    "start_postgres",
    "start_rabbitmq",
]

# Debian's /usr/sbin/rabbitmq* are wrappers that `su rabbitmq`; the real scripts live here.
RABBITMQ_SCRIPTS = Path("/usr/lib/rabbitmq/bin")
POSTGRES_LIB = Path("/usr/lib/postgresql")
NOFILE = 65536
EPMD_PORT = 4369


# -- packages --------------------------------------------------------------------------


def rabbitmq_script(name: str) -> Path | None:
    script = RABBITMQ_SCRIPTS / name
    if script.exists():
        return script
    found = shutil.which(name)
    return Path(found) if found else None


def ensure_rabbitmq_installed(install: bool = False) -> None:
    """Make sure rabbitmq-server and rabbitmqctl exist; apt-get them when `install`."""
    if rabbitmq_script("rabbitmq-server") and rabbitmq_script("rabbitmqctl"):
        return
    why = "RabbitMQ is needed and rabbitmq-server is not installed"
    if not install:
        raise InfraError(f"{why}: apt-get install -y rabbitmq-server")
    apt_install(["rabbitmq-server"], why)
    if not rabbitmq_script("rabbitmq-server"):
        raise InfraError("apt-get installed rabbitmq-server but its scripts are still missing")


def postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb, or pg_ctl's dir on PATH."""
    candidates = []
    for bindir in POSTGRES_LIB.glob("*/bin"):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            try:
                candidates.append((float(bindir.parent.name), bindir))
            except ValueError:
                continue
    if candidates:
        return max(candidates)[1]
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl and (Path(pg_ctl).resolve().parent / "initdb").exists():
        return Path(pg_ctl).resolve().parent
    return None


def ensure_postgres_installed(install: bool = False) -> Path:
    """The PostgreSQL server binaries' dir; apt-get postgresql when missing and `install`."""
    bindir = postgres_bindir()
    if bindir:
        return bindir
    why = "PostgreSQL is needed and its server programs (initdb, pg_ctl) are not installed"
    if not install:
        raise InfraError(f"{why}: apt-get install -y postgresql")
    apt_install(["postgresql"], why)
    bindir = postgres_bindir()
    if not bindir:
        raise InfraError("apt-get installed postgresql but initdb is still missing")
    return bindir


# -- RabbitMQ --------------------------------------------------------------------------


def rabbitmqctl(
    *args: str,
    node: str | None = None,
    env: dict | None = None,
    timeout: float = 60,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run rabbitmqctl the way Debian's wrapper does: as `rabbitmq` (when root), so it
    reads that account's Erlang cookie, /var/lib/rabbitmq/.erlang.cookie, like the
    nodes it talks to. Without `node`, the machine's default node."""
    script = rabbitmq_script("rabbitmqctl")
    if script is None:
        raise InfraError("rabbitmqctl is not installed (apt-get install -y rabbitmq-server)")
    user = service_user("rabbitmq")
    cmd = [str(script), *(["-n", node] if node else []), *args]
    return run(
        cmd,
        user=user,
        env=env or user_env(user),
        timeout=timeout,
        check=check,
        what=f"rabbitmqctl {' '.join(cmd[1:3] if node else cmd[1:2])}",
    )


def _dist_port(port: int) -> int:
    preferred = port + 20000 if port + 20000 <= 65535 else port - 20000
    if preferred > 1024 and not port_answers("127.0.0.1", preferred):
        return preferred
    from tools.launcher.system import free_port

    return free_port()


@dataclass
class RabbitNode:
    """A private RabbitMQ node: `jinwei-<port>@localhost`, files under base_dir."""

    port: int
    dist_port: int
    node: str
    base_dir: Path
    host: str = "127.0.0.1"
    # AMQP over TLS only (no plain listener), with this local CA's server certificate.
    tls_dir: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False, compare=False)

    # files
    @property
    def pid_file(self) -> Path:
        return self.base_dir / "rabbitmq.pid"

    @property
    def log_dir(self) -> Path:
        return self.base_dir / "log"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.node}.log"

    @property
    def startup_log(self) -> Path:
        return self.log_dir / "startup.log"

    @property
    def user(self) -> ServiceUser | None:
        return service_user("rabbitmq")

    def env(self) -> dict:
        """Environment of the server and of rabbitmqctl talking to it.

        RABBITMQ_CONF_ENV_FILE points at our own file, so the machine's
        /etc/rabbitmq/rabbitmq-env.conf (node name, listeners of the system node)
        does not leak in; RABBITMQ_CONFIG_FILE likewise replaces rabbitmq.conf.
        """
        base = self.base_dir
        return user_env(
            self.user,
            {
                "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
                "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
                "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_NODE_IP_ADDRESS": self.host,
                "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.log_dir),
                "RABBITMQ_PID_FILE": str(self.pid_file),
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
                # Only matters if this node is the one that starts epmd.
                "ERL_EPMD_ADDRESS": "127.0.0.1",
            },
        )

    def ctl(self, *args: str, timeout: float = 60, check: bool = True):
        return rabbitmqctl(*args, node=self.node, env=self.env(), timeout=timeout, check=check)

    def answers(self) -> bool:
        return port_answers(self.host, self.port)

    def ping(self, timeout: float = 15) -> bool:
        """True when the Erlang node is up (the app may be stopped)."""
        try:
            return self.ctl("ping", "-q", timeout=timeout, check=False).returncode == 0
        except InfraError:
            return False

    def beam_pid(self) -> int | None:
        """The Erlang VM's pid from our pid file, if that process is still our node."""
        pid = read_pid(self.pid_file)
        if pid and pid_alive(pid) and "beam" in pid_cmdline(pid):
            environ = pid_environ(pid)
            if environ is None or environ.get("RABBITMQ_PID_FILE") == str(self.pid_file):
                return pid
        return None

    def amqp_uri(self, user: str = "guest", password: str = "guest", vhost: str = "/") -> str:
        from urllib.parse import quote

        return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{self.host}:{self.port}/{quote(vhost, safe='')}"

    # lifecycle
    def _listeners(self) -> str:
        if self.tls_dir is None:
            return f"listeners.tcp.1 = {self.host}:{self.port}\n"
        # The node's own copies: the key must be readable by the rabbitmq account.
        own = self.base_dir / "tls"
        own.mkdir(exist_ok=True)
        chown(own, self.user)
        for name in ("ca.pem", "server.pem", "server.key"):
            shutil.copyfile(self.tls_dir / name, own / name)
            (own / name).chmod(0o600)
            chown(own / name, self.user)
        return (
            "listeners.tcp = none\n"
            f"listeners.ssl.1 = {self.host}:{self.port}\n"
            f"ssl_options.cacertfile = {own / 'ca.pem'}\n"
            f"ssl_options.certfile = {own / 'server.pem'}\n"
            f"ssl_options.keyfile = {own / 'server.key'}\n"
            # A client certificate is checked when sent, not required (docs/operations.md).
            "ssl_options.verify = verify_peer\n"
            "ssl_options.fail_if_no_peer_cert = false\n"
            "ssl_options.versions.1 = tlsv1.3\n"
            "ssl_options.versions.2 = tlsv1.2\n"
        )

    def _write_config(self) -> None:
        user = self.user
        for sub in ("mnesia", "log"):
            (self.base_dir / sub).mkdir(exist_ok=True)
            chown(self.base_dir / sub, user)
        files = {
            "rabbitmq.conf": (
                "# Written by tools/launcher/local.py for a private node; edits are overwritten.\n"
                + self._listeners() +
                "loopback_users.guest = true\n"
                "log.console = false\n"
                "log.file.level = info\n"
                "disk_free_limit.absolute = 50MB\n"
            ),
            "rabbitmq-env.conf": (
                "# Private node of `make run`; the values also come from the environment.\n"
                f"NODENAME={self.node}\n"
                f"NODE_IP_ADDRESS={self.host}\n"
                f"NODE_PORT={self.port}\n"
                f"DIST_PORT={self.dist_port}\n"
            ),
            "enabled_plugins": "[].\n",
        }
        for name, text in files.items():
            path = self.base_dir / name
            path.write_text(text)
            chown(path, user)

    def start(self, timeout: float = 90) -> RabbitNode:
        """Start the node (reusing its data) and wait until the broker app runs."""
        if self.answers() and self.ping():
            self.ctl("await_startup", timeout=timeout)
            return self
        if self.answers():
            raise InfraError(f"port {self.port} is taken by something that is not node {self.node}")
        stale = self.beam_pid()
        if stale and self.ping():  # the VM runs, the broker app was stopped (stop_app)
            self.start_app(timeout=timeout)
            return self
        if stale:  # a node of ours from a crashed run that no longer answers
            say(f"stopping unresponsive {self.node} (pid {stale})")
            terminate(stale, timeout=15)
        self._write_config()
        script = rabbitmq_script("rabbitmq-server")
        if script is None:
            raise InfraError(
                "rabbitmq-server is not installed (apt-get install -y rabbitmq-server)"
            )
        started = time.monotonic()
        process = self.process = spawn_detached(
            [str(script)],
            user=self.user,
            env=self.env(),
            log_path=self.startup_log,
            cwd=self.base_dir,
            nofile=NOFILE,
        )

        def up() -> bool:
            if process.poll() is not None:
                raise InfraError(
                    f"RabbitMQ node {self.node} exited during start "
                    f"(exit {process.returncode}); see {self.log_file}\n"
                    f"{tail(self.startup_log, 15)}\n{tail(self.log_file, 15)}"
                )
            return self.answers()

        wait_until(
            up,
            timeout,
            f"RabbitMQ node {self.node} to listen on {self.host}:{self.port}",
            hint=f"; see {self.log_file} and {self.startup_log}",
        )
        remaining = max(10.0, timeout - (time.monotonic() - started))
        self.ctl("await_startup", timeout=remaining)
        return self

    def stop(self, timeout: float = 60) -> None:
        """Stop the node and its Erlang VM; no error when it is not running."""
        pid = self.beam_pid()
        if pid or self.answers():
            args = ["stop", str(self.pid_file)] if pid else ["stop"]
            try:
                self.ctl(*args, timeout=timeout, check=False)
            except InfraError:
                pass
        pid = self.beam_pid()
        if pid:
            terminate(pid, timeout=10)
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None
        wait_until(
            lambda: not self.answers(),
            10,
            f"RabbitMQ node {self.node} to stop listening on port {self.port}",
        )

    def kill(self) -> None:
        """SIGKILL the Erlang VM (a crash, for fault tests); start() brings it back."""
        pid = self.beam_pid()
        if pid:
            os.kill(pid, 9)
            wait_until(lambda: not pid_alive(pid), 10, f"pid {pid} to die")
        if self.process is not None:
            self.process.wait(timeout=10)
            self.process = None

    def stop_app(self, timeout: float = 60) -> None:
        """Stop the broker application (connections drop, port closes); the VM stays."""
        self.ctl("stop_app", timeout=timeout)
        wait_until(lambda: not self.answers(), 10, f"port {self.port} to close")

    def start_app(self, timeout: float = 60) -> None:
        self.ctl("start_app", timeout=timeout)
        self.ctl("await_startup", timeout=timeout)

    def restart(self, timeout: float = 90) -> None:
        """Stop the whole node and start it again (same data, same port)."""
        self.stop(timeout=timeout)
        self.start(timeout=timeout)

    def destroy(self) -> None:
        """Stop the node and delete its files (a test's node, at the end)."""
        self.stop()
        _remove_instance_dir(self.base_dir)

    # state file
    def to_record(self) -> dict:
        return {
            "kind": "rabbitmq",
            "port": self.port,
            "dist_port": self.dist_port,
            "node": self.node,
            "host": self.host,
            "base_dir": str(self.base_dir),
            "tls_dir": str(self.tls_dir) if self.tls_dir else None,
        }

    @classmethod
    def from_record(cls, record: dict) -> RabbitNode:
        return cls(
            port=int(record["port"]),
            dist_port=int(record["dist_port"]),
            node=record["node"],
            base_dir=Path(record["base_dir"]),
            host=record.get("host", "127.0.0.1"),
            tls_dir=Path(record["tls_dir"]) if record.get("tls_dir") else None,
        )


def find_rabbitmq(port: int, var_dir: str | Path) -> RabbitNode | None:
    """Our private node for `port` under var_dir if its VM is alive (e.g. after a crash
    of the command that started it), else None. Starts nothing."""
    path = Path(var_dir).absolute() / "infra" / f"rabbitmq-{port}" / "node.json"
    try:
        node = RabbitNode.from_record(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError):
        return None
    node.base_dir = path.resolve().parent
    return node if node.beam_pid() else None


def rabbit_node_name(port: int) -> str:
    return f"jinwei-{port}@localhost"


def start_rabbitmq(
    port: int,
    var_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    timeout: float = 90,
    install: bool = False,
    tls=None,
) -> RabbitNode:
    """Start (or find already running) the private node for `port`; bounded wait. With
    `tls` (a shared.platform.broker.tls.LocalAuthority), the node speaks AMQP over TLS only.

    Idempotent: a node of ours already up on that port is reused; one left behind by a
    crashed run that no longer answers is killed and started again on its data.
    """
    if not is_local_host(host):
        raise InfraError(f"cannot start RabbitMQ on {host}: only on this machine")
    ensure_rabbitmq_installed(install=install)
    user = service_user("rabbitmq")
    base = instance_dir(Path(var_dir), f"rabbitmq-{port}", user)
    record = base / "node.json"
    dist_port = None
    if record.exists():
        try:
            dist_port = int(json.loads(record.read_text())["dist_port"])
        except (ValueError, KeyError, OSError):
            dist_port = None
    node = RabbitNode(
        port=port,
        dist_port=dist_port or _dist_port(port),
        node=rabbit_node_name(port),
        base_dir=base,
        host="127.0.0.1",
        tls_dir=tls.directory if tls is not None else None,
    )
    record.write_text(json.dumps(node.to_record(), indent=2) + "\n")
    return node.start(timeout=timeout)


# -- PostgreSQL ------------------------------------------------------------------------


@dataclass
class PostgresCluster:
    """A private PostgreSQL cluster: trust auth, superuser `postgres`, 127.0.0.1 only."""

    port: int
    base_dir: Path
    bindir: Path
    socket_dir: Path
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    @property
    def user(self) -> ServiceUser | None:
        return service_user("postgres")

    def database_url(self, database: str, user: str = "postgres", password: str = "") -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    def pg_ctl(self, *args: str, timeout: float = 60, check: bool = True):
        return run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args],
            user=self.user,
            env=user_env(self.user),
            timeout=timeout + 15,
            check=check,
            cwd=self.base_dir,
            what=f"pg_ctl {args[0] if args else ''} ({self.data_dir})",
        )

    def answers(self) -> bool:
        return port_answers(self.host, self.port)

    def is_running(self) -> bool:
        """pg_ctl's view: a postmaster is alive for this data dir."""
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        return self.pg_ctl("status", timeout=10, check=False).returncode == 0

    def postmaster_pid(self) -> int | None:
        return read_pid(self.data_dir / "postmaster.pid")

    def _pid_file_port(self) -> int | None:
        # postmaster.pid: pid, data dir, start time, port, socket dir, ...
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, ValueError, IndexError):
            return None

    def _initdb(self) -> None:
        user = self.user
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)  # an initdb that did not finish
        say(f"initdb: new PostgreSQL cluster in {self.data_dir}")
        run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",  # a local development cluster: speed over crash-safety of initdb
            ],
            user=user,
            env=user_env(user),
            timeout=120,
            cwd=self.base_dir,
            what="initdb",
        )
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# Private cluster of `make run` (tools/launcher/local.py)\n"
                "include_if_exists = 'jinwei.conf'\n"
            )

    def _write_config(self) -> None:
        path = self.data_dir / "jinwei.conf"
        path.write_text(
            "# Written by tools/launcher/local.py at every start; edits are overwritten.\n"
            f"listen_addresses = '{self.host}'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "max_connections = 200\n"
            "logging_collector = off\n"
        )
        chown(path, self.user)

    def start(self, timeout: float = 60) -> PostgresCluster:
        """Start the cluster (initdb first when new) and wait until it accepts connections."""
        if self.answers():
            if self.is_running() and self._pid_file_port() == self.port:
                return self
            raise InfraError(f"port {self.port} is taken by something that is not our PostgreSQL")
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        elif self.is_running():  # alive but not answering: hung or mid-shutdown
            say(f"stopping unresponsive PostgreSQL in {self.data_dir}")
            self.pg_ctl("stop", "-m", "immediate", "-w", "-t", "30", timeout=30, check=False)
        self._write_config()
        result = self.pg_ctl(
            "start",
            "-w",
            "-t",
            str(int(timeout)),
            "-l",
            str(self.log_file),
            "-s",
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0 or not self.answers():
            raise InfraError(
                f"PostgreSQL on port {self.port} did not start (pg_ctl exit {result.returncode}); "
                f"see {self.log_file}\n{result.stdout}{result.stderr}{tail(self.log_file, 15)}"
            )
        return self

    def stop(self, timeout: float = 60, mode: str = "fast") -> None:
        """Stop the cluster; mode "immediate" is a crash (recovery on next start)."""
        if self.is_running():
            self.pg_ctl("stop", "-m", mode, "-w", "-t", str(int(timeout)), timeout=timeout)
        wait_until(
            lambda: not self.answers(), 10, f"PostgreSQL to stop listening on port {self.port}"
        )

    def restart(self, timeout: float = 60, mode: str = "fast") -> None:
        """Stop (fast: sessions are terminated) and start again, same port and data."""
        self.stop(timeout=timeout, mode=mode)
        self.start(timeout=timeout)

    def destroy(self) -> None:
        """Stop the cluster and delete its files (a test's cluster, at the end)."""
        self.stop(mode="immediate")
        _remove_instance_dir(self.base_dir)
        if self.socket_dir.name.startswith("jinwei-"):
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def to_record(self) -> dict:
        return {
            "kind": "postgres",
            "port": self.port,
            "host": self.host,
            "base_dir": str(self.base_dir),
            "bindir": str(self.bindir),
            "socket_dir": str(self.socket_dir),
        }

    @classmethod
    def from_record(cls, record: dict) -> PostgresCluster:
        return cls(
            port=int(record["port"]),
            base_dir=Path(record["base_dir"]),
            bindir=Path(record["bindir"]),
            socket_dir=Path(record["socket_dir"]),
            host=record.get("host", "127.0.0.1"),
        )


def start_postgres(
    port: int,
    var_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    timeout: float = 60,
    install: bool = False,
) -> PostgresCluster:
    """Start (or find already running) the private cluster for `port`; bounded wait.

    Idempotent: our cluster already up on that port is reused; a stale postmaster.pid
    from a crashed run is handled by pg_ctl; an unfinished initdb is redone.
    """
    if not is_local_host(host):
        raise InfraError(f"cannot start PostgreSQL on {host}: only on this machine")
    bindir = ensure_postgres_installed(install=install)
    user = service_user("postgres")
    base = instance_dir(Path(var_dir), f"postgres-{port}", user)
    socket_dir = short_socket_dir(base / "run", f".s.PGSQL.{port}.lock", user)
    cluster = PostgresCluster(port=port, base_dir=base, bindir=bindir, socket_dir=socket_dir)
    return cluster.start(timeout=timeout)


def find_postgres(port: int, var_dir: str | Path) -> PostgresCluster | None:
    """Our private cluster for `port` under var_dir if it is running, else None."""
    base = Path(var_dir).absolute() / "infra" / f"postgres-{port}"
    bindir = postgres_bindir()
    if not (base / "data" / "PG_VERSION").exists() or bindir is None:
        return None
    base = base.resolve()
    cluster = PostgresCluster(port=port, base_dir=base, bindir=bindir, socket_dir=base / "run")
    if cluster._pid_file_port() != port or not cluster.is_running():
        return None
    try:
        lines = (cluster.data_dir / "postmaster.pid").read_text().splitlines()
        cluster.socket_dir = Path(lines[4])
    except (OSError, IndexError):
        pass
    return cluster


def _remove_instance_dir(base_dir: Path) -> None:
    shutil.rmtree(base_dir, ignore_errors=True)
    if base_dir.parent.name.startswith("jinwei-"):  # /var/tmp/jinwei-<hash> (see instance_dir)
        with contextlib.suppress(OSError):
            base_dir.parent.rmdir()


# -- epmd ------------------------------------------------------------------------------


def epmd_answers() -> bool:
    return port_answers("127.0.0.1", EPMD_PORT)


def stop_epmd_if_idle() -> bool:
    """Stop epmd when no Erlang node is registered with it (epmd -kill refuses otherwise)."""
    epmd = shutil.which("epmd")
    if not epmd or not epmd_answers():
        return False
    names = run([epmd, "-names"], timeout=10, check=False)
    if "at port" in names.stdout:
        return False
    run([epmd, "-kill"], timeout=10, check=False)
    return not epmd_answers()

"""Small operating-system helpers for the local infrastructure: ports, users, processes.

Nothing here knows about RabbitMQ or PostgreSQL; local.py and provision.py build on it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "ip6-localhost"})

# Unix socket paths are limited to sizeof(sun_path) - 1 = 107 bytes on Linux.
MAX_UNIX_SOCKET_PATH = 100


class InfraError(RuntimeError):
    """Something the local infrastructure could not do; the message says what to do next."""


def say(message: str) -> None:
    print(f"jinwei: {message}", flush=True)


def is_local_host(host: str | None) -> bool:
    return (host or "127.0.0.1") in LOCAL_HOSTS


def port_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts a TCP connection at host:port."""
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    interval: float = 0.25,
    hint: str = "",
) -> None:
    """Poll predicate until it is true; InfraError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise InfraError(f"timed out after {timeout:.0f}s waiting for {what}{hint}")
        time.sleep(interval)


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[1]}"))


def tail(path: Path, lines: int = 30) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(data.splitlines()[-lines:])


# -- users -----------------------------------------------------------------------------


def is_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class ServiceUser:
    """The OS account a server runs as (rabbitmq, postgres)."""

    name: str
    uid: int
    gid: int
    home: str
    groups: tuple[int, ...]

    @classmethod
    def lookup(cls, name: str) -> ServiceUser:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise InfraError(
                f"there is no OS user {name!r}; it is created by the Debian package "
                f"that provides the server (install it, or run as a non-root user)"
            ) from None
        groups = tuple(os.getgrouplist(name, entry.pw_gid))
        return cls(name, entry.pw_uid, entry.pw_gid, entry.pw_dir, groups)

    def spawn_kwargs(self) -> dict:
        return {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups)}


def service_user(name: str) -> ServiceUser | None:
    """The account to run a server as: `name` when we are root, else None (ourselves)."""
    return ServiceUser.lookup(name) if is_root() else None


def user_env(user: ServiceUser | None, extra: dict | None = None) -> dict:
    """A clean environment for a server process: PATH, HOME, a UTF-8 locale, extras."""
    if user is None:
        home = os.environ.get("HOME") or pwd.getpwuid(os.geteuid()).pw_dir
        name = pwd.getpwuid(os.geteuid()).pw_name
    else:
        home, name = user.home, user.name
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"),
        "HOME": home,
        "USER": name,
        "LOGNAME": name,
        # The RabbitMQ CLI (Elixir) complains loudly without a UTF-8 locale.
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    if extra:
        env.update(extra)
    return env


def chown(path: str | Path, user: ServiceUser | None) -> None:
    if user is not None:
        os.chown(path, user.uid, user.gid)


def instance_dir(var_dir: Path, name: str, user: ServiceUser | None) -> Path:
    """var_dir/infra/<name>, created, owned by `user`, and reachable by it.

    A server running as its own account must reach its files. A state dir below a
    private parent (a checkout under /root, pytest's 0700 temp dirs) is not reachable,
    so the files then live in /var/tmp/jinwei-<hash>/<name> and var_dir/infra/<name>
    is a symbolic link to them. Returns the real directory (the server cannot use a
    path through the unreachable parent).
    """
    infra = Path(var_dir).absolute() / "infra"
    infra.mkdir(parents=True, exist_ok=True)
    if user is not None:
        with contextlib.suppress(PermissionError):
            infra.chmod(infra.stat().st_mode | 0o755)
    path = infra / name
    if path.is_symlink():
        target = Path(os.readlink(path))
    elif user is None or _reachable(user, infra):
        path.mkdir(exist_ok=True)
        chown(path, user)
        return path
    else:
        digest = hashlib.sha1(str(infra).encode()).hexdigest()[:12]
        target = Path("/var/tmp") / f"jinwei-{digest}" / name
        path.symlink_to(target)
    target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    target.mkdir(exist_ok=True)
    chown(target, user)
    return target


def _reachable(user: ServiceUser, directory: Path) -> bool:
    """Whether `user` can traverse into `directory` (and so every parent of it)."""
    result = subprocess.run(
        ["test", "-x", str(directory)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd="/",
        **user.spawn_kwargs(),
    )
    return result.returncode == 0


def short_socket_dir(preferred: Path, filename: str, user: ServiceUser | None) -> Path:
    """`preferred` unless a socket named `filename` in it would exceed the path limit."""
    if len(str(preferred / filename)) <= MAX_UNIX_SOCKET_PATH:
        preferred.mkdir(parents=True, exist_ok=True)
        chown(preferred, user)
        return preferred
    digest = hashlib.sha1(str(preferred).encode()).hexdigest()[:12]
    fallback = Path(tempfile.gettempdir()) / f"jinwei-{digest}"
    fallback.mkdir(mode=0o755, exist_ok=True)
    chown(fallback, user)
    return fallback


# -- processes -------------------------------------------------------------------------


def run(
    cmd: Sequence[str],
    *,
    user: ServiceUser | None = None,
    env: dict | None = None,
    timeout: float = 60,
    check: bool = True,
    input: str | None = None,
    cwd: str | Path | None = None,
    what: str | None = None,
) -> subprocess.CompletedProcess:
    """Run a command to completion with a bound on time; InfraError with its output on failure."""
    kwargs = user.spawn_kwargs() if user is not None else {}
    if cwd is None:
        cwd = user.home if user is not None and os.path.isdir(user.home) else "/"
    try:
        result = subprocess.run(
            list(map(str, cmd)),
            env=env,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(cwd),
            **kwargs,
        )
    except subprocess.TimeoutExpired as exc:
        raise InfraError(
            f"{what or ' '.join(map(str, cmd))}: no answer within {timeout:.0f}s"
        ) from exc
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise InfraError(
            f"{what or ' '.join(map(str, cmd))} failed (exit {result.returncode}):\n{output}"
        )
    return result


@contextlib.contextmanager
def raised_nofile(limit: int) -> Iterator[None]:
    """Raise this process's open-file limit for the children spawned inside the block.

    Children inherit limits at fork; raising them here (as root we may raise the hard
    limit too) is how a server started as another user gets `ulimit -n` raised.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(soft, limit)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def spawn_detached(
    cmd: Sequence[str],
    *,
    user: ServiceUser | None,
    env: dict,
    log_path: Path,
    cwd: Path,
    nofile: int | None = None,
) -> subprocess.Popen:
    """Start a long-running server in its own session, output appended to log_path.

    Its own session: Ctrl-C in the terminal, or a signal to `make`'s process group,
    does not reach it; it outlives the command that started it.
    """
    kwargs = user.spawn_kwargs() if user is not None else {}
    with open(log_path, "ab") as log:
        chown(log_path, user)
        with raised_nofile(nofile) if nofile else contextlib.nullcontext():
            return subprocess.Popen(
                list(map(str, cmd)),
                env=env,
                cwd=str(cwd),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **kwargs,
            )


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def pid_cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pid_environ(pid: int) -> dict | None:
    """A process's environment, or None when we may not read it."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def read_pid(path: Path) -> int | None:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def terminate(pid: int, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.2)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


# -- packages --------------------------------------------------------------------------

_apt_updated = False


def apt_install(packages: Sequence[str], why: str) -> None:
    """Install Debian packages with apt-get (root only), saying what and why."""
    global _apt_updated
    if not shutil.which("apt-get"):
        raise InfraError(f"{why}, and this machine has no apt-get: install {' '.join(packages)}")
    if not is_root():
        raise InfraError(
            f"{why}. Install it as root:  sudo apt-get install -y {' '.join(packages)}"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    say(f"{why}: installing the Debian package(s) {' '.join(packages)} with apt-get")
    if not _apt_updated:
        say("running apt-get update")
        subprocess.run(["apt-get", "update"], env=env, check=False, stdin=subprocess.DEVNULL)
        _apt_updated = True
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    say("running " + " ".join(cmd))
    result = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise InfraError(f"apt-get install {' '.join(packages)} failed (exit {result.returncode})")
    sys.stdout.flush()

"""What the operations tests share: the tools they need, PromQL's metric names, the
metric names that exist, and a service run as its own process (`python -m shared.platform.runner`,
as supervisord, compose and Kubernetes run it)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from shared.platform import config

REPO = config.REPO_ROOT
KUBERNETES_VERSION = "1.30"  # what k8s/ is validated against (kubernetes-validate)
INSTALL_HINT = "bash deploy/install-ops-tools.sh (as root) installs it"


def tool(name: str) -> str:
    """The tool's path, or the test skips saying how to get it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed here; {INSTALL_HINT}")
    return path


def run(argv: list[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          cwd=kw.pop("cwd", REPO), stdin=subprocess.DEVNULL, **kw)


# -- metric names ------------------------------------------------------------------------

# Series that come from elsewhere than shared/platform/metrics.py and prometheus-client's default
# collectors: Prometheus itself, and RabbitMQ's prometheus plugin (per-object queue
# metrics, rabbitmq_prometheus 3.8+).
STANDARD = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked",
    "rabbitmq_queue_messages", "rabbitmq_queue_consumers",
}

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


def known_metric_names() -> set[str]:
    """Every series name the services and the gateway can export: shared/platform/metrics.py and
    prometheus-client's process/platform/gc collectors (the default registry)."""
    from prometheus_client import REGISTRY

    import shared.platform.broker.guard  # noqa: F401 - registers the refused-message family
    import shared.platform.db  # noqa: F401 - registers the pool families (with its pools)
    import shared.platform.metrics  # noqa: F401 - registers the families

    names = set(STANDARD)
    for family in REGISTRY.collect():
        for suffix in _SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
        names.update(sample.name for sample in family.samples)
    return names


_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
             "group_left", "group_right", "inf", "nan", "atan2"}


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (good enough for our expressions: label
    matchers, ranges, grouping clauses, functions and keywords are taken out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    text = re.sub(r"\{[^}]*\}", "", text)  # matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges, subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


# -- a service as its own process ----------------------------------------------------------

def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(metrics_text: str, name: str, **labels) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in metrics_text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


class ServiceProcess:
    """`python -m shared.platform.runner <service>` as a child process, against the test's broker
    vhost and database, its health port on 127.0.0.1."""

    def __init__(self, service: str, *, settings: config.Settings, database_url: str,
                 port: int, token_secret: str, var_dir: Path, max_workers: int = 10,
                 extra_env: dict | None = None):
        self.service, self.port = service, port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {k: v for k, v in os.environ.items()
                    if not (k.startswith("JINWEI_") or k.endswith("_DATABASE_URL")
                            or k.endswith("_HTTP_PORT") or k.endswith("AMQP_URI"))}
        self.env.update({
            "AMQP_URI": settings.amqp_uri_of(service),  # its own account, as in production
            "JINWEI_BROKER_ACCOUNT_PREFIX": settings.broker_account_prefix,
            config.database_env_name(service): database_url,
            f"{service.upper()}_HTTP_PORT": str(port),
            "JINWEI_HTTP_HOST": "127.0.0.1",
            "JINWEI_TOKEN_SECRET": token_secret,
            "JINWEI_VAR_DIR": str(var_dir),
            "JINWEI_MAX_WORKERS": str(max_workers),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        })
        var_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = var_dir / f"{service}-{port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, ready_timeout: float = 45) -> ServiceProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen([sys.executable, "-m", "shared.platform.runner", self.service],
                                        cwd=REPO, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.service} exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            if self.ready():
                return self
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"{self.service} not ready in {ready_timeout}s:\n{self.log_tail()}")

    def ready(self) -> bool:
        try:
            return http_get(self.url + "/health/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def metrics(self) -> str:
        return http_get(self.url + "/metrics")[1]

    def terminate(self, timeout: float = 60) -> float:
        """SIGTERM; seconds until the process exited."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

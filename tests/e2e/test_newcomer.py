"""The newcomer's path: `make run` on a machine where nothing answers, then `make stop`.

The configuration points at free ports where nothing listens, so `make run` has to start
its own RabbitMQ node and PostgreSQL cluster on exactly those ports, provision them,
migrate, start every service under supervisord and wait for readiness; `make stop` has
to take all of it down again. Real processes, no mocks. The machine's own RabbitMQ
(5672) and PostgreSQL (5432) are never involved: every port here is a fresh one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from shared.platform import config
from tests.support import free_ports, port_answers

pytestmark = pytest.mark.infra

REPO = config.REPO_ROOT
RUN_TIMEOUT = 300  # make run: a first start includes initdb and a new RabbitMQ node
STOP_TIMEOUT = 150

# Configuration variables a developer's shell may carry; the test sets its own.
CONFIG_VARS = re.compile(
    r"^(AMQP_URI|POSTGRES_ADMIN_URL|JINWEI_VAR_DIR|JINWEI_HTTP_HOST|JINWEI_RABBITMQ_NODE"
    r"|\w+_DATABASE_URL|\w+_HTTP_PORT|MAKEFLAGS|MAKELEVEL|MFLAGS)$"
)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def make(target: str, env: dict, log: Path, timeout: float) -> tuple[int, str]:
    """Run `make <target>`; output to a file (daemons must not hold a pipe of ours)."""
    with open(log, "w") as out:
        result = subprocess.run(
            ["make", "--no-print-directory", "-C", str(REPO), target],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    return result.returncode, log.read_text()


@pytest.fixture
def newcomer(tmp_path):
    if not (REPO / "services" / "organizations" / "service.py").exists():
        pytest.skip("services/organizations/service.py does not exist yet: nothing to run")
    services = list(config.PROCESSES)  # the gateway on a free port too
    amqp_port, pg_port, *http_ports = free_ports(2 + len(services))
    var_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not CONFIG_VARS.match(k)}
    env.update(
        {
            "AMQP_URI": f"amqp://jinwei:jinwei@127.0.0.1:{amqp_port}/jinwei",
            "POSTGRES_ADMIN_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/postgres",
            "JINWEI_VAR_DIR": str(var_dir),
            "JINWEI_READY_TIMEOUT": "150",
            "JINWEI_NO_INSTALL": "1",  # the packages are here; never apt-get from a test
        }
    )
    for service, port in zip(services, http_ports, strict=True):
        env[f"{service.upper()}_HTTP_PORT"] = str(port)
    system = {5672: port_answers(5672), 5432: port_answers(5432)}
    info = {
        "env": env,
        "var_dir": var_dir,
        "amqp_port": amqp_port,
        "pg_port": pg_port,
        "http_ports": dict(zip(services, http_ports, strict=True)),
        "logs": tmp_path,
    }
    try:
        yield info
    finally:
        # Whatever happened: stop everything and remove the private instances' data.
        subprocess.run(
            [str(REPO / ".venv" / "bin" / "python"), "-m", "tools.launcher", "clean"],
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=STOP_TIMEOUT,
        )
        for port, answered in system.items():
            assert port_answers(port) == answered, f"the machine's own service on {port} changed"


def test_make_run_starts_everything_and_make_stop_takes_it_down(newcomer):
    env, var_dir = newcomer["env"], newcomer["var_dir"]
    amqp_port, pg_port = newcomer["amqp_port"], newcomer["pg_port"]
    assert not port_answers(amqp_port) and not port_answers(pg_port)

    started = time.monotonic()
    rc, output = make("run", env, newcomer["logs"] / "make-run.log", RUN_TIMEOUT)
    assert rc == 0, f"make run failed:\n{output}"
    print(f"make run took {time.monotonic() - started:.1f}s")

    # The private RabbitMQ and PostgreSQL run on exactly the configured ports.
    assert port_answers(amqp_port) and port_answers(pg_port)
    state = json.loads((var_dir / "infra" / "started.json").read_text())
    assert str(amqp_port) in state["rabbitmq"], state
    assert str(pg_port) in state["postgres"], state
    node = state["rabbitmq"][str(amqp_port)]
    beam = int(Path(node["base_dir"], "rabbitmq.pid").read_text().split()[0])
    if os.geteuid() == 0:  # as root the broker must run as `rabbitmq`, files raised
        status = Path(f"/proc/{beam}/status").read_text()
        uid = int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
        assert uid != 0, "RabbitMQ runs as root"
        limits = Path(f"/proc/{beam}/limits").read_text()
        nofile = int(re.search(r"^Max open files\s+(\d+)", limits, re.M).group(1))
        assert nofile > 1024, limits

    # Every service is ready.
    for service, port in newcomer["http_ports"].items():
        url = f"http://127.0.0.1:{port}/health/ready"
        assert http_status(url) == 200, f"{service}: {url}"
        assert url in output  # the closing block says where it listens

    # The closing block tells where things are, without the broker password.
    assert "Jinwei is running" in output
    assert f"amqp://jinwei:***@127.0.0.1:{amqp_port}/jinwei" in output
    assert "jinwei:jinwei@" not in output
    assert "make stop" in output

    supervisord = int((var_dir / "supervisor" / "supervisord.pid").read_text().split()[0])
    assert pid_alive(supervisord)

    scraped_by_prometheus(newcomer["http_ports"], newcomer["logs"])

    # Running it again changes nothing and is quick.
    rc, output = make("run", env, newcomer["logs"] / "make-run-2.log", 120)
    assert rc == 0, f"second make run failed:\n{output}"
    assert int((var_dir / "supervisor" / "supervisord.pid").read_text().split()[0]) == supervisord

    rc, output = make("status", env, newcomer["logs"] / "make-status.log", 60)
    assert rc == 0, output
    assert "RUNNING" in output or "STARTING" in output, output

    rc, output = make("stop", env, newcomer["logs"] / "make-stop.log", STOP_TIMEOUT)
    assert rc == 0, f"make stop failed:\n{output}"
    assert not port_answers(amqp_port), "RabbitMQ still answers after make stop"
    assert not port_answers(pg_port), "PostgreSQL still answers after make stop"
    for service, port in newcomer["http_ports"].items():
        assert not port_answers(port), f"{service} still answers after make stop"
    assert not pid_alive(supervisord), "supervisord is still running after make stop"
    assert not pid_alive(beam), "the RabbitMQ VM is still running after make stop"
    state = json.loads((var_dir / "infra" / "started.json").read_text())
    assert not state["rabbitmq"] and not state["postgres"], state

    # Stopping twice is fine.
    rc, output = make("stop", env, newcomer["logs"] / "make-stop-2.log", STOP_TIMEOUT)
    assert rc == 0, output


def scraped_by_prometheus(http_ports: dict, directory) -> None:
    """A real Prometheus (Debian's package) against what `make run` started: every target
    up, the series the alert rules read present, every rule of deploy/prometheus
    evaluated without error. (tests/ops/test_prometheus_live.py makes an alert fire.)"""
    import shutil

    binary = shutil.which("prometheus")
    if binary is None:
        print("prometheus is not installed (make ops-tools): not scraping the system")
        return
    from tests.ops.test_prometheus_live import Prometheus

    prometheus = Prometheus(binary, directory, http_ports)
    try:
        def every_target_up():
            targets = prometheus.api("targets")["activeTargets"]
            return len(targets) == len(http_ports) and all(t["health"] == "up" for t in targets)

        prometheus.wait(every_target_up, "scraping every process up")
        for metric in ("jinwei_outbox_pending_events", "jinwei_dead_letters",
                       "jinwei_db_pool_size"):
            assert prometheus.wait(lambda m=metric: prometheus.services_with(m),
                                   f"seeing {metric}"), metric

        def rules_evaluated():
            rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
            return rules if rules and all(
                r["health"] == "ok" and not r["lastEvaluation"].startswith("0001")
                for r in rules) else None

        rules = prometheus.wait(rules_evaluated, "evaluating every rule")
        assert not [a for a in prometheus.api("alerts")["alerts"]
                    if a["labels"]["alertname"] == "JinweiServiceDown"], "every process is up"
        print(f"Prometheus: {len(http_ports)} targets up, {len(rules)} rules evaluated")
    finally:
        prometheus.stop()


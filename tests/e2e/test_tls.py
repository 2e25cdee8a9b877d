"""The whole system over TLS, as `make run` starts it: `AMQP_URI=amqps://…` where nothing
answers makes a private RabbitMQ node that speaks AMQP over TLS only, with a local CA and
server certificate; every service, the gateway, the operator's tools and an outside
system connect through it, each on its own account, the certificate checked."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import amqp
import pytest

from shared.errors import Forbidden, NotFound
from shared.platform import config
from shared.platform.broker import tls
from shared.platform.rpc_client import RpcClient
from tests.e2e.test_newcomer import CONFIG_VARS, STOP_TIMEOUT, http_status, make
from tests.support import SUICHANG, RawRpc, eventually, free_ports, port_answers, token

pytestmark = [pytest.mark.infra, pytest.mark.timeout(600)]

REPO = config.REPO_ROOT
PYTHON = str(REPO / ".venv" / "bin" / "python")


@pytest.fixture
def system(tmp_path):
    services = list(config.PROCESSES)
    amqp_port, pg_port, *http_ports = free_ports(2 + len(services))
    var_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not CONFIG_VARS.match(k)}
    env.update({
        "AMQP_URI": f"amqps://jinwei:op-{os.getpid()}@127.0.0.1:{amqp_port}/jinwei",
        "POSTGRES_ADMIN_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/postgres",
        "JINWEI_VAR_DIR": str(var_dir),
        "JINWEI_READY_TIMEOUT": "150",
        "JINWEI_NO_INSTALL": "1",
    })
    for service, port in zip(services, http_ports, strict=True):
        env[f"{service.upper()}_HTTP_PORT"] = str(port)
    try:
        yield {"env": env, "var_dir": var_dir, "amqp_port": amqp_port, "logs": tmp_path,
               "http_ports": dict(zip(services, http_ports, strict=True))}
    finally:
        subprocess.run([PYTHON, "-m", "tools.launcher", "clean"], env=env, cwd=REPO,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=STOP_TIMEOUT)


def settings_of(env: dict) -> config.Settings:
    return config.load(env)


def connections(env: dict) -> list[dict]:
    result = subprocess.run(
        [PYTHON, "-c", "import json, sys; from tools.launcher import provision; print(json.dumps("
         "provision.rabbitmqctl_rows(sys.argv[1], 'list_connections', 'user', 'ssl',"
         " 'ssl_protocol', 'peer_cert_subject')))", env["AMQP_URI"]],
        env=env, cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    return [dict(zip(("user", "ssl", "protocol", "peer"), row, strict=False))
            for row in json.loads(result.stdout)]


def test_make_run_over_tls_every_connection_checked_and_its_own(system):
    env, var_dir = system["env"], system["var_dir"]
    rc, output = make("run", env, system["logs"] / "make-run.log", 400)
    assert rc == 0, output
    assert "AMQP over TLS only" in output
    authority = tls.LocalAuthority(var_dir / "tls")
    assert authority.ca_file.exists() and (authority.ca_key_file.stat().st_mode & 0o077) == 0
    for service, port in system["http_ports"].items():
        assert http_status(f"http://127.0.0.1:{port}/health/ready") == 200, service
    settings = settings_of(env)
    assert settings.amqp_ca_file == authority.ca_file

    # No plain AMQP on the port: a client that does not speak TLS is not let in.
    with pytest.raises(Exception):  # noqa: B017 - the handshake fails, however it says so
        plain = amqp.Connection(f"127.0.0.1:{system['amqp_port']}", userid="jinwei",
                                password="x", virtual_host="jinwei", connect_timeout=5)
        plain.connect()
    # A client that does not trust the CA refuses the broker's certificate.
    strict = config.load({**env, "JINWEI_AMQP_CA_FILE": str(Path(ssl.get_default_verify_paths()
                                                                  .cafile or "/etc/ssl/certs/ca-certificates.crt"))})
    with pytest.raises(Exception, match="(?i)certificate"):
        RpcClient(strict, 5).call("organizations", "get_place", {"place_code": SUICHANG})

    # The operator's tools work over TLS: places in, a call through the gateway.
    rc, output = make("places", env, system["logs"] / "make-places.log", 180)
    assert rc == 0, output
    operator = token(settings.token_secrets[0])
    client = RpcClient(settings, 15)
    try:
        org = client.call("organizations", "register_organization", {
            "name": "加密链路党支部", "kind": "631", "sector": "rural_village",
            "place_code": "331123102201", "full_members": 5, "founded_on": "2020-01-01"},
            token=operator)
        # Events cross TLS too: evaluation learns of it.
        def known():
            try:
                return client.call("evaluation", "acceptances_of",
                                   {"organization_id": org["id"]}, token=operator) == {"items": []}
            except NotFound:
                return False

        eventually(known)
    finally:
        client.close()

    # An outside system gets an amqps URI, calls its service, is refused another.
    rc, output = make("integrator", {**env, "NAME": "finance", "SERVICES": "organizations"},
                      system["logs"] / "make-integrator.log", 120)
    assert rc == 0, output
    uri = output.strip().splitlines()[-1]
    assert uri.startswith("amqps://jinwei-ext-finance:") and f":{system['amqp_port']}/" in uri
    outside = RpcClient(settings.with_overrides(amqp_uri=uri), 15)
    try:
        assert outside.call("organizations", "get_place", {"place_code": SUICHANG},
                            token=operator)["code"] == SUICHANG
        with pytest.raises(Forbidden):
            outside.call("evaluation", "acceptances_of", {"organization_id": org["id"]},
                         token=operator)
    finally:
        outside.close()

    # The gateway calls over TLS too (it connects at its first call).
    request = urllib.request.Request(
        f"http://127.0.0.1:{system['http_ports']['gateway']}/v1/organizations/get_place"
        f"?place_code={SUICHANG}", headers={"Authorization": f"Bearer {operator}"})
    with urllib.request.urlopen(request, timeout=15) as response:
        assert json.loads(response.read())["code"] == SUICHANG

    # Every connection is TLS, and each process is on its own account.
    seen = connections(env)
    assert seen and all(c["ssl"] == "true" for c in seen), seen
    users = {c["user"] for c in seen}
    assert {settings.broker_account(s) for s in config.PROCESSES} <= users, users
    assert "guest" not in users

    # Malformed requests do not restart anything under supervisord.
    pids = supervisor_pids(env)
    with RawRpc(uri, ssl_options=settings.amqp_ssl(uri)) as caller:
        for _ in range(20):
            caller.publish("organizations.get_place", {"args": [], "kwargs": {}},
                           headers={"nameko.auth_token": operator})  # no reply_to
            caller.publish("organizations.get_place", None, reply_to="amq.rabbitmq.reply-to",
                           correlation_id="null-body")
        assert len(caller.replies(20, timeout=30)) == 20
    time.sleep(2)
    assert supervisor_pids(env) == pids
    assert http_status(f"http://127.0.0.1:{system['http_ports']['organizations']}"
                       "/health/ready") == 200

    rc, output = make("stop", env, system["logs"] / "make-stop.log", STOP_TIMEOUT)
    assert rc == 0, output
    assert not port_answers(system["amqp_port"])
    print(f"\nTLS: {len(seen)} connections, all {sorted({c['protocol'] for c in seen})}, "
          f"accounts {sorted(users)}")


def supervisor_pids(env: dict) -> dict[str, str]:
    rc, output = make("status", env, Path(env["JINWEI_VAR_DIR"]) / "status.log", 60)
    pids = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "RUNNING" and parts[2] == "pid":
            pids[parts[0]] = parts[3].rstrip(",")
    assert set(pids) == set(config.PROCESSES), output
    return pids

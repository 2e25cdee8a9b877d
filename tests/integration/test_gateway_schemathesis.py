"""schemathesis against the gateway's own /openapi.json, every service running behind it,
with every check: generated requests to every operation get no 5xx; what the document
calls valid is accepted and what it calls invalid refused; every response — status,
content type, headers, body, Allow — is what the document says.

Settings: schemathesis.toml beside this file; the values of the document's named formats:
tests/schemathesis_hooks.py."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.platform import config
from tests.support import SUICHANG, XIHU, Gateway, rpc, sample_places, services_running, token

CHECKS = "all"
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def gateway(databases, base_settings, token_secret, tmp_path_factory):
    with services_running(databases, base_settings, "st", *config.SERVICES) as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG))
            for n in range(3):  # something for the queries to find
                proxy.organizations.register_organization(
                    name=f"测试党支部{n}", kind="631", sector="rural_village",
                    place_code=SUICHANG, full_members=5, founded_on="2020-05-01")
        with Gateway(running.settings, tmp_path_factory.mktemp("st"), rpc_timeout=5,
                     threads=8) as gw:
            yield gw


def test_every_response_matches_the_document(gateway, token_secret, tmp_path):
    report = tmp_path / "junit.xml"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file", str(HERE / "schemathesis.toml"), "run", f"{gateway.url}/openapi.json",
        "--checks", CHECKS, "--mode", "all", "--phases", "examples,coverage,fuzzing",
        "--max-examples", "4", "--seed", "20261129", "--workers", "4", "--request-timeout", "20",
        "--generation-database", "none", "--suppress-health-check", "all",
        "--header", f"Authorization: Bearer {token(token_secret)}",
        "--report", "junit", "--report-junit-path", str(report), "--no-color",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(config.REPO_ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env,
                            stdin=subprocess.DEVNULL, cwd=tmp_path)  # its .schemathesis/ too
    output = tmp_path / "schemathesis.txt"
    output.write_text(result.stdout + result.stderr)
    tail = result.stdout[-6000:]
    assert result.returncode == 0, \
        f"schemathesis found problems (all of it: {output}):\n{tail}\n{result.stderr[-2000:]}"
    assert "passed" in tail.lower(), tail

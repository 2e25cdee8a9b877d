"""An integrator's first day, in Python: a client generated from the gateway's own
/openapi.json by openapi-python-client (with deploy/openapi-client.yaml, as
docs/gateway.md says), installed with pip into a fresh virtualenv, drives a campaign step
against a real gunicorn gateway and real services — registers an organization (again
under the same Idempotency-Key: the same one), opens a grading round and sets its grade,
reads the rectification ledger the grade put it on, and gets a 404 as a typed problem.

Offline: the fresh virtualenv gets pip from Python itself, and the client's two
dependencies (httpx, attrs: requirements.lock pins them) from the project's virtualenv
through a .pth file, so pip installs with --no-index and resolves them there. A missing
tool is a failure that says what to do (make venv), never a skip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from shared.contracts.enums import GRADES
from shared.platform import config
from tests.support import SUICHANG, XIHU, Gateway, rpc, sample_places, services_running, token

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
CLIENT_CONFIG = config.REPO_ROOT / "deploy" / "openapi-client.yaml"


@pytest.fixture(scope="module")
def gateway(databases, base_settings, token_secret, tmp_path_factory):
    with services_running(databases, base_settings, "client", "organizations",
                          "evaluation") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG))
        with Gateway(running.settings, tmp_path_factory.mktemp("client"), rpc_timeout=5) as gw:
            yield gw


def run(command, *, timeout: float, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} exited {result.returncode}:\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def test_a_generated_client_drives_a_campaign_step(gateway, token_secret, tmp_path):
    if not GENERATOR.exists():
        pytest.fail(f"{GENERATOR} is missing: openapi-python-client is pinned in "
                    "requirements.lock (the dev extra); run `make venv`")
    started = time.monotonic()
    status, _, document = gateway.get("/openapi.json")
    assert status == 200
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    # Generate, as docs/gateway.md says: the names come from deploy/openapi-client.yaml.
    env = {**os.environ, "PATH": os.pathsep.join([str(GENERATOR.parent), os.environ["PATH"]])}
    project = tmp_path / "jinwei-api-client"
    generated = run([GENERATOR, "generate", "--path", spec, "--config", CLIENT_CONFIG,
                     "--meta", "setup", "--output-path", project], timeout=300, env=env,
                    cwd=tmp_path)
    assert "WARNING" not in generated.stdout + generated.stderr, generated.stdout[-3000:]
    assert (project / "jinwei_api_client" / "__init__.py").exists()

    # A fresh virtualenv; pip installs the generated project there, offline.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], timeout=120)
    python = venv / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               timeout=30).stdout.strip()
    Path(site, "jinwei-project-packages.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    run([python, "-m", "pip", "install", "--no-index", "--no-build-isolation", "--quiet",
         "--disable-pip-version-check", project], timeout=300, cwd=tmp_path)
    shown = run([python, "-m", "pip", "show", "-f", "jinwei-api-client"], timeout=60).stdout
    assert "Name: jinwei-api-client" in shown and "jinwei_api_client/client.py" in shown

    # The campaign step, through the installed package only (run away from its sources).
    script = tmp_path / "first_day.py"
    script.write_text(FIRST_DAY, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run([python, script], timeout=120, cwd=elsewhere, env={
        **os.environ, "JINWEI_URL": gateway.url, "JINWEI_TOKEN": token(token_secret),
        "COUNTY": SUICHANG, "PYTHONPATH": ""})
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["module"].startswith(site)
    assert report["same_on_repeat"] is True
    assert report["grade"] == ["poor", GRADES["poor"]]
    assert report["ledger_row"]["listed"] is True
    assert report["ledger_row"]["status"] and report["ledger_row"]["status_label"]
    assert report["not_found"] == [404, "not_found"]
    print(f"\ngenerated, installed and driven in {time.monotonic() - started:.1f} s")


# What an integrator writes on the first day (runs in the fresh virtualenv).
FIRST_DAY = r'''
import datetime as dt
import inspect
import json
import os
import time
import uuid

import jinwei_api_client
from jinwei_api_client import AuthenticatedClient
from jinwei_api_client.api.evaluation import evaluation_open_round, evaluation_set_grade
from jinwei_api_client.api.organizations import (
    organizations_get_organization,
    organizations_ledger,
    organizations_list_children,
    organizations_register_organization,
)
from jinwei_api_client.models import (
    EvaluationOpenRound,
    EvaluationSetGrade,
    EvaluationSetGradeGrade,
    OrganizationsRegisterOrganization,
    OrganizationsRegisterOrganizationKind,
    OrganizationsRegisterOrganizationSector,
    Problem,
)

client = AuthenticatedClient(base_url=os.environ["JINWEI_URL"], token=os.environ["JINWEI_TOKEN"],
                             raise_on_unexpected_status=True, timeout=30)
county = os.environ["COUNTY"]

# list_children's parameter is place_code (it was `code`, still taken while deprecated).
PLACE = "place_code" if "place_code" in inspect.signature(
    organizations_list_children.sync).parameters else "code"
township = organizations_list_children.sync(client=client, **{PLACE: county}).items[0].code
village = next(place for place in organizations_list_children.sync(
    client=client, **{PLACE: township}).items if place.level.value == "village")

key = str(uuid.uuid4())
body = OrganizationsRegisterOrganization(
    name=f"梅坞村党支部{key[:6]}", kind=OrganizationsRegisterOrganizationKind("631"),
    sector=OrganizationsRegisterOrganizationSector("rural_village"), place_code=village.code,
    full_members=6, founded_on="2022-03-01")
organization = organizations_register_organization.sync(client=client, body=body,
                                                        idempotency_key=key)
again = organizations_register_organization.sync_detailed(client=client, body=body,
                                                          idempotency_key=key)
assert organization.kind.value == "631" and organization.kind_label == "党支部", organization

round_ = evaluation_open_round.sync(client=client, body=EvaluationOpenRound(
    place_code=county, year=dt.date.today().year, name="年度分类定级"))
grading = evaluation_set_grade.sync(client=client, body=EvaluationSetGrade(
    round_id=round_.id, organization_id=organization.id,
    grade=EvaluationSetGradeGrade("poor"), reason="软弱涣散，列入整顿"))

# The grade reaches the organizations service as an event: the case is on the ledger soon.
row, deadline = None, time.monotonic() + 30
while row is None and time.monotonic() < deadline:
    ledger = organizations_ledger.sync(client=client, place_code=county, limit=500)
    row = next((r for r in ledger.items if r.organization_id == organization.id), None)
    if row is None:
        time.sleep(0.3)
assert row is not None, "the organization graded poor never reached the ledger"

missing = organizations_get_organization.sync_detailed(client=client, organization_id=999999)
assert isinstance(missing.parsed, Problem), missing
print(json.dumps({
    "module": jinwei_api_client.__file__,
    "same_on_repeat": again.status_code == 200 and again.parsed.id == organization.id
                      and again.headers.get("Idempotency-Key") == key,
    "grade": [grading.grade.value, grading.grade_label],
    "ledger_row": {"listed": row.listed, "status": row.status.value,
                   "status_label": row.status_label},
    "not_found": [missing.status_code, missing.parsed.code],
}, ensure_ascii=False))
'''

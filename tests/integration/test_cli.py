"""`jinwei`, the operator's command line, against the real broker and services: help on
every verb, tokens, calls and their errors as exit codes, spreadsheets in and out, dead
letters and health."""

import io
import json

import jwt
import openpyxl
import pytest
from click.testing import CliRunner

from services.gateway import spreadsheets
from shared.platform import config
from tests.support import SUICHANG, XIHU, free_ports, rpc, sample_places, services_running, token
from tools import cli


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "cli", "organizations") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG))
        yield running


@pytest.fixture(scope="module")
def env(stack, token_secret):
    closed = free_ports(len(stack.settings.http_ports))
    return {"AMQP_URI": stack.settings.amqp_uri, "JINWEI_TOKEN_SECRET": token_secret,
            "JINWEI_BROKER_ACCOUNT_PREFIX": stack.settings.broker_account_prefix,
            "JINWEI_TOKEN": token(token_secret),
            **{f"{name.upper()}_HTTP_PORT": str(port)
               for name, port in zip(stack.settings.http_ports, closed, strict=True)}}


def jinwei(env, *args):
    return CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)


def test_every_verb_has_help():
    verbs = [[], ["token"], ["token", "issue"], ["token", "roles"], ["health"], ["methods"],
             ["call"], ["import"], ["template"], ["export"], ["dead-letters"],
             ["dead-letters", "list"], ["dead-letters", "replay"], ["integrator"],
             ["integrator", "add"], ["integrator", "revoke"], ["integrator", "list"]]
    for verb in verbs:
        result = CliRunner().invoke(cli.main, [*verb, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, verb


def test_tokens(env, token_secret):
    result = jinwei(env, "token", "issue", "--subject", "张三", "--department", "遂昌县委组织部",
                    "--place", SUICHANG, "--roles", "organizations.read")
    assert result.exit_code == 0
    claims = jwt.decode(result.output.strip(), token_secret, algorithms=["HS256"],
                        issuer="jinwei")
    assert (claims["place"], claims["roles"]) == (SUICHANG, ["organizations.read"])
    refused = jinwei(env, "token", "issue", "--subject", "x", "--department", "x",
                     "--place", SUICHANG, "--roles", "everything")
    assert refused.exit_code == 2 and "unknown roles" in refused.output
    assert "organizations.write" in jinwei(env, "token", "roles").output


def test_calls_and_their_errors(env, token_secret):
    listed = jinwei(env, "call", "organizations", "list_children", f"place_code={SUICHANG}")
    assert listed.exit_code == 0
    townships = json.loads(listed.output)["items"]
    assert townships and all(t["parent_code"] == SUICHANG for t in townships)
    bad = jinwei(env, "call", "organizations", "get_organization", "organization_id=abc")
    assert bad.exit_code == 2 and "validation_error" in bad.output
    forbidden = jinwei({**env, "JINWEI_TOKEN": token(token_secret, place=XIHU)}, "call",
                       "organizations", "list_organizations", f"place_code={SUICHANG}")
    assert forbidden.exit_code == 2 and "forbidden" in forbidden.output
    unknown = jinwei(env, "call", "organizations", "no_such_method")
    assert unknown.exit_code == 2 and "jinwei methods" in unknown.output
    # resources is not running here: the call waits its timeout and says so.
    away = jinwei(env, "--timeout", "1", "call", "resources", "venue_report",
                  f"place_code={SUICHANG}")
    assert away.exit_code == 3 and "service_unavailable" in away.output
    assert "organizations.register_organization" in jinwei(env, "methods", "organizations").output


def test_spreadsheets_in_and_out(env, tmp_path, stack):
    template = tmp_path / "模板.xlsx"
    assert jinwei(env, "template", "organizations", str(template)).exit_code == 0
    headings = [c.value for c in next(openpyxl.load_workbook(template).active.iter_rows())]
    assert "党组织名称" in headings

    def children(code):
        return json.loads(jinwei(env, "call", "organizations", "list_children",
                                 f"place_code={code}").output)["items"]

    village = children(children(SUICHANG)[0]["code"])[0]["code"]
    rows = [{"name": f"导入党支部{n}", "kind": "631", "sector": "rural_village",
             "place_code": village, "full_members": 5, "founded_on": "2020-05-01"}
            for n in range(20)]
    rows[7]["kind"] = "999"  # planted: row 9 of the sheet (headings on row 1)
    workbook = tmp_path / "党组织.xlsx"
    workbook.write_bytes(spreadsheets.write_rows("organizations", rows))
    checked = jinwei(env, "import", "organizations", str(workbook), "--dry-run")
    assert checked.exit_code == 1 and "row 9" in checked.output and "kind" in checked.output
    del rows[7]
    workbook.write_bytes(spreadsheets.write_rows("organizations", rows))
    done = jinwei(env, "import", "organizations", str(workbook))
    assert done.exit_code == 0 and "19 applied" in done.output
    listed = json.loads(jinwei(env, "call", "organizations", "list_organizations",
                               f"place_code={village}", "limit=100").output)
    assert len(listed["items"]) == 19

    ledger = tmp_path / "台账.xlsx"
    assert jinwei(env, "export", "ledger", str(ledger), f"place_code={SUICHANG}").exit_code == 0
    assert openpyxl.load_workbook(io.BytesIO(ledger.read_bytes())).sheetnames


def test_dead_letters_and_health(env):
    listed = jinwei(env, "dead-letters", "list")
    assert listed.exit_code == 0 and "0 dead letter(s)" in listed.output
    assert jinwei(env, "dead-letters", "replay", "organizations").exit_code == 2  # which ones?
    health = jinwei(env, "health")  # every health port here is one nothing listens on
    assert health.exit_code == 1
    assert health.output.count("NOT READY") == len(config.PROCESSES)


def test_outside_systems_accounts(env, stack, token_secret):
    """jinwei integrator add prints the account's URI last, and it works (what the
    broker refuses it: tests/integration/test_broker_door.py)."""
    from shared.platform.rpc_client import RpcClient

    added = jinwei(env, "integrator", "add", "cli-finance", "--methods",
                   "organizations.get_place")
    assert added.exit_code == 0, added.output
    uri = added.output.strip().splitlines()[-1]
    assert uri.startswith("amqp://") and "ext-cli-finance:" in uri
    client = RpcClient(uri, 10)
    try:
        assert client.call("organizations", "get_place", {"place_code": SUICHANG},
                           token=token(token_secret))["code"] == SUICHANG
    finally:
        client.close()
    listed = jinwei(env, "integrator", "list")
    assert "cli-finance\t" in listed.output and "get_place" in listed.output
    refused = CliRunner().invoke(cli.main, ["integrator", "add", "Bad Name", "--services",
                                            "organizations"], env=env)
    assert refused.exit_code == 2 and "lower-case" in refused.output
    assert jinwei(env, "integrator", "revoke", "cli-finance").exit_code == 0
    assert "cli-finance" not in jinwei(env, "integrator", "list").output

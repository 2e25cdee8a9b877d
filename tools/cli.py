"""`jinwei`: the operator's command line (click).

    jinwei token issue|roles          tokens for people and systems
    jinwei health                     every process's readiness (exit 1 if one is not ready)
    jinwei methods [SERVICE]          the operations, with their roles
    jinwei call SERVICE METHOD k=v…   any operation; the result as JSON (reports included)
    jinwei import KIND FILE.xlsx      check (--dry-run) or import a spreadsheet, with progress
    jinwei template KIND FILE.xlsx    a blank workbook with the headings
    jinwei export REPORT FILE.xlsx k=v…   a report as a workbook
    jinwei dead-letters list|replay   failed events and refused messages
    jinwei integrator add|revoke|list outside systems' broker accounts (rabbitmqctl)
    jinwei admin create               the console's first account administrator

It talks RPC to the broker the configuration names (AMQP_URI). The caller is the token in
--token or JINWEI_TOKEN; on the operator's own machine `--as-operator PLACE` signs a
short-lived token with every role from the local secret instead.

Exit codes: 0 done; 1 the work found problems (invalid rows, a service not ready); 2 bad
usage or a refused call (the error's code and message are printed); 3 a service did not
answer.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import amqp.exceptions
import click
import kombu.exceptions
from marshmallow import fields
from nameko.exceptions import RemoteError

from services.gateway import spreadsheets
from shared import contracts
from shared.contracts.accounts import OPERATOR_CLI_SYSTEM
from shared.errors import JinweiError, ServiceUnavailable
from shared.national import regions
from shared.platform import auth, config, dead_letters
from shared.platform.rpc_client import RpcClient, all_pages

EXIT_PROBLEMS, EXIT_USAGE, EXIT_UNAVAILABLE = 1, 2, 3


class Context:
    def __init__(self, token: str | None, as_operator: str | None, timeout: float):
        self.settings = config.load()
        self.timeout = timeout
        self._token, self._as_operator = token, as_operator

    def token(self) -> str:
        if self._token:
            return self._token
        if self._as_operator:
            if not self.settings.token_secrets:
                raise click.UsageError("--as-operator needs the token secret (make run creates "
                                       "var/token-secret, or set JINWEI_TOKEN_SECRET)")
            try:
                return auth.issue_token(self.settings.token_secrets[0], subject="operator-cli",
                                        department="运维", place_code=self._as_operator,
                                        roles=list(auth.ROLES), system=OPERATOR_CLI_SYSTEM,
                                        ttl_seconds=900)
            except (ValueError, regions.RegionCodeError) as exc:
                raise click.UsageError(str(exc)) from None
        raise click.UsageError("no token: pass --token, set JINWEI_TOKEN "
                               "(jinwei token issue …), or use --as-operator PLACE")

    def call(self, service: str, method: str, **params):
        if not hasattr(self, "_rpc"):
            self._rpc = RpcClient(self.settings, self.timeout)
        return self._rpc.call(service, method, params, token=self.token())


def _fail(error: JinweiError) -> None:
    click.echo(f"error: {error.code}: {error.message}", err=True)
    if error.details:
        click.echo(json.dumps(error.details, ensure_ascii=False, indent=2, default=str), err=True)
    sys.exit(EXIT_UNAVAILABLE if isinstance(error, ServiceUnavailable) else EXIT_USAGE)


# Fields whose values are text even when they look like numbers: place codes, identity
# numbers, dates, money ("200.50" stays exact), uuids.
_TEXT_FIELDS = (fields.String, fields.Date, fields.DateTime, fields.UUID, fields.Decimal)


def _value(field, text: str):
    if field is None or isinstance(field, _TEXT_FIELDS):
        return text
    try:
        return json.loads(text)  # numbers, true/false, objects
    except ValueError:
        return text


def _params(pairs: tuple[str, ...], contract) -> dict:
    """name=value pairs as the method's parameters, typed by its schema; a list field
    takes repeated names, any other name given twice is a usage error."""
    params: dict = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise click.UsageError(f"expected name=value, got {pair!r}")
        field = contract.params.fields.get(name)
        if isinstance(field, fields.List):
            params.setdefault(name, []).append(_value(field.inner, text))
        elif name in params:
            raise click.UsageError(f"{name} given twice")
        else:
            params[name] = _value(field, text)
    return params


def _contract(service: str, method: str):
    try:
        return contracts.rpc_contract(service, method)
    except LookupError as exc:
        raise click.UsageError(f"{exc}; `jinwei methods {service}` lists them") from None


class _Jinwei(click.Group):
    """Errors no verb handles become a message and an exit code, not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (OSError, kombu.exceptions.KombuError, amqp.exceptions.AMQPError) as exc:
            click.echo(f"error: the message broker did not answer: {exc}", err=True)
            ctx.exit(EXIT_UNAVAILABLE)
        except RemoteError as exc:
            click.echo(f"error: the service failed: {exc.exc_type}: {exc.value}", err=True)
            ctx.exit(EXIT_USAGE)


@click.group(cls=_Jinwei, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--token", envvar="JINWEI_TOKEN", help="bearer token (or JINWEI_TOKEN)")
@click.option("--as-operator", metavar="PLACE",
              help="sign a 15-minute token with every role for PLACE from the local secret")
@click.option("--timeout", default=30.0, show_default=True, help="seconds to wait for a service")
@click.pass_context
def main(ctx, token, as_operator, timeout):
    """晋位 Jinwei: the operator's tool."""
    ctx.obj = Context(token, as_operator, timeout)


# -- tokens --------------------------------------------------------------------------------
@main.group()
def token():
    """Tokens for people and systems."""


@token.command("issue")
@click.option("--subject", required=True, help="who: a person or a system account")
@click.option("--department", required=True, help="e.g. 丽水市委组织部")
@click.option("--place", required=True, help="12-digit place code: the jurisdiction")
@click.option("--roles", required=True, help="comma-separated (jinwei token roles)")
@click.option("--system", default="operator", show_default=True, help="the calling system")
@click.option("--ttl", type=int, help="lifetime in seconds (default JINWEI_TOKEN_TTL_SECONDS)")
@click.pass_obj
def token_issue(obj: Context, subject, department, place, roles, system, ttl):
    """Print a new signed token."""
    if not obj.settings.token_secrets:
        raise click.UsageError("no token secret: set JINWEI_TOKEN_SECRET or run `make run` once")
    try:
        click.echo(auth.issue_token(
            obj.settings.token_secrets[0], subject=subject, department=department,
            place_code=place, roles=[r.strip() for r in roles.split(",") if r.strip()],
            system=system, ttl_seconds=ttl or obj.settings.token_ttl_seconds,
            max_ttl_seconds=obj.settings.token_max_ttl_seconds))
    except (ValueError, regions.RegionCodeError) as exc:
        raise click.UsageError(str(exc)) from None


@token.command("roles")
def token_roles():
    """List the roles and what they allow."""
    for role, label in auth.ROLES.items():
        click.echo(f"{role}\t{label}")


# -- health and operations -------------------------------------------------------------------
@main.command()
@click.pass_obj
def health(obj: Context):
    """Readiness of every process (/health/ready); exit 1 if one is not ready."""
    from tools.launcher.supervise import health_url

    failing = 0
    for process in config.PROCESSES:
        url = health_url(obj.settings, process)
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                status, body = response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            status, body = error.code, _json_or_text(error.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            status, body = None, {"error": str(getattr(exc, "reason", exc))}
        ok = status == 200
        failing += not ok
        detail = body.get("checks", body)
        click.echo(f"{process:<14} {'ready' if ok else 'NOT READY':<10} "
                   f"{json.dumps(detail, ensure_ascii=False)}")
    sys.exit(EXIT_PROBLEMS if failing else 0)


def _json_or_text(raw: bytes) -> dict:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return {"body": raw[:200].decode(errors="replace")}


@main.command()
@click.argument("service", required=False)
def methods(service):
    """The operations (of SERVICE), each with its role and what it does."""
    contracts.load_all()
    for (name, method), contract in contracts.RPC.items():
        if service in (None, name):
            kind = "command" if contract.mutating else "query"
            click.echo(f"{name}.{method}\t{kind}\t{contract.role}\t"
                       f"{contract.summary.splitlines()[0]}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("service")
@click.argument("method")
@click.argument("params", nargs=-1)
@click.pass_obj
def call(obj: Context, service, method, params):
    """Call SERVICE.METHOD with name=value parameters; print the result as JSON.

    Example: jinwei call evaluation moving_up_report place_code=331100000000"""
    contract = _contract(service, method)
    try:
        result = obj.call(service, method, **_params(params, contract))
    except JinweiError as error:
        _fail(error)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))


# -- spreadsheets ----------------------------------------------------------------------------
@main.command("import")
@click.argument("kind")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="check every row, write nothing")
@click.option("--request-id", help="a repeat with the same id returns the first job")
@click.pass_obj
def import_(obj: Context, kind, file: Path, dry_run, request_id):
    """Import a spreadsheet of KIND (organizations, enterprises, reserve_cadres): every row
    checked by the services' own rules, all applied or none. Exit 1 when rows are invalid."""
    if kind not in spreadsheets.IMPORTS:
        raise click.UsageError(f"no import of {kind}; kinds: {', '.join(spreadsheets.IMPORTS)}")
    service = spreadsheets.IMPORTS[kind][0]
    try:
        rows = spreadsheets.parse(kind, file.read_bytes(),
                                  limits=spreadsheets.SheetLimits.from_env())
        params = {"kind": kind, "rows": rows, "dry_run": dry_run}
        if request_id:
            params["request_id"] = request_id
        job = obj.call(service, "start_import", **params)
        click.echo(f"job {job['id']}", err=True)  # to look it up again should this stop
        with click.progressbar(length=job["total"], label="checking" if dry_run else "importing",
                               file=sys.stderr) as bar:
            done = 0
            while job["status"] == "running":
                time.sleep(0.5)
                job = obj.call(service, "get_import", job_id=job["id"])
                bar.update(job["processed"] - done)
                done = job["processed"]
            bar.update(job["total"] - done)
    except JinweiError as error:
        _fail(error)
    click.echo(f"{job['status_label']} ({job['status']}): {job['total']} rows, "
               f"{job['applied']} applied, {job.get('errors_total', len(job['errors']))} errors")
    for problem in job["errors"]:
        fields_ = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in (problem.get("fields")
                                                                          or {}).items())
        click.echo(f"  row {problem['row']}: {problem.get('message', '')} {fields_}".rstrip())
    sys.exit(0 if job["status"] in ("valid", "applied") else EXIT_PROBLEMS)


@main.command()
@click.argument("kind")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def template(kind, file: Path):
    """Write a blank workbook for KIND with its headings and their explanation."""
    if kind not in spreadsheets.IMPORTS:
        raise click.UsageError(f"no import of {kind}; kinds: {', '.join(spreadsheets.IMPORTS)}")
    file.write_bytes(spreadsheets.template(kind))
    click.echo(f"wrote {file}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("report")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.argument("params", nargs=-1)
@click.pass_obj
def export(obj: Context, report, file: Path, params):
    """Write REPORT as a workbook (Chinese headings); the parameters are its method's.

    Example: jinwei export ledger ledger.xlsx place_code=331123000000"""
    if report not in spreadsheets.EXPORTS:
        raise click.UsageError(f"no report {report}; reports: {', '.join(spreadsheets.EXPORTS)}")
    service, method, title = spreadsheets.EXPORTS[report]
    contract = _contract(service, method)
    values = _params(params, contract)
    if contracts.largest_page(contract):
        values.setdefault("limit", contracts.largest_page(contract))  # fewer pages
    try:
        result = all_pages(lambda page: obj.call(service, method, **page), values)
    except JinweiError as error:
        _fail(error)
    file.write_bytes(spreadsheets.export(report, result))
    click.echo(f"wrote {file} ({title})")


# -- dead letters ----------------------------------------------------------------------------
@main.group("dead-letters")
def dead_letters_():
    """Events whose handler failed every attempt."""


@dead_letters_.command("list")
@click.argument("services", nargs=-1, type=click.Choice(config.SERVICES))
@click.pass_obj
def dead_letters_list(obj: Context, services):
    """List the dead letters of SERVICES (default: all)."""
    total = 0
    for service in services or config.SERVICES:
        for letter in dead_letters.list_dead_letters(obj.settings, service):
            total += 1
            click.echo(f"{service}\t{letter.event_id}\t{letter.event_type}\t{letter.handler}\t"
                       f"attempts={letter.attempts}\t{letter.failed_at}\t{letter.error}")
    click.echo(f"{total} dead letter(s)", err=True)


@dead_letters_.command("replay")
@click.argument("service", type=click.Choice(config.SERVICES))
@click.argument("event_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="replay every dead letter of SERVICE")
@click.pass_obj
def dead_letters_replay(obj: Context, service, event_ids, everything):
    """Put dead letters back on the queues they failed on."""
    if not everything and not event_ids:
        raise click.UsageError("name the event ids, or pass --all")
    skipped: list = []
    count = dead_letters.replay(obj.settings, service,
                                None if everything else set(event_ids), skipped)
    click.echo(f"replayed {count}; left {len(skipped)} whose queue is gone")


# -- console accounts ----------------------------------------------------------------------
@main.group("admin")
def admin_():
    """Console accounts: the first account administrator."""


def _admin_password() -> str:
    """JINWEI_ADMIN_PASSWORD (CI and scripts have no terminal), else asked twice. Never a
    command-line argument: those are visible to every user of the machine (ps)."""
    password = os.environ.get("JINWEI_ADMIN_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask the password on: set JINWEI_ADMIN_PASSWORD")
    return click.prompt("密码 (password)", hide_input=True, confirmation_prompt=True)


@admin_.command("create")
@click.option("--place", required=True, help="12-digit place code: its jurisdiction")
@click.option("--username", required=True, help="login name: 3-64 of a-z 0-9 . _ -")
@click.option("--name", "display_name", help="the name staff see (default: the login name)")
@click.option("--department", default="组织部", show_default=True)
@click.option("--roles", help="comma-separated (default: every role an account can hold); "
                              "accounts.admin is always among them")
@click.pass_obj
def admin_create(obj: Context, place, username, display_name, department, roles):
    """Create an account administrator at PLACE, and print where to sign in.

    Asked of the accounts service like any account (its password rules, the registry's
    place, the audit): with --token, or else a short operator token for PLACE signed from
    the local secret (as --as-operator). The password: JINWEI_ADMIN_PASSWORD, or asked."""
    from services.accounts import domain as accounts

    if not obj._token and not obj._as_operator:
        obj._as_operator = place
    granted = sorted({*(_split(roles) or accounts.HOLDABLE), "accounts.admin"})
    try:
        account = obj.call("accounts", "create_account", username=username,
                           display_name=display_name or username, department=department,
                           place_code=place, roles=granted, password=_admin_password())
    except JinweiError as error:
        _fail(error)
    host = obj.settings.http_host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    click.echo(f"账号管理员 {account['username']}（{account['place_name'] or ''} "
               f"{account['place_code']}）已创建，角色：{', '.join(account['roles'])}")
    click.echo(f"登录 (sign in): http://{host}:{obj.settings.http_ports['gateway']}/")


# -- outside systems ---------------------------------------------------------------------
@main.group("integrator")
def integrator_():
    """Outside systems' broker accounts, each limited to the methods it may call."""


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@integrator_.command("add")
@click.argument("name")
@click.option("--services", help="comma-separated: every method of these services")
@click.option("--methods", help="comma-separated service.method")
@click.pass_obj
def integrator_add(obj: Context, name, services, methods):
    """Create or renew NAME's account; its AMQP URI is the last line (shown once)."""
    from tools.launcher import integrators
    from tools.launcher.system import InfraError

    try:
        uri = integrators.add(obj.settings, name, _split(services), _split(methods))
    except InfraError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"{integrators.account_of(obj.settings, name)} may call "
               + ", ".join([f"{s}.*" for s in _split(services)] + _split(methods)), err=True)
    click.echo(uri)


@integrator_.command("revoke")
@click.argument("name")
@click.pass_obj
def integrator_revoke(obj: Context, name):
    """Delete NAME's account (its connections are closed at once)."""
    from tools.launcher import integrators

    integrators.revoke(obj.settings, name)
    click.echo(f"revoked {integrators.account_of(obj.settings, name)}", err=True)


@integrator_.command("list")
@click.pass_obj
def integrator_list(obj: Context):
    """The accounts and the routing keys each may publish."""
    from tools.launcher import integrators

    for found in integrators.listed(obj.settings):
        click.echo(f"{found.name}\t{found.account}\t{found.request_keys}")


if __name__ == "__main__":
    main()

"""The public contract documents: the AsyncAPI document is current and whole (every
method and event, every reference resolving), and no service emits an event that has no
schema (a static scan of the code, so a new Event(...) without one fails here)."""

import json
import re

import pytest

from shared import contracts
from shared.contracts import asyncapi
from shared.contracts import document as contract_document
from shared.platform import config


@pytest.fixture(scope="module")
def document():
    return asyncapi.build()


def test_the_asyncapi_document_is_current():
    assert asyncapi.DOC_PATH.read_text(encoding="utf-8") == asyncapi.render(), \
        "docs/asyncapi.json is stale: make contract"


def test_every_method_and_event_is_in_it(document):
    contracts.load_all()
    public = set(contracts.services())  # other tests register probes of their own
    methods = [(s, m) for s, m in contracts.RPC if s in public]
    events = [(s, e) for s, e in contracts.EVENTS if s in public]
    operations = document["operations"]
    for service, method in methods:
        operation = operations[f"{service}.{method}"]
        assert operation["action"] == "send" and "reply" in operation
    for source, event_type in events:
        channel = document["channels"][f"{source}.{event_type}"]
        assert channel["address"] == event_type
        assert channel["bindings"]["amqp"]["exchange"]["name"] == f"{source}.events"
    assert len(operations) == len(methods) + len(events)


def test_every_reference_resolves(document):
    text = json.dumps(document)
    refs = set(re.findall(r'"\$ref": "#/([^"]+)"', text))
    assert refs
    for ref in refs:
        node = document
        for part in ref.split("/"):
            assert part in node, f"#/{ref} does not resolve"
            node = node[part]
    assert '"nullable"' not in text  # JSON Schema's null type, not OpenAPI's flag


@pytest.mark.parametrize("service", config.SERVICES)
def test_every_event_a_service_emits_has_a_schema(service):
    contracts.load_all()
    source = "\n".join(path.read_text(encoding="utf-8") for path in
                       (config.REPO_ROOT / "services" / service).glob("*.py"))
    emitted = set(re.findall(r'\bEvent\(\s*"([a-z_]+)"', source))
    missing = {event for event in emitted if (service, event) not in contracts.EVENTS}
    assert not missing, f"{service} emits events without a schema: {sorted(missing)}"
    declared = {event for (s, event) in contracts.EVENTS if s == service}
    assert declared <= emitted, f"declared but never emitted: {sorted(declared - emitted)}"


# -- docs/contract.md: types, bounds, names, state machines ---------------------------------
def test_the_asyncapi_document_names_the_real_vhost(document):
    from urllib.parse import urlsplit

    vhost = urlsplit(config.DEFAULT_AMQP_ADDRESS).path[1:]
    bindings = [channel["bindings"]["amqp"]["exchange"]["vhost"]
                for channel in document["channels"].values() if "bindings" in channel]
    assert bindings and set(bindings) == {vhost}
    assert document["servers"]["broker"]["pathname"] == f"/{vhost}"


def test_every_type_the_contract_document_uses_is_defined():

    text = contract_document.render().split("## State machines", 1)[0] + "## Shapes" \
        + contract_document.render().split("## Shapes", 1)[1]
    types_section = text.split("## Types", 1)[1].split("\n## ", 1)[0]
    defined = set(re.findall(r"^\| `([A-Za-z]+)` \|", types_section, re.M))
    shapes = set(re.findall(r"^### `(\w+)`", text.split("## Shapes", 1)[1], re.M))
    used = set()
    for row in re.findall(r"^\| `\w+` \| ([^|]+) \|", text, re.M):
        name = row.strip().removeprefix("list of ")
        if " " not in name:
            used.add(name)
    for name in ("Money", "Area", "Decimal", "PlaceCode", "CreditCode", "IdentityNumber",
                 "Cursor", "Date", "PastDate", "FutureDate", "Period", "Text"):
        assert name in defined, name
    assert used - defined - shapes <= {"object", "string"}, used - defined - shapes


def test_every_parameter_states_its_bounds():
    """A parameter that can be too long, too large or too many says how much is allowed
    (docs/contract.md prints the same words)."""
    from marshmallow import fields, validate

    from shared.contracts.common import (
        NOT_BLANK,
        CreditCode,
        Cursor,
        Enum,
        IdentityNumber,
        Pattern,
        PlaceCode,
    )
    from shared.contracts.document import limits

    contracts.load_all()
    unbounded = []

    def check(where, schema, seen):
        for name, field in schema.fields.items():
            inner = field.inner if isinstance(field, fields.List) else field
            if isinstance(inner, fields.Nested):
                if type(inner.schema) not in seen:
                    seen.add(type(inner.schema))
                    check(f"{where}.{name}", inner.schema, seen)
                if isinstance(field, fields.List) and not limits(field):
                    unbounded.append(f"{where}.{name}")
                continue
            if isinstance(inner, (Enum, PlaceCode, CreditCode, IdentityNumber, Cursor,
                                  fields.Boolean, fields.Date, fields.UUID)) or any(
                    isinstance(rule, validate.OneOf) or isinstance(rule, Pattern)
                    and rule.regex.pattern != NOT_BLANK for rule in inner.validators):
                continue  # its values are listed, or its form is fixed
            if not limits(field):
                unbounded.append(f"{where}.{name}")

    for (service, method), contract in contracts.RPC.items():
        check(f"{service}.{method}", contract.params, set())
    assert not unbounded, f"parameters without stated bounds: {unbounded}"


def test_a_place_parameter_is_named_place_code():
    """Where a parameter names a place it is `place_code`; an older name is only a
    deprecated alias, loaded as place_code."""
    from shared.contracts.common import PlaceCode, RenamedParameters

    contracts.load_all()
    for (service, method), contract in contracts.RPC.items():
        for name, field in contract.params.fields.items():
            if not isinstance(field, PlaceCode):
                continue
            if field.metadata.get("deprecated"):
                new = field.metadata["x-renamed-to"]
                assert isinstance(contract.params, RenamedParameters)
                assert contract.params.RENAMED[name] == new and new in contract.params.fields
                loaded = contract.params.load({name: "331123000000"})
                assert loaded["place_code"] == "331123000000" and name not in loaded \
                    or loaded.get(name) == loaded["place_code"], (service, method)
            else:
                assert name.endswith("place_code"), (service, method, name)


def test_the_401_says_how_to_send_a_token_over_rpc_and_over_http():
    from services.gateway.http import problem_of
    from shared.errors import Unauthenticated
    from shared.platform.auth import TokenVerifier

    with pytest.raises(Unauthenticated) as refused:
        TokenVerifier(("secret",)).verify(None)
    assert "nameko.auth_token" in refused.value.message
    body = json.loads(problem_of(refused.value, "/v1/x/y", None).get_data())
    assert "Authorization: Bearer" in body["detail"] and "context_data" not in body["detail"]


def _machine(service, name):
    contracts.load_all()
    return contracts.STATE_MACHINES[(service, name)]


def test_every_state_machine_names_real_commands_and_events():
    contracts.load_all()
    importing = {service for (service, method) in contracts.RPC if method == "start_import"}
    for (service, name), machine in contracts.STATE_MACHINES.items():
        services = importing if service == "imports" else {service}
        for transition in machine.transitions:
            via = transition.via
            if via.startswith("event "):
                source, _, event_type = via[len("event "):].partition(".")
                assert (source, event_type) in contracts.EVENTS, (name, via)
            elif via != "background":
                assert all((s, via) in contracts.RPC for s in services), (name, via)
            assert transition.who, (name, via)


def test_the_rectification_case_table_is_what_the_domain_does():
    import datetime as dt

    from services.organizations import rectification
    from shared.contracts.rectification import CASE_STATUSES
    from shared.errors import Conflict

    machine = _machine("organizations", "rectification case")
    today = dt.date(2026, 3, 1)
    checks = {"set_plan": lambda case: rectification.set_plan(case, "问题", ["措施"]),
              "add_task": rectification.check_can_add_tasks,
              "assign_help": rectification.check_can_assign_help,
              "complete_task": rectification.check_can_complete_tasks}
    for command, check in checks.items():
        allowed = set()
        for status in CASE_STATUSES:
            case = rectification.Case(1, "poor", 1, True, today, status=status, id=7)
            try:
                check(case)
            except Conflict:
                continue
            allowed.add(status)
        assert allowed == machine.sources(command), command
    assert {t.target for t in machine.transitions if t.via == "set_plan"} == {"in_progress"}
    assert {rectification.open_case(1, "average", 1, today).status} \
        == machine.targets(None, "event evaluation.grade_assigned") == {"planning"}
    working = rectification.Case(1, "poor", 1, True, today, status="in_progress", id=7)
    assert {rectification.after_task_done(working, n, today, "331123102201").status
            for n in (0, 1)} == machine.targets("in_progress", "complete_task")
    submitted = rectification.Case(1, "poor", 1, True, today, status="submitted", id=7)
    assert {rectification.after_survey(submitted, 1, passed, today, "x")[0].status
            for passed in (True, False)} == machine.targets("submitted",
                                                             "event evaluation.survey_closed")
    for status in CASE_STATUSES:
        case = rectification.Case(1, "poor", 1, True, today, status=status, id=7)
        # the store hands regrade only the case in progress: not accepted, not withdrawn
        if status not in ("accepted", "withdrawn"):
            after, _ = rectification.regrade(case, "good", 1, True)
            assert after.status in machine.targets(status, "event evaluation.grade_assigned")
    planning = rectification.Case(1, "poor", 2, True, today, status="planning", round=2, id=7)
    with pytest.raises(Conflict) as refused:
        rectification.check_can_complete_tasks(planning)
    assert "set_plan" in refused.value.message  # a new round says what to do


def test_the_double_strong_table_is_the_domains():
    from services.npe import domain

    machine = _machine("npe", "double-strong application")
    steps = {(t.source, t.target) for t in machine.transitions if t.via == "advance_double_strong"}
    assert steps == {(current, new) for current, nexts in domain.DOUBLE_STRONG_NEXT.items()
                     for new in nexts}


def test_the_reserve_and_deed_tables_are_what_the_domains_check():
    import datetime as dt

    from services.cadres import domain as cadres
    from services.organizations import excellence
    from shared.contracts.cadres import RESERVE_STATUSES
    from shared.contracts.excellence import DEED_STATUSES
    from shared.errors import Conflict

    def allowed(statuses, check):
        found = set()
        for status in statuses:
            try:
                check(status)
            except Conflict:
                continue
            found.add(status)
        return found

    reserve = _machine("cadres", "reserve cadre")
    day = dt.date(2026, 1, 10)

    def record(status):
        return {"id": 1, "status": status, "recommended_on": day, "confirmed_on": None}

    assert allowed(RESERVE_STATUSES, lambda s: cadres.check_open(record(s), "assessed")) \
        == reserve.sources("assess_reserve") == reserve.sources("withdraw_reserve")
    passed = [{"result": "excellent", "assessed_on": day}]
    assert allowed(RESERVE_STATUSES, lambda s: cadres.check_confirmation(
        record(s), passed, day, cadres.Rules())) == reserve.sources("confirm_reserve")
    deeds = _machine("organizations", "shining deed")

    def deed(status):
        return {"id": 1, "status": status, "happened_on": day, "displayed_on": day}

    assert allowed(DEED_STATUSES, lambda s: excellence.check_display(deed(s), day)) \
        == deeds.sources("display_deed")
    assert allowed(DEED_STATUSES, lambda s: excellence.check_rating(deed(s), day)) \
        == deeds.sources("rate_deed")


def test_the_import_job_table_is_the_machinerys():
    from shared.platform import imports

    machine = _machine("imports", "import job")
    assert machine.targets(None, "start_import") == {"running"}
    assert machine.targets("running", "background") == set(machine.statuses) - {"running"}
    long_ago = imports.dt.datetime(2000, 1, 1, tzinfo=imports.dt.timezone.utc)
    assert imports.effective_status("running", long_ago, long_ago + imports.STALE_AFTER * 2) \
        == "interrupted"


def test_the_typed_parameters_are_current():
    """shared/contracts/typed/ is what the schemas say (the entrypoints' `params` types)."""
    from shared.contracts import typed_params

    files = typed_params.render_all()
    assert {p.name for p in typed_params.OUT_DIR.glob("*.py")} == set(files), \
        "shared/contracts/typed/ holds a file make contract does not write"
    for name, source in files.items():
        path = typed_params.OUT_DIR / name
        assert path.exists() and path.read_text(encoding="utf-8") == source, \
            f"shared/contracts/typed/{name} is stale: make contract"


def test_a_typed_parameter_set_follows_its_schema():
    """Required where the schema always yields the key; nested schemas typed too; the
    deprecated old name and a command's request_id left out."""
    from shared.contracts.typed import organizations, resources

    disburse = resources.DisburseParams
    assert disburse.__required_keys__ == {"allocation_id", "amount", "paid_on", "document"}
    assert "request_id" not in disburse.__annotations__
    place_path = organizations.PlacePathParams
    assert "code" not in place_path.__annotations__  # the old name of place_code
    assert "place_code" in place_path.__annotations__

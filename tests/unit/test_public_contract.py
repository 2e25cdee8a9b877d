"""The public contract documents: the AsyncAPI document is current and whole (every
method and event, every reference resolving), and no service emits an event that has no
schema (a static scan of the code, so a new Event(...) without one fails here)."""

import json
import re

import pytest

from shared import asyncapi, config, contracts


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

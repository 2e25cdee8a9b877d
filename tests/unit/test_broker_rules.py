"""The broker's rules as pure data: which names each account's permissions match (RabbitMQ
matches a permission's regular expression anywhere in the name, as re.search does), and
what the guard makes of a message before nameko sees it."""

import re
from dataclasses import dataclass, field

import pytest

from shared.platform.broker import accounts, guard
from shared.platform.broker.accounts import Subscription


def matches(pattern: str, name: str) -> bool:
    return re.search(pattern, name) is not None


ORGS = accounts.service_grant("jinwei-organizations", "organizations", [
    Subscription("organizations", "evaluation", "grade_assigned", "on_grade_assigned"),
    Subscription("organizations", "npe", "enterprise_org_established",
                 "on_enterprise_org_established")])
HANDLER = "evt-evaluation-grade_assigned--organizations.on_grade_assigned"


def topic(grant, exchange):
    return next(t for t in grant.topics if t.exchange == exchange)


def test_a_service_may_touch_its_own_queues_and_exchanges_only():
    for name in ("rpc-organizations", HANDLER, f"{HANDLER}.retry-1000ms",
                 "organizations.dead-letters"):
        assert matches(ORGS.configure, name) and matches(ORGS.write, name)
        assert matches(ORGS.read, name), name  # a retry queue too: its dead-letter exchange
    for name in ("rpc-evaluation", "evt-organizations-x--evaluation.on_x",
                 "evaluation.dead-letters", f"{HANDLER}x", f"x{HANDLER}",
                 f"{HANDLER}.retry-1000msx", "evt-evaluation-survey_closed--organizations.on_x"):
        assert not matches(ORGS.configure, name), name
        assert not matches(ORGS.read, name), name
    # publishes on its own events exchange and the default one (replies, retries) only
    assert matches(ORGS.write, "organizations.events") and matches(ORGS.write, "amq.default")
    for exchange in ("evaluation.events", "npe.events", "nameko-rpc"):
        assert not matches(ORGS.write, exchange), exchange
    # binds: its RPC key on nameko-rpc, the types it handles on the sources' exchanges
    assert topic(ORGS, "nameko-rpc").read == "^(organizations\\.\\*)$"
    assert matches(topic(ORGS, "nameko-rpc").read, "organizations.*")
    assert not matches(topic(ORGS, "nameko-rpc").read, "#")
    assert matches(topic(ORGS, "evaluation.events").read, "grade_assigned")
    assert not matches(topic(ORGS, "evaluation.events").read, "#")
    assert not matches(topic(ORGS, "evaluation.events").read, "survey_closed")
    assert topic(ORGS, "organizations.events").read == accounts.NOTHING


def test_a_service_asks_its_owner_only_what_its_lookups_declare():
    """evaluation's OwnerLookup: requests to two organizations methods, nothing else."""
    from shared.platform.broker import topology
    from shared.platform.containers import service_class

    grant = topology.grant_for_service("jinwei-", service_class("evaluation"))
    assert matches(grant.write, "nameko-rpc")
    keys = topic(grant, "nameko-rpc").write
    for allowed in ("organizations.get_organization", "organizations.place_path"):
        assert matches(keys, allowed), allowed
    for refused in ("organizations.register_organization", "organizations.get_place",
                    "npe.register_enterprise", "evaluation.open_round", "#"):
        assert not matches(keys, refused), refused
    # organizations asks nobody: its account publishes no request
    owner = topology.grant_for_service("jinwei-", service_class("organizations"))
    assert topic(owner, "nameko-rpc").write == accounts.NOTHING
    assert not matches(owner.write, "nameko-rpc")


def test_a_client_publishes_requests_it_was_given_and_reads_nothing():
    outside = accounts.client_grant("jinwei-ext-finance", {
        "organizations": ["get_place", "list_children"], "evaluation": None})
    assert outside.configure == outside.read == accounts.NOTHING
    assert outside.write == "^(nameko\\-rpc)$"
    keys = topic(outside, "nameko-rpc").write
    for allowed in ("organizations.get_place", "organizations.list_children",
                    "evaluation.open_round", "evaluation.anything_at_all"):
        assert matches(keys, allowed), allowed
    for refused in ("organizations.register_organization", "organizations.get_placex",
                    "organizations.get_place.x", "npe.list_enterprises", "organizations.*",
                    "#", "evaluation", "x.evaluation.open_round"):
        assert not matches(keys, refused), refused
    operator = accounts.client_grant("jinwei", {"npe": None}, dead_letters_of=["npe"])
    assert matches(operator.read, "npe.dead-letters")
    assert not matches(operator.read, "rpc-npe")


def test_names_that_would_widen_a_pattern_are_refused():
    for bad in ("Org", "org.*", "a|b", "x" * 41, ""):
        with pytest.raises(ValueError):
            accounts.client_grant("x", {bad: None})
    with pytest.raises(ValueError):
        accounts.client_grant("x", {"npe": ["list.*"]})
    assert accounts.client_grant("x", {}).write == accounts.NOTHING


@dataclass
class Message:
    properties: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    delivery_info: dict = field(default_factory=lambda: {"routing_key": "organizations.get_place"})


DIRECT = "amq.rabbitmq.reply-to.g1h2AA1yZXBseUA5MjQ4ODg0AAAX/wAAAABrFtjR.4qT7EmSfc8Y8vVzXoEE=="
GOOD = {"args": [], "kwargs": {"place_code": "330000000000"}}


def request(body=GOOD, headers=None, routing_key="organizations.get_place", **properties):
    props = {"reply_to": DIRECT, "correlation_id": "c1", **properties}
    message = Message({k: v for k, v in props.items() if v is not None}, headers or {},
                      {"routing_key": routing_key})
    return guard.check_request(body, message, "organizations")


def test_the_guard_lets_a_proper_request_through():
    assert request() is None


@pytest.mark.parametrize("properties, reason, answerable", [
    ({"reply_to": None}, "no_reply_to", False),
    ({"reply_to": "organizations.get_place"}, "bad_reply_to", False),
    ({"reply_to": "8c5f0c2e-6f6e-4a8e-9a4c-1b2f3c4d5e6f"}, "bad_reply_to", False),
    ({"reply_to": ["x"]}, "bad_reply_to", False),
    ({"correlation_id": None}, "no_correlation_id", False),
    ({"correlation_id": "x" * 201}, "no_correlation_id", False),
])
def test_a_request_that_cannot_be_answered_is_not(properties, reason, answerable):
    refusal = request(**properties)
    assert (refusal.reason, refusal.answerable) == (reason, answerable)


@pytest.mark.parametrize("body, reason", [
    (None, "not_an_object"), ([], "not_an_object"), ("x", "not_an_object"),
    ({"args": []}, "bad_arguments"), ({"kwargs": {}}, "bad_arguments"),
    ({"args": {}, "kwargs": {}}, "bad_arguments"), ({"args": [], "kwargs": []}, "bad_arguments"),
])
def test_a_malformed_body_is_answered(body, reason):
    refusal = request(body)
    assert (refusal.reason, refusal.answerable) == (reason, True)


@pytest.mark.parametrize("headers", [
    {"nameko.auth_token": ["t"]}, {"nameko.auth_token": 5}, {"nameko.auth_token": None},
    {"nameko.auth_token": "t" * (guard.MAX_TOKEN + 1)},
    {"nameko.call_id_stack": "a.b.c"}, {"nameko.call_id_stack": [1]},
    {"nameko.call_id_stack": ["x"] * 17}, {"nameko.call_id_stack": [""]},
    {"nameko.language": {"a": 1}},
])
def test_a_context_of_the_wrong_type_is_answered(headers):
    refusal = request(headers=headers)
    assert (refusal.reason, refusal.answerable) == ("bad_context", True)


@pytest.mark.parametrize("headers, routing_key", [
    ({"CC": ["evaluation.open_round"]}, "organizations.get_place"),
    ({"BCC": ["rpc-evaluation"]}, "organizations.get_place"),
    ({}, "evaluation.open_round"),  # a copy that reached our queue with another's key
    ({}, "organizations"),
])
def test_a_request_routed_otherwise_than_to_its_service_is_answered(headers, routing_key):
    refusal = request(headers=headers, routing_key=routing_key)
    assert (refusal.reason, refusal.answerable) == ("bad_routing", True)


@dataclass
class Raw:
    properties: dict


def test_what_kombu_would_inflate_or_decode_is_marked_and_not_inflated():
    compressed = Raw({"application_headers": {"compression": "application/x-gzip"},
                      "content_type": "application/json"})
    assert "compressed" in guard.unsafe_to_decode(compressed)
    assert "compression" not in compressed.properties["application_headers"]
    for encoding in ("bz2", "zlib", "base64", "latin-1"):
        raw = Raw({"content_type": "application/data", "content_encoding": encoding})
        assert "UTF-8" in guard.unsafe_to_decode(raw)
        assert raw.properties["content_encoding"] is None
    for fine in ({}, {"content_encoding": "utf-8", "content_type": "application/json",
                      "application_headers": {"nameko.auth_token": "t"}}):
        assert guard.unsafe_to_decode(Raw(fine)) is None
    assert guard.unsafe_to_decode(Raw({"application_headers": ["x"]})) is not None


def test_properties_py_amqp_cannot_read_arrive_as_the_reason_only():
    """Invalid UTF-8 in a short string: py-amqp would raise in the consumer's thread."""
    from amqp.basic_message import Message as AmqpMessage

    message = AmqpMessage(b"{}", correlation_id=b"\xff\xfe-not-utf-8", reply_to=DIRECT)
    frame = message._serialize_properties()
    received = AmqpMessage()
    received._load_properties(60, frame, 0)  # 60: the Basic class
    assert set(received.properties) == {guard.UNREADABLE}
    assert "UnicodeDecodeError" in received.properties[guard.UNREADABLE]
    fine = AmqpMessage(b"{}", correlation_id="c1", reply_to=DIRECT)
    again = AmqpMessage()
    again._load_properties(60, fine._serialize_properties(), 0)
    assert again.properties["correlation_id"] == "c1"


def test_only_the_context_a_caller_may_set_is_passed_on():
    context = guard.context_from_headers({
        "nameko.auth_token": "t", "nameko.call_id_stack": ["gateway.req-1"],
        "nameko.something_else": {"x": 1}, "x-jinwei-verified-publisher": "forged",
        "nameko.amqp_correlation_id": "spoofed"})
    assert context == {"auth_token": "t", "call_id_stack": ["gateway.req-1"]}


def test_a_service_never_runs_on_an_account_not_its_own(tmp_path):
    from shared.platform import config

    env = {"JINWEI_VAR_DIR": str(tmp_path),
           "AMQP_URI": "amqp://jinwei:operator@127.0.0.1:5672/jinwei",
           "ORGANIZATIONS_AMQP_URI": "amqp://jinwei:operator@127.0.0.1:5672/jinwei",
           "NPE_AMQP_URI": "amqp://jinwei-npe:secret@127.0.0.1:5672/jinwei"}
    settings = config.load(env)
    with pytest.raises(config.MissingBrokerAccount, match="not its own 'jinwei-organizations'"):
        settings.nameko_config("organizations")
    with pytest.raises(config.MissingBrokerAccount, match="no broker account for evaluation"):
        settings.nameko_config("evaluation")
    assert settings.nameko_config("npe")["AMQP_URI"].startswith("amqp://jinwei-npe:")
    assert settings.nameko_config("npe")["JINWEI"].amqp_uri.startswith("amqp://jinwei-npe:")
    # a container given only its own AMQP_URI (compose, Kubernetes) finds it there
    alone = config.load({"JINWEI_VAR_DIR": str(tmp_path),
                         "AMQP_URI": "amqp://jinwei-gateway:g@rabbitmq:5672/jinwei"})
    assert alone.amqp_uri_of("gateway") == "amqp://jinwei-gateway:g@rabbitmq:5672/jinwei"
    from services.gateway.app import Gateway

    with pytest.raises(config.MissingBrokerAccount):
        Gateway(settings)  # the gateway refuses to run on the operator's account

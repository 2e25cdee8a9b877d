"""The broker as a door, on the real RabbitMQ: what an outside system's account may do
(call the methods it was given, read its own replies) and what the broker refuses it;
events trusted only when RabbitMQ vouches for their publisher."""

import json
import uuid

import amqp
import amqp.exceptions
import pytest
from prometheus_client import REGISTRY

from services.evaluation.service import EvaluationService
from services.organizations.service import OrganizationsService
from shared.errors import Forbidden, ServiceUnavailable
from shared.platform import config, dead_letters
from shared.platform.rpc_client import RpcClient
from tests.support import (
    SUICHANG,
    XIHU,
    Running,
    accounts_on,
    eventually,
    publish_event,
    rpc,
    sample_places,
    sql_value,
    token,
)
from tools.launcher import integrators


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    """organizations and evaluation on a vhost of their own: the events this module's
    services leave queued must not reach another module's evaluation."""
    from shared.platform.migrate import migrate
    from tools.launcher import provision

    vhost = f"{base_settings.amqp_uri}_door"
    provision.ensure_vhost(vhost)
    urls = {s: databases.create(f"door_{s}") for s in ("organizations", "evaluation")}
    for service, url in urls.items():
        migrate(service, url)
    settings = accounts_on(base_settings, vhost).with_overrides(database_urls=urls)
    try:
        with Running(settings, OrganizationsService, EvaluationService) as running:
            running.urls = urls
            with rpc(running.settings, token(token_secret)) as proxy:
                proxy.organizations.import_places(places=sample_places(SUICHANG, XIHU))
            yield running
    finally:
        provision.delete_vhost(vhost)


@pytest.fixture(scope="module")
def integrator(stack):
    """An outside system given the organizations service only."""
    name = f"door-{uuid.uuid4().hex[:6]}"
    uri = integrators.add(stack.settings, name, ["organizations"])
    yield name, uri
    integrators.revoke(stack.settings, name)


def connect(uri: str) -> amqp.Connection:
    parts = amqp_parts(uri)
    connection = amqp.Connection(**parts, confirm_publish=True)
    connection.connect()
    return connection


def amqp_parts(uri: str) -> dict:
    from urllib.parse import unquote, urlsplit

    p = urlsplit(uri)
    return {"host": f"{p.hostname}:{p.port or 5672}", "userid": unquote(p.username),
            "password": unquote(p.password), "virtual_host": unquote(p.path[1:])}


def refused(uri: str, attempt) -> str:
    """Run `attempt(channel)` as the account; the broker's refusal, as text."""
    connection = connect(uri)
    try:
        channel = connection.channel()
        with pytest.raises(amqp.exceptions.AccessRefused) as caught:
            attempt(channel)
            channel.basic_qos(0, 0, False)  # a round trip: an asynchronous refusal arrives
        return str(caught.value)
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - the broker may have closed it
            pass


def test_an_outside_system_calls_its_services_and_the_broker_refuses_the_rest(
        stack, integrator, token_secret):
    name, uri = integrator
    assert config.amqp_user(uri) == f"{stack.settings.broker_account_prefix}ext-{name}"
    outside = stack.settings.with_overrides(amqp_uri=uri)
    client = RpcClient(outside, 10)
    try:
        children = client.call("organizations", "list_children", {"place_code": SUICHANG},
                               token=token(token_secret, system=name))
        assert children["items"], "its own service answers"
        with pytest.raises(Forbidden, match="refused"):  # a service it was not given
            client.call("evaluation", "open_round", {"place_code": SUICHANG, "year": 2026,
                                                     "name": "越权"}, token=token(token_secret))
        # and the thread's client is usable again afterwards
        assert client.call("organizations", "get_place", {"place_code": SUICHANG},
                           token=token(token_secret))["code"] == SUICHANG
    finally:
        client.close()
    assert sql_value(stack.urls["evaluation"], "SELECT count(*) FROM rounds") == 0

    # Read anyone's requests or replies: it cannot make a queue, let alone bind one.
    assert "ACCESS_REFUSED" in refused(uri, lambda ch: ch.queue_declare(
        f"spy-{uuid.uuid4().hex[:6]}", exclusive=True))
    assert "ACCESS_REFUSED" in refused(uri, lambda ch: ch.queue_declare("", exclusive=True))
    assert "ACCESS_REFUSED" in refused(uri, lambda ch: ch.queue_bind(
        "rpc-organizations", "nameko-rpc", "#"))
    # Consume another queue: the service's requests.
    assert "ACCESS_REFUSED" in refused(uri, lambda ch: ch.basic_consume(
        "rpc-organizations", callback=lambda m: None))
    # Publish an event, on any events exchange, or straight into a queue.
    for exchange, key in (("evaluation.events", "grade_assigned"),
                          ("organizations.events", "organization_registered"),
                          ("", "rpc-organizations")):
        assert "ACCESS_REFUSED" in refused(uri, lambda ch, e=exchange, k=key: ch.basic_publish(
            amqp.Message(b"{}"), exchange=e, routing_key=k))
    # Call a service outside its list, by publishing by hand.
    assert "ACCESS_REFUSED" in refused(uri, lambda ch: ch.basic_publish(
        amqp.Message(b"{}"), exchange="nameko-rpc", routing_key="evaluation.open_round"))
    # Delete what the services rely on.
    assert "ACCESS_REFUSED" in refused(uri, lambda ch: ch.exchange_delete("nameko-rpc"))

    # The services are as they were.
    with rpc(stack.settings, token(token_secret)) as proxy:
        assert proxy.organizations.get_place(place_code=SUICHANG)["code"] == SUICHANG
        assert proxy.evaluation.township_reports(place_code=SUICHANG, period="2026-11")


def test_an_outside_system_given_methods_calls_those_only(stack, token_secret):
    name = f"door-m-{uuid.uuid4().hex[:6]}"
    uri = integrators.add(stack.settings, name, [],
                          methods=["organizations.get_place"])
    client = RpcClient(stack.settings.with_overrides(amqp_uri=uri), 10)
    try:
        assert client.call("organizations", "get_place", {"place_code": SUICHANG},
                           token=token(token_secret))["code"] == SUICHANG
        with pytest.raises(Forbidden):
            client.call("organizations", "list_children", {"place_code": SUICHANG},
                        token=token(token_secret))
        assert [i.name for i in integrators.listed(stack.settings) if i.name == name]
        # Renewed: the connection that was open is closed, the old password refused.
        renewed = integrators.add(stack.settings, name, [], methods=["organizations.get_place"])
        assert renewed != uri
        with pytest.raises(ServiceUnavailable):
            client.call("organizations", "get_place", {"place_code": SUICHANG},
                        token=token(token_secret))
        assert RpcClient(renewed, 10).call("organizations", "get_place", {"place_code": SUICHANG},
                                           token=token(token_secret))["code"] == SUICHANG
        uri = renewed
    finally:
        client.close()
        integrators.revoke(stack.settings, name)
    with pytest.raises(ServiceUnavailable):  # revoked: the broker lets it in no more
        RpcClient(stack.settings.with_overrides(amqp_uri=uri), 5).call(
            "organizations", "get_place", {"place_code": SUICHANG}, token=token(token_secret))


def test_a_bad_integrator_request_changes_nothing(stack):
    for name, services, methods in (("Bad Name", ["organizations"], []),
                                    ("okname", ["nosuch"], []),
                                    ("okname", [], ["organizations.nosuch"]),
                                    ("okname", [], [])):
        with pytest.raises(integrators.InfraError):
            integrators.add(stack.settings, name, services, methods)
    assert not [i for i in integrators.listed(stack.settings) if i.name == "okname"]


def refusals(service: str, reason: str) -> float:
    return sum(REGISTRY.get_sample_value("jinwei_messages_refused_total", {
        "service": service, "kind": kind, "reason": reason, "action": action}) or 0
        for kind in ("rpc", "event") for action in ("answered", "dead_lettered"))


def grade_assigned(organization_id: int) -> dict:
    return {"id": str(uuid.uuid4()), "type": "grade_assigned", "source": "evaluation",
            "occurred_at": "2026-12-07T10:00:00+00:00", "schema_version": 1,
            "actor": {"subject": "forger", "department": "x", "system": "x"},
            "data": {"organization_id": organization_id, "place_code": "331123102201",
                     "round_id": 999999, "year": 2026, "grade": "poor",
                     "baseline_grade": "poor", "current_grade": "poor", "is_baseline": True,
                     "is_current": True, "sequence": 1, "method": "direct", "score": None,
                     "reason": "伪造"}}


def test_a_forged_event_is_dead_lettered_with_the_reason_and_changes_nothing(
        stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        village = proxy.organizations.list_children(place_code="331123102000")["items"][0]["code"]
        org = proxy.organizations.register_organization(
            name="伪造测试党支部", kind="631", sector="rural_village", place_code=village,
            full_members=5, founded_on="2020-01-01")
    cases = "SELECT count(*) FROM rectification_cases"
    before = sql_value(stack.urls["organizations"], cases)
    counted = refusals("organizations", "unverified_publisher")
    forged = grade_assigned(org["id"])

    # From an account with every permission on the vhost (a leaked old-style account),
    # on evaluation's exchange: no user_id, and its own user_id.
    admin = connect(stack.settings.amqp_uri)
    try:
        channel = admin.channel()
        for user_id in (None, config.amqp_user(stack.settings.amqp_uri)):
            channel.basic_publish(
                amqp.Message(json.dumps({**forged, "id": str(uuid.uuid4())}).encode(),
                             content_type="application/json", user_id=user_id),
                exchange="evaluation.events", routing_key="grade_assigned")
        # Claiming to be evaluation is refused by the broker itself.
        with pytest.raises(amqp.exceptions.PreconditionFailed):
            channel.basic_publish(amqp.Message(
                b"{}", user_id=stack.settings.broker_account("evaluation")),
                exchange="evaluation.events", routing_key="grade_assigned")
    finally:
        try:
            admin.close()
        except Exception:  # noqa: BLE001 - closed by the refusal
            pass
    # From another service's own account (npe may write to the default exchange: its
    # retries), straight into organizations' handler queue.
    publish_event(stack.settings, {**forged, "id": str(uuid.uuid4())}, exchange="",
                  routing_key="evt-evaluation-grade_assigned--organizations.on_grade_assigned",
                  as_account="npe")

    def refused_letters():
        return [letter for letter in dead_letters.list_dead_letters(
            stack.settings, "organizations") if letter.reason == "unverified_publisher"]

    letters = eventually(lambda: len(found := refused_letters()) >= 3 and found,
                         what="the three forged events dead-lettered")
    assert len(letters) == 3
    assert all("only " + stack.settings.broker_account("evaluation") in letter.error
               for letter in letters)
    # (the count is raised just after the letter is sent to the dead letters: waited for)
    eventually(lambda: refusals("organizations", "unverified_publisher") == counted + 3)
    assert sql_value(stack.urls["organizations"], cases) == before
    assert sql_value(stack.urls["organizations"], "SELECT count(*) FROM inbox"
                     " WHERE handler = 'on_grade_assigned'") == 0

    # Replayed, a forged letter comes back refused: replay cannot launder it.
    assert dead_letters.replay(stack.settings, "organizations") == 3
    eventually(lambda: len([letter for letter in dead_letters.list_dead_letters(
        stack.settings, "organizations") if letter.reason == "unverified_publisher"]) == 3)
    assert sql_value(stack.urls["organizations"], cases) == before
    eventually(lambda: refusals("organizations", "unverified_publisher") == counted + 6)
    purge(stack.settings, "organizations")

    # The genuine article, from evaluation's own account, is applied.
    with rpc(stack.settings, token(token_secret)) as proxy:
        round_ = proxy.evaluation.open_round(place_code=SUICHANG, year=2026, name="真实")
        proxy.evaluation.set_grade(round_id=round_["id"], organization_id=org["id"],
                                   grade="poor", reason="真实")
    eventually(lambda: sql_value(stack.urls["organizations"], cases) == before + 1)


def purge(settings, service: str) -> None:
    connection = connect(settings.amqp_uri)
    try:
        connection.channel().queue_purge(f"{service}.dead-letters")
    finally:
        connection.close()

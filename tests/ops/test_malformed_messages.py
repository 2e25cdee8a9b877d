"""Malformed messages cannot stop a service. The organizations service runs as its own
process (`python -m shared.runner organizations`, what supervisord and Kubernetes run);
an outside system's account sends each kind of malformed request 100 times, and
evaluation's account each kind of malformed event, while correct calls go on. The
process never exits (same pid throughout), its readiness stays 200, every request that
can be answered gets a typed error, and the dead-letter queue holds exactly the rest."""

import threading
import time
import uuid

import amqp
import pytest

from shared import config
from shared.broker.connections import broker_connection, dead_letter_count
from shared.errors import ValidationError
from shared.infra import integrators
from shared.migrate import migrate
from shared.rpc_client import RpcClient
from tests.ops.support import ServiceProcess, http_get, samples
from tests.support import XIHU, RawRpc, free_ports, rpc, sample_places, token

pytestmark = pytest.mark.timeout(240)

TIMES = 100
MAX_BYTES = 64 * 1024
GOOD = {"args": [], "kwargs": {"code": XIHU}}
DIRECT = "amq.rabbitmq.reply-to"


def requests(auth: str) -> dict[str, tuple[bool, bytes | object, dict]]:
    """kind → (answered?, body, properties): each a request no client of ours sends."""
    ok = {"reply_to": DIRECT, "headers": {"nameko.auth_token": auth}}
    return {
        "no reply_to": (False, GOOD, {"headers": {"nameko.auth_token": auth}}),
        "reply_to another service's queue": (False, GOOD, {**ok, "reply_to": "organizations.get_place"}),
        "no correlation id": (False, GOOD, {**ok, "no_correlation": True}),
        "not JSON": (True, b'{"args": [', {**ok, "content_type": "application/json"}),
        "not JSON at all (text/plain)": (True, b"hello", {**ok, "content_type": "text/plain"}),
        "no content type": (True, b'{"args": [], "kwargs": {}}', ok),
        "JSON null": (True, None, ok),
        "JSON array": (True, [1, 2], ok),
        "no kwargs": (True, {"args": []}, ok),
        "kwargs a list": (True, {"args": [], "kwargs": []}, ok),
        "token a list": (True, GOOD, {**ok, "headers": {"nameko.auth_token": [auth]}}),
        "call ids a number": (True, GOOD, {**ok, "headers": {"nameko.auth_token": auth,
                                                            "nameko.call_id_stack": 7}}),
        "too large": (True, {"args": [], "kwargs": {"code": "x" * MAX_BYTES}}, ok),
    }


def test_malformed_messages_100_times_each_stop_nothing(
        databases, base_settings, token_secret, tmp_path):
    url = databases.create("ops_malformed_organizations")
    migrate("organizations", url)
    service = ServiceProcess("organizations", settings=base_settings, database_url=url,
                             port=free_ports(1)[0], token_secret=token_secret, var_dir=tmp_path,
                             extra_env={"JINWEI_MAX_MESSAGE_BYTES": str(MAX_BYTES)})
    service.start()
    pid = service.process.pid
    outsider = f"flood-{uuid.uuid4().hex[:6]}"
    outsider_uri = integrators.add(base_settings, outsider, ["organizations"])
    readiness: list[int] = []
    watching = threading.Event()

    def watch():
        while not watching.is_set():
            readiness.append(http_get(service.url + "/health/ready", timeout=5)[0])
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with rpc(base_settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU))
        good = RpcClient(base_settings.with_overrides(amqp_uri=outsider_uri), 10)
        kinds = requests(token(token_secret))
        answered_kinds = sum(1 for answered, _, _ in kinds.values() if answered)
        with RawRpc(outsider_uri) as caller:
            for kind, (_, body, properties) in kinds.items():
                properties = dict(properties)
                if not properties.pop("no_correlation", False):
                    properties.setdefault("correlation_id", f"{kind}-{uuid.uuid4().hex}")
                for n in range(TIMES):
                    if "correlation_id" in properties:
                        properties["correlation_id"] = f"{kind}-{n}"
                    caller.publish("organizations.get_place", body, **properties)
                # correct calls keep being answered between the floods
                assert good.call("organizations", "get_place", {"code": XIHU},
                                 token=token(token_secret))["code"] == XIHU, kind
            replies = caller.replies(answered_kinds * TIMES, timeout=60)
        good.close()

        # Every answerable request was answered with a typed error.
        assert len(replies) == answered_kinds * TIMES
        assert {r["error"]["exc_path"] for r in replies} == {"shared.errors.ValidationError"}
        assert all(r["result"] is None for r in replies)
        assert "malformed request" in replies[0]["error"]["exc_args"][0]

        # Malformed events from evaluation's own account: dead-lettered, not dropped.
        evaluation = amqp_connection(base_settings.amqp_uri_of("evaluation"))
        try:
            channel = evaluation.channel()
            channel.confirm_select()
            for body in (b"{not json", b"[1, 2, 3]"):
                for _ in range(TIMES):
                    channel.basic_publish(amqp.Message(
                        body, content_type="application/json",
                        user_id=base_settings.broker_account("evaluation")),
                        exchange="evaluation.events", routing_key="grade_assigned")
        finally:
            evaluation.close()

        unanswerable = (len(kinds) - answered_kinds + 2) * TIMES

        def letters():
            with broker_connection(base_settings) as conn:
                return dead_letter_count(conn.channel(), "organizations")

        deadline = time.monotonic() + 60
        while letters() < unanswerable and time.monotonic() < deadline:
            time.sleep(0.5)
        assert letters() == unanswerable
        metrics = service.metrics()
        assert samples(metrics, "jinwei_messages_refused_total", service="organizations",
                       action="dead_lettered") == unanswerable
        assert samples(metrics, "jinwei_messages_refused_total", service="organizations",
                       action="answered") == answered_kinds * TIMES
        # The process never went down: same pid, ready throughout, still answering.
        assert service.process.poll() is None and service.process.pid == pid
        with rpc(base_settings, token(token_secret)) as proxy:
            assert proxy.organizations.get_place(code=XIHU)["code"] == XIHU
            with pytest.raises(ValidationError):  # a lone surrogate: typed, not a 500
                proxy.organizations.get_place(code="\ud800")
    finally:
        watching.set()
        watcher.join()
        service.kill()
        integrators.revoke(base_settings, outsider)
        purge(base_settings)
    assert readiness and set(readiness) == {200}, readiness
    assert service.log_tail(200_000).count("Traceback") == 0
    print(f"\n{len(kinds)} malformed request kinds and 2 malformed event kinds, "
          f"{TIMES} each: {answered_kinds * TIMES} answered with ValidationError, "
          f"{unanswerable} dead-lettered; pid {pid} up throughout, "
          f"{len(readiness)} readiness probes all 200")


def amqp_connection(uri: str) -> amqp.Connection:
    from urllib.parse import unquote, urlsplit

    p = urlsplit(uri)
    connection = amqp.Connection(host=f"{p.hostname}:{p.port or 5672}",
                                 userid=unquote(p.username), password=unquote(p.password),
                                 virtual_host=unquote(p.path[1:]))
    connection.connect()
    return connection


def purge(settings: config.Settings) -> None:
    connection = amqp_connection(settings.amqp_uri)
    try:
        connection.channel().queue_purge("organizations.dead-letters")
    finally:
        connection.close()

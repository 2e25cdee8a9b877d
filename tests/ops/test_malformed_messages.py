"""Malformed messages cannot stop a service. The organizations service runs as its own
process (`python -m shared.platform.runner organizations`, what supervisord and Kubernetes run);
an outside system's account sends each kind of malformed request 100 times, and
evaluation's account each kind of malformed event, while correct calls go on. The
process never exits (same pid throughout), its readiness stays 200, every request that
can be answered gets a typed error, and the dead-letter queue holds exactly the rest."""

import bz2
import json
import sys
import threading
import time
import uuid
import zlib

import amqp
import pytest

from shared.errors import ValidationError
from shared.platform import config
from shared.platform.broker.connections import broker_connection, dead_letter_count
from shared.platform.migrate import migrate
from shared.platform.rpc_client import RpcClient
from tests.ops.support import ServiceProcess, http_get, samples
from tests.support import XIHU, RawRpc, free_ports, rpc, sample_places, token
from tools.launcher import integrators

pytestmark = pytest.mark.timeout(240)

TIMES = 100
MAX_BYTES = 64 * 1024
GOOD = {"args": [], "kwargs": {"place_code": XIHU}}
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
        "too large": (True, {"args": [], "kwargs": {"place_code": "x" * MAX_BYTES}}, ok),
        "CC to another queue": (True, GOOD, {**ok, "headers": {"nameko.auth_token": auth,
                                                             "CC": ["rpc-evaluation"]}}),
        # py-amqp cannot read its properties: nothing left to answer to
        "invalid UTF-8 in a property": (False, GOOD, {**ok, "message_id": b"\xff\xfe\xfd"}),
    }


def hostile(auth: str) -> dict[str, tuple[int, bool, bytes, dict]]:
    """Rarer kinds, sent fewer times: kind → (times, answered?, body, properties)."""
    ok = {"reply_to": DIRECT, "headers": {"nameko.auth_token": auth}}
    bomb = zlib.compress(b"\0" * 100_000_000, 9)  # ~100 KB that kombu would make 100 MB
    deep: list = []
    for _ in range(3000):  # headers py-amqp would recurse into past Python's limit
        deep = [deep]
    return {
        "a compressed body (a 100 MB bomb)": (3, True, bomb, {
            **ok, "content_type": "application/json",
            "headers": {"nameko.auth_token": auth, "compression": "application/x-gzip"}}),
        "a bz2 content encoding": (10, True, bz2.compress(b"{}" * 1000), {
            **ok, "content_type": "application/data", "content_encoding": "bz2"}),
        "headers nested 3 000 deep": (20, False, json.dumps(GOOD).encode(), {
            **ok, "content_type": "application/json",
            "headers": {"nameko.auth_token": auth, "x-deep": deep}}),
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
                assert good.call("organizations", "get_place", {"place_code": XIHU},
                                 token=token(token_secret))["code"] == XIHU, kind
            rare = hostile(token(token_secret))
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(20_000)  # our sender must be able to nest them
            try:
                for kind, (times, _, body, properties) in rare.items():
                    for n in range(times):
                        caller.publish("organizations.get_place", body,
                                       correlation_id=f"{kind}-{n}", **properties)
            finally:
                sys.setrecursionlimit(limit)
            rare_answered = sum(t for t, answered, _, _ in rare.values() if answered)
            rare_unanswered = sum(t for t, answered, _, _ in rare.values() if not answered)
            # A reply address the broker cannot route: the answer is lost, not the service.
            for n in range(20):
                caller.publish("organizations.get_place", GOOD, correlation_id=f"forged-{n}",
                               reply_to="amq.rabbitmq.reply-to.AAAA.bbbb",
                               headers={"nameko.auth_token": token(token_secret)})
            replies = caller.replies(answered_kinds * TIMES + rare_answered, timeout=60)
            assert good.call("organizations", "get_place", {"place_code": XIHU},
                             token=token(token_secret))["code"] == XIHU
        good.close()

        # Every answerable request was answered with a typed error.
        assert len(replies) == answered_kinds * TIMES + rare_answered
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

        unanswerable = (len(kinds) - answered_kinds + 2) * TIMES + rare_unanswered

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
                       action="answered") == answered_kinds * TIMES + rare_answered
        lost = samples(metrics, "jinwei_rpc_replies_lost_total", service="organizations")
        rss_mb = int(next(line.split()[1] for line in open(f"/proc/{pid}/status")
                          if line.startswith("VmHWM:"))) / 1024
        assert rss_mb < 300, f"the service's memory peaked at {rss_mb:.0f} MB: a bomb inflated"
        # The process never went down: same pid, ready throughout, still answering.
        assert service.process.poll() is None and service.process.pid == pid
        with rpc(base_settings, token(token_secret)) as proxy:
            assert proxy.organizations.get_place(place_code=XIHU)["code"] == XIHU
            with pytest.raises(ValidationError):  # a lone surrogate: typed, not a 500
                proxy.organizations.get_place(place_code="\ud800")
    finally:
        watching.set()
        watcher.join()
        service.kill()
        integrators.revoke(base_settings, outsider)
        purge(base_settings)
    assert readiness and set(readiness) == {200}, readiness
    assert service.log_tail(200_000).count("Traceback") == 0
    print(f"\n{len(kinds)} malformed request kinds and 2 malformed event kinds, {TIMES} each, "
          f"and {len(rare)} rarer kinds: {len(replies)} answered with ValidationError, "
          f"{unanswerable} dead-lettered, {lost:.0f} of 20 answers to a forged reply address "
          f"lost; pid {pid} up throughout (memory peak {rss_mb:.0f} MB), {len(readiness)} "
          "readiness probes all 200")


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

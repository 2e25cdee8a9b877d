"""A real Prometheus (Debian's `prometheus`) scraping the running system — every service
on a database of its own and the gateway under gunicorn — with the alert rules of
deploy/prometheus/rules loaded: every target up, the series the rules and dashboards
read present, every rule evaluated without error, and an alert firing for real (a dead
letter made present) while the service-down alert stays quiet."""

import json
import subprocess
import time
import urllib.parse
import uuid

import kombu
import pytest
import yaml

from shared.errors import JinweiError
from shared.platform import config
from shared.platform.broker.letters import dead_letter_queue
from tests.ops.support import REPO, http_get, tool
from tests.support import SUICHANG, XIHU, free_ports, rpc, sample_places, services_running, token

pytestmark = pytest.mark.timeout(360)

RULES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))
# A call each service refuses at once (no arguments): counted with outcome validation_error.
REFUSED = {"organizations": "get_place", "evaluation": "get_round", "npe": "get_enterprise",
           "cadres": "get_person", "resources": "get_venue", "accounts": "get_account"}
PER_PROCESS = ["up", "jinwei_entrypoint_calls_total", "jinwei_entrypoint_duration_seconds_bucket"]
PER_SERVICE = ["jinwei_dead_letters", "jinwei_db_pool_size", "jinwei_db_pool_connections",
               "jinwei_db_pool_waits_total"]
# Only a service that emits events has an outbox relay (docs/platform.md), hence these.
PER_PUBLISHER = ["jinwei_outbox_pending_events", "jinwei_outbox_oldest_pending_age_seconds"]


def publishers() -> set[str]:
    """The services with an outbox relay (accounts emits no events, so it has none)."""
    from shared.platform.containers import service_class
    from shared.platform.outbox import OutboxRelay

    return {name for name in config.SERVICES
            if any(isinstance(getattr(service_class(name), attribute, None), OutboxRelay)
                   for attribute in dir(service_class(name)))}


def gateway_available() -> bool:
    try:
        from tests.support import Gateway  # noqa: F401
    except ImportError:
        return False
    return (REPO / "services" / "gateway" / "__main__.py").exists()


class Prometheus:
    def __init__(self, binary: str, directory, targets: dict[str, int]):
        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        fast = [dict(rule, **{"for": "0s"}) for path in RULES
                for group in yaml.safe_load(path.read_text())["groups"]
                for rule in group["rules"]
                if rule.get("alert") in ("JinweiDeadLetters", "JinweiServiceDown")]
        fast_file = directory / "immediate.yml"
        # The same expressions without `for`, so the test need not wait minutes.
        fast_file.write_text(yaml.safe_dump({"groups": [{"name": "ops-test-immediate",
                                                         "rules": fast}]}))
        scrape = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [*map(str, RULES), str(fast_file)],
            "scrape_configs": [{
                "job_name": "jinwei", "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": {"service": name}}
                                   for name, port in targets.items()],
            }],
        }
        config_file = directory / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(scrape))
        self.log = open(directory / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop
        self.process = subprocess.Popen(
            [binary, f"--config.file={config_file}", f"--storage.tsdb.path={directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def api(self, path: str, **params):
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        status, body = http_get(f"{self.url}/api/v1/{path}{query}")
        assert status == 200, body
        return json.loads(body)["data"]

    def services_with(self, metric: str) -> set[str]:
        # Over the last minute, not at this instant: the services share one process here, so
        # one stall of its hub fails every 1 s scrape at once and Prometheus marks every
        # series stale until the next good scrape (a CI run saw that between two queries).
        query = f"count by (service) (last_over_time({metric}[1m]))"
        return {r["metric"].get("service") for r in self.api("query", query=query)["result"]}

    def wait(self, check, what: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, self.output()
            try:
                value = check()
            except (OSError, AssertionError):
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"Prometheus: not {what} within {timeout}s\n{self.output()}")
            time.sleep(0.25)

    def output(self) -> str:
        self.log.flush()
        return open(self.log.name, errors="replace").read()[-3000:]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


def make_traffic(settings, secret: str, gateway) -> None:
    with rpc(settings, token(secret)) as proxy:
        proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG))
        proxy.organizations.place_path(place_code=XIHU)
        for service in config.SERVICES:  # a service that joins names its call in REFUSED
            with pytest.raises(JinweiError):
                getattr(getattr(proxy, service), REFUSED[service])()
    if gateway is not None:
        status, _, _ = gateway.get(f"/v1/organizations/place_path?place_code={XIHU}",
                                   token=token(secret))
        assert status == 200


def test_real_prometheus_scrapes_every_process_and_evaluates_the_alerts(
        databases, base_settings, token_secret, tmp_path):
    binary = tool("prometheus")
    with services_running(databases, base_settings, "ops_prom", *config.SERVICES) as running:
        targets = {name: running.http_port(name) for name in config.SERVICES}
        gateway = None
        if gateway_available():
            from tests.support import Gateway

            gateway = Gateway(running.settings, tmp_path).__enter__()
            targets["gateway"] = gateway.port
        prometheus = None
        marker = f"ops-test-{uuid.uuid4()}"
        try:
            make_traffic(running.settings, token_secret, gateway)
            prometheus = Prometheus(binary, tmp_path, targets)
            prometheus.wait(lambda: http_get(prometheus.url + "/-/ready")[0] == 200, "ready")

            def all_up():
                active = prometheus.api("targets")["activeTargets"]
                return len(active) == len(targets) and all(t["health"] == "up" for t in active)

            # A scrape over its 1 s marks a target down until the next good one: on a busy
            # machine seven targets are all up at once only now and then.
            prometheus.wait(all_up, "scraping every target", 120)
            prometheus.wait(lambda: prometheus.services_with(PER_SERVICE[-1]) >=
                            set(config.SERVICES), "holding the series")
            for metric in PER_PROCESS:
                assert prometheus.services_with(metric) >= set(targets), metric
            for metric in PER_SERVICE:
                assert prometheus.services_with(metric) >= set(config.SERVICES), metric
            assert publishers() >= {"organizations", "evaluation"}  # the campaign loop's
            for metric in PER_PUBLISHER:
                assert prometheus.services_with(metric) >= publishers(), metric
            refused = prometheus.api("query", query=(
                'sum by (service) (last_over_time('
                'jinwei_entrypoint_calls_total{outcome="validation_error"}[1m]))'))
            assert {r["metric"]["service"] for r in refused["result"]} == set(config.SERVICES)

            def rules_evaluated():
                rules = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
                return rules if all(r["health"] == "ok" and
                                    not r["lastEvaluation"].startswith("0001") for r in rules) \
                    else None

            rules = prometheus.wait(rules_evaluated, "evaluating every rule")
            alert_names = {r["name"] for r in rules if r["type"] == "alerting"}
            assert len(alert_names) == 8

            # A dead letter appears in organizations' queue: the alert fires.
            with kombu.Connection(running.settings.amqp_uri) as conn:
                producer = conn.Producer()
                producer.publish({"marker": marker}, routing_key=dead_letter_queue(
                    "organizations").name, declare=[dead_letter_queue("organizations")],
                    headers={"x-jinwei-handler": "ops-test"})

            def firing():
                alerts = prometheus.api("alerts")["alerts"]
                # (other tests of the run may have left dead letters in other services)
                return [a for a in alerts if a["labels"]["alertname"] == "JinweiDeadLetters"
                        and a["state"] == "firing"
                        and a["labels"].get("service") == "organizations"]

            (alert,) = prometheus.wait(firing, "firing JinweiDeadLetters")
            assert alert["labels"]["service"] == "organizations"
            assert alert["labels"]["severity"] == "warning"
            assert alert["annotations"]["runbook_url"] == "docs/operations.md#jinweideadletters"

            def real_rule_pending():  # its group evaluates on its own schedule
                real = next(r for g in prometheus.api("rules")["groups"]
                            if g["name"] == "jinwei.events"
                            for r in g["rules"] if r["name"] == "JinweiDeadLetters")
                return real["state"] in ("pending", "firing")  # firing: others' letters

            prometheus.wait(real_rule_pending, "pending the real rule (its `for: 1m`)", 10)
            def quiet():
                # A scrape that took longer than its 1 s on a busy machine leaves the alert
                # pending until the next good one; a target really down stays.
                return not [a for a in prometheus.api("alerts")["alerts"]
                            if a["labels"]["alertname"] == "JinweiServiceDown"]

            prometheus.wait(quiet, "no JinweiServiceDown, pending or firing (every target up)",
                            90)
            print(f"\nPrometheus: {len(targets)} targets up ({', '.join(targets)}); "
                  f"{len(rules)} rules evaluated ok; JinweiDeadLetters firing for "
                  f"service={alert['labels']['service']} (immediate copy), real rule pending")
        finally:
            if prometheus is not None:
                prometheus.stop()
            if gateway is not None:
                gateway.__exit__(None, None, None)
            remove_marker(running.settings.amqp_uri, marker)


def remove_marker(amqp_uri: str, marker: str) -> None:
    """Take our message out of the dead-letter queue and leave any other where it was
    (unacknowledged ones go back when the channel closes)."""
    queue = dead_letter_queue("organizations")
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.channel()
        try:
            while (message := channel.basic_get(queue.name, no_ack=False)) is not None:
                body = message.body if isinstance(message.body, bytes) else message.body.encode()
                if marker.encode() in body:
                    channel.basic_ack(message.delivery_tag)
        finally:
            channel.close()

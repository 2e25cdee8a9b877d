"""k8s/: both overlays build (`kubectl kustomize`), every object validates offline —
built-in kinds with kubernetes-validate --strict against Kubernetes 1.30, the KEDA and
Prometheus-operator kinds against the small schemas in crd_schemas.py — and the
manifests hold what the issue asks (probes, limits, hardening, grace, scaling, policies,
monitoring), with no secret value in them."""

import copy

import pytest
import yaml

from shared.platform import config
from tests.ops.support import KUBERNETES_VERSION, REPO, run, tool

# Both come with kubernetes-validate (dev extras), not with the services.
jsonschema = pytest.importorskip(
    "jsonschema", reason="jsonschema is not installed: it comes with kubernetes-validate "
                         "(dev extras; bash deploy/install-ops-tools.sh installs it into .venv)")
from tests.ops import crd_schemas  # noqa: E402

PROCESSES = (*config.SERVICES, "gateway")
OVERLAYS = ("dev", "prod")
SECRET = "jinwei-secrets"


@pytest.fixture(scope="module", params=OVERLAYS)
def built(request):
    kubectl = tool("kubectl")
    result = run([kubectl, "kustomize", f"k8s/overlays/{request.param}"], timeout=120)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    return request.param, docs


@pytest.fixture(scope="module")
def kubernetes_validate():
    return pytest.importorskip(
        "kubernetes_validate",
        reason="kubernetes-validate is not installed (dev extras; "
               "bash deploy/install-ops-tools.sh installs it into .venv)")


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_every_object_validates(built, kubernetes_validate):
    overlay, docs = built
    validated, custom = [], []
    for doc in docs:
        key = (doc["apiVersion"], doc["kind"])
        if key in crd_schemas.SCHEMAS:
            jsonschema.validate(doc, crd_schemas.SCHEMAS[key])
            custom.append(doc["kind"])
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']}: {error}")
        validated.append(doc["kind"])
    for trigger in (t for d in docs if d["kind"] == "ScaledObject" for t in d["spec"]["triggers"]):
        assert trigger["type"] == "rabbitmq"
        jsonschema.validate(trigger["metadata"], crd_schemas.RABBITMQ_TRIGGER_METADATA)
    print(f"\n{overlay}: {len(validated)} objects valid for Kubernetes {KUBERNETES_VERSION} "
          f"(strict), {len(custom)} custom resources against crd_schemas.py")
    assert {"Deployment", "Service", "PodDisruptionBudget", "Job", "HorizontalPodAutoscaler",
            "Ingress", "NetworkPolicy", "ConfigMap", "ServiceAccount"} <= set(validated)
    assert {"ScaledObject", "TriggerAuthentication", "ServiceMonitor",
            "PrometheusRule", "User", "Permission", "TopicPermission"} <= set(custom)


def test_the_validators_do_refuse_mistakes(built, kubernetes_validate):
    _, docs = built
    deployment = copy.deepcopy(next(d for d in docs if d["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}  # typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    scaled = copy.deepcopy(next(d for d in docs if d["kind"] == "ScaledObject"))
    scaled["spec"]["maxReplicas"] = 3  # ScaledObject says maxReplicaCount
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, crd_schemas.SCALED_OBJECT)


def test_deployments_probes_resources_hardening_and_grace(built):
    _, docs = built
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == set(PROCESSES)
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        assert "replicas" not in spec, "KEDA or the HPA owns the replica count"
        pod = spec["template"]["spec"]
        (container,) = pod["containers"]
        port = config.DEFAULT_HTTP_PORTS[name]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert container["args"] == [name]
        assert container["startupProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        hardening = container["securityContext"]
        assert hardening["readOnlyRootFilesystem"] is True
        assert hardening["allowPrivilegeEscalation"] is False
        assert hardening["capabilities"] == {"drop": ["ALL"]}
        assert hardening["runAsNonRoot"] is True
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/tmp", "/var/lib/jinwei"} <= mounts
        env = {e["name"]: e for e in container["env"]}
        # its own broker account, nobody else's
        assert env["AMQP_URI"]["valueFrom"]["secretKeyRef"] == \
            {"name": SECRET, "key": f"{name}-amqp-uri"}
        grace = pod["terminationGracePeriodSeconds"]
        if name == "gateway":
            # gunicorn's graceful_timeout (30 s) after the preStop pause
            pause = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
            assert grace > 30 + pause
            assert env["PROMETHEUS_MULTIPROC_DIR"]["value"] in mounts
        else:
            # above the longest worker: an RPC (bounded by JINWEI_RPC_TIMEOUT for its
            # caller) or an import job; and above make run's stopwaitsecs (30 s)
            assert grace >= 60
            assert env[config.database_env_name(name)]["valueFrom"]["secretKeyRef"] == \
                {"name": SECRET, "key": f"{name}-database-url"}
            assert env["JINWEI_TOKEN_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == SECRET
        assert ("JINWEI_PERSONAL_DATA_KEY" in env) == (name == "cadres")


def test_no_secret_values_only_references(built):
    _, docs = built
    assert not by_kind(docs, "Secret"), "the operator creates jinwei-secrets"
    for doc in docs:
        text = yaml.safe_dump(doc)
        assert "amqp://" not in text and "postgresql://" not in text
    refs = [e["valueFrom"]["secretKeyRef"] for d in docs if d["kind"] in ("Deployment", "Job")
            for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])
            if "valueFrom" in e]
    assert refs and all(r["name"] == SECRET for r in refs)
    (config_map,) = by_kind(docs, "ConfigMap").values()
    assert config_map["data"]["JINWEI_HTTP_HOST"] == "0.0.0.0"
    assert not any("SECRET" in k or "KEY" in k for k in config_map["data"])


def test_services_pdbs_job_hpa_ingress(built):
    overlay, docs = built
    services, pdbs = by_kind(docs, "Service"), by_kind(docs, "PodDisruptionBudget")
    assert set(services) == set(pdbs) == set(PROCESSES)
    for name in PROCESSES:
        assert services[name]["spec"]["ports"][0]["targetPort"] == "http"
        assert pdbs[name]["spec"]["maxUnavailable"] == 1
    (job,) = by_kind(docs, "Job").values()
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["migrate"]
    assert {config.database_env_name(s) for s in config.SERVICES} <= \
        {e["name"] for e in container["env"]}
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    (hpa,) = by_kind(docs, "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"]["name"] == "gateway"
    (ingress,) = by_kind(docs, "Ingress").values()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway"
    assert ("tls" in ingress["spec"]) == (overlay == "prod")


def test_keda_scales_each_consumer_on_its_rpc_queue(built):
    overlay, docs = built
    scaled = by_kind(docs, "ScaledObject")
    assert set(scaled) == set(config.SERVICES)
    (auth,) = by_kind(docs, "TriggerAuthentication").values()
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "host", "name": SECRET,
                                                "key": "monitor-amqp-uri"}]
    for name, obj in scaled.items():
        assert obj["spec"]["scaleTargetRef"]["name"] == name
        (trigger,) = obj["spec"]["triggers"]
        assert trigger["metadata"]["queueName"] == f"rpc-{name}"
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
        assert obj["spec"]["minReplicaCount"] >= (1 if overlay == "dev" else 2)


def test_broker_accounts_are_the_ones_make_run_provisions(built):
    """User, Permission and TopicPermission objects carry exactly the least permissions
    shared.platform.broker.accounts gives each account (the same code provisions make run)."""
    from shared.platform.broker import topology
    from shared.platform.containers import service_class

    _, docs = built
    grants = topology.deployment_grants(config.DEFAULT_BROKER_ACCOUNT_PREFIX,
                                        config.DEFAULT_OPERATOR_ACCOUNT,
                                        [service_class(s) for s in config.SERVICES])
    users, permissions = by_kind(docs, "User"), by_kind(docs, "Permission")
    topics = {(d["spec"]["userReference"]["name"], d["spec"]["permissions"]["exchange"]):
              d["spec"]["permissions"] for d in docs if d["kind"] == "TopicPermission"}
    assert set(users) == set(permissions) == {g.account for g in grants} | {"jinwei-monitor"}
    monitor = permissions["jinwei-monitor"]["spec"]["permissions"]  # KEDA's: nothing at all
    assert set(monitor.values()) == {"^$"}
    for grant in grants:
        assert users[grant.account]["spec"]["importCredentialsSecret"]["name"] == \
            f"broker-{grant.account}"
        assert permissions[grant.account]["spec"]["permissions"] == {
            "configure": grant.configure, "write": grant.write, "read": grant.read}
        for topic in grant.topics:
            assert topics[(grant.account, topic.exchange)] == {
                "exchange": topic.exchange, "write": topic.write, "read": topic.read}
    gateway = permissions["jinwei-gateway"]["spec"]["permissions"]
    assert gateway["configure"] == gateway["read"] == "^$"


def test_network_policies(built):
    _, docs = built
    policies = by_kind(docs, "NetworkPolicy")
    deny = policies["jinwei-default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    egress_ports = {p["port"] for pol in policies.values()
                    for rule in pol["spec"].get("egress", []) for p in rule.get("ports", [])}
    assert {53, 5672, 5432} <= egress_ports
    scraped = {p["port"] for p in
               policies["jinwei-metrics-from-monitoring"]["spec"]["ingress"][0]["ports"]}
    assert scraped == set(config.DEFAULT_HTTP_PORTS.values())


def test_monitoring_uses_the_same_rules_as_compose(built):
    _, docs = built
    (rule,) = by_kind(docs, "PrometheusRule").values()
    groups = yaml.safe_load((REPO / "deploy/prometheus/rules/jinwei.yml").read_text())["groups"]
    assert rule["spec"]["groups"] == groups
    (monitor,) = by_kind(docs, "ServiceMonitor").values()
    wanted = monitor["spec"]["selector"]["matchLabels"]
    for service in by_kind(docs, "Service").values():
        assert wanted.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    assert endpoint["honorLabels"] is True
    assert {"action": "replace", "targetLabel": "job", "replacement": "jinwei"} in \
        endpoint["relabelings"]

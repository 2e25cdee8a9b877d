"""Small JSON schemas for the custom resources k8s/ uses, written here from the CRDs'
documented fields (KEDA 2.x keda.sh/v1alpha1; prometheus-operator monitoring.coreos.com/v1;
RabbitMQ's messaging-topology operator rabbitmq.com/v1beta1).

kubernetes-validate knows only the built-in kinds. These cover the fields our manifests
may set: an unknown or misspelt field, a missing required one or a wrong type fails, as
the API server's structural schema would refuse it. Fields of the CRDs that we do not
use are left out (so using one means adding it here, deliberately).
"""

from __future__ import annotations

STRING = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
STRING_MAP = {"type": "object", "additionalProperties": STRING}


def obj(properties: dict, required: tuple = ()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


def array(items: dict, min_items: int = 0) -> dict:
    return {"type": "array", "items": items, "minItems": min_items}


METADATA = obj({"name": STRING, "namespace": STRING, "labels": STRING_MAP,
                "annotations": STRING_MAP}, ("name",))


def resource(api_version: str, kind: str, spec: dict) -> dict:
    return obj({"apiVersion": {"const": api_version}, "kind": {"const": kind},
                "metadata": METADATA, "spec": spec}, ("apiVersion", "kind", "metadata", "spec"))


LABEL_SELECTOR = obj({
    "matchLabels": STRING_MAP,
    "matchExpressions": array(obj({"key": STRING, "operator": STRING,
                                   "values": array(STRING)}, ("key", "operator"))),
})

# -- KEDA --------------------------------------------------------------------------------
SCALED_OBJECT = resource("keda.sh/v1alpha1", "ScaledObject", obj({
    "scaleTargetRef": obj({"apiVersion": STRING, "kind": STRING, "name": STRING,
                           "envSourceContainerName": STRING}, ("name",)),
    "pollingInterval": INT,
    "cooldownPeriod": INT,
    "initialCooldownPeriod": INT,
    "idleReplicaCount": INT,
    "minReplicaCount": {"type": "integer", "minimum": 0},
    "maxReplicaCount": {"type": "integer", "minimum": 1},
    "fallback": obj({"failureThreshold": INT, "replicas": INT},
                    ("failureThreshold", "replicas")),
    "advanced": obj({"restoreToOriginalReplicaCount": BOOL,
                     "horizontalPodAutoscalerConfig": obj({"name": STRING,
                                                           "behavior": {"type": "object"}})}),
    "triggers": array(obj({
        "type": STRING,
        "name": STRING,
        "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
        "useCachedMetrics": BOOL,
        # every trigger's settings are strings (KEDA reads them as such)
        "metadata": STRING_MAP,
        "authenticationRef": obj({"name": STRING, "kind": {
            "enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]}}, ("name",)),
    }, ("type", "metadata")), min_items=1),
}, ("scaleTargetRef", "triggers")))

TRIGGER_AUTHENTICATION = resource("keda.sh/v1alpha1", "TriggerAuthentication", obj({
    "secretTargetRef": array(obj({"parameter": STRING, "name": STRING, "key": STRING},
                                 ("parameter", "name", "key"))),
    "env": array(obj({"parameter": STRING, "name": STRING, "containerName": STRING},
                     ("parameter", "name"))),
    "configMapTargetRef": array(obj({"parameter": STRING, "name": STRING, "key": STRING},
                                    ("parameter", "name", "key"))),
}))

# The rabbitmq scaler's metadata (KEDA docs, "RabbitMQ Queue" scaler).
RABBITMQ_TRIGGER_METADATA = obj({
    "protocol": {"enum": ["auto", "amqp", "http"]},
    "queueName": STRING,
    "mode": {"enum": ["QueueLength", "MessageRate"]},
    "value": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
    "activationValue": STRING,
    "host": STRING,
    "hostFromEnv": STRING,
    "vhostName": STRING,
    "useRegex": STRING,
    "excludeUnacknowledged": STRING,
    "timeout": STRING,
}, ("queueName", "mode", "value"))

# -- prometheus-operator -----------------------------------------------------------------
DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?"
                                         r"(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
RELABEL = obj({"action": {"enum": ["replace", "Replace", "keep", "Keep", "drop", "Drop",
                                   "hashmod", "HashMod", "labelmap", "LabelMap",
                                   "labeldrop", "LabelDrop", "labelkeep", "LabelKeep"]},
               "sourceLabels": array(STRING), "separator": STRING, "targetLabel": STRING,
               "regex": STRING, "modulus": INT, "replacement": STRING})

SERVICE_MONITOR = resource("monitoring.coreos.com/v1", "ServiceMonitor", obj({
    "selector": LABEL_SELECTOR,
    "namespaceSelector": obj({"any": BOOL, "matchNames": array(STRING)}),
    "jobLabel": STRING,
    "targetLabels": array(STRING),
    "podTargetLabels": array(STRING),
    "endpoints": array(obj({
        "port": STRING, "targetPort": {"type": ["string", "integer"]}, "path": STRING,
        "scheme": {"enum": ["http", "https"]}, "interval": DURATION,
        "scrapeTimeout": DURATION, "honorLabels": BOOL, "honorTimestamps": BOOL,
        "relabelings": array(RELABEL), "metricRelabelings": array(RELABEL),
    }), min_items=1),
}, ("selector", "endpoints")))

RULE = {
    "type": "object",
    "properties": {"alert": STRING, "record": STRING,
                   "expr": {"type": ["string", "integer"]}, "for": DURATION,
                   "keep_firing_for": DURATION, "labels": STRING_MAP,
                   "annotations": STRING_MAP},
    "required": ["expr"],
    "additionalProperties": False,
    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
}
PROMETHEUS_RULE = resource("monitoring.coreos.com/v1", "PrometheusRule", obj({
    "groups": array(obj({"name": STRING, "interval": DURATION, "limit": INT,
                         "partial_response_strategy": STRING,
                         "rules": array(RULE, min_items=1)}, ("name", "rules"))),
}))

# -- RabbitMQ messaging-topology operator (rabbitmq.com/v1beta1) --------------------------
CLUSTER_REFERENCE = obj({"name": STRING, "namespace": STRING}, ("name",))
USER = resource("rabbitmq.com/v1beta1", "User", obj({
    "tags": array({"enum": ["management", "policymaker", "monitoring", "administrator"]}),
    "rabbitmqClusterReference": CLUSTER_REFERENCE,
    "importCredentialsSecret": obj({"name": STRING}, ("name",)),
}, ("rabbitmqClusterReference",)))
PERMISSION = resource("rabbitmq.com/v1beta1", "Permission", obj({
    "vhost": STRING,
    "user": STRING,
    "userReference": obj({"name": STRING}, ("name",)),
    "permissions": obj({"configure": STRING, "write": STRING, "read": STRING}),
    "rabbitmqClusterReference": CLUSTER_REFERENCE,
}, ("vhost", "permissions", "rabbitmqClusterReference")))
TOPIC_PERMISSION = resource("rabbitmq.com/v1beta1", "TopicPermission", obj({
    "vhost": STRING,
    "user": STRING,
    "userReference": obj({"name": STRING}, ("name",)),
    "permissions": obj({"exchange": STRING, "write": STRING, "read": STRING}, ("exchange",)),
    "rabbitmqClusterReference": CLUSTER_REFERENCE,
}, ("vhost", "permissions", "rabbitmqClusterReference")))

SCHEMAS = {
    ("rabbitmq.com/v1beta1", "User"): USER,
    ("rabbitmq.com/v1beta1", "Permission"): PERMISSION,
    ("rabbitmq.com/v1beta1", "TopicPermission"): TOPIC_PERMISSION,
    ("keda.sh/v1alpha1", "ScaledObject"): SCALED_OBJECT,
    ("keda.sh/v1alpha1", "TriggerAuthentication"): TRIGGER_AUTHENTICATION,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
    ("monitoring.coreos.com/v1", "PrometheusRule"): PROMETHEUS_RULE,
}

"""docs/asyncapi.json: the AsyncAPI 3.0 document of every RPC method and event, generated
from shared/contracts. `make contract` rewrites it; a test fails when the checked-in file
differs from what the code generates, and when a service emits an event or serves a
method that has no schema here.

How the messages travel (nameko 2.14 conventions):
- an RPC request is published on the topic exchange `nameko-rpc` with routing key
  `<service>.<method>`, body `{"args": [], "kwargs": {...params}}`, `reply_to` set to
  `amq.rabbitmq.reply-to` (RabbitMQ's direct reply-to: the caller consumes that
  pseudo-queue on the publishing channel), a `correlation_id`, and the caller's context
  (its `auth_token`) in the headers as `nameko.auth_token`; the reply comes to that
  channel as `{"result": ..., "error": ...}`. Each caller's broker account may publish
  only the routing keys of the methods it was given;
- an event is published on the topic exchange `<source>.events` with the event type as
  routing key, by the source service's own broker account, whose name RabbitMQ puts in
  the AMQP `user_id` (consumers refuse any other); its body is the envelope (id, type,
  source, occurred_at, schema_version, actor) around the event's data.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from urllib.parse import unquote, urlsplit

from shared import contracts
from shared.contracts.json_schema import new_spec
from shared.contracts.roles import ROLES
from shared.errors import EXPECTED
from shared.platform import config

DOC_PATH = config.REPO_ROOT / "docs" / "asyncapi.json"
RPC_EXCHANGE = "nameko-rpc"
# The vhost `make run` provisions and every account uses (AMQP_URI names the real one).
VHOST = unquote(urlsplit(config.DEFAULT_AMQP_ADDRESS).path[1:]) or "/"


def build() -> dict:
    contracts.load_all()
    spec, converter = new_spec("jinwei", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "name modified": one schema used with modifiers
        ref = converter.resolve_nested_schema
        channels, operations, messages = {}, {}, {}
        public = set(contracts.services())  # not what a test registers for itself
        for (service, method), contract in contracts.RPC.items():
            if service not in public:
                continue
            name = f"{service}.{method}"
            messages[f"{name}.request"] = {
                "name": f"{name}.request", "title": f"{name} request",
                "summary": contract.summary.splitlines()[0],
                "correlationId": {"location": "$message.header#/correlation_id"},
                "payload": {"type": "object", "required": ["args", "kwargs"], "properties": {
                    "args": {"type": "array", "maxItems": 0},
                    "kwargs": ref(contract.params)}}}
            messages[f"{name}.reply"] = {
                "name": f"{name}.reply", "title": f"{name} reply",
                "correlationId": {"location": "$message.header#/correlation_id"},
                "payload": {"type": "object", "properties": {
                    "result": ref(contract.result),
                    "error": {"$ref": "#/components/schemas/RemoteError"}}}}
            channels[name] = {
                "address": name, "title": name,
                "messages": {"request": {"$ref": f"#/components/messages/{name}.request"}},
                "bindings": {"amqp": {"is": "routingKey", "exchange": {
                    "name": RPC_EXCHANGE, "type": "topic", "durable": True, "vhost": VHOST}}}}
            channels[f"{name}.reply"] = {
                "address": "amq.rabbitmq.reply-to",
                "title": f"the caller's direct reply-to (reply_to) for {name}",
                "messages": {"reply": {"$ref": f"#/components/messages/{name}.reply"}}}
            operations[name] = {
                "action": "send", "channel": {"$ref": f"#/channels/{name}"},
                "title": name, "summary": contract.summary.splitlines()[0],
                "description": f"{contract.summary}\n\nRole: {contract.role} "
                               f"({ROLES.get(contract.role, contract.role)}); "
                               f"{'a command (idempotent by request_id)' if contract.mutating else 'a query'}.",
                "messages": [{"$ref": f"#/channels/{name}/messages/request"}],
                "reply": {"channel": {"$ref": f"#/channels/{name}.reply"},
                          "address": {"location": "$message.header#/reply_to"},
                          "messages": [{"$ref": f"#/channels/{name}.reply/messages/reply"}]}}
        for (source, event_type), event in contracts.EVENTS.items():
            if source not in public:
                continue
            name = f"{source}.{event_type}"
            messages[name] = {
                "name": name, "title": event_type, "summary": event.summary.splitlines()[0],
                "payload": {"allOf": [{"$ref": "#/components/schemas/Envelope"}, {
                    "type": "object", "properties": {"type": {"const": event_type},
                                                     "source": {"const": source},
                                                     "data": ref(event.data)}}]}}
            channels[name] = {
                "address": event_type, "title": f"{event_type} from {source}",
                "messages": {"event": {"$ref": f"#/components/messages/{name}"}},
                "bindings": {"amqp": {"is": "routingKey", "exchange": {
                    "name": f"{source}.events", "type": "topic", "durable": True,
                    "vhost": VHOST}}}}
            operations[f"receive.{name}"] = {
                "action": "receive", "channel": {"$ref": f"#/channels/{name}"},
                "title": f"receive {event_type}", "summary": event.summary.splitlines()[0],
                "messages": [{"$ref": f"#/channels/{name}/messages/event"}]}
        ref(contracts.Envelope())
    schemas = spec.to_dict()["components"]["schemas"]
    schemas["RemoteError"] = {
        "type": ["object", "null"],
        "description": "nameko's serialized exception; exc_type is one of the typed errors",
        "properties": {"exc_type": {"type": "string",
                                    "enum": sorted(cls.__name__ for cls in EXPECTED)},
                       "exc_path": {"type": "string"}, "exc_args": {"type": "array"},
                       "value": {"type": "string"}}}
    schemas["Envelope"] = schemas.pop("contracts.Envelope")
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "晋位 Jinwei — RPC and events", "version": "1.0.0",
                 "description": __doc__.split("\n\n", 1)[1]},
        "defaultContentType": "application/json",
        "servers": {"broker": {"host": "rabbitmq:5672", "protocol": "amqp",
                               "pathname": f"/{VHOST}",
                               "description": "RabbitMQ; AMQP_URI names the real one"}},
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {"schemas": _json_schema(dict(sorted(schemas.items()))),
                       "messages": dict(sorted(messages.items()))},
    }


def _json_schema(value):
    """OpenAPI 3.0's `nullable` as JSON Schema's null type (AsyncAPI's schema format);
    refs re-pointed from OpenAPI's components to AsyncAPI's."""
    if isinstance(value, list):
        return [_json_schema(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _json_schema(v) for k, v in value.items()}
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "allOf" in out or "$ref" in out:
            inner = {k: out.pop(k) for k in ("allOf", "$ref") if k in out}
            out["oneOf"] = [inner, {"type": "null"}]
    return out


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/asyncapi.json from the contracts.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DOC_PATH.read_text() if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is stale: run `make contract`", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(text)
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every field of a result is in the answer, as /openapi.json says (`required`).

A service dumps its result through the contract's schema, which writes every field the
result has — and each of them has all (the integration tests and schemathesis check it).
What may lack one is a result stored before its schema gained a field: a command's first
result, given again to a repeat of its Idempotency-Key. Such a field is null here (the
document says which fields may be null), never missing: a generated client reads a
missing required field as an error.
"""

from __future__ import annotations

from marshmallow import Schema, fields

# schema id → [(key, nested schema or None)]; contract schemas live as long as the process.
_PLANS: dict[int, list[tuple[str, Schema | None]]] = {}


def complete(schema: Schema, value):
    """`value` (a dumped result, or a list of them) with every field of `schema`, absent
    ones null, nested results too. Changed in place; returned."""
    if isinstance(value, list):
        for item in value:
            complete(schema, item)
        return value
    if not isinstance(value, dict):
        return value
    for key, nested in _plan(schema):
        if key not in value:
            value[key] = None
        elif nested is not None and value[key] is not None:
            complete(nested, value[key])
    return value


def _plan(schema: Schema) -> list[tuple[str, Schema | None]]:
    plan = _PLANS.get(id(schema))
    if plan is None:
        plan = [(field.data_key or name, _nested(field))
                for name, field in schema.dump_fields.items()]
        _PLANS[id(schema)] = plan
    return plan


def _nested(field) -> Schema | None:
    if isinstance(field, fields.List):
        field = field.inner
    return field.schema if isinstance(field, fields.Nested) else None

"""marshmallow contract schemas as OpenAPI / JSON Schema objects (apispec), one way for
the gateway's OpenAPI document and the AsyncAPI document alike.

What apispec cannot know on its own:
- a field of shared/contracts/common.py may state its own schema (`json_schema()`):
  a decimal travels as text or a JSON number ("12.50": exact money, rates to four
  places), so it is `anyOf` a string whose pattern holds its bounds and a number;
- a marshmallow Decimal is documented the same way, its pattern made from its Range;
- a Range that excludes its bound ("more than zero") is `exclusiveMinimum`, or for an
  integer the next integer; a year "no later than next year" is a maximum computed on
  the day the document is made;
- a Dict whose keys are one of a few is an object of those optional properties and no
  other;
- a schema's own rule between its fields, where it can be stated (`oneOf`), is its
  class attribute `json_schema_extra`;
- schemas of different contract modules share class names (Place, Row…), so a component
  is named module.Class;
- a coded field of a result comes with its Chinese label (`kind` and `kind_label`, from
  `label_of`/`labels_of` of shared/contracts/common.py, or a lambda indexing a table):
  the code gets that table's codes as its `enum` (and `x-labels`), the label `type:
  string`;
- a result's fields are always in the answer (results_complete): every property
  `required`, those that may be null `nullable` (a nullable code: `anyOf` its enum).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from marshmallow import fields, validate

from shared.contracts.common import NotAfterNextYear, decimal_pattern, decimal_places

_NUMERIC_KEYS = ("type", "format", "pattern", "minimum", "maximum", "exclusiveMinimum",
                 "exclusiveMaximum", "x-minimum", "x-maximum")
DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"


def schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"


def _own_schema(self, field, ret, **kwargs) -> dict:
    """A field that knows its schema (shared/contracts/common.py) says it."""
    own = getattr(field, "json_schema", None)
    if own is None:
        return {}
    schema = own()
    if "anyOf" in schema:
        for key in _NUMERIC_KEYS:
            ret.pop(key, None)
    return schema


def _decimal_as_text(self, field, ret, **kwargs) -> dict:
    if not isinstance(field, fields.Decimal) or hasattr(field, "json_schema"):
        return {}
    low, high = _range_of(field)
    for key in _NUMERIC_KEYS:
        ret.pop(key, None)
    text = {"type": "string", "format": "decimal", "pattern": DECIMAL_TEXT}
    if low is None and high is None:  # a result: always text
        return text
    number: dict[str, Any] = {"type": "number"}
    if low is not None:
        number["minimum"] = float(low[0])
        if not low[1]:
            number["exclusiveMinimum"] = True
    if high is not None:
        number["maximum"] = float(high[0])
        if not high[1]:
            number["exclusiveMaximum"] = True
    if low is not None and high is not None and low[0] >= 0 and high[1] \
            and int(low[0]) != int(high[0]):
        text["pattern"] = decimal_pattern(low[0], high[0], exclusive_minimum=not low[1])
    places = None if field.places is None else decimal_places(field.places)
    return {"anyOf": [text, number], "x-decimal-places": places}


def _range_of(field):
    """The tightest (bound, inclusive) below and above, from the field's Range rules."""
    low = high = None
    for rule in field.validators:
        if not isinstance(rule, validate.Range):
            continue
        if rule.min is not None:
            candidate = (Decimal(str(rule.min)), rule.min_inclusive)
            if low is None or candidate[0] > low[0] or (candidate[0] == low[0] and not candidate[1]):
                low = candidate
        if rule.max is not None:
            candidate = (Decimal(str(rule.max)), rule.max_inclusive)
            if high is None or candidate[0] < high[0] or (candidate[0] == high[0] and not candidate[1]):
                high = candidate
    return low, high


def _exclusive_bounds(self, field, ret, **kwargs) -> dict:
    """apispec drops min_inclusive/max_inclusive: an excluded bound is stated here (as the
    next integer for an integer), and so is a year bounded by next year."""
    if not isinstance(field, fields.Integer | fields.Float) or isinstance(field, fields.Decimal):
        return {}
    out: dict[str, Any] = {}
    low, high = _range_of(field)
    integer = isinstance(field, fields.Integer)
    if low is not None and not low[1]:
        if integer:
            out["minimum"] = int(low[0]) + 1
        else:
            out["exclusiveMinimum"] = True
    if high is not None and not high[1]:
        if integer:
            out["maximum"] = int(high[0]) - 1
        else:
            out["exclusiveMaximum"] = True
    if any(isinstance(rule, NotAfterNextYear) for rule in field.validators):
        next_year = dt.date.today().year + 1
        out["maximum"] = min(out.get("maximum", ret.get("maximum", next_year)), next_year)
        out["description"] = _join(ret.get("description"), "this year or the next")
    return out


def _dict_of_known_keys(self, field, ret, **kwargs) -> dict:
    """{answer: count} where the answer is one of a few: those properties, no other."""
    if not isinstance(field, fields.Dict) or field.key_field is None:
        return {}
    choices = [rule.choices for rule in field.key_field.validators
               if isinstance(rule, validate.OneOf)]
    if not choices:
        return {}
    value = ret.pop("additionalProperties", {}) or {}
    return {"properties": {key: dict(value) for key in choices[0]},
            "additionalProperties": False}


def vocabulary(field) -> tuple[str, dict, bool] | None:
    """(the code field's name, {code: 中文标签}, whether it is a list) when `field` is the
    Chinese label of a sibling code field; else None.

    label_of / labels_of (shared/contracts/common.py) hold the table and the code's name
    in their closure. A lambda of its own is taken only where its answer is exactly the
    table's — `TABLE[obj["code"]]` — and a code outside the table fails the dump (so
    never reaches an answer); one that does more (`.get(...) or …`) is left alone."""
    if not isinstance(field, fields.Function) or not callable(field.serialize_func):
        return None
    func = field.serialize_func
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    if {"labels", "name"} <= set(code.co_freevars):
        cells = dict(zip(code.co_freevars, (c.cell_contents for c in func.__closure__),
                         strict=True))
        labels, name = cells["labels"], cells["name"]
        if not isinstance(labels, dict) or not isinstance(name, str):
            return None
        return name, labels, isinstance(func({}), list)
    return _indexed_vocabulary(field, func, code)


def _indexed_vocabulary(field, func, code):
    siblings = getattr(field.parent, "fields", {})
    names = [c for c in code.co_consts if isinstance(c, str) and c in siblings]
    if code.co_freevars or len(names) != 1 or not code.co_names:
        return None
    table = func.__globals__.get(code.co_names[0])
    for attribute in code.co_names[1:]:
        table = getattr(table, attribute, None)
    if not isinstance(table, dict) or not table:
        return None
    name = names[0]
    try:
        if any(func({name: key}) != label for key, label in table.items()):
            return None
        func({name: "\x00 not a code"})
    except KeyError:
        return name, table, False
    except Exception:  # noqa: BLE001 - anything else: not a plain table lookup
        return None
    return None  # a code outside the table still dumps: no enum can be promised


def _coded(self, field, ret, **kwargs) -> dict:
    """A label (type string, or a list of them) and the code it labels (its enum)."""
    own = vocabulary(field)
    if own is not None:
        name, _, many = own
        text = {"type": "string"}
        return {**({"type": "array", "items": text} if many else text),
                "description": _join(ret.get("description"), f"中文标签 of `{name}`")}
    for sibling in getattr(field.parent, "fields", {}).values():
        found = vocabulary(sibling) if sibling is not field else None
        if found is None or found[0] != field.name:
            continue
        _, labels, many = found
        codes = {"enum": list(labels), "x-labels": dict(labels)}
        if many and isinstance(ret.get("items"), dict):
            return {"items": {**ret["items"], **codes}}
        if not many and "enum" not in ret and ret.get("type") == "string":
            return codes
    return {}


def results_complete(document: dict, names) -> None:
    """The result components `names` as their answers are: every property `required`
    (the service dumps every field of its result schema, and the gateway adds any a
    stored first result lacks: services/gateway/results.py), those that may be null
    `nullable`. A nullable coded field is `anyOf` its enum and null: OpenAPI 3.0's
    `nullable` does not add null to an `enum`, and a client generator would otherwise
    make a code that may be absent an enum that cannot be."""
    schemas = document["components"]["schemas"]
    for name in names:
        target = schemas[name]
        properties = target.get("properties", {})
        if properties:
            target["required"] = list(properties)
        for prop in properties.values():
            if prop.get("nullable") and "enum" in prop:
                codes = [code for code in prop.pop("enum") if code is not None]
                prop["anyOf"] = [{"type": prop.pop("type", "string"), "enum": codes}]


def _join(first: str | None, second: str) -> str:
    return f"{first} ({second})" if first else second


class ContractPlugin(MarshmallowPlugin):
    """A contract schema may add what its fields cannot say alone — a rule between two
    fields, as `oneOf` — in a class attribute `json_schema_extra`."""

    # apispec's MarshmallowPlugin names its second argument `_`, its base BasePlugin
    # `definition`: no override can match both.
    def schema_helper(self, name, _, schema=None, **kwargs):  # type: ignore[override]
        out = super().schema_helper(name, _, schema=schema, **kwargs)
        extra = getattr(schema, "json_schema_extra", None)
        if out is not None and extra:
            out.update(extra)
        return out


def new_spec(title: str, version: str, **kwargs) -> tuple[APISpec, OpenAPIConverter]:
    """The spec, and the converter that turns its fields into schemas."""
    plugin = ContractPlugin(schema_name_resolver=schema_name)
    spec = APISpec(title=title, version=version, openapi_version="3.0.3", plugins=[plugin],
                   **kwargs)
    converter = plugin.converter
    assert converter is not None  # made when APISpec took the plugin (init_spec)
    for function in (_exclusive_bounds, _decimal_as_text, _own_schema, _dict_of_known_keys,
                     _coded):
        converter.add_attribute_function(function)
    return spec, converter

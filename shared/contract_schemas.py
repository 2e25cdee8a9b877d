"""marshmallow contract schemas as OpenAPI / JSON Schema objects (apispec), one way for
the gateway's OpenAPI document and the AsyncAPI document alike.

What apispec cannot know on its own:
- a Decimal travels as a string ("12.50": exact money, rates to four places), so it is
  documented as a string of format decimal, its bounds in words rather than as numeric
  minimum/maximum (which would not apply to a string);
- schemas of different contract modules share class names (Place, Row…), so a component
  is named module.Class.
"""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields


def schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"


def _decimal_as_text(self, field, ret, **kwargs) -> dict:
    if not isinstance(field, fields.Decimal):
        return {}
    bounds = [f"{word} {ret.pop(key)}" for key, word in (("minimum", "at least"),
                                                         ("maximum", "at most"))
              if key in ret]
    ret.pop("exclusiveMinimum", None)
    ret.pop("exclusiveMaximum", None)
    out = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
    if bounds:
        note = "a decimal number as text, " + " and ".join(bounds)
        out["description"] = f"{ret['description']} ({note})" if ret.get("description") else note
    return out


def new_spec(title: str, version: str, **kwargs) -> tuple[APISpec, MarshmallowPlugin]:
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    spec = APISpec(title=title, version=version, openapi_version="3.0.3", plugins=[plugin],
                   **kwargs)
    plugin.converter.add_attribute_function(_decimal_as_text)
    return spec, plugin

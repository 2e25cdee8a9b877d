"""Fields and schemas every service contract uses."""

from __future__ import annotations

import base64
import datetime as dt
import json

from marshmallow import ValidationError, fields, validate

from shared import regions


class PlaceCode(fields.String):
    """A 12-digit statistical division code (统计用区划代码), checked for form."""

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        try:
            regions.parse(code)
        except regions.RegionCodeError as exc:
            raise ValidationError(str(exc)) from None
        return code


class Enum(fields.String):
    """A stable English code from a {code: 中文标签} table; dumps the code."""

    def __init__(self, labels: dict[str, str], **kwargs):
        self.labels = labels
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("x-labels", dict(labels))  # OpenAPI: enum codes
        # come from OneOf; x-labels gives their Chinese labels
        super().__init__(validate=validate.OneOf(list(labels)), **kwargs)


def label_of(labels: dict[str, str]):
    """A dump-only field giving the Chinese label of the enum field `name`."""

    def field(name: str):
        return fields.Function(lambda obj: labels.get(_get(obj, name)), dump_only=True)

    return field


def labels_of(labels: dict[str, str]):
    """A dump-only field giving the Chinese labels of the list of enum codes `name`."""

    def field(name: str):
        return fields.Function(lambda obj: [labels.get(code) for code in _get(obj, name) or ()],
                               dump_only=True)

    return field


def _get(obj, name):
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def text(maximum: int = 200, **kw):
    """A required-looking string: 1..maximum characters, not all blank (a blank name
    would pass a length check and be stripped to nothing further on)."""
    return fields.String(validate=[validate.Length(min=1, max=maximum),
                                   validate.Regexp(r"\S", error="must not be blank")], **kw)


class PastDate(fields.Date):
    """A date that has already happened (no founding or appointment in the future)."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if day > dt.date.today():
            raise ValidationError("must not be in the future (不能晚于今天)")
        return day


def request_id_field():
    return fields.String(
        load_default=None,
        validate=validate.Length(min=8, max=100),
        metadata={"description": "caller-chosen id (a UUID); a repeat returns the first "
                                 "result instead of doing the work twice"},
    )


class Cursor(fields.String):
    """An opaque keyset cursor: the sort key of the last row of the previous page, of the
    listing's own shape (most sort by a code or a date, then the id)."""

    def __init__(self, shape: tuple[type, ...] = (str, int), **kwargs):
        self.shape = shape
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            key = json.loads(base64.urlsafe_b64decode(text.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            key = None
        if not (isinstance(key, list) and len(key) == len(self.shape)
                and all(type(part) is kind for part, kind in zip(key, self.shape, strict=True))):
            raise ValidationError("not a cursor of this listing")
        return key


def encode_cursor(key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def page_fields(default: int = 50, maximum: int = 500, shape=(str, int)) -> dict:
    return {
        "limit": fields.Integer(load_default=default, validate=validate.Range(1, maximum)),
        "after": Cursor(shape, load_default=None,
                        metadata={"description": "next_cursor of the previous page"}),
    }


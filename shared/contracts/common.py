"""Fields and schemas every service contract uses.

Each field here states in its own OpenAPI / JSON Schema (shared/contracts/json_schema.py)
exactly what it accepts: a pattern the loader checks with the same regular expression,
or — for what no JSON Schema can say (a check character, a date relative to today) — a
named `format`, listed in docs/gateway.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import NoReturn, overload

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from shared.national import credit_code as credit_codes
from shared.national import identity_number as identity_numbers
from shared.national import regions


# -- patterns both Python and JSON Schema (ECMA 262) read alike -------------------------
class Pattern(validate.Regexp):
    """A regular expression with JSON Schema's meaning: searched anywhere in the value,
    `$` only at its very end (Python's would also match before a final newline), \\d
    and \\w ASCII only. The OpenAPI document carries the expression as `pattern`
    (apispec reads it from `regex`)."""

    regex: re.Pattern[str]  # compiled from text, never bytes

    def __init__(self, regex: str, error: str | None = None):
        super().__init__(regex, error=error)
        python = regex[:-1] + r"\Z" if regex.endswith("$") and not regex.endswith(r"\$") \
            else regex
        self._search = re.compile(python, re.ASCII).search

    # Only text can match: bytes, which Regexp also takes, fail like any other non-text.
    @overload
    def __call__(self, value: str) -> str: ...
    @overload
    def __call__(self, value: bytes) -> NoReturn: ...
    def __call__(self, value: str | bytes) -> str:
        if not isinstance(value, str) or self._search(value) is None:
            raise ValidationError(self._format_error(value))
        return value


# A month, YYYY-MM.
PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

# What str.strip() removes (str.isspace): a value of only these is blank.
_SPACE = (r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029"
          r"\u202f\u205f\u3000")
NOT_BLANK = f"[^{_SPACE}]"


def decimal_places(number: Decimal) -> int:
    """The decimal places of a finite number as written: 2 for Decimal("0.01"), a
    field's `places`."""
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):  # "n", "N", "F": not a number, or infinite
        raise ValueError(f"{number} has no decimal places")
    return -exponent


def decimal_pattern(minimum: Decimal | int, maximum: Decimal | int, places: int | None = None, *,
                    exclusive_minimum: bool = False, plus: bool = False) -> str:
    """The regular expression of the decimal numbers in [minimum, maximum] (or
    (minimum, maximum]) written as text: ASCII digits, leading zeros allowed, a point and
    at most `places` decimals (None: any number of them), no exponent, no sign but an
    optional "+" where `plus`. Both bounds non-negative, with at most `places` decimals."""
    minimum, maximum = Decimal(minimum), Decimal(maximum)
    if not 0 <= minimum <= maximum:
        raise ValueError("decimal_pattern takes 0 <= minimum <= maximum")
    low_int, low_frac = _split(minimum)
    high_int, high_frac = _split(maximum)
    if low_int == high_int:
        raise ValueError("decimal_pattern needs the bounds in different integers")
    every = _fraction_any(places)
    segments = []  # (first integer, last integer, fraction regex)
    if exclusive_minimum:
        segments.append((low_int, low_int, _fraction_above(low_frac, places)))
    elif low_frac:
        segments.append((low_int, low_int, _fraction_from(low_frac, places)))
    else:
        segments.append((low_int, low_int, every))
    if low_int + 1 <= high_int - 1:
        segments.append((low_int + 1, high_int - 1, every))
    top = _fraction_up_to(high_frac, places)
    segments.append((high_int, high_int, every if top == every else top))
    merged: list[list] = []
    for first, last, fraction in segments:
        if merged and merged[-1][2] == fraction and merged[-1][1] + 1 == first:
            merged[-1][1] = last
        else:
            merged.append([first, last, fraction])
    alternatives = [f"{_group(_integer_range(first, last))}{fraction}"
                    for first, last, fraction in merged]
    sign = r"\+?" if plus else ""
    return f"^{sign}0*{_group(alternatives)}$"


def _split(number: Decimal) -> tuple[int, str]:
    whole = int(number)
    fraction = format(number - whole, "f").partition(".")[2].rstrip("0")
    return whole, fraction


def _group(alternatives: list[str]) -> str:
    return alternatives[0] if len(alternatives) == 1 and "|" not in alternatives[0] \
        else "(" + "|".join(alternatives) + ")"


def _digits(count: int | None) -> str:
    """Up to `count` more digits (None: any number)."""
    if count is None:
        return "[0-9]*"
    return "" if count <= 0 else f"[0-9]{{0,{count}}}"


def _left(places: int | None, used: int) -> int | None:
    return None if places is None else places - used


def _fraction_any(places: int | None) -> str:
    return r"(\.[0-9]+)?" if places is None else rf"(\.[0-9]{{1,{places}}})?"


def _fraction_from(digits: str, places: int | None) -> str:
    """A fraction ≥ 0.<digits> (digits: no trailing zero), so a point is needed."""
    options = [f"{digits[:k]}[{int(digits[k]) + 1}-9]{_digits(_left(places, k + 1))}"
               for k in range(len(digits)) if digits[k] != "9"]
    options.append(digits + _digits(_left(places, len(digits))))
    return rf"\.{_group(options)}"


def _fraction_above(digits: str, places: int | None) -> str:
    """A fraction > 0.<digits>."""
    options = [f"{digits[:k]}[{int(digits[k]) + 1}-9]{_digits(_left(places, k + 1))}"
               for k in range(len(digits)) if digits[k] != "9"]
    free = _left(places, len(digits))
    if free is None:
        options.append(f"{digits}0*[1-9][0-9]*")
    else:
        options += [f"{digits}{'0' * j}[1-9]{_digits(free - j - 1)}" for j in range(free)]
    if not options:
        raise ValueError("no fraction is above that")
    return rf"\.{_group(options)}"


def _fraction_up_to(digits: str, places: int | None) -> str:
    """A fraction ≤ 0.<digits>, or none at all."""
    if places is not None and digits == "9" * places:
        return _fraction_any(places)
    zeros = "0*" if places is None else f"0{{0,{places - len(digits)}}}"
    options = [f"{digits[:k]}[0-{int(digits[k]) - 1}]{_digits(_left(places, k + 1))}"
               for k in range(len(digits)) if digits[k] != "0"]
    options += [digits[:k] for k in range(1, len(digits))]
    options.append(digits + zeros if digits else
                   ("0+" if places is None else f"0{{1,{places}}}"))
    return rf"(\.{_group(options)})?"


def _integer_range(first: int, last: int) -> list[str]:
    """Alternatives matching the integers first..last written without leading zeros
    (0..99 is [0-9]{1,2}: a leading zero is taken anyway)."""
    width = len(str(last))
    if last == 10 ** width - 1 and first in (0, 1):
        return [f"[0-9]{{1,{width}}}" if first == 0 else f"[1-9][0-9]{{0,{width - 1}}}"]
    out = []
    for length in range(len(str(first)), len(str(last)) + 1):
        low = max(first, 10 ** (length - 1) if length > 1 else 0)
        high = min(last, 10 ** length - 1)
        if low <= high:
            out += _same_length(str(low), str(high))
    return out


def _same_length(low: str, high: str) -> list[str]:
    if low == high:
        return [low]
    rest = len(low) - 1
    tail = f"[0-9]{{{rest}}}" if rest > 1 else "[0-9]" * rest
    if low[1:] == "0" * rest and high[1:] == "9" * rest:
        return [_digit_class(low[0], high[0]) + tail]
    if low[0] == high[0]:
        return [low[0] + part for part in _same_length(low[1:], high[1:])]
    # The first digit's values whose rest may be anything, and the two ends' own rest.
    first = int(low[0]) + (low[1:] != "0" * rest)
    last = int(high[0]) - (high[1:] != "9" * rest)
    out = []
    if low[1:] != "0" * rest:
        out += [low[0] + part for part in _same_length(low[1:], "9" * rest)]
    if first <= last:
        out.append(_digit_class(str(first), str(last)) + tail)
    if high[1:] != "9" * rest:
        out += [high[0] + part for part in _same_length("0" * rest, high[1:])]
    return out


def _digit_class(low: str, high: str) -> str:
    return low if low == high else f"[{low}-{high}]"


# 统计用区划代码 as regions.parse takes them: province 11–82; then the levels' blocks, each
# non-zero down to the place's level and zero below it; a township's or village's own
# block in the ranges of its kinds (shared/national/regions.py).
_PROVINCE = "(1[1-9]|[2-7][0-9]|8[0-2])"
_NONZERO2 = "(0[1-9]|[1-9][0-9])"
_NONZERO3 = "(00[1-9]|0[1-9][0-9]|[1-9][0-9][0-9])"


def _block_kinds(level: str) -> dict[str, list[tuple[int, int]]]:
    """The ranges of a township's or village's own block, by kind, as regions.parse
    tells them apart."""
    prefix = "330102" if level == "township" else "330102001"
    ranges: dict[str, list[tuple[int, int]]] = {}
    for value in range(1, 1000):
        code = (prefix + f"{value:03d}").ljust(12, "0")
        try:
            kind = regions.parse(code).kind
        except regions.RegionCodeError:
            continue
        spans = ranges.setdefault(kind, [])
        if spans and spans[-1][1] == value - 1:
            spans[-1] = (spans[-1][0], value)
        else:
            spans.append((value, value))
    return ranges


_KINDS_BY_LEVEL = {level: _block_kinds(level) for level in ("township", "village")}


def place_code_pattern(levels=regions.LEVELS, kinds=None) -> str:
    """The pattern of the place codes of these levels (and, for townships and villages,
    of these kinds only, when given)."""
    alternatives = []
    for level in levels:
        if kinds is not None and level in ("province", "city", "county") and level not in kinds:
            continue
        if level == "province":
            alternatives.append("0{10}")
        elif level == "city":
            alternatives.append(f"{_NONZERO2}0{{8}}")
        elif level == "county":
            alternatives.append(f"{_NONZERO2}{_NONZERO2}0{{6}}")
        else:
            own: list[list[int]] = []
            for low, high in sorted(span for kind, spans in _KINDS_BY_LEVEL[level].items()
                                    if kinds is None or kind in kinds for span in spans):
                if own and own[-1][1] + 1 == low:
                    own[-1][1] = high
                else:
                    own.append([low, high])
            if not own:
                continue
            block = _group([part for low, high in own
                            for part in _same_length(f"{low:03d}", f"{high:03d}")])
            alternatives.append(f"{_NONZERO2}{_NONZERO2}{block}000" if level == "township"
                                else f"{_NONZERO2}{_NONZERO2}{_NONZERO3}{block}")
    return f"^{_PROVINCE}{_group(alternatives)}$"


PLACE_CODE_PATTERN = place_code_pattern()


class PlaceCode(fields.String):
    """A 12-digit statistical division code (统计用区划代码), checked for form; where
    `levels` or `kinds` are given, only a place of those (a township, a village)."""

    def __init__(self, *, levels: tuple[str, ...] | None = None,
                 kinds: tuple[str, ...] | None = None, **kwargs):
        if kinds and not levels:
            levels = tuple(dict.fromkeys(regions.KIND_LEVELS[kind] for kind in kinds))
        self.levels, self.kinds = levels, kinds
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("pattern", place_code_pattern(levels or regions.LEVELS, kinds))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        try:
            place = regions.parse(code)
        except regions.RegionCodeError as exc:
            raise ValidationError(str(exc)) from None
        if self.levels and place.level not in self.levels:
            raise ValidationError("must be a " + " or ".join(
                f"{level} ({regions.LEVEL_LABELS[level]})" for level in self.levels))
        if self.kinds and place.kind not in self.kinds:
            raise ValidationError("must be a " + " or ".join(
                f"{kind} ({regions.KINDS[kind]})" for kind in self.kinds))
        return code


class DecimalNumber(fields.Decimal):
    """A decimal number in [minimum, maximum]: a JSON number, or text (plain ASCII digits
    and a point: no exponent, sign or spaces). More than `places` decimals are rounded
    (half to even) after the bounds are checked on the value as given; dumped as text."""

    places: Decimal  # always given, so never marshmallow's None

    def __init__(self, places: int, *, minimum, maximum, **kwargs):
        self.minimum, self.maximum = Decimal(minimum), Decimal(maximum)
        self.pattern = decimal_pattern(self.minimum, self.maximum)
        self._text = Pattern(self.pattern)
        super().__init__(places=places, as_string=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if self._text._search(value) is None:
                raise ValidationError(f"not a decimal number from {self.minimum} to "
                                      f"{self.maximum} (digits and a point, e.g. "
                                      f"\"{self.maximum}\")")
            number = Decimal(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise self.make_error("invalid") from None
            if not number.is_finite():
                raise self.make_error("special")
            if not self.minimum <= number <= self.maximum:
                raise ValidationError(f"must be from {self.minimum} to {self.maximum}")
        else:
            raise self.make_error("invalid")
        return number.quantize(self.places)

    def json_schema(self) -> dict:
        return {"anyOf": [
            {"type": "string", "format": "decimal", "pattern": self.pattern},
            {"type": "number", "minimum": float(self.minimum), "maximum": float(self.maximum)},
        ], "x-decimal-places": decimal_places(self.places)}


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
                                   Pattern(NOT_BLANK, error="must not be blank")], **kw)


class PastDate(fields.Date):
    """A date that has already happened (no founding or appointment in the future).
    OpenAPI: format `past-date`."""

    def __init__(self, **kwargs):
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("format", "past-date")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if day > dt.date.today():
            raise ValidationError("must not be in the future (不能晚于今天)")
        return day


class FutureDate(fields.Date):
    """A deadline: today or later (a task is not created already overdue). OpenAPI:
    format `future-date`."""

    def __init__(self, **kwargs):
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("format", "future-date")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if day < dt.date.today():
            raise ValidationError("a deadline cannot be in the past (完成时限不能早于今天)")
        return day


class NotAfterNextYear(validate.Validator):
    """A year no later than next year (the OpenAPI document's maximum is computed on the
    day it is served)."""

    error = "a batch is designated for this year or the next"

    def __call__(self, value):
        if value > dt.date.today().year + 1:
            raise ValidationError(self.error)
        return value


class CreditCode(fields.String):
    """A unified social credit code, check character and all (GB 32100). OpenAPI: format
    `credit-code`."""

    def __init__(self, **kwargs):
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("format", "credit-code")
        metadata.setdefault("description", "统一社会信用代码: 18 characters, its check character "
                                           "right (GB 32100)")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        problem = credit_codes.problem(code)
        if problem:
            raise ValidationError(problem)
        return code


class IdentityNumber(fields.String):
    """A citizen identity number (GB 11643): 18 characters, a real birth date, the check
    character; a small x is taken as X. Errors never repeat it. OpenAPI: format
    `identity-number`."""

    def __init__(self, **kwargs):
        metadata = kwargs.setdefault("metadata", {})
        metadata.update(personal=True)
        metadata.setdefault("format", "identity-number")
        metadata.setdefault("description", "公民身份号码, 18 characters; whole in results "
                                           "only for cadres.personal_data")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        number = identity_numbers.normalize(super()._deserialize(value, attr, data, **kwargs))
        problem = identity_numbers.problem(number)
        if problem:
            raise ValidationError(problem)
        return number


class RenamedParameters(Schema):
    """A schema some of whose parameters were renamed: `RENAMED = {old: new}`, and for
    each old name a field made by `renamed_to(new, ...)`, so that the documents list it,
    marked deprecated (`deprecated: true` in OpenAPI). The old name is still taken for one
    release: its value is loaded as the new name's; both names at once is a
    ValidationError."""

    RENAMED: dict[str, str] = {}

    @pre_load
    def _old_names(self, data, **kwargs):
        if not isinstance(data, dict) or not self.RENAMED.keys() & data.keys():
            return data
        data = dict(data)
        for old, new in self.RENAMED.items():
            if old in data:
                if new in data:
                    raise ValidationError({old: [f"the deprecated name of {new}: give {new} "
                                                 "only"]})
                data[new] = data.pop(old)
        return data


def renamed_to(new: str, field_class, **kwargs):
    """The field of a parameter's old name (see RenamedParameters)."""
    metadata = kwargs.setdefault("metadata", {})
    metadata.update({"deprecated": True, "x-renamed-to": new,
                     "description": f"the old name of `{new}`, taken until the next "
                                    f"release; give `{new}`"})
    return field_class(**kwargs)


def request_id_field():
    return fields.String(
        load_default=None,
        validate=validate.Length(min=8, max=100),
        metadata={"description": "caller-chosen id (a UUID); a repeat returns the first "
                                 "result instead of doing the work twice"},
    )


# A sort key's parts, by type, as they may be stored: text PostgreSQL can hold, a bigint,
# a date (ISO text in the cursor), bytes (hex text in the cursor).
_KEY_PARTS = {str: "str", int: "int", dt.date: "date", bytes: "hex"}
_BIGINT = 2 ** 63
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_HEX = re.compile(r"(?:[0-9a-f]{2})*", re.ASCII)


class Cursor(fields.String):
    """An opaque keyset cursor: the sort key of the last row of the previous page, of the
    listing's own shape (most sort by a code or a date, then the id); loaded as that key,
    its parts of the shape's types. OpenAPI: format `cursor-<shape>` (e.g.
    `cursor-str-int`): the next_cursor a page of a listing with that sort key returned."""

    def __init__(self, shape: tuple[type, ...] = (str, int), **kwargs):
        self.shape = shape
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("format", cursor_format(shape))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            key = json.loads(base64.urlsafe_b64decode(text.encode("ascii")).decode())
        except (ValueError, UnicodeError, binascii.Error):
            key = None
        if isinstance(key, list) and len(key) == len(self.shape):
            parts = [_key_part(part, kind) for part, kind in zip(key, self.shape, strict=True)]
            if all(part is not None for part in parts):
                return parts
        raise ValidationError("not a cursor of this listing")


def cursor_format(shape: tuple[type, ...]) -> str:
    return "cursor-" + "-".join(_KEY_PARTS[kind] for kind in shape)


def _key_part(part, kind):
    """The part as the listing sorts by it, or None when it is not one."""
    if kind is str and type(part) is str:
        return part if not unstorable_text(part) else None
    if kind is int and type(part) is int:
        return part if -_BIGINT <= part < _BIGINT else None
    if kind is dt.date and type(part) is str and _ISO_DATE.fullmatch(part):
        try:
            return dt.date.fromisoformat(part)
        except ValueError:
            return None
    if kind is bytes and type(part) is str and _HEX.fullmatch(part):
        return bytes.fromhex(part)
    return None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class StrictBoolean(fields.Boolean):
    """JSON's true or false, as the OpenAPI document says: marshmallow's Boolean also
    takes 1, 0, "yes", "on" and other spellings of one (and truthy={True} would not
    help: 1 == True)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def unstorable_text(text: str) -> bool:
    """PostgreSQL text cannot hold NUL, nor UTF-8 a lone surrogate ("\ud800" is valid
    JSON)."""
    return "\x00" in text or _LONE_SURROGATE.search(text) is not None


def encode_cursor(key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def page_fields(default: int = 50, maximum: int = 500, shape=(str, int)) -> dict:
    return {
        "limit": fields.Integer(load_default=default, validate=validate.Range(1, maximum)),
        "after": Cursor(shape, load_default=None,
                        metadata={"description": "next_cursor of the previous page"}),
    }

"""Cell converters: a spreadsheet cell as staff fill it in → the value an RPC parameter takes,
and back (`write_*`, for templates, samples and tests).

A converter takes the cell value (what openpyxl reads: str, int, float, bool, datetime, …)
and the column, and returns a JSON-safe value. What it cannot convert it returns as given
(a string, a number), so that the service's own validation reports the row. Only what no
service could find out raises `CellProblem`: a code typed into a number cell that Excel
cut to 15 digits (the file has to be corrected).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation


class CellProblem(Exception):
    """The cell cannot be taken: the file must be corrected (`message` says how)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# Excel keeps 15 significant digits of a number: a longer one has lost its last digits.
EXCEL_DIGITS = 15


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _plain(value):
    """A value no converter understood, made JSON-safe (dates and times as ISO text)."""
    if isinstance(value, dt.datetime):
        return (value.date() if value.time() == dt.time() else value).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    return value


def _integral_text(value: float) -> str | None:
    return str(int(value)) if value == value and value.is_integer() else None


# -- to values -------------------------------------------------------------------------
def text(value, column=None):
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return _integral_text(value) or repr(value)
    if isinstance(value, int):
        return str(value)
    return _plain(value)


def code(value, column=None):
    """A code kept as text (identity number, credit code, place code): a number cell
    converts without float noise; one of more than 15 digits has lost its last ones."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if abs(value) >= 10 ** EXCEL_DIGITS:
            raise CellProblem("数字格式的单元格只保留15位有效数字，末尾几位已丢失，请将该列设为"
                              "文本格式后重新填写 (a number cell lost its last digits: format "
                              "the column as text and type it again)")
        return _integral_text(value) or value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))
    return _plain(value)


def integer(value, column=None):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        digits = unicodedata.normalize("NFKC", value).strip().replace(",", "")
        if re.fullmatch(r"[+-]?\d+(\.0*)?", digits):
            return int(digits.split(".")[0])
    return _plain(value)


def decimal(value, column=None):
    """A share or figure, as the decimal string the contract's Decimal fields take;
    "35%" is 0.35."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        number = unicodedata.normalize("NFKC", value).strip().replace(",", "")
        try:
            if number.endswith("%"):
                return format((Decimal(number[:-1].strip()) / 100).normalize(), "f")
            Decimal(number)
        except InvalidOperation:
            return value.strip()
        return number
    return _plain(value)


_TRUE = {"是", "true", "1", "yes", "y", "√", "✓", "真"}
_FALSE = {"否", "false", "0", "no", "n", "×", "✗", "假"}


def boolean(value, column=None):
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = unicodedata.normalize("NFKC", value).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return _plain(value)


def enum(value, column):
    """The code of a Chinese label or of the code itself, from the contract's table."""
    labels = column.labels
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return _plain(value)
    word = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))
    if word in labels:
        return word
    for code_, label in labels.items():
        if word == re.sub(r"\s+", "", unicodedata.normalize("NFKC", label)):
            return code_
    for code_ in labels:
        if word.lower() == code_.lower():
            return code_
    return value.strip()


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def date(value, column=None):
    """Date cells and "2020-05-01", "2020/5/1", "2020年5月1日", "2020.5.1", "20200501"."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and 10000101 <= value <= 99991231:
        value = str(value)
    if isinstance(value, str):
        word = unicodedata.normalize("NFKC", value).strip()
        match = _DATE.fullmatch(word) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", word)
        if match:
            try:
                return dt.date(*map(int, match.groups())).isoformat()
            except ValueError:
                pass
        return value.strip()
    return _plain(value)


_SEPARATORS = re.compile(r"[、，,;；\n]")


def text_list(value, column=None):
    """联合单位 and the like: split on 、，,;； and new lines."""
    if isinstance(value, str):
        return [part.strip() for part in _SEPARATORS.split(value) if part.strip()]
    return [text(value)]


_MONTH = r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*月?"
_CV_LINE = re.compile(rf"{_MONTH}\s*[-—–~～至到]+\s*(?:{_MONTH}|至今|今)?\s*(.+)")


def cv(value, column=None):
    """简历, one period a line: "2010.09-2014.06 某某大学学生", "2014.07-至今 某村主任"."""
    if not isinstance(value, str):
        return _plain(value)
    entries = []
    for line in (line.strip() for line in value.splitlines()):
        match = _CV_LINE.fullmatch(unicodedata.normalize("NFKC", line)) if line else None
        if line and not match:
            return value.strip()  # the service reports a 简历 that is not a list
        if match:
            y1, m1, y2, m2, what = match.groups()
            entries.append({"start": f"{y1}-{int(m1):02d}",
                            "end": f"{y2}-{int(m2):02d}" if y2 else None,
                            "unit_and_post": what.strip()})
    return entries


# -- back to cells ---------------------------------------------------------------------
def write_value(convert, value, column, *, labels: bool = True):
    """The cell for a parameter value: the inverse of `convert`."""
    if value is None:
        return None
    if convert is enum:
        return column.labels.get(value, value) if labels else value
    if convert is date and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    if convert is boolean and isinstance(value, bool):
        return "是" if value else "否"
    if convert is text_list and isinstance(value, list | tuple):
        return "、".join(map(str, value))
    if convert is decimal and isinstance(value, str | Decimal):
        try:
            return float(value)
        except ValueError:
            return value
    if convert is cv and isinstance(value, list | tuple):
        return "\n".join(_cv_line(entry) for entry in value)
    return value


def _cv_line(entry: dict) -> str:
    def month(text_):
        return text_.replace("-", ".") if text_ else "至今"

    return f"{month(entry['start'])}-{month(entry.get('end'))} {entry['unit_and_post']}"


DESCRIPTIONS = {
    text: "文字",
    code: "文字（请将单元格设为文本格式，以免长数字丢失末位）",
    integer: "整数",
    decimal: "小数或百分数，如 0.35 或 35%",
    boolean: "是 / 否",
    enum: "从可选值中选填（填代码亦可）",
    date: "日期，如 2020-05-01、2020/5/1、2020年5月1日、2020.5.1",
    text_list: "多个用“、”分隔",
    cv: "每行一段：起止年月 单位及职务，如 2010.09-2014.06 某某大学学生；至今的写“至今”",
}

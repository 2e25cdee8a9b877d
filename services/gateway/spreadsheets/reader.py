"""Reading a workbook fast: the cell values of each row present in a sheet's XML.

openpyxl reads the package (the sheets, the shared strings, which cell styles are dates,
the date epoch); the cells are read here straight from the sheet's XML. openpyxl's own
read-only rows are three to four times slower: they build a rich-text object for each
inline string, and opening a workbook parses every sheet without a recorded dimension
(as openpyxl writes them) through to the end. Values are those of openpyxl's values_only
rows with data_only (a formula's cached value).

Everything is bounded while it is read (`SheetLimits`): the package's parts by their
declared uncompressed sizes (zipfile never inflates a part past it), the shared strings
by count and length, the cells by column and length, the rows by the import's limit —
reading stops at the first limit crossed, with a TooLarge naming it. XML entity
expansion is bounded by expat (2.4+) itself.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import iterparse
from zipfile import ZipFile

from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

from shared.errors import TooLarge

_NAMESPACES = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main",
               "http://purl.oclc.org/ooxml/spreadsheetml/main")  # transitional, strict
_COLUMN = re.compile(r"[A-Z]+")
MAX_COLUMNS = 16_384  # A … XFD
MiB = 1024 * 1024


@dataclass(frozen=True)
class SheetLimits:
    rows: int = 20_000  # data rows: an import takes no more (contracts.imports.MAX_ROWS)
    columns: int = 256
    cell_chars: int = 32_767  # Excel's own limit for a cell
    shared_strings: int = 1_000_000
    sheet_bytes: int = 64 * MiB  # a worksheet's XML, uncompressed
    part_bytes: int = 32 * MiB  # any other part (shared strings, styles, workbook)
    package_bytes: int = 128 * MiB  # every part together
    parts: int = 1000

    @classmethod
    def from_env(cls, env=None) -> SheetLimits:
        env = os.environ if env is None else env
        names = {"rows": "ROWS", "columns": "COLUMNS", "cell_chars": "CELL_CHARS",
                 "shared_strings": "SHARED_STRINGS", "sheet_bytes": "SHEET_BYTES",
                 "part_bytes": "PART_BYTES", "package_bytes": "PACKAGE_BYTES"}
        return cls(**{field: int(env[f"JINWEI_SHEET_MAX_{name}"])
                      for field, name in names.items() if f"JINWEI_SHEET_MAX_{name}" in env})


def too_large(what: str, limit) -> TooLarge:
    return TooLarge(f"the workbook is too large: {what}", {"file": [
        f"{what}: at most {limit} (文件超出限制)"]})


@dataclass
class Book:
    archive: ZipFile
    sheets: list[tuple[str, str]]  # (name, path in the archive) of each worksheet, in order
    strings: list
    date_styles: set[str]
    epoch: dt.datetime
    limits: SheetLimits

    def close(self) -> None:
        self.archive.close()

    def rows(self, path: str) -> Iterator[tuple[int, list]]:
        """(row number, [value by column index]) of each row in the sheet's XML, in order."""
        with self.archive.open(path) as source:
            yield from _rows(source, self.strings, self.date_styles, self.epoch, self.limits)


def open_book(data: bytes, limits: SheetLimits | None = None) -> Book:
    """The workbook in `data`; whatever openpyxl raises when it is none; TooLarge at the
    first limit it crosses."""
    limits = limits or SheetLimits()
    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
    try:
        _check_sizes(reader.archive, limits)
        reader.read_manifest()
        strings = _read_strings(reader, limits)
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [(sheet.name, rel.target) for sheet, rel in reader.parser.find_sheets()
                  if rel.target in reader.valid_files and "worksheet" in rel.Type]
        return Book(reader.archive, sheets, strings,
                    {str(style) for style in reader.wb._date_formats}, reader.wb.epoch, limits)
    except BaseException:
        reader.archive.close()
        raise


def _check_sizes(archive: ZipFile, limits: SheetLimits) -> None:
    """The parts' declared sizes: zipfile stops inflating a part at its declared size
    (and fails its CRC check), so these bound what is read."""
    parts = archive.infolist()
    if len(parts) > limits.parts:
        raise too_large("parts in the package", limits.parts)
    total = 0
    for part in parts:
        bound = limits.sheet_bytes if "/worksheets/" in part.filename else limits.part_bytes
        if part.file_size > bound:
            raise too_large(f"the part {part.filename[:80]} uncompressed", f"{bound} bytes")
        total += part.file_size
    if total > limits.package_bytes:
        raise too_large("the package uncompressed", f"{limits.package_bytes} bytes")


def _read_strings(reader: ExcelReader, limits: SheetLimits) -> list[str]:
    """openpyxl's read_string_table, stopping at the count or a string's length limit."""
    manifest = reader.package.find(SHARED_STRINGS)
    if manifest is None:
        return []
    strings: list[str] = []
    tag = f"{{{SHEET_MAIN_NS}}}si"
    with reader.archive.open(manifest.PartName[1:]) as source:
        for _event, node in iterparse(source):
            if node.tag == tag:
                if len(strings) >= limits.shared_strings:
                    raise too_large("shared strings", limits.shared_strings)
                text = Text.from_tree(node).content.replace("x005F_", "")
                if len(text) > limits.cell_chars:
                    raise too_large("characters in a cell", limits.cell_chars)
                node.clear()
                strings.append(text)
    return strings


_CELL_TAGS = {f"{{{n}}}c" for n in _NAMESPACES}
_ROW_TAGS = {f"{{{n}}}row" for n in _NAMESPACES}


def _rows(source, strings, date_styles, epoch, limits: SheetLimits):
    v_tag = None
    row_number = column = 0
    values: list = []
    for _event, element in iterparse(source, events=("end",)):
        tag = element.tag
        if tag in _CELL_TAGS:
            if v_tag is None:  # the namespace the sheet uses
                ns = tag[:-1]
                v_tag, is_tag, t_tag, r_tag = f"{ns}v", f"{ns}is", f"{ns}t", f"{ns}r"
            ref = element.get("r")
            index = column = _column_index(ref) if ref else column
            column += 1  # a cell without a reference is the one after the previous cell
            if index >= limits.columns:
                raise too_large("columns", limits.columns)
            kind = element.get("t", "n")
            if kind == "inlineStr":
                value = _inline(element.find(is_tag), t_tag, r_tag)
            else:
                text = element.findtext(v_tag)
                try:
                    value = _value(kind, text, element.get("s", "0"), strings, date_styles,
                                   epoch) if text else None
                except (ValueError, IndexError, TypeError):
                    raise SyntaxError(f"a damaged cell {ref or ''}".rstrip()) from None
            if value is not None:
                if isinstance(value, str) and len(value) > limits.cell_chars:
                    raise too_large("characters in a cell", limits.cell_chars)
                if index >= len(values):
                    values.extend([None] * (index + 1 - len(values)))
                values[index] = value
        elif tag in _ROW_TAGS:
            number = element.get("r")
            if number and not number.isdigit():
                raise SyntaxError("a damaged row number")
            row_number = int(number) if number else row_number + 1
            yield row_number, values
            values, column = [], 0
            element.clear()


_INDEXES: dict[str, int] = {}


def _column_index(ref: str) -> int:
    """The 0-based column of a cell reference ("C12" → 2)."""
    letters = ref.rstrip("0123456789")
    index = _INDEXES.get(letters)
    if index is None:
        if not _COLUMN.fullmatch(letters):
            raise SyntaxError(f"not a cell reference: {ref[:20]!r}")
        index = 0
        for letter in letters:
            index = index * 26 + ord(letter) - 64
        index -= 1
        if index >= MAX_COLUMNS:
            raise SyntaxError(f"a column beyond XFD, the last one Excel has: {letters[:10]}")
        if len(_INDEXES) < 20_000:
            _INDEXES[letters] = index
    return index


def _inline(element, t_tag, r_tag):
    if element is None:
        return None
    parts = []
    for child in element:
        if child.tag == t_tag:
            parts.append(child.text or "")
        elif child.tag == r_tag:
            parts.append(child.findtext(t_tag) or "")
    return "".join(parts)


def _value(kind, text, style, strings, date_styles, epoch):
    if kind == "n":
        number = float(text) if "." in text or "E" in text or "e" in text else int(text)
        if style in date_styles:
            try:
                return from_excel(number, epoch)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number
    if kind == "s":
        return strings[int(text)]
    if kind == "b":
        return bool(int(text))
    if kind == "d":
        day = from_ISO8601(text)
        return day if isinstance(day, dt.date | dt.time) else text
    return text  # str (a formula's text), e (an error such as #N/A)

"""Import files: parse a filled-in workbook into RPC parameter rows; a blank template;
and the inverse of parse (sample files, tests)."""

from __future__ import annotations

import io
import lzma
import re
import unicodedata
import zipfile
import zlib

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from services.gateway.spreadsheets import cells, reader
from services.gateway.spreadsheets.columns import Column, Kind, kind
from shared.errors import TooLarge, ValidationError

# The heading row is the first of these with a heading we know (a title may be above).
HEADING_SCAN_ROWS = 20
MAX_PROBLEMS_SHOWN = 200
BOLD = Font(bold=True)
HEADING_FILL = PatternFill("solid", fgColor="DDEBF7")


def normalize_heading(text) -> str:
    """What two headings are compared by: full-width forms folded (（ → (), no spaces, no
    required-marks (*, （必填）)."""
    word = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))
    word = re.sub(r"\((必填|选填|可选|非必填)\)$", "", word)
    return word.strip("*")


def display_width(text) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


# -- parse ---------------------------------------------------------------------------------
def parse(kind_name: str, data: bytes, limits: reader.SheetLimits | None = None) -> list[dict]:
    """The data rows of an import file of `kind_name`, each {"row": its row number in the
    sheet, "values": {parameter: value}} (the shape of contracts.imports.ImportRow).
    Blank cells are left out; blank rows are skipped. A cell that does not convert is
    passed as it is, for the service to report by row. Problems of the file itself raise
    ValidationError: not an xlsx file, unknown, missing or repeated headings, no data
    rows, and codes whose number cells Excel cut to 15 digits (details["rows"]: by row,
    {row, fields, message}, like an import job's errors). A file past `limits` raises
    TooLarge as soon as reading reaches the limit (rows: at the first row too many)."""
    spec = kind(kind_name)
    limits = limits or reader.SheetLimits()
    book = _open(data, limits)
    parsed: list[dict] = []
    problems: list[dict] = []
    try:
        rows = book.rows(_sheet(book, spec))
        heading_row, positions = _headings(rows, spec)
        for number, values in rows:
            row = _row(number, values, positions, problems)
            if row is not None:
                if len(parsed) >= limits.rows:
                    raise reader.too_large("data rows", limits.rows)
                parsed.append(row)
    except DAMAGED as exc:
        raise _not_xlsx(f"the workbook is damaged ({type(exc).__name__})") from None
    finally:
        book.close()
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        raise ValidationError("number cells lost digits (数字单元格丢失位数)", {
            "rows": shown, "rows_total": len(problems)})
    if not parsed:
        raise ValidationError("the sheet has no data rows", {
            "rows": [f"表头（第{heading_row}行）以下没有数据 (no data rows below the headings)"]})
    return parsed


# What reading a damaged sheet raises: a bad zip entry, a corrupt stream (deflate, bzip2 —
# an OSError —, lzma), a compression method or flag zipfile does not know
# (NotImplementedError), an encrypted entry (RuntimeError), broken XML (SyntaxError).
DAMAGED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, SyntaxError,
           NotImplementedError, RuntimeError)


def _open(data: bytes, limits: reader.SheetLimits):
    if not isinstance(data, bytes | bytearray) or bytes(data[:4]) == b"\xd0\xcf\x11\xe0":
        raise _not_xlsx("an old Excel 97-2003 (.xls) file, or not a file: save it as .xlsx")
    try:
        return reader.open_book(bytes(data), limits)
    except TooLarge:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever openpyxl trips on, it is not an xlsx
        raise _not_xlsx(f"not an xlsx workbook ({type(exc).__name__})") from None


def _not_xlsx(why: str) -> ValidationError:
    return ValidationError("not an xlsx file", {
        "file": [f"不是有效的 Excel（.xlsx）文件，请用 Excel 或 WPS 另存为 .xlsx 后再导入 ({why})"]})


def _sheet(book: reader.Book, spec: Kind) -> str:
    """The path of the sheet named like the kind, else of the first one."""
    names = {normalize_heading(n) for n in (spec.name, spec.title, *spec.sheet_names)}
    for name, path in book.sheets:
        if normalize_heading(name) in names:
            return path
    if not book.sheets:
        raise _not_xlsx("the workbook has no worksheet")
    return book.sheets[0][1]


def _lookup(spec: Kind) -> dict[str, Column]:
    return {normalize_heading(h): column for column in spec.columns for h in column.headings}


def _headings(rows, spec: Kind) -> tuple[int, list[tuple[int, Column]]]:
    """The heading row's number and, for each known heading, its cell index and column."""
    lookup = _lookup(spec)
    for number, values in rows:
        if number > HEADING_SCAN_ROWS:
            break
        texts = [(i, str(v).strip()) for i, v in enumerate(values) if not cells.is_blank(v)]
        if any(normalize_heading(t) in lookup for _, t in texts):
            return number, _check_headings(number, texts, lookup, spec)
    raise ValidationError("no heading row", {
        "headings": [f"前{HEADING_SCAN_ROWS}行中没有可识别的表头 (no known heading in the first "
                     f"{HEADING_SCAN_ROWS} rows)"],
        "accepted_headings": [c.heading for c in spec.columns]})


def _check_headings(number, texts, lookup, spec: Kind) -> list[tuple[int, Column]]:
    positions, unknown = [], []
    seen: dict[str, list[str]] = {}  # a field: the cells of its headings
    for index, text in texts:
        column = lookup.get(normalize_heading(text))
        if column is None:
            unknown.append(text)
            continue
        seen.setdefault(column.field, []).append(f"{get_column_letter(index + 1)}{number}")
        positions.append((index, column))
    details: dict[str, object] = {}
    if unknown:
        details["unknown_headings"] = unknown
        details["accepted_headings"] = [c.heading for c in spec.columns]
        details["aliases"] = {c.heading: list(c.aliases) for c in spec.columns if c.aliases}
    missing = [c.heading for c in spec.columns if c.required and c.field not in seen]
    if missing:
        details["missing_headings"] = missing
    repeated = {c.heading: seen[c.field] for c in spec.columns if len(seen.get(c.field, ())) > 1}
    if repeated:
        details["duplicate_headings"] = repeated
    if details:
        raise ValidationError("the heading row has problems (表头有误)", details)
    return positions


def _row(number: int, values: list, positions, problems: list) -> dict | None:
    found, errors = {}, {}
    for index, column in positions:
        value = values[index] if index < len(values) else None
        if cells.is_blank(value):
            continue
        try:
            found[column.field] = column.convert(value, column)
        except cells.CellProblem as problem:
            errors[column.field] = [f"{get_column_letter(index + 1)}{number}（{column.heading}）："
                                    f"{problem.message}"]
    if errors:
        problems.append({"row": number, "fields": errors, "message": "; ".join(
            message for messages in errors.values() for message in messages)})
    return {"row": number, "values": found} if found else None


def split_params(kind_name: str, values: dict) -> dict[str, dict]:
    """A parsed row's values by the RPC method taking them, for a kind whose rows feed
    more than one (reserve_cadres: register_person, then recommend_reserve)."""
    spec = kind(kind_name)
    by_field = {column.field: column for column in spec.columns}
    split: dict[str, dict] = {method: {} for method in spec.methods}
    for name, value in values.items():
        for method in by_field[name].methods if name in by_field else spec.methods[:1]:
            split[method][name] = value
    return split


# -- template and rows -------------------------------------------------------------------
_WIDTHS = {cells.date: 14, cells.code: 22, cells.cv: 40, cells.text_list: 30}


def template(kind_name: str) -> bytes:
    """A blank import workbook: the headings (bold, frozen), a 说明 sheet on each column,
    and drop-down lists of the labels of enum columns."""
    spec = kind(kind_name)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = spec.title
    sheet.append([column.heading for column in spec.columns])
    notes, options = book.create_sheet("说明"), book.create_sheet("选项")
    options.sheet_state = "hidden"
    listed = 0
    for position, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(position)
        cell = sheet.cell(1, position)
        cell.font, cell.fill = BOLD, HEADING_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        dimension = sheet.column_dimensions[letter]
        dimension.width = max(display_width(column.heading) + 4, _WIDTHS.get(column.convert, 12))
        if column.convert is cells.code:
            dimension.number_format = "@"
        elif column.convert is cells.date:
            dimension.number_format = "yyyy-mm-dd"
        if column.labels:
            listed += 1
            _dropdown(sheet, options, letter, get_column_letter(listed), column)
    sheet.freeze_panes = "A2"
    _notes(notes, spec)
    return _save(book)


def _dropdown(sheet, options, letter: str, where: str, column: Column) -> None:
    """A drop-down of the column's labels (from the hidden sheet 选项, column `where`);
    anything else may still be typed (a code, say)."""
    for row, label in enumerate(column.labels.values(), start=1):
        options[f"{where}{row}"] = label
    choice = DataValidation(type="list", allow_blank=True, showErrorMessage=False,
                            formula1=f"'选项'!${where}$1:${where}${len(column.labels)}")
    choice.add(f"{letter}2:{letter}1048576")
    sheet.add_data_validation(choice)


def _notes(sheet, spec: Kind) -> None:
    headings = ("列名", "是否必填", "填写说明", "可选值", "也可用的列名")
    sheet.append(headings)
    for column in spec.columns:
        sheet.append((column.heading, "必填" if column.required else "选填",
                      cells.DESCRIPTIONS[column.convert], "；".join(column.labels.values()),
                      "、".join(column.aliases)))
    for position, width in enumerate((18, 10, 48, 60, 36), start=1):
        sheet.column_dimensions[get_column_letter(position)].width = width
        sheet.cell(1, position).font = BOLD
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"


def write_rows(kind_name: str, rows, *, title: str | None = None, labels: bool = True,
               fields: list[str] | None = None) -> bytes:
    """An import file of `rows` (parameter dicts, or parse's {"row", "values"}): enum
    codes as their labels (labels=False: as codes), dates as date cells. `title` puts a
    title row above the headings; `fields` writes only those columns. Streams (write-only
    mode): 10 000 rows take a second or so."""
    spec = kind(kind_name)
    columns = [c for c in spec.columns if fields is None or c.field in fields]
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(spec.title)
    for position, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = max(
            display_width(column.heading) + 4, _WIDTHS.get(column.convert, 12))
    if title:
        sheet.append([title])
    sheet.append([column.heading for column in columns])
    write = cells.write_value
    for row in rows:
        values = row["values"] if isinstance(row.get("values"), dict) else row
        sheet.append([_text_cell(sheet, value)
                      if isinstance(value, str) and value.startswith("=") else value
                      for value in (write(column.convert, values.get(column.field), column,
                                          labels=labels) for column in columns)])
    return _save(book)


def _text_cell(sheet, value: str) -> WriteOnlyCell:
    """Text that looks like a formula, kept as text."""
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    return cell


def _save(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

"""Export: a report's RPC result (as the contract dumps it) to an .xlsx workbook — a
title row, Chinese headings, one row per item; numbers as numbers, rates as percentages,
dates as dates; one sheet per part of the result (汇总, 分地区, lists)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from decimal import Decimal

import openpyxl
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from services.gateway.spreadsheets.importing import display_width
from shared.contracts.npe import COVERAGE
from shared.contracts.rectification import CASE_STATUSES, HELP_KINDS
from shared.errors import ValidationError

# report → (service, method, Chinese title): the RPC whose result each report shows.
EXPORTS: dict[str, tuple[str, str, str]] = {
    "ledger": ("organizations", "ledger", "整改工作台账"),
    "moving_up": ("evaluation", "moving_up_report", "晋位升级情况统计表"),
    "coverage": ("npe", "coverage_report", "非公企业党建工作覆盖情况统计表"),
    "reserve_roster": ("cadres", "reserve_roster", "村级后备干部花名册"),
    "venues": ("resources", "venue_report", "村级组织活动场所达标情况统计表"),
    "funding": ("resources", "funding_report", "经费保障情况统计表"),
}

FORMATS = {"int": "0", "rate": "0.00%", "money": "#,##0.00", "date": "yyyy-mm-dd"}
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
HEADING_FILL = PatternFill("solid", fgColor="DDEBF7")
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
MIN_WIDTH, MAX_WIDTH = 6, 60


@dataclass(frozen=True)
class Out:
    """An exported column: heading, the value of an item (a key, or a function), type."""

    heading: str
    get: str | Callable[[dict], object]
    type: str = "text"  # text, int, rate, money, date, bool

    def value(self, item: dict):
        raw = item.get(self.get) if isinstance(self.get, str) else self.get(item)
        return _cell(raw, self.type)


def _cell(raw, kind: str):
    if raw is None or raw == "":
        return None
    try:
        if kind == "int":
            return int(raw) if not isinstance(raw, bool) else raw
        if kind in ("rate", "money"):
            return float(Decimal(str(raw)))
        if kind == "date":
            if isinstance(raw, dt.datetime):
                return raw.date()
            return raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw)[:10])
    except (ValueError, ArithmeticError):
        return str(raw)  # not what the contract promised: show it as it came
    if kind == "bool":
        return "是" if raw else "否"
    if isinstance(raw, list | tuple):
        return "、".join(str(part) for part in raw if part is not None)
    return raw


def label(key: str) -> Callable[[dict], object]:
    """The result's Chinese label of an enum field where it has one, else the code."""
    return lambda item: item.get(f"{key}_label") or item.get(key)


def labels(key: str, table: dict[str, str]) -> Callable[[dict], object]:
    return lambda item: [table.get(code, code) for code in item.get(key) or ()]


NUMBER = Out("序号", "_number", "int")
PLACE = (Out("地区", lambda i: i.get("place_name") or i.get("place_code")),
         Out("区划代码", "place_code"))


@dataclass(frozen=True)
class Part:
    name: str
    items: Callable[[dict], list[dict]]
    columns: tuple[Out, ...]
    numbered: bool = False


def _total(result):
    return [result["total"]] if result.get("total") else []


def _children(result):
    return result.get("by_child_place") or []


# -- the reports -----------------------------------------------------------------------------
_LEDGER_SUMMARY = {"cases": "整改案件总数", **CASE_STATUSES, "listed": "挂牌整顿",
                   "crossed_off": "已销号", "overdue": "有逾期任务"}

LEDGER = (
    Part("整改台账", lambda r: r.get("items") or [], (
        Out("党组织名称", "organization_name"), *PLACE,
        Out("定级等次", label("grade")), Out("是否挂牌", "listed", "bool"),
        Out("整改状态", label("status")), Out("整改轮次", "round", "int"),
        Out("整改任务数", "tasks", "int"), Out("已完成", "done", "int"),
        Out("已逾期", "overdue", "int"), Out("最近完成时限", "next_deadline", "date"),
        Out("帮扶措施", labels("help", HELP_KINDS)), Out("立案日期", "opened_on", "date"),
        Out("销号日期", "crossed_off_on", "date"),
    ), numbered=True),
    Part("汇总", lambda r: [{"item": _LEDGER_SUMMARY.get(k, k), "count": v}
                          for k, v in (r.get("summary") or {}).items()],
         (Out("项目", "item"), Out("数量", "count", "int"))),
)


def _grade_rows(places):
    rows = []
    for place in places:
        shared = {k: place.get(k) for k in ("place_code", "place_name", "graded")}
        rows.extend({**shared, **row} for row in place.get("rows") or [{}])
    return rows


_MOVING_UP = (*PLACE, Out("参评党组织数", "graded", "int"),
              Out("基础等次", label("baseline_grade")), Out("党组织数", "organizations", "int"),
              Out("晋位升级数", "moved_up", "int"), Out("晋位升级率", "rate", "rate"),
              Out("目标比例", "target", "rate"), Out("是否达标", "met", "bool"))
MOVING_UP = (Part("汇总", lambda r: _grade_rows(_total(r)), _MOVING_UP),
             Part("分地区", lambda r: _grade_rows(_children(r)), _MOVING_UP))

_COVERAGE = (
    *PLACE, Out("企业总数", "enterprises", "int"), Out("在营企业数", "operating", "int"),
    *(Out(COVERAGE[k], k, "int") for k in ("own", "joint", "regional", "industry")),
    Out("组织覆盖数", "organizational", "int"), Out("工作覆盖数", "work", "int"),
    Out("未覆盖数", "uncovered", "int"), Out("应单独组建未组建数", "due_own", "int"),
    Out("组织覆盖率", "organizational_rate", "rate"), Out("单独组建率", "own_rate", "rate"),
    Out("工作覆盖率", "work_rate", "rate"), Out("总覆盖率", "total_rate", "rate"),
)
_ENTERPRISES = (Out("统一社会信用代码", "credit_code"), Out("企业名称", "name"),
                Out("区划代码", "place_code"), Out("正式党员数", "full_members", "int"),
                Out("覆盖情况", label("coverage")))
COVERAGE_PARTS = (
    Part("汇总", _total, _COVERAGE), Part("分地区", _children, _COVERAGE),
    Part("未覆盖企业", lambda r: r.get("uncovered") or [], _ENTERPRISES, numbered=True),
    Part("应单独组建企业", lambda r: r.get("due_own") or [], _ENTERPRISES, numbered=True),
)

_VENUES = (*PLACE, Out("活动场所数", "venues", "int"), Out("达标数", "compliant", "int"),
           Out("未达标数", "below_standard", "int"), Out("改造建设中", "in_progress", "int"),
           Out("达标率", "compliance_rate", "rate"))
VENUES = (
    Part("汇总", _total, _VENUES), Part("分地区", _children, _VENUES),
    Part("未达标场所", lambda r: r.get("below_standard") or [], (
        *PLACE, Out("场所名称", "name"), Out("面积（平方米）", "area", "money"),
        Out("具备功能", "function_labels"),
        Out("未达标原因", lambda i: "；".join(i.get("shortfalls") or ())),
        Out("是否在改造建设", "in_progress", "bool"),
    ), numbered=True),
)

_FUNDING = (*PLACE, Out("预算（元）", "budget", "money"), Out("已分配（元）", "allocated", "money"),
            Out("已拨付（元）", "disbursed", "money"), Out("未拨付（元）", "undisbursed", "money"),
            Out("村集体增收（元）", "income", "money"))


def _own_and_children(report: dict) -> list[dict]:
    """The place's own programs (本级) first, then its child places: together the total."""
    own = report.get("own")
    if not own:
        return _children(report)
    return [{**own, "place_name": f"{own.get('place_name') or own['place_code']}（本级）"},
            *_children(report)]


FUNDING = (Part("汇总", _total, _FUNDING), Part("分地区", _own_and_children, _FUNDING))

# Roster cells come as text; these hold numbers (序号, 年龄).
_ROSTER_NUMBERS = {"number", "age"}


def _roster(result):
    columns = result.get("columns") or [{"key": k, "title": k}
                                        for k in (result.get("rows") or [{}])[0]]
    return (Part("花名册", lambda r: r.get("rows") or [], tuple(
        Out(c["title"], c["key"], "int" if c["key"] in _ROSTER_NUMBERS else "text")
        for c in columns)),)


PARTS: dict[str, Callable[[dict], tuple[Part, ...]]] = {
    "ledger": lambda r: LEDGER, "moving_up": lambda r: MOVING_UP,
    "coverage": lambda r: COVERAGE_PARTS, "reserve_roster": _roster,
    "venues": lambda r: VENUES, "funding": lambda r: FUNDING,
}


def default_title(report: str, result: dict) -> str:
    if report == "reserve_roster" and result.get("title"):
        return result["title"]
    place = result.get("place_name") or (result.get("total") or {}).get("place_name") or ""
    year = f"{result['year']}年" if result.get("year") else ""
    title = f"{place}{year}{EXPORTS[report][2]}"
    if result.get("kind_label"):
        title += f"（{result['kind_label']}）"
    if result.get("as_of"):
        title += f"（截至{result['as_of']}）"
    return title


# -- writing -------------------------------------------------------------------------------
def export(report: str, result: dict, *, title: str | None = None) -> bytes:
    """The workbook of `report` (a key of EXPORTS) from its RPC's result."""
    if report not in EXPORTS:
        raise ValidationError(f"no spreadsheet export of {report!r}",
                              {"report": [f"one of {', '.join(EXPORTS)}"]})
    title = title or default_title(report, result)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for position, part in enumerate(PARTS[report](result)):
        _write_part(book, part, title if position == 0 else f"{title}（{part.name}）",
                    part.items(result))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write_part(book, part: Part, title: str, items: list[dict]) -> None:
    sheet = book.create_sheet(part.name[:31])
    columns = ((NUMBER,) if part.numbered else ()) + part.columns
    head = sheet.cell(1, 1, title)
    head.font, head.alignment = TITLE_FONT, Alignment(horizontal="center", vertical="center")
    if len(columns) > 1:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    sheet.row_dimensions[1].height = 30
    widths = []
    for position, column in enumerate(columns, start=1):
        cell = sheet.cell(2, position, column.heading)
        cell.font, cell.fill, cell.border = BOLD, HEADING_FILL, BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        widths.append(display_width(column.heading) + 2)
    styles = _data_styles(sheet, columns) if items else []
    for number, item in enumerate(items, start=1):
        item = {**item, "_number": number} if part.numbered else item
        for position, (column, style) in enumerate(zip(columns, styles, strict=True), start=1):
            value = column.value(item)
            # One style per column, copied: setting the border and the format of each cell
            # would take most of the time of a large export.
            cell = sheet.cell(number + 2, position, value)
            cell._style = copy(style)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text
            widths[position - 1] = max(widths[position - 1], _width(value, column.type))
    for position, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = min(
            max(width, MIN_WIDTH), MAX_WIDTH)
    sheet.freeze_panes = "A3"


def _data_styles(sheet, columns) -> list:
    """The style of each column's data cells: a box, and its number format."""
    styles = []
    for position, column in enumerate(columns, start=1):
        probe = sheet.cell(3, position)
        probe.border = BOX
        if column.type in FORMATS:
            probe.number_format = FORMATS[column.type]
        styles.append(copy(probe._style))
    return styles


def _width(value, kind: str) -> int:
    if value is None:
        return 0
    if kind == "date":
        return 12
    if kind in ("rate", "money") and not isinstance(value, str):
        return len(f"{value:,.2f}") + 3
    return display_width(value) + 2

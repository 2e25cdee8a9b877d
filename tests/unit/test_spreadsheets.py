"""services.gateway.spreadsheets: import files with the Chinese headings staff use (parse, template,
write_rows) and report exports, as pure functions on bytes."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from marshmallow import fields as mf

from services.gateway import spreadsheets
from services.gateway.spreadsheets import cells, reader
from shared import contracts
from shared.contracts.cadres import EDUCATION
from shared.contracts.common import Enum
from shared.contracts.organizations import KINDS as ORG_KINDS
from shared.contracts.organizations import SECTORS
from shared.errors import ValidationError
from shared.national import credit_code, identity_number

VILLAGE = "331123100201"
CREDIT_CODE = credit_code.with_check_character("91331123MA2AB1234")


def _id_number(first17="33112319900501123"):
    return first17 + identity_number.check_character(first17)


ID_NUMBER = _id_number()  # born 1990-05-01, sequence 123: odd, a man

ROWS = {
    "organizations": {
        "name": "城关镇第一联合党支部", "kind": "632", "sector": "non_public_enterprise",
        "place_code": VILLAGE, "parent_id": 7, "full_members": 12, "probationary_members": 2,
        "committee_size": 3, "units": ["甲公司", "乙公司"], "founded_on": "2020-05-01",
        "elected_on": "2023-05-01"},
    "enterprises": {
        "credit_code": CREDIT_CODE, "name": "丽水某某科技有限公司", "place_code": VILLAGE,
        "industry": "C", "size": "small", "operating_status": "operating", "employees": 85,
        "full_members": 4, "migrant_share": "0.35", "cluster": "丽水经济开发区",
        "dual_managed": True},
    "reserve_cadres": {
        "name": "张三", "sex": "male", "ethnicity": "汉族", "birth_date": "1990-05-01",
        "native_place": "浙江丽水", "education": "bachelor", "school": "浙江大学 农学",
        "political_status": "party_member", "work_started_on": "2012-07-01",
        "current_post": "村委会委员", "current_unit": "城关镇某村", "post_category": "other",
        "place_code": VILLAGE, "identity_number": ID_NUMBER, "college_graduate_official": True,
        "cv": [{"start": "2008-09", "end": "2012-06", "unit_and_post": "浙江大学学生"},
               {"start": "2012-07", "end": None, "unit_and_post": "城关镇某村村委会委员"}],
        "recommended_by": "城关镇党委", "method": "democratic", "recommended_on": "2024-03-15",
        "votes": 56, "remarks": "群众基础好"},
}


def _book(*rows, title="Sheet") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _open(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def _org(**cells_):
    """An organizations sheet: the required headings, one data row, and `cells_` by heading."""
    base = {"党组织名称": "一支部", "组织类别": "党支部", "所属领域": "农村",
            "所在地区代码": VILLAGE, "正式党员数": 5, "成立日期": "2020-05-01"}
    base.update(cells_)
    return _book(list(base), list(base.values()))


def _values(data, kind="organizations"):
    return [row["values"] for row in spreadsheets.parse(kind, data)]


def _raises(data, kind="organizations") -> dict:
    with pytest.raises(ValidationError) as caught:
        spreadsheets.parse(kind, data)
    return caught.value.details


# -- the heading tables against the contract -----------------------------------------------
_CONVERTERS = [(Enum, cells.enum), (mf.Integer, cells.integer), (mf.Date, cells.date),
               (mf.Boolean, cells.boolean), (mf.Decimal, cells.decimal)]


@pytest.mark.parametrize("kind", list(spreadsheets.KINDS))
def test_every_parameter_has_a_column_converted_by_its_type(kind):
    spec = spreadsheets.KINDS[kind]
    params = {}
    for method in spec.methods:
        params.update(contracts.rpc_contract(spec.service, method).params.fields)
    stated = {c.field for c in spec.columns}
    assert set(params) - stated == {"request_id", "person_id"} & set(params)
    for column in spec.columns:
        field = params[column.field]
        expected = next((conv for cls, conv in _CONVERTERS if isinstance(field, cls)), None)
        if expected:
            assert column.convert is expected, column.field
        if isinstance(field, Enum):
            assert column.labels == field.labels  # the contract's own table
    headings = [h for c in spec.columns for h in map(spreadsheets.importing.normalize_heading,
                                                     c.headings)]
    assert len(headings) == len(set(headings))


def test_imports_name_the_service_and_a_title():
    assert spreadsheets.IMPORTS == {"organizations": ("organizations", "党组织"),
                                    "enterprises": ("npe", "非公企业"),
                                    "reserve_cadres": ("cadres", "村级后备干部")}
    required = {c.heading for c in spreadsheets.KINDS["reserve_cadres"].columns if c.required}
    assert {"姓名", "性别", "公民身份号码", "推荐人（单位）", "推荐方式", "推荐日期"} <= required
    assert "出生日期" not in required  # the identity number carries it


# -- round trips ----------------------------------------------------------------------------
@pytest.mark.parametrize("labels", [True, False], ids=["labels", "codes"])
@pytest.mark.parametrize("kind", list(ROWS))
def test_round_trip_gives_parameters_the_contract_loads(kind, labels):
    row = ROWS[kind]
    parsed = spreadsheets.parse(kind, spreadsheets.write_rows(kind, [row, row], labels=labels))
    assert [r["row"] for r in parsed] == [2, 3]
    assert parsed[0]["values"] == row
    spec = spreadsheets.KINDS[kind]
    for method, params in spreadsheets.split_params(kind, parsed[0]["values"]).items():
        if method == "recommend_reserve":
            params["person_id"] = 1
        contracts.rpc_contract(spec.service, method).params.load(params)


def test_written_labels_are_the_contracts():
    sheet = _open(spreadsheets.write_rows("reserve_cadres", [ROWS["reserve_cadres"]])).active
    row = {sheet.cell(1, i).value: sheet.cell(2, i).value for i in range(1, sheet.max_column + 1)}
    assert (row["性别"], row["学历"], row["政治面貌"], row["推荐方式"]) == (
        "男", EDUCATION["bachelor"], "中共党员", "民主推荐")
    assert row["公民身份号码"] == ID_NUMBER and row["是否大学生村官"] == "是"
    assert row["出生日期"] == dt.datetime(1990, 5, 1)
    assert row["简历"] == "2008.09-2012.06 浙江大学学生\n2012.07-至今 城关镇某村村委会委员"


def test_split_params_by_method():
    split = spreadsheets.split_params("reserve_cadres", ROWS["reserve_cadres"])
    assert split["recommend_reserve"] == {
        "place_code": VILLAGE, "recommended_by": "城关镇党委", "method": "democratic",
        "recommended_on": "2024-03-15", "votes": 56, "remarks": "群众基础好"}
    assert "identity_number" in split["register_person"]
    assert "votes" not in split["register_person"]


def test_ten_thousand_rows_parse():
    row = ROWS["reserve_cadres"]
    data = spreadsheets.write_rows("reserve_cadres", [row] * 10_000)
    parsed = spreadsheets.parse("reserve_cadres", data)
    assert len(parsed) == 10_000
    assert parsed[-1] == {"row": 10_001, "values": row}


# -- cells ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, sector", [
    ("党支部", "农村"), ("631", "rural_village"), (631, "农村"), (" 党支部 ", "Rural_Village")])
def test_enum_cells_take_the_label_or_the_code(kind, sector):
    values = _values(_org(组织类别=kind, 所属领域=sector))[0]
    assert (values["kind"], values["sector"]) == ("631", "rural_village")


def test_every_contract_label_is_understood():
    for label_ in ORG_KINDS.values():
        assert cells.enum(label_, spreadsheets.KINDS["organizations"].columns[1]) in ORG_KINDS
    sector = spreadsheets.KINDS["organizations"].columns[2]
    assert {cells.enum(label_, sector) for label_ in SECTORS.values()} == set(SECTORS)


def test_an_unknown_label_is_passed_on_for_the_service_to_report():
    assert _values(_org(组织类别="党小组"))[0]["kind"] == "党小组"


@pytest.mark.parametrize("cell", [
    dt.datetime(2020, 5, 1), dt.date(2020, 5, 1), "2020-05-01", "2020/5/1", "2020年5月1日",
    "2020.5.1", "2020 年 05 月 01 日", "20200501", 20200501])
def test_date_cells(cell):
    assert _values(_org(成立日期=cell))[0]["founded_on"] == "2020-05-01"


@pytest.mark.parametrize("cell", ["2020-02-30", "去年", "2020-05"])
def test_a_date_that_is_not_one_is_passed_as_given(cell):
    assert _values(_org(成立日期=cell))[0]["founded_on"] == cell


@pytest.mark.parametrize("cell, value", [
    (12, 12), (12.0, 12), ("12", 12), (" 1,200 ", 1200), ("12.0", 12),
    (12.5, 12.5), ("12.5", "12.5"), ("十二", "十二")])
def test_integer_cells(cell, value):
    got = _values(_org(正式党员数=cell))[0]["full_members"]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("cell, value", [
    ("是", True), ("否", False), ("TRUE", True), ("false", False), (1, True), (0, False),
    (True, True), ("也许", "也许")])
def test_boolean_cells(cell, value):
    row = dict(ROWS["enterprises"], dual_managed=None)
    data = spreadsheets.write_rows("enterprises", [row])
    book = _open(data)
    book.active.cell(2, 11, cell)
    out = io.BytesIO()
    book.save(out)
    assert _values(out.getvalue(), "enterprises")[0]["dual_managed"] == value


@pytest.mark.parametrize("cell, value", [
    (0.35, "0.35"), ("35%", "0.35"), ("0.35", "0.35"), (1, "1"), ("许多", "许多")])
def test_share_cells(cell, value):
    assert cells.decimal(cell) == value


def test_list_cells_split_on_chinese_and_ascii_separators():
    values = _values(_org(联合单位="甲公司、乙公司，丙公司,丁公司;戊公司；己公司"))[0]
    assert values["units"] == ["甲公司", "乙公司", "丙公司", "丁公司", "戊公司", "己公司"]


def test_cv_lines():
    assert cells.cv("2008.9-2012.6 浙江大学学生\n\n2012年7月—至今 某村委员") == [
        {"start": "2008-09", "end": "2012-06", "unit_and_post": "浙江大学学生"},
        {"start": "2012-07", "end": None, "unit_and_post": "某村委员"}]
    assert cells.cv("大学毕业后回村") == "大学毕业后回村"  # the service says it is no list


def test_number_cells_of_codes_become_text_without_float_noise():
    values = _values(_org(所在地区代码=331123100201.0))[0]
    assert values["place_code"] == VILLAGE
    person = dict(ROWS["reserve_cadres"], identity_number=None)
    book = _open(spreadsheets.write_rows("reserve_cadres", [person]))
    book.active.cell(2, 14, 331123900501123)  # an old 15-digit number, kept whole
    out = io.BytesIO()
    book.save(out)
    assert _values(out.getvalue(), "reserve_cadres")[0]["identity_number"] == "331123900501123"


def test_an_identity_number_cut_to_15_digits_by_excel_is_refused_without_repeating_it():
    person = dict(ROWS["reserve_cadres"], identity_number=None)
    book = _open(spreadsheets.write_rows("reserve_cadres", [person, person]))
    book.active.cell(3, 14, float(ID_NUMBER[:15] + "000"))  # what Excel keeps of it
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ValidationError) as caught:
        spreadsheets.parse("reserve_cadres", out.getvalue())
    details = caught.value.details
    assert details["rows_total"] == 1
    [problem] = details["rows"]
    assert problem["row"] == 3 and list(problem["fields"]) == ["identity_number"]
    assert "N3" in problem["message"] and "文本格式" in problem["message"]
    assert ID_NUMBER[:6] not in str(caught.value) and ID_NUMBER[:6] not in str(details)


# -- the sheet ------------------------------------------------------------------------------
def test_blank_rows_and_cells_are_skipped_and_row_numbers_kept():
    headings = ["党组织名称", "组织类别", "所属领域", "所在地区代码", "正式党员数", "成立日期",
                "预备党员数"]
    data = _book(headings, ["一支部", "党支部", "农村", VILLAGE, 5, "2020-05-01", None],
                 [None] * 7, ["", "  ", None, None, None, None, None],
                 ["二支部", "党支部", "农村", VILLAGE, 6, "2021-05-01", "  "])
    parsed = spreadsheets.parse("organizations", data)
    assert [r["row"] for r in parsed] == [2, 5]
    assert "probationary_members" not in parsed[0]["values"]
    assert "probationary_members" not in parsed[1]["values"]
    assert parsed[1]["values"]["name"] == "二支部"


def test_a_title_row_above_the_headings():
    data = spreadsheets.write_rows("organizations", [ROWS["organizations"]], title="城关镇党组织")
    parsed = spreadsheets.parse("organizations", data)
    assert parsed == [{"row": 3, "values": ROWS["organizations"]}]

    book = _open(_org())
    sheet = book.active
    sheet.insert_rows(1, 3)
    sheet["A1"] = "丽水市党组织信息采集表"
    sheet.merge_cells("A1:F1")
    sheet["A2"] = "填报单位：城关镇党委"
    out = io.BytesIO()
    book.save(out)
    assert [r["row"] for r in spreadsheets.parse("organizations", out.getvalue())] == [5]


def test_heading_aliases_marks_and_full_width_forms():
    data = _book(["*党组织名称", "组织类型（必填）", "领域", "行政区划代码", "正式 党员", "成立时间"],
                 ["一支部", "党支部", "农村", VILLAGE, 5, "2020-05-01"])
    assert _values(data)[0]["full_members"] == 5
    person = ROWS["reserve_cadres"]
    data = _book(["姓名", "性别", "民族", "文化程度", "政治面貌", "区划代码", "身份证号码",
                  "推荐人(单位)", "推荐方式", "推荐时间"],
                 ["张三", "男", "汉族", "大学本科", "中共党员", VILLAGE, ID_NUMBER, "镇党委",
                  "民主推荐", "2024/3/15"])
    values = _values(data, "reserve_cadres")[0]
    assert values["identity_number"] == person["identity_number"]
    assert values["recommended_by"] == "镇党委" and values["method"] == "democratic"


def test_unknown_headings_are_listed_with_the_accepted_ones():
    details = _raises(_org(书记姓名="李四", 联系电话="123"))
    assert details["unknown_headings"] == ["书记姓名", "联系电话"]
    assert details["accepted_headings"][:3] == ["党组织名称", "组织类别", "所属领域"]
    assert "行政区划代码" in details["aliases"]["所在地区代码"]


def test_missing_required_headings():
    data = _book(["党组织名称", "所属领域", "预备党员数"], ["一支部", "农村", 1])
    assert _raises(data) == {"missing_headings": ["组织类别", "所在地区代码", "正式党员数",
                                                  "成立日期"]}


def test_duplicated_headings_even_through_an_alias():
    details = _raises(_book(["党组织名称", "组织类别", "所属领域", "所在地区代码", "正式党员数",
                             "成立日期", "正式党员", "成立日期"], ["一支部"] * 8))
    assert details == {"duplicate_headings": {"正式党员数": ["E1", "G1"],
                                              "成立日期": ["F1", "H1"]}}


def test_heading_problems_are_reported_together():
    details = _raises(_book(["党组织名称", "党组织名称", "书记"], ["一支部", "一支部", "李四"]))
    assert details["unknown_headings"] == ["书记"]
    assert details["duplicate_headings"] == {"党组织名称": ["A1", "B1"]}
    assert "成立日期" in details["missing_headings"]


def test_no_heading_row():
    details = _raises(_book(["某某表"], ["甲", "乙"]))
    assert "headings" in details and "党组织名称" in details["accepted_headings"]


@pytest.mark.parametrize("data", [
    b"", b"PK\x03\x04 not really", "党组织名称,组织类别\n".encode(),
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)], ids=["empty", "bad-zip", "csv", "xls"])
def test_not_an_xlsx_file(data):
    assert "file" in _raises(data)


def test_a_zip_that_is_no_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "file" in _raises(out.getvalue())


def test_no_data_rows():
    assert "rows" in _raises(spreadsheets.template("organizations"))


def test_the_sheet_named_like_the_kind_is_read_first_one_otherwise():
    book = openpyxl.Workbook()
    book.active.title = "封面"
    book.active.append(["丽水市非公企业信息"])
    sheet = book.create_sheet("非公企业")
    for row in _open(spreadsheets.write_rows("enterprises", [ROWS["enterprises"]])).active:
        sheet.append([c.value for c in row])
    out = io.BytesIO()
    book.save(out)
    assert _values(out.getvalue(), "enterprises") == [ROWS["enterprises"]]


def test_unknown_kind():
    with pytest.raises(ValidationError):
        spreadsheets.parse("members", _org())


# -- the template ---------------------------------------------------------------------------
def test_template_has_bold_frozen_headings_and_notes():
    book = _open(spreadsheets.template("organizations"))
    assert book.sheetnames[:2] == ["党组织", "说明"]
    sheet = book["党组织"]
    headings = [c.value for c in sheet[1]]
    assert headings == [c.heading for c in spreadsheets.KINDS["organizations"].columns]
    assert headings[:4] == ["党组织名称", "组织类别", "所属领域", "所在地区代码"]
    assert all(c.font.bold for c in sheet[1]) and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= 12
    notes = {row[0]: row for row in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["组织类别"][1] == "必填" and notes["联合单位"][1] == "选填"
    assert notes["组织类别"][3] == "；".join(ORG_KINDS.values())
    assert notes["所属领域"][3].split("；") == list(SECTORS.values())
    assert "2020年5月1日" in notes["成立日期"][2]
    assert [v.sqref for v in sheet.data_validations.dataValidation]  # the drop-downs


# -- exports --------------------------------------------------------------------------------
def _dump(report, result):
    service, method, _ = spreadsheets.EXPORTS[report]
    return contracts.rpc_contract(service, method).result.dump(result)


def _sheet_rows(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _check_frame(sheet, title, headings):
    assert sheet["A1"].value == title and sheet["A1"].font.bold
    last = openpyxl.utils.get_column_letter(len(headings))
    assert [str(r) for r in sheet.merged_cells.ranges] == [f"A1:{last}1"]
    assert [c.value for c in sheet[2]] == headings
    assert all(c.font.bold for c in sheet[2]) and sheet.freeze_panes == "A3"


def test_exports_name_their_rpc():
    for report, (service, method, title) in spreadsheets.EXPORTS.items():
        assert contracts.rpc_contract(service, method) and title, report
    with pytest.raises(ValidationError):
        spreadsheets.export("members", {})


def test_ledger_export():
    result = _dump("ledger", {
        "place_code": "331123000000", "as_of": dt.date(2026, 3, 1),
        "summary": {"cases": 3, "planning": 1, "in_progress": 2, "submitted": 0, "accepted": 0,
                    "listed": 1, "crossed_off": 0, "overdue": 1},
        "items": [{"case_id": 9, "organization_id": 4, "organization_name": "某村党支部",
                   "place_code": VILLAGE, "place_name": "某村", "grade": "poor", "listed": True,
                   "status": "in_progress", "round": 1, "tasks": 5, "done": 2, "overdue": 1,
                   "next_deadline": dt.date(2026, 2, 1), "help": ["work_team", "leader_leads"],
                   "opened_on": dt.date(2025, 12, 1), "crossed_off_on": None}],
        "next_cursor": None})
    book = _open(spreadsheets.export("ledger", result))
    assert book.sheetnames == ["整改台账", "汇总"]
    sheet = book["整改台账"]
    _check_frame(sheet, "整改工作台账（截至2026-03-01）", [
        "序号", "党组织名称", "地区", "区划代码", "定级等次", "是否挂牌", "整改状态", "整改轮次",
        "整改任务数", "已完成", "已逾期", "最近完成时限", "帮扶措施", "立案日期", "销号日期"])
    row = [c.value for c in sheet[3]]
    assert row[:9] == [1, "某村党支部", "某村", VILLAGE, "较差", "是", "整改中", 1, 5]
    assert row[11] == dt.datetime(2026, 2, 1) and sheet["L3"].number_format == "yyyy-mm-dd"
    assert row[12] == "派驻工作组、市县领导领衔破解" and row[14] is None
    summary = _sheet_rows(book["汇总"])
    assert summary[1] == ["项目", "数量"]
    assert summary[2] == ["整改案件总数", 3] and ["整改中", 2] in summary
    assert ["挂牌整顿", 1] in summary and ["有逾期任务", 1] in summary
    titled = _open(spreadsheets.export("ledger", result, title="城关镇整改台账"))
    assert titled["整改台账"]["A1"].value == "城关镇整改台账"
    assert titled["汇总"]["A1"].value == "城关镇整改台账（汇总）"


def _grades(organizations, moved_up, rate, target, met):
    return [{"baseline_grade": g, "organizations": o, "moved_up": m, "rate": r, "target": t,
             "met": x} for g, o, m, r, t, x in zip(
                 ("good", "poor"), organizations, moved_up, rate, target, met, strict=True)]


def test_moving_up_export():
    result = _dump("moving_up", {
        "place_code": "331100000000", "place_name": "丽水市", "as_of": dt.date(2026, 3, 1),
        "rules": {},
        "total": {"place_code": "331100000000", "place_name": "丽水市", "graded": 40,
                  "rows": _grades((30, 10), (6, 7), (Decimal("0.2"), Decimal("0.7")),
                                  (None, Decimal("0.6")), (None, True))},
        "by_child_place": [
            {"place_code": "331102000000", "place_name": "莲都区", "graded": 25,
             "rows": _grades((20, 5), (4, 2), (Decimal("0.2"), Decimal("0.4")),
                             (None, Decimal("0.6")), (None, False))},
            {"place_code": "331121000000", "place_name": "青田县", "graded": 15,
             "rows": _grades((10, 5), (2, 5), (Decimal("0.2"), Decimal("1")),
                             (None, Decimal("0.6")), (None, True))}]})
    assert result["total"]["rows"][1]["rate"] == "0.7000"  # as the service sends it
    book = _open(spreadsheets.export("moving_up", result))
    assert book.sheetnames == ["汇总", "分地区"]
    headings = ["地区", "区划代码", "参评党组织数", "基础等次", "党组织数", "晋位升级数",
                "晋位升级率", "目标比例", "是否达标"]
    _check_frame(book["汇总"], "丽水市晋位升级情况统计表（截至2026-03-01）", headings)
    assert _sheet_rows(book["汇总"])[2:] == [
        ["丽水市", "331100000000", 40, "好", 30, 6, 0.2, None, None],
        ["丽水市", "331100000000", 40, "较差", 10, 7, 0.7, 0.6, "是"]]
    assert book["汇总"]["G4"].number_format == "0.00%"
    by_place = book["分地区"]
    _check_frame(by_place, "丽水市晋位升级情况统计表（截至2026-03-01）（分地区）", headings)
    rows = _sheet_rows(by_place)[2:]
    assert len(rows) == 4
    assert rows[1] == ["莲都区", "331102000000", 25, "较差", 5, 2, 0.4, 0.6, "否"]
    assert rows[3][0] == "青田县" and rows[3][6] == 1.0


def _coverage_row(code, name, **counts):
    row = {"place_code": code, "place_name": name, "enterprises": 120, "operating": 100,
           "own": 30, "joint": 20, "regional": 10, "industry": 5, "organizational": 65,
           "work": 20, "uncovered": 15, "due_own": 4, "organizational_rate": Decimal("0.65"),
           "own_rate": Decimal("0.3"), "work_rate": Decimal("0.2"),
           "total_rate": Decimal("0.85")}
    return {**row, **counts}


def test_coverage_export():
    named = {"credit_code": CREDIT_CODE, "name": "某某科技有限公司", "place_code": VILLAGE,
             "full_members": 4, "coverage": "none"}
    result = _dump("coverage", {
        "place_code": "331123000000", "as_of": dt.date(2026, 3, 1), "rules": {},
        "total": _coverage_row("331123000000", "遂昌县"),
        "by_child_place": [_coverage_row("331123100000", "妙高街道", organizational_rate=None)],
        "uncovered": [named], "due_own": [dict(named, coverage="work")]})
    book = _open(spreadsheets.export("coverage", result))
    assert book.sheetnames == ["汇总", "分地区", "未覆盖企业", "应单独组建企业"]
    headings = [c.value for c in book["汇总"][2]]
    assert headings[:6] == ["地区", "区划代码", "企业总数", "在营企业数", "单独组建党组织",
                            "联合党支部覆盖"]
    assert headings[-4:] == ["组织覆盖率", "单独组建率", "工作覆盖率", "总覆盖率"]
    total = dict(zip(headings, [c.value for c in book["汇总"][3]], strict=True))
    assert total["地区"] == "遂昌县" and total["企业总数"] == 120 and total["总覆盖率"] == 0.85
    assert book["汇总"].cell(3, len(headings)).number_format == "0.00%"
    child = dict(zip(headings, [c.value for c in book["分地区"][3]], strict=True))
    assert child["组织覆盖率"] is None and child["单独组建率"] == 0.3
    assert _sheet_rows(book["未覆盖企业"])[1:] == [
        ["序号", "统一社会信用代码", "企业名称", "区划代码", "正式党员数", "覆盖情况"],
        [1, CREDIT_CODE, "某某科技有限公司", VILLAGE, 4, "未覆盖"]]
    assert _sheet_rows(book["应单独组建企业"])[2][5] == "工作覆盖（党建指导员、联络员）"
    assert book["汇总"]["A1"].value == "遂昌县非公企业党建工作覆盖情况统计表（截至2026-03-01）"


def test_reserve_roster_export():
    columns = [("number", "序号"), ("village", "所在村"), ("name", "姓名"), ("sex", "性别"),
               ("birth", "出生年月"), ("age", "年龄"), ("identity_number", "身份证号码")]
    result = _dump("reserve_roster", {
        "title": "城关镇村级后备干部花名册", "place_code": "331123100000", "place_name": "城关镇",
        "columns": [{"key": k, "title": t} for k, t in columns],
        "rows": [{"number": "1", "village": "某村", "name": "张三", "sex": "男",
                  "birth": "1990.05", "age": "35", "identity_number": ID_NUMBER},
                 {"number": "2", "village": "某村", "name": "李梅", "sex": "女",
                  "birth": "1992.11", "age": "33", "identity_number": "33**************2X"}],
        "next_cursor": None})
    book = _open(spreadsheets.export("reserve_roster", result))
    assert book.sheetnames == ["花名册"]
    sheet = book["花名册"]
    _check_frame(sheet, "城关镇村级后备干部花名册", [t for _, t in columns])
    assert _sheet_rows(sheet)[2] == [1, "某村", "张三", "男", "1990.05", 35, ID_NUMBER]
    assert sheet["G4"].value == "33**************2X" and sheet["G4"].data_type == "s"
    assert sheet.column_dimensions["G"].width >= 18


def test_venues_export():
    row = {"place_code": "331123000000", "place_name": "遂昌县", "venues": 200,
           "compliant": 180, "below_standard": 20, "in_progress": 5,
           "compliance_rate": Decimal("0.9")}
    result = _dump("venues", {
        "place_code": "331123000000", "rules": {}, "total": row,
        "by_child_place": [dict(row, place_code="331123100000", place_name="妙高街道")],
        "below_standard": [{"id": 3, "place_code": VILLAGE, "place_name": "某村", "name": "某村党群服务中心",
                            "area": Decimal("120.5"), "functions": ["party_activities", "culture"],
                            "shortfalls": ["面积不足150平方米", "功能不全"], "in_progress": True}]})
    book = _open(spreadsheets.export("venues", result))
    assert book.sheetnames == ["汇总", "分地区", "未达标场所"]
    assert _sheet_rows(book["汇总"])[1:] == [
        ["地区", "区划代码", "活动场所数", "达标数", "未达标数", "改造建设中", "达标率"],
        ["遂昌县", "331123000000", 200, 180, 20, 5, 0.9]]
    below = _sheet_rows(book["未达标场所"])
    assert below[1] == ["序号", "地区", "区划代码", "场所名称", "面积（平方米）", "具备功能",
                        "未达标原因", "是否在改造建设"]
    assert below[2] == [1, "某村", VILLAGE, "某村党群服务中心", 120.5, "党员活动、文化娱乐",
                        "面积不足150平方米；功能不全", "是"]
    assert book["未达标场所"]["E3"].number_format == "#,##0.00"


def test_funding_export():
    row = {"place_code": "331123000000", "place_name": "遂昌县", "budget": Decimal("1000000"),
           "allocated": Decimal("800000.5"), "disbursed": Decimal("600000"),
           "undisbursed": Decimal("200000.5"), "income": Decimal("35000.25")}
    result = _dump("funding", {"place_code": "331123000000", "year": 2026,
                               "kind": "property_economy", "total": row,
                               "own": dict(row, budget=Decimal("0")),
                               "by_child_place": [dict(row, place_name="妙高街道")]})
    assert result["total"]["allocated"] == "800000.50"
    book = _open(spreadsheets.export("funding", result))
    assert book.sheetnames == ["汇总", "分地区"]
    _check_frame(book["汇总"], "遂昌县2026年经费保障情况统计表（村级物业经济扶持）", [
        "地区", "区划代码", "预算（元）", "已分配（元）", "已拨付（元）", "未拨付（元）",
        "村集体增收（元）"])
    assert _sheet_rows(book["汇总"])[2] == [
        "遂昌县", "331123000000", 1000000, 800000.5, 600000, 200000.5, 35000.25]
    assert book["汇总"]["D3"].number_format == "#,##0.00"
    # the county's own programs (本级) first, then its child places: together the total
    assert [r[0] for r in _sheet_rows(book["分地区"])[2:4]] == ["遂昌县（本级）", "妙高街道"]


def test_an_empty_report_has_its_headings():
    result = _dump("ledger", {"place_code": "331123000000", "as_of": dt.date(2026, 3, 1),
                              "summary": {}, "items": [], "next_cursor": None})
    sheet = _open(spreadsheets.export("ledger", result))["整改台账"]
    assert sheet.max_row == 2 and sheet["B2"].value == "党组织名称"


# -- reading the XML ------------------------------------------------------------------------
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _excel_file() -> bytes:
    """A workbook as Excel writes one: shared strings (one of them rich text with a
    phonetic run), a dimension, a custom date format, a formula's cached value, a row
    without row and cell references."""
    strings = ["丽水市党组织信息表", "党组织名称", "组织类别", "所属领域", "所在地区代码",
               "正式党员数", "成立日期", "上次换届日期", "党支部", "农村", "二支部"]
    shared = "".join(f"<si><t>{s}</t></si>" for s in strings) + (
        "<si><r><t>一</t></r><r><rPr><b/></rPr><t>支部</t></r>"
        "<rPh sb='0' eb='1'><t>いち</t></rPh></si>")
    files = {
        "[Content_Types].xml": (
            "<Types xmlns='http://schemas.openxmlformats.org/package/2006/content-types'>"
            "<Default Extension='rels' ContentType='application/vnd.openxmlformats-package."
            "relationships+xml'/><Default Extension='xml' ContentType='application/xml'/>"
            f"<Override PartName='/xl/workbook.xml' ContentType='{_CT}.sheet.main+xml'/>"
            f"<Override PartName='/xl/worksheets/sheet1.xml' ContentType='{_CT}.worksheet+xml'/>"
            f"<Override PartName='/xl/sharedStrings.xml' ContentType='{_CT}.sharedStrings+xml'/>"
            f"<Override PartName='/xl/styles.xml' ContentType='{_CT}.styles+xml'/></Types>"),
        "_rels/.rels": (
            f"<Relationships xmlns='{_PKG}'><Relationship Id='rId1' Type='{_REL}/officeDocument'"
            " Target='xl/workbook.xml'/></Relationships>"),
        "xl/workbook.xml": (
            f"<workbook xmlns='{_MAIN}' xmlns:r='{_REL}'><sheets>"
            "<sheet name='党组织' sheetId='1' r:id='rId1'/></sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            f"<Relationships xmlns='{_PKG}'>"
            f"<Relationship Id='rId1' Type='{_REL}/worksheet' Target='worksheets/sheet1.xml'/>"
            f"<Relationship Id='rId2' Type='{_REL}/styles' Target='styles.xml'/>"
            f"<Relationship Id='rId3' Type='{_REL}/sharedStrings' Target='sharedStrings.xml'/>"
            "</Relationships>"),
        "xl/styles.xml": (
            f"<styleSheet xmlns='{_MAIN}'><numFmts count='1'><numFmt numFmtId='176' "
            "formatCode='yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;'/></numFmts>"
            "<fonts count='1'><font><sz val='11'/><name val='宋体'/></font></fonts>"
            "<fills count='1'><fill><patternFill patternType='none'/></fill></fills>"
            "<borders count='1'><border/></borders><cellStyleXfs count='1'><xf numFmtId='0'/>"
            "</cellStyleXfs><cellXfs count='3'><xf numFmtId='0' xfId='0'/>"
            "<xf numFmtId='14' xfId='0' applyNumberFormat='1'/>"
            "<xf numFmtId='176' xfId='0' applyNumberFormat='1'/></cellXfs><cellStyles count='1'>"
            "<cellStyle name='Normal' xfId='0' builtinId='0'/></cellStyles></styleSheet>"),
        "xl/sharedStrings.xml": f"<sst xmlns='{_MAIN}'>{shared}</sst>",
        "xl/worksheets/sheet1.xml": (
            f"<worksheet xmlns='{_MAIN}'><dimension ref='A1:G4'/><sheetData>"
            "<row r='1'><c r='A1' t='s'><v>0</v></c></row>"
            "<row r='2'>" + "".join(f"<c r='{col}2' t='s'><v>{i}</v></c>"
                                    for i, col in enumerate("ABCDEFG", start=1)) + "</row>"
            "<row r='3'><c r='A3' t='s'><v>11</v></c><c r='B3' t='s'><v>8</v></c>"
            "<c r='C3' t='s'><v>9</v></c><c r='D3'><v>331123100201</v></c>"
            "<c r='E3'><f>2+3</f><v>5</v></c><c r='F3' s='1'><v>43952</v></c>"
            "<c r='G3' s='2'><v>44317</v></c></row>"
            "<row><c t='inlineStr'><is><t>二支部</t></is></c><c t='s'><v>8</v></c>"
            "<c t='s'><v>9</v></c><c/><c t='str'><v>6</v></c><c t='b'><v>1</v></c></row>"
            "</sheetData></worksheet>"),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text_ in files.items():
            archive.writestr(name, text_)
    return out.getvalue()


def test_a_file_as_excel_writes_it():
    data = _excel_file()
    theirs = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    assert list(theirs.active.values)[2][5] == dt.datetime(2020, 5, 1)  # the file is sound
    parsed = spreadsheets.parse("organizations", data)
    assert parsed == [
        {"row": 3, "values": {"name": "一支部", "kind": "631", "sector": "rural_village",
                              "place_code": VILLAGE, "full_members": 5,
                              "founded_on": "2020-05-01", "elected_on": "2021-05-01"}},
        {"row": 4, "values": {"name": "二支部", "kind": "631", "sector": "rural_village",
                              "full_members": 6, "founded_on": True}}]


def test_cells_read_as_openpyxl_reads_them():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["文字", 12, 12.5, 1.10101199001011e17, True, False, None, "=1+1",
                  dt.datetime(2020, 5, 1), dt.date(2021, 6, 2), dt.datetime(2020, 5, 1, 8, 30)])
    sheet["C5"] = "远处"
    sheet["AB7"] = -3
    sheet.cell(8, 2, dt.date(1904, 1, 1)).number_format = "yyyy/m/d"
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    ours = reader.open_book(data)
    try:
        [(name, path)] = ours.sheets
        rows = {number: values for number, values in ours.rows(path)}
    finally:
        ours.close()
    theirs = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
    theirs.reset_dimensions()
    for number, values in enumerate(theirs.iter_rows(values_only=True), start=1):
        values = list(values)
        while values and values[-1] is None:
            values.pop()
        assert rows.get(number, []) == values, number
    assert rows[1][3] == 1.10101199001011e17 and rows[7][27] == -3


def test_text_that_looks_like_a_formula_stays_text():
    row = dict(ROWS["organizations"], name="=HYPERLINK(\"http://x\",\"点我\")")
    data = spreadsheets.write_rows("organizations", [row])
    assert _open(data).active["A2"].data_type == "s"
    assert _values(data) == [row]
    result = _dump("ledger", {"summary": {}, "items": [{"organization_name": "=1+1"}]})
    cell = _open(spreadsheets.export("ledger", result))["整改台账"]["B3"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")


def _patched(data: bytes, old: bytes, new: bytes) -> bytes:
    """`data` with `old` replaced by `new` in its sheet's XML."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            text_ = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                assert old in text_
                text_ = text_.replace(old, new)
            target.writestr(name, text_)
    return out.getvalue()


@pytest.mark.parametrize("old, new", [
    (b"r='B3'", b"r='ZZZZ3'"),  # beyond the last column
    (b"<c t='s'><v>8</v></c><c t='s'><v>9</v></c><c/>",
     b"<c t='s'><v>99</v></c><c t='s'><v>9</v></c><c/>"),  # no such shared string
    (b"<v>331123100201</v></c><c r='E3'>", b"<v>x</v></c><c r='E3'>"),  # not a number
    (b"</sheetData>", b""),  # not XML
])
def test_a_damaged_sheet_is_not_an_xlsx_file(old, new):
    assert "file" in _raises(_patched(_excel_file(), old, new))


def test_a_truncated_file_is_not_an_xlsx_file():
    data = _excel_file()
    assert "file" in _raises(data[: len(data) // 2])


def _sheet_entry_patched(data: bytes, *, flags: int = 0, method: int | None = None) -> bytes:
    """`data` with the sheet's central-directory entry claiming other general-purpose flags
    (bit 0 encrypted, bit 5 patched data) or another compression method."""
    at = data.index(b"PK\x01\x02")
    name = b"xl/worksheets/sheet1.xml"
    while data[at + 46:at + 46 + len(name)] != name:
        at = data.index(b"PK\x01\x02", at + 4)
    patched = bytearray(data)
    patched[at + 8] |= flags
    if method is not None:
        patched[at + 10:at + 12] = method.to_bytes(2, "little")
    return bytes(patched)


# Found by make fuzz: zipfile raises NotImplementedError or RuntimeError for these, which
# reached the gateway as a 500.
@pytest.mark.parametrize("flags, method", [(0x01, None), (0x20, None), (0, 99), (0, 12),
                                           (0, 14)])
def test_a_sheet_zipfile_cannot_read_is_not_an_xlsx_file(flags, method):
    assert "file" in _raises(_sheet_entry_patched(_excel_file(), flags=flags, method=method))

"""The import heading tables: for each kind of file, its columns in order — the Chinese
heading staff use, the other headings accepted for it, the RPC parameter it fills and
the converter of its cells. Whether a column is required and the labels of an enum
column come from the contract (shared/contracts), never from here."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from services.gateway.spreadsheets import cells as c
from shared import contracts
from shared.contracts.common import Enum
from shared.errors import ValidationError


@dataclass(frozen=True)
class Column:
    field: str
    heading: str
    aliases: tuple[str, ...]
    convert: Callable
    # From the contract:
    required: bool = False
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    methods: tuple[str, ...] = ()

    @property
    def headings(self) -> tuple[str, ...]:
        return (self.heading, *self.aliases)


@dataclass(frozen=True)
class Kind:
    name: str
    service: str
    methods: tuple[str, ...]
    title: str
    sheet_names: tuple[str, ...]
    columns: tuple[Column, ...]


def _col(name, heading, convert, *aliases) -> Column:
    return Column(name, heading, aliases, convert)


_PLACE = ("所在地区代码", c.code, "行政区划代码", "区划代码", "统计用区划代码", "地区代码",
          "所在地代码")

_TABLES = {
    "organizations": ("organizations", ("register_organization",), "党组织",
                      ("党组织信息", "党组织名册"), (
        _col("name", "党组织名称", c.text, "组织名称", "党组织全称"),
        _col("kind", "组织类别", c.enum, "党组织类别", "组织类型", "党组织类型"),
        _col("sector", "所属领域", c.enum, "领域", "行业领域"),
        _col("place_code", *_PLACE),
        _col("parent_id", "上级党组织编号", c.integer, "上级党组织ID", "上级组织编号"),
        _col("full_members", "正式党员数", c.integer, "正式党员", "正式党员人数"),
        _col("probationary_members", "预备党员数", c.integer, "预备党员", "预备党员人数"),
        _col("committee_size", "委员会人数", c.integer, "委员人数", "委员会委员人数", "委员数"),
        _col("units", "联合单位", c.text_list, "联合组建单位", "覆盖单位"),
        _col("founded_on", "成立日期", c.date, "成立时间", "建立日期"),
        _col("elected_on", "上次换届日期", c.date, "上次换届时间", "换届日期", "本届任期开始日期"),
    )),
    "enterprises": ("npe", ("register_enterprise",), "非公企业",
                    ("非公企业信息", "企业信息", "企业名册"), (
        _col("credit_code", "统一社会信用代码", c.code, "社会信用代码", "信用代码"),
        _col("name", "企业名称", c.text, "企业全称"),
        _col("place_code", *_PLACE),
        _col("industry", "所属行业", c.enum, "行业", "行业门类", "国民经济行业门类"),
        _col("size", "企业规模", c.enum, "规模"),
        _col("operating_status", "经营状态", c.enum, "营业状态", "登记状态"),
        _col("employees", "从业人员数", c.integer, "从业人数", "职工人数", "员工人数"),
        _col("full_members", "正式党员数", c.integer, "正式党员", "正式党员人数"),
        _col("migrant_share", "外来务工人员占比", c.decimal, "外来务工人员比例", "流动人员占比"),
        _col("cluster", "所在园区楼宇", c.text, "所在园区", "所在楼宇", "所在集聚区"),
        _col("dual_managed", "是否双管企业", c.boolean, "双管企业"),
    )),
    "reserve_cadres": ("cadres", ("register_person", "recommend_reserve"), "村级后备干部",
                       ("后备干部", "后备干部信息", "后备干部名册"), (
        _col("name", "姓名", c.text),
        _col("sex", "性别", c.enum),
        _col("ethnicity", "民族", c.text),
        _col("birth_date", "出生日期", c.date, "出生年月日"),
        _col("native_place", "籍贯", c.text),
        _col("education", "学历", c.enum, "文化程度", "最高学历"),
        _col("school", "毕业院校及专业", c.text, "毕业院校系及专业", "毕业院校"),
        _col("political_status", "政治面貌", c.enum),
        _col("work_started_on", "参加工作时间", c.date, "参加工作日期"),
        _col("current_post", "现任职务", c.text, "现职务", "职务"),
        _col("current_unit", "工作单位", c.text, "现工作单位", "所在单位"),
        _col("post_category", "岗位类别", c.enum, "职务类别"),
        _col("place_code", *_PLACE),
        _col("identity_number", "公民身份号码", c.code, "身份证号码", "身份证号", "身份号码"),
        _col("college_graduate_official", "是否大学生村官", c.boolean, "大学生村官"),
        _col("cv", "简历", c.cv, "个人简历", "工作简历"),
        _col("recommended_by", "推荐人（单位）", c.text, "推荐人或推荐单位", "推荐单位", "推荐人"),
        _col("method", "推荐方式", c.enum),
        _col("recommended_on", "推荐日期", c.date, "推荐时间"),
        _col("votes", "得票数", c.integer, "票数", "推荐票数"),
        _col("remarks", "备注", c.text),
    )),
}


def _resolve(service: str, methods: tuple[str, ...], column: Column) -> Column:
    """The column with what the contract says of its field."""
    candidates = [(method, contracts.rpc_contract(service, method).params.fields.get(column.field))
                  for method in methods]
    found = [(method, f) for method, f in candidates if f is not None]
    if not found:
        raise LookupError(f"{column.field} is a parameter of none of {service}.{methods}")
    labels = next((dict(f.labels) for _, f in found if isinstance(f, Enum)), {})
    return Column(column.field, column.heading, column.aliases, column.convert,
                  required=any(f.required for _, f in found), labels=labels,
                  methods=tuple(method for method, _ in found))


KINDS: dict[str, Kind] = {
    name: Kind(name, service, methods, title, sheet_names,
               tuple(_resolve(service, methods, column) for column in columns))
    for name, (service, methods, title, sheet_names, columns) in _TABLES.items()
}

# kind → (service, Chinese title): which service takes the rows of each kind of file.
IMPORTS: dict[str, tuple[str, str]] = {k.name: (k.service, k.title) for k in KINDS.values()}


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValidationError(f"no spreadsheet import of {name!r}",
                              {"kind": [f"one of {', '.join(KINDS)}"]}) from None

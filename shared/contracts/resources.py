"""Contract of the resources service: funding programs and their money, retired village
cadres' subsidies, economically weak villages, and activity venues (domain.md §7)."""

from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

from shared.contracts import NEW, event, rpc_method, state_machine
from shared.contracts.common import (
    PERIOD,
    Enum,
    PastDate,
    Pattern,
    PlaceCode,
    StrictBoolean,
    decimal_pattern,
    decimal_places,
    label_of,
    labels_of,
    page_fields,
    request_id_field,
    text,
)

SERVICE = "resources"

PROGRAM_KINDS = {
    "property_economy": "村级物业经济扶持",
    "retired_cadre_pension": "离任村干部养老补助",
    "venue_construction": "村级组织活动场所建设",
    "other": "其他",
}
VENUE_FUNCTIONS = {
    "party_activities": "党员活动",
    "education_training": "教育培训",
    "convenience_services": "便民服务",
    "culture": "文化娱乐",
    "information": "信息服务",
}
PROJECT_KINDS = {"upgrade": "改造提升", "construction": "新建"}
PROJECT_STATUSES = {"in_progress": "在建", "completed": "已竣工", "cancelled": "已取消"}


TWO_PLACES = Decimal("0.01")
# Plain ASCII digits only. Decimal() takes more, none of it meant as a figure: "1e30"
# (which cannot then be quantized), "1_000", "NaN", "Infinity" and "１２" (full width).
_FIGURE = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


class _Figure(fields.Decimal):
    """A non-negative figure of at most two decimals, up to `maximum`. A third decimal is
    refused, not rounded: a figure is not silently changed."""

    what, hint = "a figure", "如 \"1234.56\""
    # Each kind of figure words its own refusals.
    too_precise: str
    too_large: str

    def __init__(self, *, maximum: Decimal, **kwargs):
        self.maximum = maximum
        super().__init__(places=2, as_string=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            raise ValidationError(f"give {self.what} as a string or an integer, not a float "
                                  f"(请用字符串，{self.hint})")
        text = format(value, "f") if isinstance(value, Decimal) else value
        if not isinstance(text, (str, int)) or not _FIGURE.fullmatch(str(text)):
            raise ValidationError(f"not {self.what}: plain digits, at most two decimals "
                                  f"({self.hint})")
        number = Decimal(str(text))
        if decimal_places(number) > 2:
            raise ValidationError(self.too_precise)
        if number.is_signed():  # "-0" too: a sign on nothing is a mistake, not a zero
            raise ValidationError("must not be negative")
        if number > self.maximum:
            raise ValidationError(self.too_large)
        return number.quantize(TWO_PLACES)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format(Decimal(value).quantize(TWO_PLACES), "f")

    def json_schema(self) -> dict:
        """Text with at most two decimals (an optional "+"), or a JSON integer; the same
        bounds either way."""
        positive = getattr(self, "positive", False)
        return {"anyOf": [
            {"type": "string", "format": "decimal", "pattern": decimal_pattern(
                0, self.maximum, 2, exclusive_minimum=positive, plus=True)},
            {"type": "integer", "minimum": 1 if positive else 0,
             "maximum": int(self.maximum)},
        ], "x-decimal-places": 2}


class Money(_Figure):
    """Yuan with fen: exact, at most two decimals, never negative, less than a trillion
    yuan, what the database's numeric(14, 2) holds (金额，元，保留两位小数)."""

    what = "an amount of money"
    too_precise = "at most two decimals: yuan and fen (金额最多两位小数)"
    too_large = "must be less than 1000000000000 yuan (金额须小于一万亿元)"

    def __init__(self, *, positive: bool = False, **kwargs):
        self.positive = positive
        super().__init__(maximum=Decimal("999999999999.99"), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        amount = super()._deserialize(value, attr, data, **kwargs)
        if self.positive and amount == 0:
            raise ValidationError("must be more than zero")
        return amount


class Area(_Figure):
    """Square metres, at most two decimals (refused, not rounded), at most 100 000 m²."""

    what, hint = "an area", "平方米，如 \"220.5\""
    too_precise = "at most two decimals (面积最多两位小数)"
    too_large = "at most 100000 m² (面积不超过十万平方米)"

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("description", "m²")
        super().__init__(maximum=Decimal(100_000), **kwargs)


def _id(**kw):
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kw)


def _year(**kw):
    return fields.Integer(strict=True, validate=validate.Range(2000, 2100), **kw)


# -- programs, budgets, allocations, disbursements, income --------------------------------
class CreateProgram(Schema):
    request_id = request_id_field()
    kind = Enum(PROGRAM_KINDS, required=True)
    name = text(200, required=True)
    place_code = PlaceCode(required=True, metadata={"description": "who runs it (a county, say)"})


class Budget(Schema):
    year = fields.Integer()
    amount = Money()


class Program(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = label_of(PROGRAM_KINDS)("kind")
    name = fields.String()
    place_code = fields.String()
    budgets = fields.List(fields.Nested(Budget), metadata={
        "description": "the program's budget of each year (at the program's place)"})


class SetBudget(Schema):
    request_id = request_id_field()
    program_id = _id(required=True)
    year = _year(required=True)
    amount = Money(required=True)


class Allocate(Schema):
    request_id = request_id_field()
    program_id = _id(required=True)
    year = _year(required=True)
    place_code = PlaceCode(required=True, kinds=("village", "community"), metadata={
        "description": "a village or community (村、社区) under the program's place"})
    amount = Money(positive=True, required=True)
    purpose = text(500, required=True, metadata={"description": "the project or the use"})


class Disbursement(Schema):
    amount = Money()
    paid_on = fields.Date()
    document = fields.String()


class ProjectIncome(Schema):
    year = fields.Integer()
    income = Money()


class Allocation(Schema):
    id = fields.Integer()
    program_id = fields.Integer()
    program_kind = fields.String()
    program_kind_label = label_of(PROGRAM_KINDS)("program_kind")
    program_place_code = fields.String(metadata={"description": "where the program is run"})
    year = fields.Integer()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    purpose = fields.String()
    amount = Money()
    disbursed = Money()
    remaining = Money(metadata={"description": "allocated, not yet disbursed"})
    disbursements = fields.List(fields.Nested(Disbursement))
    income = fields.List(fields.Nested(ProjectIncome), metadata={
        "description": "collective income raised, by year"})
    version = fields.Integer()


class Disburse(Schema):
    request_id = request_id_field()
    allocation_id = _id(required=True)
    amount = Money(positive=True, required=True)
    paid_on = PastDate(required=True, metadata={"description": "not before the allocation's year"})
    document = text(200, required=True, metadata={"description": "the payment's document (文号)"})


class RecordIncome(Schema):
    request_id = request_id_field()
    allocation_id = _id(required=True, metadata={"description": "a property economy project"})
    year = _year(required=True, metadata={
        "description": "from the allocation's year to this year"})
    income = Money(required=True, metadata={"description": "collective income it raised"})


class AllocationRef(Schema):
    allocation_id = _id(required=True)


class FundingQuery(Schema):
    place_code = PlaceCode(required=True)
    year = _year(required=True)
    kind = Enum(PROGRAM_KINDS, load_default=None)


class FundingRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    budget = Money(metadata={"description": "budgets set at this place or under it"})
    allocated = Money()
    disbursed = Money()
    undisbursed = Money(metadata={"description": "allocated, not disbursed"})
    income = Money(metadata={"description": "collective income raised in the year, by "
                                           "projects funded in any year"})


class FundingReport(Schema):
    place_code = fields.String()
    year = fields.Integer()
    kind = fields.String(allow_none=True)
    kind_label = label_of(PROGRAM_KINDS)("kind")
    total = fields.Nested(FundingRow, metadata={"description": "own and every child place"})
    own = fields.Nested(FundingRow, metadata={
        "description": "recorded at the place itself, not under a child (e.g. the budget of "
                       "a program the place runs)"})
    by_child_place = fields.List(fields.Nested(FundingRow), metadata={
        "description": "one row per child place, in code order (zeros where nothing is "
                       "recorded); never the place itself"})


class UndisbursedQuery(Schema):
    place_code = PlaceCode(required=True)
    year = _year(required=True)
    limit, after = page_fields(default=200, maximum=1000).values()


class AllocationPage(Schema):
    items = fields.List(fields.Nested(Allocation))
    next_cursor = fields.String(allow_none=True)


# -- economically weak villages -------------------------------------------------------
class RecordVillageIncome(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True, kinds=("village",),
                           metadata={"description": "a village (村)"})
    year = _year(required=True)
    income = Money(required=True, metadata={"description": "the village's collective income"})


class WeakVillagesQuery(Schema):
    place_code = PlaceCode(required=True)
    year = _year(required=True)


class WeakVillage(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    income = Money(allow_none=True)


class WeakVillages(Schema):
    place_code = fields.String()
    year = fields.Integer()
    rule = fields.Dict(metadata={"description": "the rule used: income below this is weak"})
    weak = fields.List(fields.Nested(WeakVillage))
    without_figure = fields.List(fields.Nested(WeakVillage), metadata={
        "description": "villages with no income recorded for the year"})


# -- retired village cadres -------------------------------------------------------------
class RegisterRetiredCadre(Schema):
    request_id = request_id_field()
    name = text(100, required=True)
    place_code = PlaceCode(required=True, levels=("village",),
                           metadata={"description": "the village served"})
    birth_date = PastDate(required=True)
    years_served = fields.Integer(strict=True, required=True, validate=validate.Range(0, 70))
    left_on = PastDate(required=True)


class SubsidyPayment(Schema):
    period = fields.String(metadata={"description": "the month paid for, YYYY-MM"})
    amount = Money()
    paid_on = fields.Date()


class RetiredCadre(Schema):
    id = fields.Integer()
    name = fields.String()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    birth_date = fields.Date()
    years_served = fields.Integer()
    left_on = fields.Date()
    eligible = StrictBoolean(metadata={"description": "today"})
    why_not = fields.List(fields.String())
    paid = fields.List(fields.Nested(SubsidyPayment))


class PaySubsidy(Schema):
    request_id = request_id_field()
    cadre_id = _id(required=True)
    period = fields.String(required=True, validate=Pattern(PERIOD),
                           metadata={"description": "the month paid for, YYYY-MM: from the month "
                                                    "the cadre left to this month; eligible then"})
    amount = Money(positive=True, required=True)
    paid_on = PastDate(required=True)


class CadreRef(Schema):
    cadre_id = _id(required=True)


class PensionReportQuery(Schema):
    place_code = PlaceCode(required=True)
    year = _year(required=True)


class PensionRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    cadres = fields.Integer(metadata={"description": "retired by the year's end"})
    eligible = fields.Integer(metadata={
        "description": "eligible at the year's end (today, for this year)"})
    paid_cadres = fields.Integer(metadata={"description": "eligible ones paid in the year"})
    paid = Money(metadata={"description": "paid in the year"})


class PensionReport(Schema):
    place_code = fields.String()
    year = fields.Integer()
    rules = fields.Dict()
    total = fields.Nested(PensionRow)
    by_child_place = fields.List(fields.Nested(PensionRow))


# -- venues ---------------------------------------------------------------------------
class RegisterVenue(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True, levels=("village",),
                           metadata={"description": "a village or community"})
    name = text(200, required=True)
    area = Area(required=True)
    functions = fields.List(Enum(VENUE_FUNCTIONS), required=True)


class VenueProject(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = label_of(PROJECT_KINDS)("kind")
    budget = Money()
    status = fields.String()
    status_label = label_of(PROJECT_STATUSES)("status")
    started_on = fields.Date()
    planned_area = Area()
    planned_functions = fields.List(fields.String())
    planned_function_labels = labels_of(VENUE_FUNCTIONS)("planned_functions")
    completed_on = fields.Date(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "why it was cancelled"})


class Venue(Schema):
    id = fields.Integer()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    name = fields.String()
    area = Area()
    functions = fields.List(fields.String())
    function_labels = labels_of(VENUE_FUNCTIONS)("functions")
    compliant = StrictBoolean(metadata={"description": "by the standard in force"})
    shortfalls = fields.List(fields.String(), metadata={"description": "why it is below standard"})
    projects = fields.List(fields.Nested(VenueProject))
    version = fields.Integer()


class VenueRef(Schema):
    venue_id = _id(required=True)


class StartProject(Schema):
    request_id = request_id_field()
    venue_id = _id(required=True)
    kind = Enum(PROJECT_KINDS, required=True)
    budget = Money(positive=True, required=True)
    started_on = PastDate(required=True)
    planned_area = Area(required=True)
    planned_functions = fields.List(Enum(VENUE_FUNCTIONS), required=True)


class CompleteProject(Schema):
    request_id = request_id_field()
    project_id = _id(required=True)
    completed_on = PastDate(required=True, metadata={"description": "not before it started"})
    area = Area(required=True, metadata={"description": "as built, m²"})
    functions = fields.List(Enum(VENUE_FUNCTIONS), required=True)


class CancelProject(Schema):
    request_id = request_id_field()
    project_id = _id(required=True)
    reason = text(500, required=True)


class VenueReportQuery(Schema):
    place_code = PlaceCode(required=True)


class VenueRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    venues = fields.Integer()
    compliant = fields.Integer()
    below_standard = fields.Integer()
    in_progress = fields.Integer(metadata={"description": "below standard, a project under way"})
    compliance_rate = fields.Decimal(places=4, as_string=True, allow_none=True)


class VenueBelow(Schema):
    id = fields.Integer()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    name = fields.String()
    area = Area()
    functions = fields.List(fields.String())
    function_labels = labels_of(VENUE_FUNCTIONS)("functions")
    shortfalls = fields.List(fields.String())
    in_progress = StrictBoolean(metadata={"description": "an upgrade or construction under way"})


class VenueReport(Schema):
    place_code = fields.String()
    rules = fields.Dict()
    total = fields.Nested(VenueRow)
    by_child_place = fields.List(fields.Nested(VenueRow))
    below_standard = fields.List(fields.Nested(VenueBelow), metadata={
        "description": "the first 500 by place"})


# -- events -----------------------------------------------------------------------------
class VenueComplianceChanged(Schema):
    venue_id = fields.Integer(required=True)
    place_code = fields.String(required=True)
    compliant = StrictBoolean(required=True)
    area = Area(required=True)
    functions = fields.List(fields.String(), required=True)
    shortfalls = fields.List(fields.String(), required=True)


READ, WRITE = "resources.read", "resources.write"

rpc_method(SERVICE, "create_program", params=CreateProgram, result=Program,
           role=WRITE, mutating=True, summary="A funding program of a place.")
rpc_method(SERVICE, "set_budget", params=SetBudget, result=Program,
           role=WRITE, mutating=True,
           summary="The program's budget for a year.\n"
                   "Replaces the year's budget (never below what is allocated of it already).")
rpc_method(SERVICE, "allocate", params=Allocate, result=Allocation,
           role=WRITE, mutating=True,
           summary="Allocate part of a year's budget to a village or community under the "
                   "program's place; never more than the budget left.")
rpc_method(SERVICE, "disburse", params=Disburse, result=Allocation,
           role=WRITE, mutating=True,
           summary="Pay out of an allocation, with its date and document; never more than "
                   "remains.\n"
                   "Each call adds a payment; `disbursed` is their sum.")
rpc_method(SERVICE, "record_income", params=RecordIncome, result=Allocation,
           role=WRITE, mutating=True,
           summary="The collective income a property economy project raised in a year.\n"
                   "Replaces the income recorded for that allocation and year.")
rpc_method(SERVICE, "get_allocation", params=AllocationRef, result=Allocation,
           role=READ, mutating=False, summary="An allocation and its payments.")
rpc_method(SERVICE, "funding_report", params=FundingQuery, result=FundingReport,
           role=READ, mutating=False,
           summary="Budget, allocated, disbursed, undisbursed and income raised, by place.\n"
                   "`by_child_place` has one row per child place (zeros where nothing is "
                   "recorded); `own` holds what is recorded at the place itself (a program it "
                   "runs, say); `total` is `own` and every child together.")
rpc_method(SERVICE, "undisbursed", params=UndisbursedQuery, result=AllocationPage,
           role=READ, mutating=False, summary="Allocations of a year not fully disbursed.")
rpc_method(SERVICE, "record_village_income", params=RecordVillageIncome, result=WeakVillage,
           role=WRITE, mutating=True,
           summary="A village's collective income for a year.\n"
                   "Replaces the income recorded for that village and year.")
rpc_method(SERVICE, "weak_villages", params=WeakVillagesQuery, result=WeakVillages,
           role=READ, mutating=False,
           summary="Economically weak villages (经济薄弱村) of a year, by the configured rule.")
rpc_method(SERVICE, "register_retired_cadre", params=RegisterRetiredCadre, result=RetiredCadre,
           role=WRITE, mutating=True,
           summary="A retired village cadre; eligibility by years served and age (configured).")
rpc_method(SERVICE, "pay_subsidy", params=PaySubsidy, result=RetiredCadre,
           role=WRITE, mutating=True,
           summary="The pension subsidy of a month, once per month, for an eligible cadre.")
rpc_method(SERVICE, "get_retired_cadre", params=CadreRef, result=RetiredCadre,
           role=READ, mutating=False, summary="A retired cadre and payments.")
rpc_method(SERVICE, "pension_report", params=PensionReportQuery, result=PensionReport,
           role=READ, mutating=False, summary="Retired cadres, eligible, paid, by place.")
rpc_method(SERVICE, "register_venue", params=RegisterVenue, result=Venue,
           role=WRITE, mutating=True,
           summary="A village's or community's activity venue; compliance by the configured "
                   "standard.")
rpc_method(SERVICE, "get_venue", params=VenueRef, result=Venue,
           role=READ, mutating=False, summary="A venue with its projects.")
rpc_method(SERVICE, "start_project", params=StartProject, result=Venue,
           role=WRITE, mutating=True, summary="An upgrade or construction project.")
rpc_method(SERVICE, "complete_project", params=CompleteProject, result=Venue,
           role=WRITE, mutating=True,
           summary="The project is done: the venue is as built (venue_compliance_changed when "
                   "that changes).")
rpc_method(SERVICE, "cancel_project", params=CancelProject, result=Venue,
           role=WRITE, mutating=True, summary="The project is called off.")
rpc_method(SERVICE, "venue_report", params=VenueReportQuery, result=VenueReport,
           role=READ, mutating=False,
           summary="Venues compliant, below standard and in progress, by place.")

event(SERVICE, "venue_compliance_changed", data=VenueComplianceChanged,
      summary="A venue came up to the standard, or fell below it.")

state_machine(
    SERVICE, "venue project", field="VenueProject.status", statuses=PROJECT_STATUSES,
    transitions=[
        (NEW, "start_project", "in_progress", "resources.write, the venue's place in the "
         "caller's jurisdiction", ""),
        ("in_progress", "complete_project", "completed", "resources.write, the same",
         "the venue takes the area and functions as built (venue_compliance_changed when "
         "that changes whether it meets the standard)"),
        ("in_progress", "cancel_project", "cancelled", "resources.write, the same",
         "with a reason"),
    ],
    notes="completed and cancelled are final: completing or cancelling again is a Conflict.")

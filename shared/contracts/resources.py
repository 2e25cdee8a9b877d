"""Contract of the resources service: funding programs and their money, retired village
cadres' subsidies, economically weak villages, and activity venues (domain.md §7)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from marshmallow import Schema, ValidationError, fields, validate

from shared.contracts import event, rpc_method
from shared.contracts.common import (
    Enum,
    PastDate,
    PlaceCode,
    label_of,
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


class Money(fields.Decimal):
    """Yuan with fen: exact, at most two decimals, never negative (金额，元，保留两位小数).

    A third decimal is refused, not rounded: money is not silently changed."""

    def __init__(self, *, positive: bool = False, **kwargs):
        self.positive = positive
        super().__init__(places=None, as_string=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            raise ValidationError("give money as a string or an integer, not a float "
                                  "(金额请用字符串，如 \"1234.56\")")
        try:
            amount = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise ValidationError("not an amount of money") from None
        if not amount.is_finite():
            raise ValidationError("not an amount of money")
        if amount.as_tuple().exponent < -2:
            raise ValidationError("at most two decimals: yuan and fen (金额最多两位小数)")
        if amount < 0 or (self.positive and amount == 0):
            raise ValidationError("must be more than zero" if self.positive
                                  else "must not be negative")
        return amount.quantize(Decimal("0.01"))

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


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


class Program(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = label_of(PROGRAM_KINDS)("kind")
    name = fields.String()
    place_code = fields.String()
    budgets = fields.List(fields.Dict(), metadata={"description": "year, place, amount"})


class SetBudget(Schema):
    request_id = request_id_field()
    program_id = _id(required=True)
    year = _year(required=True)
    amount = Money(required=True)


class Allocate(Schema):
    request_id = request_id_field()
    program_id = _id(required=True)
    year = _year(required=True)
    place_code = PlaceCode(required=True, metadata={"description": "the village (or community)"})
    amount = Money(positive=True, required=True)
    purpose = text(500, required=True, metadata={"description": "the project or the use"})


class Allocation(Schema):
    id = fields.Integer()
    program_id = fields.Integer()
    program_kind = fields.String()
    year = fields.Integer()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    purpose = fields.String()
    amount = Money()
    disbursed = Money()
    remaining = Money(metadata={"description": "allocated, not yet disbursed"})
    disbursements = fields.List(fields.Dict())
    income = fields.List(fields.Dict(), metadata={"description": "collective income raised, by year"})
    version = fields.Integer()


class Disburse(Schema):
    request_id = request_id_field()
    allocation_id = _id(required=True)
    amount = Money(positive=True, required=True)
    paid_on = PastDate(required=True)
    document = text(200, required=True, metadata={"description": "the payment's document (文号)"})


class RecordIncome(Schema):
    request_id = request_id_field()
    allocation_id = _id(required=True, metadata={"description": "a property economy project"})
    year = _year(required=True)
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
    income = Money(metadata={"description": "collective income raised in the year"})


class FundingReport(Schema):
    place_code = fields.String()
    year = fields.Integer()
    kind = fields.String(allow_none=True)
    total = fields.Nested(FundingRow)
    by_child_place = fields.List(fields.Nested(FundingRow))


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
    place_code = PlaceCode(required=True)
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
    place_code = PlaceCode(required=True, metadata={"description": "the village served"})
    birth_date = PastDate(required=True)
    years_served = fields.Integer(strict=True, required=True, validate=validate.Range(0, 70))
    left_on = PastDate(required=True)


class RetiredCadre(Schema):
    id = fields.Integer()
    name = fields.String()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    birth_date = fields.Date()
    years_served = fields.Integer()
    left_on = fields.Date()
    eligible = fields.Boolean()
    why_not = fields.List(fields.String())
    paid = fields.List(fields.Dict(), metadata={"description": "period, amount, paid_on"})


class PaySubsidy(Schema):
    request_id = request_id_field()
    cadre_id = _id(required=True)
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"),
                           metadata={"description": "the month paid for, YYYY-MM"})
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
    cadres = fields.Integer()
    eligible = fields.Integer()
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
    place_code = PlaceCode(required=True, metadata={"description": "a village or community"})
    name = text(200, required=True)
    area = fields.Decimal(places=2, as_string=True, required=True, validate=validate.Range(0, 100_000),
                          metadata={"description": "m²"})
    functions = fields.List(Enum(VENUE_FUNCTIONS), required=True)


class Venue(Schema):
    id = fields.Integer()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    name = fields.String()
    area = fields.Decimal(places=2, as_string=True)
    functions = fields.List(fields.String())
    compliant = fields.Boolean()
    shortfalls = fields.List(fields.String(), metadata={"description": "why it is below standard"})
    projects = fields.List(fields.Dict())
    version = fields.Integer()


class VenueRef(Schema):
    venue_id = _id(required=True)


class StartProject(Schema):
    request_id = request_id_field()
    venue_id = _id(required=True)
    kind = Enum(PROJECT_KINDS, required=True)
    budget = Money(positive=True, required=True)
    started_on = PastDate(required=True)
    planned_area = fields.Decimal(places=2, as_string=True, required=True,
                                  validate=validate.Range(0, 100_000))
    planned_functions = fields.List(Enum(VENUE_FUNCTIONS), required=True)


class CompleteProject(Schema):
    request_id = request_id_field()
    project_id = _id(required=True)
    completed_on = PastDate(required=True)
    area = fields.Decimal(places=2, as_string=True, required=True,
                          validate=validate.Range(0, 100_000), metadata={"description": "as built"})
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
    area = fields.Decimal(places=2, as_string=True)
    functions = fields.List(fields.String())
    shortfalls = fields.List(fields.String())
    in_progress = fields.Boolean(metadata={"description": "an upgrade or construction under way"})


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
    compliant = fields.Boolean(required=True)
    area = fields.Decimal(places=2, as_string=True, required=True)
    functions = fields.List(fields.String(), required=True)
    shortfalls = fields.List(fields.String(), required=True)


READ, WRITE = "resources.read", "resources.write"

for _method, _params, _result, _role, _mutating, _summary in [
    ("create_program", CreateProgram, Program, WRITE, True, "A funding program of a place."),
    ("set_budget", SetBudget, Program, WRITE, True, "The program's budget for a year."),
    ("allocate", Allocate, Allocation, WRITE, True,
     "Allocate part of a year's budget to a village; never more than the budget left."),
    ("disburse", Disburse, Allocation, WRITE, True,
     "Pay out of an allocation, with its date and document; never more than remains."),
    ("record_income", RecordIncome, Allocation, WRITE, True,
     "The collective income a property economy project raised in a year."),
    ("get_allocation", AllocationRef, Allocation, READ, False, "An allocation and its payments."),
    ("funding_report", FundingQuery, FundingReport, READ, False,
     "Budget, allocated, disbursed, undisbursed and income raised, by place."),
    ("undisbursed", UndisbursedQuery, AllocationPage, READ, False,
     "Allocations of a year not fully disbursed."),
    ("record_village_income", RecordVillageIncome, WeakVillage, WRITE, True,
     "A village's collective income for a year."),
    ("weak_villages", WeakVillagesQuery, WeakVillages, READ, False,
     "Economically weak villages (经济薄弱村) of a year, by the configured rule."),
    ("register_retired_cadre", RegisterRetiredCadre, RetiredCadre, WRITE, True,
     "A retired village cadre; eligibility by years served and age (configured)."),
    ("pay_subsidy", PaySubsidy, RetiredCadre, WRITE, True,
     "The pension subsidy of a month, once per month, for an eligible cadre."),
    ("get_retired_cadre", CadreRef, RetiredCadre, READ, False, "A retired cadre and payments."),
    ("pension_report", PensionReportQuery, PensionReport, READ, False,
     "Retired cadres, eligible, paid, by place."),
    ("register_venue", RegisterVenue, Venue, WRITE, True,
     "A village's or community's activity venue; compliance by the configured standard."),
    ("get_venue", VenueRef, Venue, READ, False, "A venue with its projects."),
    ("start_project", StartProject, Venue, WRITE, True, "An upgrade or construction project."),
    ("complete_project", CompleteProject, Venue, WRITE, True,
     "The project is done: the venue is as built (venue_compliance_changed when that changes)."),
    ("cancel_project", CancelProject, Venue, WRITE, True, "The project is called off."),
    ("venue_report", VenueReportQuery, VenueReport, READ, False,
     "Venues compliant, below standard and in progress, by place."),
]:
    rpc_method(SERVICE, _method, params=_params, result=_result, role=_role,
               mutating=_mutating, summary=_summary)

event(SERVICE, "venue_compliance_changed", data=VenueComplianceChanged,
      summary="A venue came up to the standard, or fell below it.")

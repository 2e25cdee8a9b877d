"""Funding and venues (docs/domain.md §7). Pure: no I/O. Money is Decimal yuan with fen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal

from shared.contracts.resources import VENUE_FUNCTIONS
from shared.domain.dates import not_before
from shared.domain.events import Event
from shared.domain.shares import share
from shared.errors import Conflict, ValidationError
from shared.national import regions

FEN = Decimal("0.01")
# The venue standard's default areas (m²), by the kind of village-level place that has a
# venue (shared.national.regions: 社区 001–199, 村 200–399, 类似村级单位 400–599).
VENUE_MIN_AREA = {"community": "300", "village": "200", "village_like": "200"}
# Allocations go to these (the contract's "village or community").
ALLOCATED_TO = ("village", "community")


@dataclass(frozen=True)
class Rules:
    """This province's choices (domain.md §9): configuration with these defaults."""

    # 经济薄弱村: collective income below this (yuan a year) (ours, a common threshold).
    weak_village_income_below: str = "100000.00"
    # Retired village cadres' pension subsidy: served at least this long, and this old.
    pension_min_years_served: int = 6
    pension_min_age: int = 60
    # Venues: the smallest area (m²) by the kind of place, and the functions required.
    venue_min_area: dict = field(default_factory=lambda: dict(VENUE_MIN_AREA))
    venue_required_functions: tuple[str, ...] = (
        "party_activities", "education_training", "convenience_services")

    @classmethod
    def from_config(cls, values: dict | None) -> Rules:
        values = dict(values or {})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown resources rules: {', '.join(sorted(unknown))}")
        if "venue_required_functions" in values:
            values["venue_required_functions"] = tuple(values["venue_required_functions"])
        if "venue_min_area" in values:
            # A province that sets only the community's area keeps the village's default:
            # a partial mapping replacing the whole would refuse every village's venue.
            given = values["venue_min_area"]
            if not isinstance(given, dict) or not set(given) <= set(VENUE_MIN_AREA):
                raise ValueError("venue_min_area must map " + ", ".join(VENUE_MIN_AREA)
                                 + " to square metres")
            values["venue_min_area"] = {**VENUE_MIN_AREA, **{k: str(v) for k, v in given.items()}}
        rules = cls(**values)
        if not set(rules.venue_required_functions) <= set(VENUE_FUNCTIONS):
            raise ValueError("venue_required_functions must be venue functions")
        for kind, area in rules.venue_min_area.items():
            if not _square_metres(area):
                raise ValueError(f"venue_min_area of {kind} must be square metres, not {area!r}")
        return rules

    def as_report(self, *names: str) -> dict:
        values = asdict(self)
        return {name: values[name] for name in names}


def _square_metres(value: object) -> bool:
    try:
        area = Decimal(str(value))
    except ArithmeticError:
        return False
    return area.is_finite() and area >= 0


def money(value: object) -> Decimal:
    return Decimal(str(value)).quantize(FEN, ROUND_HALF_UP)


def require_known_place(code: str, known: Collection[str]) -> None:
    """A place resources was told of (`known`: the place names the owner lookup found)."""
    if code not in known:
        raise ValidationError("unknown place", {"place_code": [
            f"no place {code} known to resources (places arrive from organizations)"]})


def check_budget(amount: Decimal, allocated: Decimal) -> None:
    """A year's budget covers what is allocated of it already."""
    if amount < allocated:
        raise Conflict(f"{allocated} yuan is allocated already: the budget cannot be less",
                       {"allocated": str(allocated)})


def check_allocation(budget: Decimal | None, allocated: Decimal, amount: Decimal) -> None:
    if budget is None:
        raise Conflict("the program has no budget for that year (该年度未安排预算)", {})
    if allocated + amount > budget:
        raise Conflict(f"only {money(budget - allocated)} yuan of the {money(budget)} budget is "
                       f"left to allocate, not {money(amount)} (超出预算余额)",
                       {"remaining": str(money(budget - allocated))})


def check_allocated_place(place_code: str) -> None:
    kind = regions.kind_of(place_code)
    if kind not in ALLOCATED_TO:
        raise ValidationError("allocations go to villages and communities", {
            "place_code": [f"a {regions.KINDS[kind]} is not a village or community (村、社区)"]})


def check_allocated_within(place_code: str, program_place_code: str) -> None:
    """A program's money goes to the villages and communities of its own place."""
    check_allocated_place(place_code)
    if not regions.in_subtree(place_code, program_place_code):
        raise ValidationError("outside the program's place", {"place_code": [
            f"{place_code} is outside {program_place_code}"]})


def check_disbursement(allocated: Decimal, disbursed: Decimal, amount: Decimal) -> None:
    remaining = allocated - disbursed
    if amount > remaining:
        raise Conflict(f"only {money(remaining)} yuan remains of the allocation, not "
                       f"{money(amount)} (超出拨付余额)", {"remaining": str(money(remaining))})


def check_paid_on(allocation_year: int, paid_on: dt.date) -> None:
    """Money of a year's allocation is not paid before that year began."""
    not_before(paid_on, dt.date(allocation_year, 1, 1), "paid_on",
               "paid before the allocation's year",
               f"the allocation is of {allocation_year}: not before {allocation_year}-01-01"
               " (不能早于分配年度)")


def check_income(allocation: dict, year: int, today: dt.date) -> None:
    """Income is recorded for a property economy project, of a year it can have raised it."""
    if allocation["program_kind"] != "property_economy":
        raise ValidationError("income is recorded for property economy projects", {
            "allocation_id": ["not a village property economy allocation (村级物业经济)"]})
    check_income_year(allocation["year"], year, today)


def check_income_year(allocation_year: int, year: int, today: dt.date) -> None:
    """A project raises income from the year it is funded, up to this year."""
    if not allocation_year <= year <= today.year:
        raise ValidationError("not a year the project can have raised income in", {"year": [
            f"from {allocation_year} (the allocation's year) to {today.year}"]})


def check_village(place_code: str) -> None:
    """Collective income (of economically weak villages) is a village's (村)."""
    if regions.kind_of(place_code) != "village":
        raise ValidationError("collective income is a village's", {
            "place_code": ["must be a village (村)"]})


def is_weak(income: Decimal, rules: Rules) -> bool:
    return income < Decimal(rules.weak_village_income_below)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def check_cadre_place(place_code: str) -> None:
    """A retired village cadre served a place of the village level (村、社区)."""
    if regions.level_of(place_code) != "village":
        raise ValidationError("a village cadre served a village", {
            "place_code": ["must be a village or community (村、社区)"]})


def pension_shortfalls(years_served: int, birth_date: dt.date, day: dt.date,
                       rules: Rules) -> list[str]:
    """Why a retired cadre is not (yet, on `day`) eligible; empty when eligible."""
    why = []
    if years_served < rules.pension_min_years_served:
        why.append(f"served {years_served} years, fewer than {rules.pension_min_years_served}"
                   f" (任职不满{rules.pension_min_years_served}年)")
    age = age_on(birth_date, day)
    if age < rules.pension_min_age:
        why.append(f"{age} years old, younger than {rules.pension_min_age}"
                   f" (未满{rules.pension_min_age}周岁)")
    return why


def period_end(period: str) -> dt.date:
    """The last day of a YYYY-MM month: a subsidy's month counts once the cadre reaches the
    age within it (ours)."""
    year, month = map(int, period.split("-"))
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def check_subsidy_period(period: str, left_on: dt.date, today: dt.date) -> None:
    """A subsidy is for a month after the cadre left office, and not for a month to come."""
    first, last = f"{left_on:%Y-%m}", f"{today:%Y-%m}"
    if not first <= period <= last:
        raise ValidationError("not a month the subsidy can be paid for", {"period": [
            f"from {first} (the month the cadre left) to {last} (this month)"
            " (发放月份须在离任之后、不晚于本月)"]})


def check_subsidy(cadre: dict, period: str, today: dt.date, rules: Rules) -> None:
    """A month's subsidy is paid for a month the cadre can be owed it, and was eligible in.
    Eligible for that month, not today: a month before the cadre came of age is not owed,
    however late it is paid."""
    check_subsidy_period(period, cadre["left_on"], today)
    why = pension_shortfalls(cadre["years_served"], cadre["birth_date"], period_end(period),
                             rules)
    if why:
        raise Conflict(f"not eligible for the pension subsidy of {period}: " + "; ".join(why),
                       {"why_not": why})


def pension_as_of(year: int, today: dt.date) -> dt.date:
    """The day a year's pension report judges eligibility: the year's end, or today."""
    return min(dt.date(year, 12, 31), today)


def venue_place_check(place_code: str, rules: Rules) -> str:
    kind = regions.kind_of(place_code)
    if kind not in rules.venue_min_area:
        raise ValidationError("venues are of villages and communities", {
            "place_code": [f"a {regions.KINDS[kind]} is not a village or community (村、社区)"]})
    return kind


def venue_shortfalls(place_code: str, area: Decimal, functions: list[str],
                     rules: Rules) -> list[str]:
    """Why a venue is below the standard (达标); empty when it meets it. Reports apply the
    same standard in SQL (store.compliant_sql): the two agree."""
    kind = regions.kind_of(place_code)
    minimum = Decimal(rules.venue_min_area[kind])
    why = []
    if Decimal(area) < minimum:
        why.append(f"{area} m², below the {minimum} m² of a {regions.KINDS[kind]}"
                   f" (面积不足{minimum}平方米)")
    missing = [f for f in rules.venue_required_functions if f not in functions]
    if missing:
        why.append("without " + "、".join(VENUE_FUNCTIONS[f] for f in missing) + " (功能不全)")
    return why


def venue_standard(rules: Rules) -> dict:
    """The standard in force as the store applies it in SQL: smallest area by kind, and
    the functions required."""
    return {"min_area": {kind: Decimal(area) for kind, area in rules.venue_min_area.items()},
            "functions": list(rules.venue_required_functions)}


def check_completion(started_on: dt.date, completed_on: dt.date) -> None:
    not_before(completed_on, started_on, "completed_on", "completed before it started",
               f"the project started on {started_on}: not before that (竣工日期早于开工日期)")


def compliance_change(venue: dict, area: Decimal, functions: list[str],
                      rules: Rules) -> Event | None:
    """What a completed project's venue records when it crosses the standard either way
    (venue_compliance_changed); None when it stays on its side. `venue`: as it was, with
    `compliant`; `area` and `functions`: as the project left it."""
    shortfalls = venue_shortfalls(venue["place_code"], area, functions, rules)
    if venue["compliant"] == (not shortfalls):
        return None
    return Event("venue_compliance_changed", {
        "venue_id": venue["id"], "place_code": venue["place_code"], "compliant": not shortfalls,
        "area": area, "functions": functions, "shortfalls": shortfalls})


def rate(part: int, whole: int) -> Decimal | None:
    return share(part, whole)

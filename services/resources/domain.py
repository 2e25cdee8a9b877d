"""Funding and venues (docs/domain.md §7). Pure: no I/O. Money is Decimal yuan with fen."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal

from shared import regions
from shared.contracts.resources import VENUE_FUNCTIONS
from shared.errors import Conflict, ValidationError

FEN = Decimal("0.01")


@dataclass(frozen=True)
class Rules:
    """This province's choices (domain.md §9): configuration with these defaults."""

    # 经济薄弱村: collective income below this (yuan a year) (ours, a common threshold).
    weak_village_income_below: str = "100000.00"
    # Retired village cadres' pension subsidy: served at least this long, and this old.
    pension_min_years_served: int = 6
    pension_min_age: int = 60
    # Venues: the smallest area (m²) by the kind of place, and the functions required.
    venue_min_area: dict = field(default_factory=lambda: {
        "village": "200", "village_like": "200", "community": "300"})
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
        rules = cls(**values)
        if not set(rules.venue_required_functions) <= set(VENUE_FUNCTIONS):
            raise ValueError("venue_required_functions must be venue functions")
        return rules

    def as_report(self, *names: str) -> dict:
        values = asdict(self)
        return {name: values[name] for name in names}


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(FEN, ROUND_HALF_UP)


def check_allocation(budget: Decimal | None, allocated: Decimal, amount: Decimal) -> None:
    if budget is None:
        raise Conflict("the program has no budget for that year (该年度未安排预算)", {})
    if allocated + amount > budget:
        raise Conflict(f"only {money(budget - allocated)} yuan of the {money(budget)} budget is "
                       f"left to allocate, not {money(amount)} (超出预算余额)",
                       {"remaining": str(money(budget - allocated))})


def check_disbursement(allocated: Decimal, disbursed: Decimal, amount: Decimal) -> None:
    remaining = allocated - disbursed
    if amount > remaining:
        raise Conflict(f"only {money(remaining)} yuan remains of the allocation, not "
                       f"{money(amount)} (超出拨付余额)", {"remaining": str(money(remaining))})


def is_weak(income: Decimal, rules: Rules) -> bool:
    return income < Decimal(rules.weak_village_income_below)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def pension_shortfalls(years_served: int, birth_date: dt.date, today: dt.date,
                       rules: Rules) -> list[str]:
    """Why a retired cadre is not (yet) eligible; empty when eligible."""
    why = []
    if years_served < rules.pension_min_years_served:
        why.append(f"served {years_served} years, fewer than {rules.pension_min_years_served}"
                   f" (任职不满{rules.pension_min_years_served}年)")
    age = age_on(birth_date, today)
    if age < rules.pension_min_age:
        why.append(f"{age} years old, younger than {rules.pension_min_age}"
                   f" (未满{rules.pension_min_age}周岁)")
    return why


def venue_place_check(place_code: str, rules: Rules) -> str:
    kind = regions.kind_of(place_code)
    if kind not in rules.venue_min_area:
        raise ValidationError("venues are of villages and communities", {
            "place_code": [f"a {regions.KINDS[kind]} is not a village or community (村、社区)"]})
    return kind


def venue_shortfalls(place_code: str, area: Decimal, functions: list[str], rules: Rules) -> list[str]:
    """Why a venue is below the standard (达标); empty when it meets it."""
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


def rate(part: int, whole: int):
    return (Decimal(part) / whole).quantize(Decimal("0.0001"), ROUND_HALF_UP) if whole else None

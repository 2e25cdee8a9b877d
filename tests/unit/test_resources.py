"""Money, eligibility and venue standards (domain.md §7), as pure rules."""

import datetime as dt
from decimal import Decimal

import pytest
from marshmallow import ValidationError as SchemaError

from services.resources import domain
from shared.contracts.resources import Area, Money
from shared.errors import Conflict, ValidationError

RULES = domain.Rules()
money = Money()


@pytest.mark.parametrize("given, amount", [("1234.56", Decimal("1234.56")), (100, Decimal("100.00")),
                                           ("0.1", Decimal("0.10")), ("0", Decimal("0.00")),
                                           ("999999999999.99", Decimal("999999999999.99"))])
def test_money_is_exact_yuan_with_fen(given, amount):
    assert money.deserialize(given) == amount


@pytest.mark.parametrize("given, says", [("1.005", "two decimals"), ("-5", "negative"),
                                         (12.5, "float"), ("abc", "not an amount"),
                                         ("NaN", "not an amount"),
                                         ("Infinity", "not an amount"),
                                         ("1e30", "not an amount"),  # was an untyped error
                                         ("1E+3", "not an amount"),
                                         ("1_000", "not an amount"),
                                         ("１２３", "not an amount"),  # full-width digits
                                         (" 12", "not an amount"),
                                         (True, "not an amount"),
                                         ("-0", "negative"), ("-0.00", "negative"),
                                         ("1000000000000", "less than"),  # numeric(14, 2)
                                         (10**30, "less than")])
def test_bad_money_is_refused_not_rounded(given, says):
    with pytest.raises(SchemaError) as caught:
        money.deserialize(given)
    assert says in str(caught.value)
    with pytest.raises(SchemaError):
        Money(positive=True).deserialize("0")


def test_allocations_and_disbursements_never_exceed_what_is_left():
    domain.check_allocation(Decimal("100"), Decimal("60"), Decimal("40"))
    with pytest.raises(Conflict):
        domain.check_allocation(Decimal("100"), Decimal("60"), Decimal("40.01"))
    with pytest.raises(Conflict):
        domain.check_allocation(None, Decimal("0"), Decimal("1"))
    domain.check_disbursement(Decimal("100"), Decimal("99.99"), Decimal("0.01"))
    with pytest.raises(Conflict) as caught:
        domain.check_disbursement(Decimal("100"), Decimal("99.99"), Decimal("0.02"))
    assert caught.value.details == {"remaining": "0.01"}


def test_pension_eligibility_by_years_and_age():
    today = dt.date(2026, 11, 29)
    assert domain.pension_shortfalls(6, dt.date(1966, 11, 29), today, RULES) == []
    why = domain.pension_shortfalls(5, dt.date(1966, 11, 30), today, RULES)
    assert len(why) == 2 and "5 years" in why[0] and "59 years old" in why[1]


def test_venue_standard_by_kind_of_place_and_functions():
    full = ["party_activities", "education_training", "convenience_services"]
    assert domain.venue_shortfalls("331123102201", Decimal("200"), full, RULES) == []
    assert domain.venue_shortfalls("331123102001", Decimal("250"), full, RULES)  # a community
    assert domain.venue_shortfalls("331123102201", Decimal("300"), full[:2], RULES)
    with pytest.raises(ValidationError):
        domain.venue_place_check("331123102000", RULES)  # a town has no village venue


def test_weak_by_the_configured_threshold():
    assert domain.is_weak(Decimal("99999.99"), RULES)
    assert not domain.is_weak(Decimal("100000.00"), RULES)
    assert not domain.is_weak(Decimal("50000"), domain.Rules(weak_village_income_below="50000"))


def test_money_serializes_with_fen():
    assert money.serialize("x", {"x": Decimal("12.5")}) == "12.50"
    assert money.serialize("x", {"x": Decimal("999999999999.99")}) == "999999999999.99"


@pytest.mark.parametrize("given, says", [("199.995", "two decimals"), ("100000.01", "at most"),
                                         ("1e30", "not an area"), ("-1", "negative"),
                                         (220.5, "float")])
def test_an_area_is_refused_not_rounded(given, says):
    with pytest.raises(SchemaError) as caught:
        Area().deserialize(given)
    assert says in str(caught.value)
    assert Area().deserialize("199.99") == Decimal("199.99")
    assert Area().deserialize(100_000) == Decimal("100000.00")


def test_a_partial_venue_standard_keeps_the_other_defaults():
    rules = domain.Rules.from_config({"venue_min_area": {"community": 350}})
    assert rules.venue_min_area == {"community": "350", "village": "200", "village_like": "200"}
    full = ["party_activities", "education_training", "convenience_services"]
    assert domain.venue_shortfalls("331123102201", Decimal("200"), full, rules) == []
    assert domain.venue_shortfalls("331123102001", Decimal("300"), full, rules)
    for bad in ({"town": "100"}, {"village": "abc"}, {"village": "-1"}, ["200"]):
        with pytest.raises(ValueError):
            domain.Rules.from_config({"venue_min_area": bad})


def test_subsidy_months_from_leaving_to_now_and_eligibility_then():
    left, today = dt.date(2024, 3, 15), dt.date(2026, 5, 2)
    domain.check_subsidy_period("2024-03", left, today)
    domain.check_subsidy_period("2026-05", left, today)
    for period in ("2024-02", "2026-06", "2001-01", "2099-12"):
        with pytest.raises(ValidationError) as caught:
            domain.check_subsidy_period(period, left, today)
        assert "period" in caught.value.details
    assert domain.period_end("2024-02") == dt.date(2024, 2, 29)
    assert domain.period_end("2025-12") == dt.date(2025, 12, 31)
    born = dt.date(1965, 6, 20)  # 60 on 2025-06-20: June is owed, May is not
    assert domain.pension_shortfalls(10, born, domain.period_end("2025-06"), RULES) == []
    assert domain.pension_shortfalls(10, born, domain.period_end("2025-05"), RULES)
    assert domain.pension_as_of(2024, today) == dt.date(2024, 12, 31)
    assert domain.pension_as_of(2026, today) == today


def test_dates_and_places_of_money_and_projects():
    domain.check_paid_on(2025, dt.date(2025, 1, 1))
    with pytest.raises(ValidationError) as caught:
        domain.check_paid_on(2025, dt.date(2024, 12, 31))
    assert "paid_on" in caught.value.details
    domain.check_income_year(2024, 2025, dt.date(2025, 6, 1))
    for year in (2023, 2026):
        with pytest.raises(ValidationError):
            domain.check_income_year(2024, year, dt.date(2025, 6, 1))
    domain.check_completion(dt.date(2025, 3, 1), dt.date(2025, 3, 1))
    with pytest.raises(ValidationError) as caught:
        domain.check_completion(dt.date(2025, 3, 1), dt.date(2025, 2, 28))
    assert "completed_on" in caught.value.details
    domain.check_allocated_place("331123102201")  # a village
    domain.check_allocated_place("331123102001")  # a community
    for code in ("331123102000", "331123000000", "331123102401"):  # town, county, village-like
        with pytest.raises(ValidationError):
            domain.check_allocated_place(code)

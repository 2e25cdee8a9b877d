"""Money, eligibility and venue standards (domain.md §7), as pure rules."""

import datetime as dt
from decimal import Decimal

import pytest
from marshmallow import ValidationError as SchemaError

from services.resources import domain
from shared.contracts.resources import Money
from shared.errors import Conflict, ValidationError

RULES = domain.Rules()
money = Money()


@pytest.mark.parametrize("given, amount", [("1234.56", Decimal("1234.56")), (100, Decimal("100.00")),
                                           ("0.1", Decimal("0.10")), ("0", Decimal("0.00"))])
def test_money_is_exact_yuan_with_fen(given, amount):
    assert money.deserialize(given) == amount


@pytest.mark.parametrize("given, says", [("1.005", "two decimals"), ("-5", "negative"),
                                         (12.5, "float"), ("abc", "not an amount"),
                                         ("NaN", "not an amount")])
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

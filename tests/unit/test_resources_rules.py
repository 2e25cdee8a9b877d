"""The resources rules the entrypoints hand their loaded records to
(services/resources/domain.py): places, budgets, income, subsidies, dates in sequence,
and the event a venue records when it crosses the standard."""

import datetime as dt
from decimal import Decimal

import pytest

from services.resources import domain
from shared.domain.events import Event
from shared.errors import Conflict, ValidationError

RULES = domain.Rules()
TOWN, VILLAGE, COMMUNITY = "331123102000", "331123102201", "331123102001"
OTHER_VILLAGE = "331123103201"
FULL = ["convenience_services", "education_training", "party_activities"]


def test_an_unknown_place_is_refused_naming_it():
    domain.require_known_place(VILLAGE, [VILLAGE])
    with pytest.raises(ValidationError) as caught:
        domain.require_known_place(TOWN, [VILLAGE])
    assert caught.value.details == {"place_code": [
        f"no place {TOWN} known to resources (places arrive from organizations)"]}


def test_a_budget_covers_what_is_allocated():
    domain.check_budget(Decimal("100.00"), Decimal("100.00"))
    with pytest.raises(Conflict) as caught:
        domain.check_budget(Decimal("99.99"), Decimal("100.00"))
    assert caught.value.message == "100.00 yuan is allocated already: the budget cannot be less"
    assert caught.value.details == {"allocated": "100.00"}


def test_money_goes_to_villages_of_the_programs_place():
    domain.check_allocated_within(VILLAGE, TOWN)
    domain.check_allocated_within(COMMUNITY, VILLAGE[:6] + "000000")  # the county's program
    with pytest.raises(ValidationError) as caught:
        domain.check_allocated_within(OTHER_VILLAGE, TOWN)
    assert caught.value.details == {"place_code": [f"{OTHER_VILLAGE} is outside {TOWN}"]}
    with pytest.raises(ValidationError) as caught:  # a town, though within
        domain.check_allocated_within(TOWN, TOWN)
    assert caught.value.message == "allocations go to villages and communities"


def test_income_is_a_property_economy_projects():
    today = dt.date(2025, 6, 1)
    project = {"program_kind": "property_economy", "year": 2024}
    domain.check_income(project, 2025, today)
    with pytest.raises(ValidationError) as caught:
        domain.check_income({**project, "program_kind": "venue_construction"}, 2025, today)
    assert caught.value.details == {"allocation_id": [
        "not a village property economy allocation (村级物业经济)"]}
    with pytest.raises(ValidationError) as caught:
        domain.check_income(project, 2023, today)
    assert "year" in caught.value.details


def test_village_income_and_retired_cadres_belong_to_villages():
    domain.check_village(VILLAGE)
    for place in (COMMUNITY, TOWN):
        with pytest.raises(ValidationError) as caught:
            domain.check_village(place)
        assert caught.value.details == {"place_code": ["must be a village (村)"]}
    domain.check_cadre_place(VILLAGE)
    domain.check_cadre_place(COMMUNITY)
    with pytest.raises(ValidationError) as caught:
        domain.check_cadre_place(TOWN)
    assert caught.value.details == {"place_code": ["must be a village or community (村、社区)"]}


def test_a_subsidy_is_owed_for_a_month_the_cadre_was_eligible_in():
    today = dt.date(2025, 9, 15)
    cadre = {"left_on": dt.date(2024, 1, 10), "years_served": 10,
             "birth_date": dt.date(1965, 6, 20)}  # 60 on 2025-06-20
    domain.check_subsidy(cadre, "2025-06", today, RULES)
    with pytest.raises(Conflict) as caught:
        domain.check_subsidy(cadre, "2025-05", today, RULES)
    assert caught.value.message == ("not eligible for the pension subsidy of 2025-05: "
                                    "59 years old, younger than 60 (未满60周岁)")
    assert caught.value.details == {"why_not": ["59 years old, younger than 60 (未满60周岁)"]}
    with pytest.raises(ValidationError):  # a month to come
        domain.check_subsidy(cadre, "2025-10", today, RULES)


def test_dates_in_sequence_say_what_they_said():
    with pytest.raises(ValidationError) as caught:
        domain.check_paid_on(2025, dt.date(2024, 12, 31))
    assert caught.value.message == "paid before the allocation's year"
    assert caught.value.details == {"paid_on": [
        "the allocation is of 2025: not before 2025-01-01 (不能早于分配年度)"]}
    with pytest.raises(ValidationError) as caught:
        domain.check_completion(dt.date(2025, 3, 1), dt.date(2025, 2, 28))
    assert caught.value.message == "completed before it started"
    assert caught.value.details == {"completed_on": [
        "the project started on 2025-03-01: not before that (竣工日期早于开工日期)"]}


def test_a_venue_records_crossing_the_standard_either_way():
    venue = {"id": 7, "place_code": VILLAGE, "compliant": False}
    assert domain.compliance_change(venue, Decimal("250"), FULL, RULES) == Event(
        "venue_compliance_changed", {
            "venue_id": 7, "place_code": VILLAGE, "compliant": True, "area": Decimal("250"),
            "functions": FULL, "shortfalls": []})
    assert domain.compliance_change(venue, Decimal("150"), FULL, RULES) is None
    fallen = domain.compliance_change({**venue, "compliant": True}, Decimal("150"), FULL, RULES)
    assert fallen is not None and fallen.data["compliant"] is False
    assert fallen.data["shortfalls"] == domain.venue_shortfalls(VILLAGE, Decimal("150"), FULL,
                                                                RULES)
    assert domain.compliance_change({**venue, "compliant": True}, Decimal("250"), FULL,
                                    RULES) is None

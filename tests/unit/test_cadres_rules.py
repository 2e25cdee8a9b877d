"""The cadres service's rules that its entrypoints call (people on the ledger, reserve
cadres, the talent pool, placements, the duties of cadres in post) and the events they
record, without a database."""

import datetime as dt

import pytest

from services.cadres import domain, duties
from shared.errors import Conflict, ValidationError

RULES = domain.Rules()
VILLAGE, OTHER_VILLAGE, TOWNSHIP = "331123102201", "331123102202", "331123102000"
# GB 11643's own example: a woman born 1949-12-31.
NUMBER = "11010519491231002X"
DAY = dt.date(2026, 3, 1)


def refusal(check, *args):
    """The ValidationError or Conflict `check(*args)` raises, as (type, message, details)."""
    with pytest.raises((ValidationError, Conflict)) as refused:
        check(*args)
    return type(refused.value), refused.value.message, refused.value.details


# -- people -----------------------------------------------------------------------------------
def test_a_place_cadres_has_not_heard_of_is_refused():
    assert domain.known_place(VILLAGE, "大柘村") == "大柘村"
    assert refusal(domain.known_place, VILLAGE, None) == (
        ValidationError, "unknown place",
        {"place_code": [f"no place {VILLAGE} known to cadres (places arrive from organizations)"]})


def test_a_withdrawn_person_is_off_the_ledger():
    domain.check_on_the_ledger({"id": 5, "withdrawn_on": None})
    assert refusal(domain.check_on_the_ledger, {"id": 5, "withdrawn_on": DAY}) == (
        Conflict, "person 5 was withdrawn from the ledger on 2026-03-01 (该人员已移出名册)",
        {"person_id": 5})


def test_a_number_is_registered_once_in_reach():
    holders = [{"id": 3, "place_code": VILLAGE}, {"id": 4, "place_code": OTHER_VILLAGE}]
    domain.check_unregistered([])
    registered = (Conflict, "a person with this identity number is registered in your "
                  "jurisdiction already (该身份证号码已在本辖区登记)",
                  {"identity_number": "registered", "person_ids": [3]})
    assert refusal(domain.check_unregistered, holders[:1]) == registered
    # An import reuses the one holder, registers when there is none, and stops at two.
    assert domain.holder_to_reuse(holders[:1]) == 3
    assert domain.holder_to_reuse([]) is None
    assert refusal(domain.holder_to_reuse, holders)[2]["person_ids"] == [3, 4]
    # Finding by the number: two holders are a clash to resolve.
    domain.check_registered_once(holders[:1])
    assert refusal(domain.check_registered_once, holders)[0::2] == (
        Conflict, {"person_ids": [3, 4], "place_codes": [VILLAGE, OTHER_VILLAGE]})


def test_sex_and_birth_date_agree_with_the_number():
    born = dt.date(1949, 12, 31)
    domain.check_agrees(NUMBER, {"sex": "female", "birth_date": born})
    kind, message, details = refusal(domain.check_agrees, NUMBER,
                                      {"sex": "male", "birth_date": dt.date(1950, 1, 1)})
    assert (kind, message, set(details)) == (
        ValidationError, "the person would not agree with the identity number",
        {"sex", "birth_date"})


def test_a_person_holding_a_reserve_or_pool_place_stays_on_the_ledger():
    domain.check_withdrawable({"reserves": [], "pool_members": []})
    assert refusal(domain.check_withdrawable, {"reserves": [8], "pool_members": []}) == (
        Conflict, "end the person's open reserve recommendations and talent pool membership "
        "first (请先退出后备干部和人才库)", {"reserves": [8]})


# -- reserve cadres ----------------------------------------------------------------------------
def test_a_village_crossing_its_quota_records_its_new_status():
    event = domain.reserve_shortfall_changed(VILLAGE, 1, "within", RULES)
    assert event.type == "reserve_shortfall_changed"
    assert event.data == {"place_code": VILLAGE, "reserves": 1, "minimum": 2, "maximum": 3,
                          "quota_status": "short", "previous_status": "within"}


def test_an_open_reserve_is_assessed_not_before_its_recommendation():
    candidate = {"id": 1, "status": "candidate", "recommended_on": DAY}
    domain.check_assessment(candidate, DAY)
    assert refusal(domain.check_assessment, candidate, DAY - dt.timedelta(days=1)) == (
        ValidationError, "assessed before recommended", {"assessed_on": ["before 2026-03-01"]})
    assert refusal(domain.check_assessment, {**candidate, "status": "withdrawn"}, DAY)[0] \
        is Conflict


def test_the_unassessed_come_after_every_assessed_reserve():
    def reserve(id_, best):
        return {"id": id_, "status": "candidate", "college_graduate_official": False,
                "best_assessment": best, "recommended_on": DAY}

    rows = [reserve(1, None), reserve(2, "incompetent")]
    assert [r["id"] for r in sorted(rows, key=domain.recommendation_order)] == [2, 1]


# -- the talent pool and placements -------------------------------------------------------------
def test_a_member_leaves_the_pool_once_and_not_before_being_selected():
    member = {"id": 9, "status": "in_pool", "selected_on": DAY, "left_on": None}
    domain.check_leaving(member, DAY)
    assert refusal(domain.check_leaving, member, DAY - dt.timedelta(days=1)) == (
        ValidationError, "left before selected", {"left_on": ["before 2026-03-01"]})
    assert refusal(domain.check_leaving, {**member, "status": "left", "left_on": DAY}, DAY) \
        == (Conflict, "member 9 left the pool on 2026-03-01", {})


def test_a_party_post_placed_tells_the_registry_who_fills_it():
    placement = {"kind": "party_secretary", "organization_id": 7, "post": "secretary",
                 "placed_on": DAY}
    person = {"name": "张三", "sex": "male", "birth_date": dt.date(1990, 5, 1),
              "college_graduate_official": True}
    event = domain.cadre_placed(42, placement, person)
    assert event.type == "cadre_placed"
    assert event.data == {
        "external_ref": "cadres:42", "placement_id": 42, "kind": "party_secretary",
        "organization_id": 7, "post": "secretary", "name": "张三", "sex": "male",
        "birth_date": dt.date(1990, 5, 1), "college_graduate_official": True,
        "placed_on": DAY}


def test_a_party_post_is_in_the_active_party_organization_of_the_village():
    org = {"id": 7, "status": "active", "place_code": VILLAGE, "sector": "rural_village"}
    domain.check_village_organization(org, VILLAGE)
    domain.check_village_organization({**org, "sector": "urban_community"}, VILLAGE)
    problems = [
        ({**org, "status": "dissolved"}, VILLAGE, "organization 7 is dissolved"),
        (org, OTHER_VILLAGE, f"organization 7 is at {VILLAGE}, not {OTHER_VILLAGE}"),
        ({**org, "sector": "non_public_enterprise"}, VILLAGE,
         "organization 7 is of the non_public_enterprise sector, not a village's or community's"),
    ]
    for organization, place_code, problem in problems:
        assert refusal(domain.check_village_organization, organization, place_code) == (
            ValidationError, "not the village's party organization",
            {"organization_id": [problem]})
    unknown = domain.unknown_organization(7)
    assert (unknown.message, unknown.details) == (
        "not the village's party organization", {"organization_id": [
            "organization 7 is not known to cadres (organizations arrive from the registry)"]})


def test_the_pool_report_counts_members_in_the_two_committees_whenever_they_got_there():
    """S§18: officials already in the two committees come first. A member counts for the
    two committees (and a chief post) held while in the pool, placed before joining or
    during the membership; township leadership counts as entered while in the pool."""
    other_township = "331123103000"
    townships = {TOWNSHIP: "新路湾镇", other_township: "北界镇"}
    jan, feb, jun = dt.date(2026, 1, 10), dt.date(2026, 2, 1), dt.date(2026, 6, 1)

    def member(person, status="in_pool", left_on=None, place=VILLAGE):
        return {"person_id": person, "place_code": place, "status": status,
                "selected_on": jan, "left_on": left_on}

    def placed(person, kind, on, status="recorded", place=VILLAGE):
        return {"person_id": person, "kind": kind, "place_code": place, "status": status,
                "placed_on": on}

    there = "331123103201"
    members = [member(n) for n in range(1, 7)] + [
        member(7, "left", jun, there), member(8, "left", feb, there), member(9, place=there)]
    placements = [
        placed(1, "village_committee_member", DAY),
        placed(2, "party_committee_member", DAY, "applied"),
        placed(3, "village_committee_member", DAY),
        placed(4, "village_director", dt.date(2025, 6, 1)),  # before joining: still counts
        placed(5, "party_secretary", DAY, "refused"),  # never held
        # 6: none. 7 held a post from before joining until leaving; 8 was placed after leaving
        placed(7, "village_committee_member", dt.date(2024, 3, 1), place=there),
        placed(8, "village_committee_member", DAY, place=there),
        placed(9, "township_leadership", dt.date(2025, 12, 1), place=other_township),
    ]
    rows = {r["place_code"]: r for r in domain.pool_townships(townships, members, placements)}
    assert [rows[TOWNSHIP][k] for k in ("in_pool", "entered_two_committees", "chief_posts")] \
        == [6, 4, 1]  # 4 of 6, not 3 of 6
    assert [rows[other_township][k] for k in ("in_pool", "entered_two_committees",
                                              "entered_township_leadership", "target_met")] \
        == [1, 1, 0, False]  # 9 was in township leadership before being selected


# -- duties of cadres in post ---------------------------------------------------------------------
def test_a_class_lists_its_places_cadres_and_the_reasons_of_absences():
    person = {"id": 5, "place_code": VILLAGE}
    duties.check_attendance(person, TOWNSHIP, True, None)
    duties.check_attendance(person, VILLAGE, False, "病假")
    assert refusal(duties.check_attendance, person, "331124000000", True, None) == (
        ValidationError, "not a cadre of the class's place",
        {"person_id": ["person 5 is managed outside 331124000000"]})
    assert refusal(duties.check_attendance, person, TOWNSHIP, False, "") == (
        ValidationError, "an absence gives its reason",
        {"absence_reason": ["required when attended is false (请假或缺席原因)"]})


def test_a_commitment_is_settled_once_and_not_before_it_was_signed():
    signed = {"id": 3, "status": "signed", "signed_on": DAY, "settled_on": None}
    duties.check_settling(signed, DAY)
    assert refusal(duties.check_settling, signed, DAY - dt.timedelta(days=1)) == (
        ValidationError, "settled before signed", {"settled_on": ["before 2026-03-01"]})
    assert refusal(duties.check_settling, {**signed, "status": "fulfilled", "settled_on": DAY},
                   DAY) == (Conflict, "commitment 3 was settled on 2026-03-01 (fulfilled)", {})


def test_a_dual_review_is_of_a_village_secretary_in_its_year():
    secretary = {"id": 5, "post_category": "village_party_secretary"}
    duties.check_dual_review(secretary, 2026, DAY)
    assert refusal(duties.check_dual_review, {**secretary, "post_category": "village_director"},
                   2026, DAY) == (
        ValidationError, "双述双评 is held for village party secretaries",
        {"person_id": ["not a village party secretary (非村党组织书记)"]})
    assert refusal(duties.check_dual_review, secretary, 2025, DAY) == (
        ValidationError, "held in another year", {"held_on": ["not in 2025"]})


def test_a_problem_is_followed_up_while_open_and_not_before_it_was_found():
    found = {"id": 4, "status": "open", "found_on": DAY, "closed_on": None}
    duties.check_follow_up(found, DAY)
    assert refusal(duties.check_follow_up, found, DAY - dt.timedelta(days=1)) == (
        ValidationError, "before the problem was found", {"taken_on": ["before 2026-03-01"]})
    assert refusal(duties.check_follow_up, {**found, "status": "closed", "closed_on": DAY},
                   DAY) == (Conflict, "problem 4 was closed on 2026-03-01", {})

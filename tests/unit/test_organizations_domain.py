"""The party rules of docs/domain.md §1, on the pure domain (no I/O)."""

import datetime as dt

import pytest

from services.organizations import domain
from shared.errors import Conflict, ValidationError

RULES = domain.Rules()
TODAY = dt.date(2026, 11, 29)


def values(**overrides):
    base = {"name": "西湖村党支部", "kind": "631", "sector": "rural_village",
            "place_code": "330106001201", "full_members": 5, "founded_on": dt.date(2021, 3, 1)}
    base.update(overrides)
    return base


def broken_fields(**overrides) -> dict:
    with pytest.raises(ValidationError) as caught:
        domain.register(values(**overrides), RULES)
    return caught.value.details


def test_a_valid_branch_registers_with_its_term_and_an_event():
    org = domain.register(values(), RULES)
    assert org.term_ends_on == dt.date(2026, 3, 1)  # villages: 5-year terms
    assert [e.type for e in org.events] == ["organization_registered"]


def test_terms_are_three_years_outside_villages_and_communities():
    org = domain.register(values(sector="government_agency"), RULES)
    assert org.term_ends_on == dt.date(2024, 3, 1)


def test_a_term_starting_on_29_february_ends_on_28_february():
    org = domain.register(values(founded_on=dt.date(2020, 2, 29)), RULES)
    assert org.term_ends_on == dt.date(2025, 2, 28)


@pytest.mark.parametrize("kind", ["611", "621", "631", "632"])
def test_every_organization_needs_three_full_members(kind):
    extra = {"units": ["甲公司", "乙公司"]} if kind == "632" else {}
    assert "full_members" in broken_fields(kind=kind, full_members=2, **extra)


def test_a_joint_branch_covers_two_to_five_units():
    assert "units" in broken_fields(kind="632", units=["甲"])
    assert "units" in broken_fields(kind="632", units=["甲", "乙", "丙", "丁", "戊", "己"])
    assert "units" in broken_fields(kind="632", units=["甲", "甲"])
    domain.register(values(kind="632", units=["甲", "乙", "丙", "丁", "戊"]), RULES)


def test_only_a_joint_branch_lists_units():
    assert "units" in broken_fields(units=["甲", "乙"])


def test_seven_full_members_require_a_branch_committee_of_three_to_seven():
    assert "committee_size" in broken_fields(full_members=7, committee_size=0)
    assert "committee_size" in broken_fields(full_members=9, committee_size=2)
    assert "committee_size" in broken_fields(full_members=30, committee_size=8)
    domain.register(values(full_members=7, committee_size=3), RULES)
    domain.register(values(full_members=30, committee_size=7), RULES)


def test_a_branch_under_seven_has_no_committee():
    assert "committee_size" in broken_fields(full_members=6, committee_size=3)


def test_committees_and_general_branches_have_their_own_committee_sizes():
    assert "committee_size" in broken_fields(kind="611", full_members=120, committee_size=3)
    assert "committee_size" in broken_fields(kind="621", full_members=60, committee_size=10)
    domain.register(values(kind="611", full_members=120, committee_size=9), RULES)


def test_a_committee_cannot_outnumber_the_full_members():
    assert "committee_size" in broken_fields(kind="611", full_members=4, committee_size=5)


def test_every_broken_rule_is_reported_at_once():
    assert {"full_members", "committee_size"} <= broken_fields(full_members=2, committee_size=3).keys()


def test_a_term_cannot_start_before_founding():
    assert "elected_on" in broken_fields(elected_on=dt.date(2020, 1, 1))


def test_unknown_kind_and_sector_are_refused_even_past_the_schema():
    assert {"kind", "sector"} <= broken_fields(kind="699", sector="moon_base").keys()


def test_flags_over_fifty_and_reelection():
    org = domain.register(values(full_members=51, committee_size=5), RULES)
    codes = {f["code"] for f in org.flags(RULES, TODAY)}
    assert codes == {"over_50_members", "reelection_overdue"}  # term ended 2026-03-01
    fresh = domain.register(values(founded_on=dt.date(2021, 12, 1)), RULES)  # ends 2026-12-01
    assert {f["code"] for f in fresh.flags(RULES, TODAY)} == {"reelection_due"}
    later = domain.register(values(founded_on=dt.date(2024, 1, 1)), RULES)
    assert later.flags(RULES, TODAY) == []


def test_a_grown_branch_without_a_committee_is_flagged_not_refused():
    org = domain.register(values(full_members=6), RULES)
    target = domain.register(values(full_members=5, name="乙"), RULES)
    org.id, target.id = 1, 2
    _, grown = domain.merge(org, target, TODAY, "合并", active_children=0)
    assert grown.full_members == 11
    assert "committee_required" in {f["code"] for f in grown.flags(RULES, TODAY)}


def test_update_validates_the_result_and_reports_the_diff():
    org = domain.register(values(), RULES)
    org.id, org.version = 7, 3
    new, diff = domain.update(org, {"full_members": 8, "committee_size": 3}, RULES)
    assert diff == {"full_members": {"old": 5, "new": 8}, "committee_size": {"old": 0, "new": 3}}
    assert new.version == 4
    assert new.events[0].type == "organization_updated"
    with pytest.raises(ValidationError):
        domain.update(org, {"full_members": 8}, RULES)  # 8 members need a committee


def test_update_without_change_keeps_the_version():
    org = domain.register(values(), RULES)
    org.version = 2
    new, diff = domain.update(org, {"full_members": 5}, RULES)
    assert diff == {} and new.version == 2 and new.events == []


def test_a_reelection_starts_a_new_term():
    org = domain.register(values(), RULES)
    new, diff = domain.update(org, {"elected_on": dt.date(2026, 3, 1)}, RULES)
    assert new.term_ends_on == dt.date(2031, 3, 1)
    assert diff["term_ends_on"]["new"] == dt.date(2031, 3, 1)


def test_dissolve_refuses_with_active_children_and_records_the_status_change():
    org = domain.register(values(kind="611", full_members=120, committee_size=7), RULES)
    org.id = 1
    with pytest.raises(Conflict):
        domain.dissolve(org, TODAY, "撤并", active_children=2)
    new, diff = domain.dissolve(org, TODAY, "撤并", active_children=0)
    assert new.status == "dissolved" and diff["status"] == {"old": "active", "new": "dissolved"}
    assert new.events[0].data["new_status"] == "dissolved"
    with pytest.raises(Conflict):
        domain.update(new, {"name": "x"}, RULES)


def test_merge_moves_members_and_marks_the_source_merged():
    source, target = domain.register(values(), RULES), domain.register(values(name="乙"), RULES)
    source.id, target.id = 1, 2
    merged, grown = domain.merge(source, target, TODAY, "村庄撤并", active_children=0)
    assert (merged.status, merged.merged_into_id) == ("merged", 2)
    assert grown.full_members == 10 and grown.version == target.version + 1
    with pytest.raises(ValidationError):
        domain.merge(source, source, TODAY, "x", active_children=0)


def test_parent_must_be_a_committee_or_general_branch_over_the_same_place():
    committee = domain.register(values(kind="611", full_members=120, committee_size=7,
                                       place_code="330106001000"), RULES)
    committee.id = 10
    branch = domain.register(values(parent_id=10), RULES)
    domain.check_parent(branch, committee, [])
    other_place = domain.register(values(place_code="330106002201", parent_id=10), RULES)
    with pytest.raises(ValidationError):
        domain.check_parent(other_place, committee, [])
    branch_parent = domain.register(values(), RULES)
    branch_parent.id = 11
    with pytest.raises(ValidationError):
        domain.check_parent(branch, branch_parent, [])
    general = domain.register(values(kind="621", full_members=60, committee_size=5,
                                     place_code="330106001000"), RULES)
    general.id = 12
    with pytest.raises(ValidationError):  # a general branch has only branches under it
        domain.check_parent(committee, general, [])


def test_an_organization_cannot_be_under_itself():
    org = domain.register(values(kind="611", full_members=120, committee_size=7,
                                 place_code="330106001000"), RULES)
    org.id = 5
    parent = domain.register(values(kind="611", full_members=120, committee_size=7,
                                    place_code="330106001000"), RULES)
    parent.id = 6
    with pytest.raises(ValidationError):
        domain.check_parent(org, parent, ancestors_of_parent=[5])


# -- leadership -------------------------------------------------------------------------
def branch(committee_size=0, full_members=5):
    org = domain.register(values(full_members=full_members, committee_size=committee_size), RULES)
    org.id = 1
    return org


def test_a_new_organization_opens_a_vacancy_per_seat():
    assert domain.vacancy_posts_to_open(branch(), [], []) == ["secretary"]
    assert domain.vacancy_posts_to_open(branch(5, 20), [], []) == \
        ["secretary"] + ["committee_member"] * 4


def test_team_problems():
    assert domain.team_problems(0, [], 1) == ["no_secretary", "open_vacancies"]
    assert domain.team_problems(3, ["secretary", "committee_member"], 0) == ["committee_short"]
    assert domain.team_problems(3, ["secretary", "deputy_secretary", "committee_member"], 0) == []
    assert domain.team_problems(0, ["secretary", "first_secretary"], 0) == []


def test_one_secretary_at_a_time_and_committee_seats_are_bounded():
    org = branch(3, 9)
    with pytest.raises(Conflict):
        domain.check_appointment(org, "secretary", "election", None, ["secretary"])
    with pytest.raises(Conflict):
        domain.check_appointment(org, "committee_member", "election", None,
                                 ["secretary", "committee_member", "committee_member"])
    domain.check_appointment(org, "committee_member", "election", None, ["secretary"])


def test_without_a_committee_only_a_secretary_and_one_deputy():
    org = branch()
    with pytest.raises(ValidationError):
        domain.check_appointment(org, "committee_member", "election", None, [])
    domain.check_appointment(org, "deputy_secretary", "election", None, ["secretary"])
    with pytest.raises(Conflict):
        domain.check_appointment(org, "deputy_secretary", "election", None,
                                 ["secretary", "deputy_secretary"])


def test_a_first_secretary_is_dispatched_from_a_unit_and_takes_no_seat():
    org = branch()
    with pytest.raises(ValidationError) as caught:
        domain.check_appointment(org, "first_secretary", "election", None, [])
    assert {"method", "from_unit"} <= caught.value.details.keys()
    domain.check_appointment(org, "first_secretary", "first_secretary", "省财政厅",
                             ["secretary", "deputy_secretary", "first_secretary"])


def test_cross_unit_appointments_name_the_unit():
    with pytest.raises(ValidationError):
        domain.check_appointment(branch(), "secretary", "cross_unit", None, [])


def test_leaving_opens_the_vacancy_of_the_seat_left():
    org = branch(3, 9)
    assert domain.vacancies_after_leaving(org, "deputy_secretary", ["secretary", "committee_member"], []) \
        == ["deputy_secretary"]
    assert domain.vacancies_after_leaving(org, "secretary", ["deputy_secretary", "committee_member"], []) \
        == ["secretary"]
    # A first secretary takes no seat: leaving opens nothing.
    assert domain.vacancies_after_leaving(org, "first_secretary",
                                          ["secretary", "committee_member", "committee_member"], []) == []


def test_a_shrunk_committee_cancels_surplus_vacancies():
    org = branch(3, 9)
    assert domain.surplus_vacancies(org, ["secretary"], ["committee_member"] * 4) == 2
    assert domain.surplus_vacancies(branch(), ["secretary"], ["committee_member"]) == 1


def test_vacancy_matching():
    assert domain.vacancy_matches("committee_member", "deputy_secretary")
    assert not domain.vacancy_matches("secretary", "committee_member")
    assert domain.vacancy_matches("secretary", "secretary")


def test_townships_short_of_organizers_by_the_configured_kinds():
    townships = [{"kind": "town", "organizers": 0}, {"kind": "sub_district", "organizers": 1},
                 {"kind": "township_like", "organizers": 0}]
    assert domain.organizer_coverage(townships, RULES) == (townships[:2], [townships[0]])
    two = domain.Rules(organizers_per_township=2)
    assert domain.organizer_coverage(townships, two) == (townships[:2], townships[:2])


def test_children_must_still_fit_after_a_change_of_kind():
    committee = domain.register(values(kind="611", full_members=120, committee_size=7,
                                       place_code="330106001000"), RULES)
    committee.id = 1
    child = domain.register(values(kind="611", full_members=60, committee_size=5,
                                   place_code="330106001201", parent_id=1), RULES)
    child.id = 2
    domain.check_children(committee, [child], "kind")
    as_general_branch, _ = domain.update(committee, {"kind": "621"}, RULES)
    with pytest.raises(ValidationError) as caught:
        domain.check_children(as_general_branch, [child], "kind")
    assert "organization 2" in caught.value.details["kind"][0]


def test_rules_from_config_refuse_unknown_names():
    assert domain.Rules.from_config({"joint_branch_units": [2, 4]}).joint_branch_units == (2, 4)
    with pytest.raises(ValueError):
        domain.Rules.from_config({"joint_branch_unit": [2, 4]})

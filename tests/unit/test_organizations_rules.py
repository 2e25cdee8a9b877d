"""The organizations service's rules and events that the entrypoints used to hold:
places imported, snapshots, leaders and organizers leaving, vacancies filled, the
answers to npe and cadres, creating excellence and rectification tasks."""

import datetime as dt

import pytest

from services.organizations import domain, excellence, places, rectification
from shared.errors import Conflict, Forbidden, NotFound, ValidationError

DAY = dt.date(2026, 3, 1)
COUNTY, TOWNSHIP, VILLAGE = "330106000000", "330106001000", "330106001201"


def org(**overrides) -> domain.Organization:
    values = {"name": "西湖村党支部", "kind": "631", "sector": "rural_village",
              "place_code": VILLAGE, "full_members": 9, "committee_size": 3,
              "founded_on": dt.date(2021, 3, 1), "elected_on": dt.date(2021, 3, 1),
              "id": 7, "version": 2}
    values.update(overrides)
    return domain.Organization(**values)


def refusal(error_type, check, *args):
    with pytest.raises(error_type) as caught:
        check(*args)
    return caught.value


# -- places ---------------------------------------------------------------------------
def test_an_import_writes_one_row_per_code_and_refuses_a_code_given_twice():
    rows, errors = places.rows_to_import([
        {"code": TOWNSHIP, "name": " 北山街道 "}, {"code": VILLAGE, "name": "西湖村"},
        {"code": TOWNSHIP, "name": "北山"}])
    assert rows == [
        {"code": TOWNSHIP, "name": "北山街道", "level": "township", "kind": "sub_district",
         "parent_code": COUNTY},
        {"code": VILLAGE, "name": "西湖村", "level": "village", "kind": "village",
         "parent_code": TOWNSHIP}]
    assert errors == {2: {"code": [f"{TOWNSHIP} appears twice in this batch"]}}
    assert places.parents_outside(rows) == {COUNTY}
    error = refusal(ValidationError, places.check_import, rows, errors, {COUNTY})
    assert error.message == "some places cannot be imported"
    assert error.details == {"places": {2: {"code": [f"{TOWNSHIP} appears twice in this batch"]}}}


def test_a_parent_neither_known_nor_in_the_batch_is_refused():
    rows, errors = places.rows_to_import([{"code": VILLAGE, "name": "西湖村"}])
    places.check_import(rows, errors, {TOWNSHIP})  # known: passes
    error = refusal(ValidationError, places.check_import, rows, errors, set())
    assert error.details == {"places": {0: {"code": [
        f"parent {TOWNSHIP} is neither known nor in this batch"]}}}


def test_an_import_announces_the_places_it_created_or_renamed_only():
    rows, _ = places.rows_to_import([{"code": TOWNSHIP, "name": "北山街道"},
                                     {"code": VILLAGE, "name": "西湖村"}])
    assert places.places_imported(rows, set()) is None
    event = places.places_imported(rows, {VILLAGE})
    assert event is not None and event.type == "places_imported"
    assert event.data == {"places": [{"code": VILLAGE, "name": "西湖村", "level": "village",
                                      "parent_code": TOWNSHIP}]}


def test_a_snapshot_batches_places_and_organizations_and_announces_each_creation():
    many = [{"code": f"{i:012d}", "name": "P", "level": "village", "parent_code": None}
            for i in range(places.SNAPSHOT_BATCH + 1)]
    creation = {"creation_id": 5, "organization_id": 7, "year": 2026, "focus": "便民"}
    events = places.snapshot(many, [org()], [creation])
    assert [e.type for e in events] == ["places_imported", "places_imported",
                                        "organizations_snapshot", "service_creation_entered"]
    assert len(events[0].data["places"]) == places.SNAPSHOT_BATCH
    assert events[1].data["places"] == many[-1:]
    assert events[2].data == {"organizations": [org().snapshot()]}
    assert events[3].data == creation
    assert places.snapshot([], [], []) == []


# -- organizations and leadership ---------------------------------------------------------
def test_a_change_to_an_organization_read_at_another_version_is_a_conflict():
    domain.require_version(org(), 2)
    error = refusal(Conflict, domain.require_version, org(), 1)
    assert error.details == {"organization_id": 7, "current_version": 2, "your_version": 1}
    assert "is at version 2, you read 1" in error.message


def test_a_named_vacancy_must_be_an_open_one_the_post_fills():
    open_ = [{"id": 1, "post": "secretary", "opened_on": DAY},
             {"id": 2, "post": "committee_member", "opened_on": DAY},
             {"id": 3, "post": "deputy_secretary", "opened_on": DAY}]
    assert domain.vacancy_to_fill(org(), "committee_member", 3, open_, DAY) == open_[2]
    error = refusal(ValidationError, domain.vacancy_to_fill, org(), "committee_member", 1, open_,
                    DAY)
    assert error.message == "no such open vacancy for this post"
    assert error.details == {"vacancy_id": [
        "vacancy 1 is not an open committee_member vacancy of organization 7"]}
    assert refusal(ValidationError, domain.vacancy_to_fill, org(), "secretary", 9, open_, DAY)


def test_an_unnamed_vacancy_is_the_posts_own_first_else_one_it_can_fill():
    open_ = [{"id": 1, "post": "committee_member", "opened_on": DAY},
             {"id": 2, "post": "deputy_secretary", "opened_on": DAY}]
    assert domain.vacancy_to_fill(org(), "deputy_secretary", None, open_, DAY) == open_[1]
    assert domain.vacancy_to_fill(org(), "committee_member", None, open_[1:], DAY) == open_[1]
    assert domain.vacancy_to_fill(org(), "secretary", None, open_, DAY) is None
    # A first secretary takes no seat:
    assert domain.vacancy_to_fill(org(), "first_secretary", 1, open_, DAY) is None


def test_a_post_does_not_start_before_the_vacancy_it_fills_opened():
    # filled_on is the leader's started_on: never before the vacancy's opened_on.
    open_ = [{"id": 1, "post": "committee_member", "opened_on": dt.date(2021, 3, 1)},
             {"id": 2, "post": "deputy_secretary", "opened_on": DAY}]
    before = dt.date(2026, 2, 1)
    error = refusal(ValidationError, domain.vacancy_to_fill, org(), "deputy_secretary", 2,
                    open_, before)
    assert error.message == "a post cannot start before the vacancy it fills opened"
    assert error.details == {"started_on": [
        "2026-02-01 is before vacancy 2 (deputy_secretary) opened on 2026-03-01"]}
    assert domain.vacancy_to_fill(org(), "deputy_secretary", 2, open_, DAY) == open_[1]
    # Unnamed: the post's own vacancy if it was open by then, else one it can fill.
    assert domain.vacancy_to_fill(org(), "deputy_secretary", None, open_, before) == open_[0]
    error = refusal(ValidationError, domain.vacancy_to_fill, org(), "committee_member", None,
                    open_, dt.date(2021, 2, 28))
    assert error.details == {"started_on": [
        "2021-02-28 is before vacancy 1 (committee_member) opened on 2021-03-01"]}


def test_a_new_organizations_seats_are_open_since_its_founding():
    posts, opened_on = domain.initial_vacancies(org())
    assert (posts, opened_on) == (["secretary", "committee_member", "committee_member"],
                                  dt.date(2021, 3, 1))


def test_a_leader_leaves_once_and_not_before_starting():
    leader = {"id": 4, "started_on": DAY, "ended_on": None}
    domain.check_leader_leaving(leader, DAY)
    error = refusal(ValidationError, domain.check_leader_leaving, leader, dt.date(2026, 2, 28))
    assert error.message == "a post cannot end before it started"
    assert error.details == {"ended_on": ["before started_on 2026-03-01"]}
    error = refusal(Conflict, domain.check_leader_leaving, {**leader, "ended_on": DAY}, DAY)
    assert error.message == "leader 4 already left on 2026-03-01"
    assert error.details == {"leader_id": 4}


def test_the_answers_to_a_cadres_placement():
    applied = domain.cadre_placement_applied("cadres:9", 7, 11, None)
    assert applied.type == "cadre_placement_applied"
    assert applied.data == {"external_ref": "cadres:9", "organization_id": 7, "leader_id": 11,
                            "filled_vacancy_id": None}
    refused = domain.cadre_placement_refused("cadres:9", NotFound("no organization 7",
                                                                  {"organization_id": 7}))
    assert refused.type == "cadre_placement_refused"
    assert refused.data == {"external_ref": "cadres:9", "message": "no organization 7",
                            "details": {"organization_id": 7}}


def test_npe_is_told_why_an_enterprise_organization_is_refused():
    event = domain.enterprise_org_refused("npe:42", ValidationError("unknown place", {
        "place_code": ["no place 330106001201"]}))
    assert event.type == "enterprise_org_refused"
    assert event.data == {"external_ref": "npe:42", "message": "unknown place",
                          "details": {"place_code": ["no place 330106001201"]}}


def test_a_report_rows_counts_give_the_teams_problems():
    row = {"committee_size": 5, "secretaries": 1, "committee": 3, "open_vacancies": 0}
    assert domain.team_problems_of_row(row) == ["committee_short"]
    assert domain.team_problems_of_row({**row, "secretaries": 0, "open_vacancies": 2}) == [
        "no_secretary", "committee_short", "open_vacancies"]
    assert domain.team_problems_of_row({**row, "committee": 5}) == []


# -- township organizers ------------------------------------------------------------------
def test_organizers_serve_townships():
    domain.check_organizer_place(TOWNSHIP)
    error = refusal(ValidationError, domain.check_organizer_place, VILLAGE)
    assert error.details == {"place_code": [
        "must be a township (乡镇、街道): organizers serve townships"]}


def test_an_organizer_leaves_once_and_not_before_being_appointed():
    organizer = {"id": 2, "appointed_on": DAY, "ended_on": None}
    domain.check_organizer_leaving(organizer, dt.date(2026, 3, 2))
    error = refusal(ValidationError, domain.check_organizer_leaving, organizer,
                    dt.date(2026, 2, 1))
    assert error.message == "cannot leave before being appointed"
    assert error.details == {"ended_on": ["before appointed_on 2026-03-01"]}
    error = refusal(Conflict, domain.check_organizer_leaving, {**organizer, "ended_on": DAY},
                    DAY)
    assert error.details == {"organizer_id": 2}


# -- creating excellence ------------------------------------------------------------------
def test_excellence_dates_are_refused_in_the_shape_they_always_had():
    error = refusal(ValidationError, excellence.not_before, dt.date(2026, 2, 1), DAY,
                    "checked_on", "it was made")
    assert error.message == "before it was made"
    assert error.details == {"checked_on": ["before it was made (2026-03-01)"]}


def test_only_an_active_organization_takes_part():
    excellence.require_active(org())
    error = refusal(ValidationError, excellence.require_active, org(status="merged"))
    assert error.message == "not an active organization"
    assert error.details == {"organization_id": ["organization 7 is merged"]}


def test_a_creation_is_recognized_once_and_not_before_it_was_entered():
    creation = {"status": "entered", "entered_on": DAY, "recognized_on": None}
    excellence.check_recognition(creation, DAY)
    error = refusal(ValidationError, excellence.check_recognition, creation,
                    dt.date(2026, 1, 1))
    assert error.details == {"recognized_on": ["before it entered the creation (2026-03-01)"]}
    error = refusal(Conflict, excellence.check_recognition,
                    {**creation, "status": "recognized", "recognized_on": DAY}, DAY)
    assert error.message == "recognized already on 2026-03-01"


def test_a_creation_entered_is_announced_for_its_survey():
    event = excellence.service_creation_entered(5, 7, 2026, "便民")
    assert event.type == "service_creation_entered"
    assert event.data == {"creation_id": 5, "organization_id": 7, "year": 2026, "focus": "便民"}


def test_an_awareness_survey_is_of_its_year():
    excellence.check_survey_year(2026, DAY)
    error = refusal(ValidationError, excellence.check_survey_year, 2025, DAY)
    assert error.details == {"surveyed_on": ["not in 2025"]}


def test_a_commitment_is_one_sentence():
    for one in ("办好十件民生实事", "办好十件民生实事。", "每月走访十户群众！！", "“每月走访十户群众。”",
                "Visit ten homes a month!", "建好“一站式”服务窗口？"):
        excellence.check_one_sentence(one)
    for more in ("办好十件民生实事。每月走访十户群众。建好一支队伍。", "办好实事！走访群众",
                 "办好实事；走访群众", "办好实事。 走访群众", "“办好实事。”走访群众",
                 "Do this? Do that", "Do this; do that."):
        error = refusal(ValidationError, excellence.check_one_sentence, more)
        assert error.message == "a commitment is one sentence (一句话承诺)", more
        assert list(error.details) == ["sentence"]
    error = refusal(ValidationError, excellence.check_one_sentence, "办好实事！走访群众")
    assert error.details == {"sentence": [
        "more than one sentence: text follows the end mark '！' after 办好实事"]}


# -- rectification ----------------------------------------------------------------------
def test_a_caller_publishes_exemplars_and_sites_at_its_own_level_or_below():
    for caller, level in [(COUNTY, "county"), ("330100000000", "county"),
                          ("330100000000", "city"), ("330000000000", "province")]:
        rectification.check_publishing_level(caller, level)
    for caller, level in [(COUNTY, "city"), (COUNTY, "province"),
                          ("330100000000", "province"), (TOWNSHIP, "county")]:
        error = refusal(Forbidden, rectification.check_publishing_level, caller, level)
        assert error.details == {"level": level}
    error = refusal(Forbidden, rectification.check_publishing_level, COUNTY, "province")
    assert error.message == ("a county publishes exemplars and designates demonstration sites "
                             "of its own level or below, not province ones")


def test_a_task_is_completed_in_its_own_round():
    case = rectification.Case(organization_id=7, grade="poor", grade_round_id=1, listed=True,
                              opened_on=DAY, status="in_progress", round=2, id=3)
    rectification.check_task_of_round(case, {"round": 2})
    error = refusal(ValidationError, rectification.check_task_of_round, case, {"round": 1})
    assert error.message == "the task belongs to an earlier round"
    assert error.details == {"task_id": ["round 1, the case is in 2"]}

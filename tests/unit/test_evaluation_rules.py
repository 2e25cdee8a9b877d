"""The evaluation service's rules that its entrypoints call (grading, surveys, stars, the
service-oriented survey campaigns) and the events they record, without a database."""

import datetime as dt
from decimal import Decimal

import pytest

from services.evaluation import campaign, domain
from shared.contracts.evaluation import ASSESSORS, INDICATORS
from shared.errors import Conflict, ValidationError

RULES = domain.Rules()
COUNTY, TOWNSHIP, OTHER_COUNTY = "331123000000", "331123101000", "331124000000"
ROUND = {"id": 7, "place_code": COUNTY, "year": 2024, "rules": RULES.grading()}
ORG = {"id": 42, "place_code": TOWNSHIP, "name": "某村党支部", "current_grade": "average"}


def scores(value, assessors=tuple(ASSESSORS)):
    return {a: {i: str(value) for i in INDICATORS} for a in assessors}


# -- grading ----------------------------------------------------------------------------
def test_a_round_grades_only_the_organizations_under_its_place():
    domain.require_in_round(ORG, ROUND)
    domain.require_in_round({**ORG, "place_code": COUNTY}, ROUND)  # at the place itself
    with pytest.raises(ValidationError) as refused:
        domain.require_in_round({**ORG, "place_code": OTHER_COUNTY}, ROUND)
    assert refused.value.message == "the organization is not in the round's place"
    assert refused.value.details == {
        "organization_id": [f"{OTHER_COUNTY} is outside {COUNTY}"]}


def test_a_computed_grade_is_the_one_its_weighted_score_earns():
    graded = domain.computed_grade(ROUND, ORG, scores(85))
    assert (graded.grade, graded.score, graded.method, graded.reason) == (
        "fairly_good", Decimal("85.00"), "computed", None)
    with pytest.raises(Conflict) as refused:
        domain.computed_grade(ROUND, ORG, scores(85, ("self", "superior")))
    assert refused.value.details == {"missing": ["members_public"]}


def test_a_set_grade_carries_the_score_only_where_all_three_scored():
    complete = domain.set_grade(ROUND, ORG, scores(95), "average", "整改不力")
    assert (complete.grade, complete.score, complete.method, complete.reason) == (
        "average", Decimal("95.00"), "set", "整改不力")
    assert domain.set_grade(ROUND, ORG, scores(95, ("self",)), "poor", None).score is None
    assert domain.set_grade(ROUND, ORG, {}, "poor", None).score is None


def test_grade_assigned_tells_what_the_grade_made_of_the_organization():
    graded = domain.computed_grade(ROUND, ORG, scores(59))
    standing = {"baseline_grade": "average", "baseline_round_id": 3,
                "current_grade": "poor", "current_round_id": 7}
    assert not graded.is_baseline(standing)
    event = domain.grade_assigned(graded, standing, 11)
    assert event.type == "grade_assigned"
    assert event.data == {
        "organization_id": 42, "place_code": TOWNSHIP, "round_id": 7, "year": 2024,
        "grade": "poor", "baseline_grade": "average", "current_grade": "poor",
        "is_baseline": False, "is_current": True, "method": "computed",
        "score": Decimal("59.00"), "reason": None, "sequence": 11}
    first = {**standing, "baseline_round_id": 7, "current_round_id": 9}
    assert graded.is_baseline(first)
    data = domain.grade_assigned(graded, first, 12).data
    assert (data["is_baseline"], data["is_current"]) == (True, False)


# -- satisfaction surveys -----------------------------------------------------------------
SURVEY = {"id": 5, "kind": "rectification", "organization_id": 42, "case_id": 9,
          "case_round": 2, "status": "open", "closed_on": None,
          "counts": {"satisfied": 7, "fairly_satisfied": 1, "basically_satisfied": 0,
                     "dissatisfied": 2}}


def test_a_survey_takes_ballots_while_open():
    domain.accept_ballots(SURVEY)
    with pytest.raises(Conflict) as refused:
        domain.accept_ballots({**SURVEY, "status": "closed"})
    assert refused.value.message == "survey 5 is closed (测评已结束)"
    assert refused.value.details == {"survey_id": 5}


def test_closing_a_survey_gives_its_result_once():
    result = domain.close(SURVEY, RULES)
    assert (result.valid_ballots, result.satisfied, result.rate, result.passed) == (
        10, 8, Decimal("0.8000"), True)
    closed = {**SURVEY, "status": "closed", "closed_on": dt.date(2024, 5, 1)}
    with pytest.raises(Conflict) as refused:
        domain.close(closed, RULES)
    assert refused.value.message == "survey 5 was closed on 2024-05-01 (测评已结束)"
    assert refused.value.details == {"survey_id": 5}
    with pytest.raises(Conflict, match="no valid ballots"):
        domain.close({**SURVEY, "counts": {}}, RULES)


def test_survey_closed_carries_the_case_and_its_result():
    event = domain.survey_closed(SURVEY, domain.close(SURVEY, RULES))
    assert event.type == "survey_closed"
    assert event.data == {
        "survey_id": 5, "kind": "rectification", "organization_id": 42, "case_id": 9,
        "case_round": 2, "valid_ballots": 10, "satisfied": 8, "rate": Decimal("0.8000"),
        "threshold": Decimal("0.80"), "passed": True}


def test_survey_titles():
    assert domain.survey_title("某村党支部", "rectification", None) == "某村党支部整改落实满意度测评"
    assert domain.survey_title("某村党支部", "rectification", "春季测评") == "春季测评"
    assert domain.case_survey_title("某村党支部", 2) == "某村党支部整改落实满意度测评（第2轮）"


# -- acceptance and stars -------------------------------------------------------------------
ACCEPTANCE = {"id": 3, "organization_id": 42, "case_id": 9, "grade": "good",
              "status": "awaiting_stars", "rated_on": None}


def test_an_acceptance_opens_at_the_current_grade():
    assert domain.grade_to_accept(ORG) == "average"
    with pytest.raises(Conflict) as refused:
        domain.grade_to_accept({**ORG, "current_grade": None})
    assert refused.value.message == "organization 42 has no grade yet: stars follow the grade"
    assert refused.value.details == {"organization_id": 42}


def test_stars_are_rated_once_within_the_grade_and_the_score_suggests_them():
    assert domain.rate_stars(ACCEPTANCE, 4, Decimal("96"), RULES) == 5
    assert domain.rate_stars(ACCEPTANCE, 5, Decimal("80"), RULES) == 4
    with pytest.raises(ValidationError) as out_of_range:
        domain.rate_stars(ACCEPTANCE, 3, Decimal("96"), RULES)
    assert out_of_range.value.details == {"stars": ["must be one of [4, 5]"]}
    rated = {**ACCEPTANCE, "status": "rated", "rated_on": dt.date(2024, 6, 1)}
    with pytest.raises(Conflict) as refused:
        domain.rate_stars(rated, 4, Decimal("96"), RULES)
    assert refused.value.message == "acceptance 3 was rated on 2024-06-01"
    assert refused.value.details == {"acceptance_id": 3}


def test_star_rated_names_the_stars_given_and_suggested():
    event = domain.star_rated(ACCEPTANCE, 4, 5, "群众评价一般")
    assert event.type == "star_rated"
    assert event.data == {"acceptance_id": 3, "organization_id": 42, "case_id": 9,
                          "grade": "good", "stars": 4, "suggested_stars": 5,
                          "reason": "群众评价一般"}


# -- reports -----------------------------------------------------------------------------------
def test_the_moving_up_tally_by_child_place_and_in_total():
    children, total = domain.tally_moving_up([
        {"child": "A", "baseline_grade": "poor", "organizations": 4, "moved_up": 3},
        {"child": "A", "baseline_grade": "average", "organizations": 2, "moved_up": 0},
        {"child": "B", "baseline_grade": "poor", "organizations": 6, "moved_up": 2}])
    assert children == {"A": {"poor": (4, 3), "average": (2, 0)}, "B": {"poor": (6, 2)}}
    assert total == {"poor": (10, 5), "average": (2, 0)}
    assert domain.tally_moving_up([]) == ({}, {})


def test_the_same_counts_by_current_grade_add_up_per_baseline_and_per_current_grade():
    rows = [
        {"child": "A", "baseline_grade": "poor", "current_grade": "poor", "organizations": 1,
         "moved_up": 0},
        {"child": "A", "baseline_grade": "poor", "current_grade": "average",
         "organizations": 3, "moved_up": 3},
        {"child": "B", "baseline_grade": "average", "current_grade": "average",
         "organizations": 2, "moved_up": 0}]
    children, total = domain.tally_moving_up(rows)
    assert children == {"A": {"poor": (4, 3)}, "B": {"average": (2, 0)}}
    assert total == {"poor": (4, 3), "average": (2, 0)}
    children, total = domain.tally_current_grades(rows)
    assert children == {"A": {"poor": 1, "average": 3}, "B": {"average": 2}}
    assert total == {"poor": 1, "average": 5}
    assert domain.current_grade_rows(total) == [
        {"grade": "good", "organizations": 0}, {"grade": "fairly_good", "organizations": 0},
        {"grade": "average", "organizations": 5}, {"grade": "poor", "organizations": 1}]


def test_only_townships_report_to_the_county():
    domain.require_township("township")
    with pytest.raises(ValidationError) as refused:
        domain.require_township("village")
    assert refused.value.message == "only townships report to the county"
    assert refused.value.details == {"place_code": ["must be a township (乡镇、街道)"]}


def test_a_township_reports_on_a_month_begun():
    today = dt.date(2026, 12, 7)
    for period in ("2026-12", "2026-11", "2020-01"):
        domain.check_report_period(period, today)
    for period in ("2027-01", "2030-06"):
        with pytest.raises(ValidationError) as refused:
            domain.check_report_period(period, today)
        assert refused.value.message == f"{period} has not begun: nothing to report on yet"
        assert refused.value.details == {"period": [
            "a month up to 2026-12 (this month) (报告月份不得晚于本月)"]}
    domain.check_report_period("2027-01", dt.date(2027, 1, 1))  # its first day


# -- the service-oriented survey campaigns -------------------------------------------------
def test_a_campaign_is_opened_over_a_known_place_with_a_title():
    assert campaign.known_place(COUNTY, "遂昌县") == "遂昌县"
    with pytest.raises(ValidationError) as refused:
        campaign.known_place(COUNTY, None)
    assert refused.value.message == f"no place {COUNTY} known to evaluation yet"
    assert refused.value.details == {"place_code": ["unknown place (未知的行政区划)"]}
    assert campaign.campaign_title("遂昌县", 2024, None) == "遂昌县2024年服务型基层党组织建设满意度测评"
    assert campaign.campaign_title("遂昌县", 2024, "年度测评") == "年度测评"


def test_one_campaign_a_year_over_an_organization():
    campaign.refuse_overlap(TOWNSHIP, 2024, None, seen=False)
    taken = {"id": 8, "place_code": TOWNSHIP}
    with pytest.raises(Conflict) as below:
        campaign.refuse_overlap(COUNTY, 2024, taken, seen=True)
    assert below.value.message == (f"the 2024 survey of {TOWNSHIP} (campaign 8) covers these "
                                   "organizations already (已开展本年度测评)")
    assert below.value.details == {"campaign_id": 8}
    with pytest.raises(Conflict) as above:  # a superior's: neither its id nor its place
        campaign.refuse_overlap(TOWNSHIP, 2024, {"id": 8, "place_code": COUNTY}, seen=False)
    assert above.value.message == (f"a 2024 survey above {TOWNSHIP} covers these "
                                   "organizations already (上级已开展本年度测评)")
    assert above.value.details == {"place_code": TOWNSHIP}


def test_closing_a_campaign_rates_the_surveys_with_ballots_only():
    campaign.require_open({"id": 8, "status": "open", "closed_on": None})
    with pytest.raises(Conflict) as refused:
        campaign.require_open({"id": 8, "status": "closed", "closed_on": dt.date(2024, 12, 1)})
    assert refused.value.message == "campaign 8 was closed on 2024-12-01"
    assert refused.value.details == {}
    results = campaign.survey_results({
        1: {"satisfied": 3, "fairly_satisfied": 0, "basically_satisfied": 0, "dissatisfied": 1},
        2: {"satisfied": 0, "fairly_satisfied": 0, "basically_satisfied": 0, "dissatisfied": 0},
    }, RULES)
    assert list(results) == [1]
    assert (results[1].valid_ballots, results[1].rate, results[1].passed) == (
        4, Decimal("0.7500"), False)


def test_a_campaign_survey_without_ballots_lapses_and_takes_no_ballots():
    """Closing a campaign closes its surveys with valid ballots; the others lapse (无票结束):
    not closed, so never counted as closed (issue 26), and they take no ballots after."""
    from shared.contracts import STATE_MACHINES, load_all
    from shared.contracts.evaluation import SURVEY_STATUSES

    load_all()
    machine = STATE_MACHINES[("evaluation", "satisfaction survey")]
    assert machine.targets("open", "close_service_survey") == {"closed", domain.LAPSED}
    assert domain.LAPSED in SURVEY_STATUSES
    lapsed = {**SURVEY, "kind": "service_oriented", "status": domain.LAPSED,
              "closed_on": dt.date(2024, 12, 1), "counts": {}}
    with pytest.raises(Conflict) as refused:
        domain.accept_ballots(lapsed)
    assert refused.value.message == ("survey 5 lapsed on 2024-12-01 without ballots, with its "
                                     "campaign (测评已结束)")
    with pytest.raises(Conflict) as refused:
        domain.close(lapsed, RULES)
    assert refused.value.message == ("survey 5 lapsed on 2024-12-01 without ballots, with its "
                                     "campaign (测评已结束)")


def test_the_campaign_report_totals_rates_and_every_focus():
    figures = {"organizations": 3, "closed": 3, "valid_ballots": 10, "satisfied": 9,
               "passed": 2, "failed": 1}
    empty = dict.fromkeys(campaign.MEASURES, 0)
    opened = {"id": 8, "place_code": COUNTY, "year": 2024, "status": "open"}
    report = campaign.campaign_report(
        opened, [{"place_code": TOWNSHIP, **figures}, {"place_code": "331123102000", **empty}],
        [{"focus": "general", **figures}], {COUNTY: "遂昌县", TOWNSHIP: "妙高街道"}, RULES)
    assert report["place_name"] == "遂昌县" and report["status"] == "open"
    assert report["rules"] == {"satisfied_answers": list(RULES.satisfied_answers),
                               "threshold": "0.80"}
    assert report["total"] == {"place_code": COUNTY, "place_name": "遂昌县", **figures,
                               "rate": Decimal("0.9000")}
    assert [(r["place_name"], r["rate"]) for r in report["by_child_place"]] == [
        ("妙高街道", Decimal("0.9000")), (None, None)]
    assert [(r["focus"], r["valid_ballots"], r["rate"]) for r in report["by_focus"]] == [
        ("window_unit", 0, None), ("service_industry", 0, None),
        ("general", 10, Decimal("0.9000"))]

"""Grading, satisfaction, stars and moving up (domain.md §2–§4), as pure rules."""

from decimal import Decimal

import pytest

from services.evaluation import domain
from shared.contracts.evaluation import ASSESSORS, INDICATORS
from shared.errors import Conflict, ValidationError

RULES = domain.Rules()


def all_scores(value, **per_assessor):
    return {a: {i: str(per_assessor.get(a, value)) for i in INDICATORS} for a in ASSESSORS}


def test_the_weighted_score_and_the_grade_by_the_default_cut_offs():
    grading = RULES.grading()
    # self 0.2, members and public 0.3, superior 0.5
    score = domain.weighted_score(all_scores(0, self=100, members_public=80, superior=90), grading)
    assert score == Decimal("89.00")
    assert domain.grade_for(score, grading["cutoffs"]) == "fairly_good"
    for value, grade in [(90, "good"), ("89.99", "fairly_good"), (80, "fairly_good"),
                         (79, "average"), (60, "average"), ("59.99", "poor"), (0, "poor")]:
        assert domain.grade_for(Decimal(str(value)), grading["cutoffs"]) == grade


def test_indicator_weights_weigh_the_seven_indicators():
    weights = {**{i: "1" for i in INDICATORS}, "leader": "4"}  # the leader counts 4 of 10
    scores = {i: "50" for i in INDICATORS} | {"leader": "100"}
    assert domain.assessor_score(scores, weights) == Decimal("70.00")


def test_rounding_is_half_up_to_two_places():
    scores = {i: "89.995" for i in INDICATORS}
    assert domain.assessor_score(scores, RULES.indicator_weights) == Decimal("90.00")


def test_grading_needs_all_three_assessors():
    partial = all_scores(95)
    del partial["superior"]
    with pytest.raises(Conflict) as caught:
        domain.weighted_score(partial, RULES.grading())
    assert caught.value.details == {"missing": ["superior"]}


def test_satisfaction_counts_the_first_three_answers_against_eighty_percent():
    result = domain.satisfaction({"satisfied": 50, "fairly_satisfied": 20, "basically_satisfied": 9,
                                  "dissatisfied": 21}, RULES)
    assert (result.valid_ballots, result.satisfied, result.rate, result.passed) == \
        (100, 79, Decimal("0.7900"), False)
    exactly = domain.satisfaction({"satisfied": 80, "dissatisfied": 20}, RULES)
    assert exactly.rate == Decimal("0.8000") and exactly.passed
    # below the threshold by a hair: shown cut, so it never reads as the threshold
    hair = domain.satisfaction({"satisfied": 79_996, "dissatisfied": 20_004}, RULES)
    assert hair.rate == Decimal("0.7999") and not hair.passed
    for satisfied, valid, shown, passed in [(15_999, 20_000, "0.7999", False),  # 79.995 %
                                            (16_000, 20_000, "0.8000", True),   # 80 %
                                            (16_001, 20_000, "0.8000", True)]:  # 80.005 %
        result = domain.satisfaction({"satisfied": satisfied,
                                      "dissatisfied": valid - satisfied}, RULES)
        assert (str(result.rate), result.passed) == (shown, passed)
        assert (result.rate >= result.threshold) == result.passed
    strict = domain.Rules(satisfied_answers=("satisfied",))
    assert not domain.satisfaction({"satisfied": 70, "fairly_satisfied": 30}, strict).passed
    with pytest.raises(Conflict):
        domain.satisfaction({}, RULES)


def test_stars_inside_the_grade_range_and_the_suggestion():
    assert domain.allowed_stars("good", RULES) == [4, 5]
    assert domain.allowed_stars("poor", RULES) == [0, 1]
    assert domain.suggest_stars("good", Decimal("95"), RULES) == 5
    assert domain.suggest_stars("good", Decimal("94.99"), RULES) == 4
    assert domain.suggest_stars("poor", Decimal("10"), RULES) == 0
    assert domain.suggest_stars("fairly_good", Decimal("10"), RULES) == 3
    domain.check_stars("average", 2, RULES)
    for grade, stars in [("good", 3), ("fairly_good", 4), ("average", 3), ("poor", 2)]:
        with pytest.raises(ValidationError):
            domain.check_stars(grade, stars, RULES)


def test_moved_up_and_the_new_improvement_of_good_ones():
    assert domain.moved_up("poor", "average") and domain.moved_up("fairly_good", "good")
    assert not domain.moved_up("average", "average") and not domain.moved_up("good", "good")
    assert domain.improved_good("good", 4, 5, 5) and domain.improved_good("good", 4, 4, 5)
    assert not domain.improved_good("good", 4, 4, 4)
    assert not domain.improved_good("good", None, None, None)
    assert not domain.improved_good("poor", 4, 5, 5)  # fell from good: no improvement


def test_moving_up_rows_rate_target_and_met():
    rows = {r["baseline_grade"]: r for r in domain.moving_up_rows(
        {"fairly_good": (10, 5), "average": (10, 5), "poor": (3, 2), "good": (4, 1)}, RULES)}
    assert rows["fairly_good"]["rate"] == Decimal("0.5000") and rows["fairly_good"]["met"]
    assert rows["average"]["target"] == Decimal("0.60") and rows["average"]["met"] is False
    assert rows["poor"]["rate"] == Decimal("0.6666") and rows["poor"]["met"] is False  # 2/3, cut
    assert rows["good"]["target"] is None and rows["good"]["met"] is None
    empty = domain.moving_up_rows({}, RULES)
    assert all(r["organizations"] == 0 and r["rate"] is None and r["met"] is None for r in empty)


def test_rules_refuse_what_cannot_be_right():
    with pytest.raises(ValueError):
        domain.Rules.from_config({"assessor_weights": {"self": "0.5", "members_public": "0.5",
                                                       "superior": "0.5"}})
    with pytest.raises(ValueError):
        domain.Rules.from_config({"survey_treshold": "0.9"})
    assert domain.Rules.from_config({"survey_threshold": "0.9"}).survey_threshold == "0.9"
    with pytest.raises(ValueError):
        domain.Rules.from_config({"cutoffs": {"good": "80", "fairly_good": "90", "average": "60"}})
    with pytest.raises(ValueError):
        domain.Rules.from_config({"star_thresholds": {"good": "95"}})  # poor allows two


def test_met_is_decided_on_the_exact_ratio():
    rows = {r["baseline_grade"]: r for r in domain.moving_up_rows({"poor": (100_000, 69_999)},
                                                                  RULES)}
    # 69.999 % is shown cut, so it never reads as the 70 % target it misses
    assert rows["poor"]["rate"] == Decimal("0.6999") and rows["poor"]["met"] is False


def test_a_threshold_of_more_than_four_decimals_is_refused_at_start_up():
    """A shown rate (four decimals, cut) and the verdict agree only against thresholds
    of at most four decimals."""
    for values in ({"survey_threshold": "0.80005"}, {"survey_threshold": "1.2"},
                   {"moving_up_targets": {"poor": "0.700001"}}):
        with pytest.raises(ValueError, match="at most four decimals"):
            domain.Rules.from_config(values)
    assert domain.Rules.from_config({"survey_threshold": "0.8125"}).survey_threshold == "0.8125"

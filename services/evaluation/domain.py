"""Grading, satisfaction, stars and moving up (docs/domain.md §2–§4), and the events
they record (grade_assigned, survey_closed, star_rated). Pure: no I/O.

Scores and rates are Decimals, rounded half up to 2 (scores) or 4 (rates) places, so a
score of 89.995 is 90.00 — and good — everywhere it is computed, stored or reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal

from shared.contracts.enums import GRADE_RANK, GRADES
from shared.contracts.evaluation import ANSWERS, ASSESSORS, INDICATORS, SURVEY_KINDS
from shared.domain.events import Event
from shared.domain.shares import check_threshold, share
from shared.errors import Conflict, ValidationError
from shared.national import regions

TWO = Decimal("0.01")


def _decimal(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class Rules:
    """This province's choices (domain.md §9): configuration with these defaults."""

    # The weight of each assessor's score in the total (ours; the guidance names the
    # three assessors, not their weights).
    assessor_weights: dict = field(default_factory=lambda: {
        "self": "0.2", "members_public": "0.3", "superior": "0.5"})
    # The weight of each of the seven indicators in an assessor's score (equal).
    indicator_weights: dict = field(default_factory=lambda: {name: "1" for name in INDICATORS})
    # Lowest score of each grade: ≥ 90 good, 80–89 fairly good, 60–79 average, < 60 poor.
    cutoffs: dict = field(default_factory=lambda: {"good": "90", "fairly_good": "80",
                                                   "average": "60"})
    # §3.7: satisfied / fairly satisfied / basically satisfied count as satisfied; 80 %.
    satisfied_answers: tuple[str, ...] = ("satisfied", "fairly_satisfied", "basically_satisfied")
    survey_threshold: str = "0.80"
    # §4: the stars each grade allows.
    star_ranges: dict = field(default_factory=lambda: {
        "good": [4, 5], "fairly_good": [3], "average": [2], "poor": [0, 1]})
    # (ours) Where a grade allows two, an acceptance score at or above this suggests the
    # higher one.
    star_thresholds: dict = field(default_factory=lambda: {"good": "95", "poor": "60"})
    # S§2: the share of each baseline grade that is to move up.
    moving_up_targets: dict = field(default_factory=lambda: {
        "fairly_good": "0.50", "average": "0.60", "poor": "0.70"})

    @classmethod
    def from_config(cls, values: dict | None) -> Rules:
        values = dict(values or {})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown evaluation rules: {', '.join(sorted(unknown))}")
        if "satisfied_answers" in values:
            values["satisfied_answers"] = tuple(values["satisfied_answers"])
        rules = cls(**values)
        rules.check()
        return rules

    def check(self) -> None:
        """Refuse a configuration that cannot be right, at start-up rather than in a report."""
        if (set(self.assessor_weights) != set(ASSESSORS)
                or set(self.indicator_weights) != set(INDICATORS)):
            raise ValueError("weights must name every assessor and every indicator")
        if sum(_decimal(w) for w in self.assessor_weights.values()) != 1:
            raise ValueError("assessor weights must add up to 1")
        if not set(self.satisfied_answers) <= set(ANSWERS):
            raise ValueError(f"satisfied answers must be among {', '.join(ANSWERS)}")
        if set(self.star_ranges) != set(GRADES):
            raise ValueError("star ranges must name every grade")
        cut = [_decimal(self.cutoffs[g]) for g in ("good", "fairly_good", "average")]
        if not cut[0] > cut[1] > cut[2]:
            raise ValueError("cut-offs must fall from good to fairly_good to average")
        # Shares are shown cut to four decimals (shared.domain.shares): against a threshold of
        # more, a shown rate could read as reaching what the exact ratio does not.
        check_threshold("survey_threshold", self.survey_threshold)
        for grade, target in self.moving_up_targets.items():
            check_threshold(f"moving_up_targets.{grade}", target)
        two_levels = [g for g, stars in self.star_ranges.items() if len(stars) > 1]
        if not set(two_levels) <= set(self.star_thresholds):
            raise ValueError(f"a star threshold is needed for {', '.join(two_levels)}")

    def grading(self) -> dict:
        """What a round keeps, so that its results can be read by the rules they used."""
        return {"assessor_weights": self.assessor_weights,
                "indicator_weights": self.indicator_weights, "cutoffs": self.cutoffs}

    def as_report(self, *names: str) -> dict:
        values = asdict(self)
        return {name: values[name] for name in names}


# -- grading ------------------------------------------------------------------------
def assessor_score(scores: dict, indicator_weights: dict) -> Decimal:
    total_weight = sum((_decimal(w) for w in indicator_weights.values()), Decimal(0))
    weighted = sum((_decimal(scores[name]) * _decimal(w)
                    for name, w in indicator_weights.items()), Decimal(0))
    return (weighted / total_weight).quantize(TWO, ROUND_HALF_UP)


def weighted_score(scores_by_assessor: dict[str, dict], grading: dict) -> Decimal:
    """The total from each assessor's indicator scores, by a round's stored weights."""
    missing = [a for a in ASSESSORS if a not in scores_by_assessor]
    if missing:
        raise Conflict("scores are missing from: " + ", ".join(
            f"{a} ({ASSESSORS[a]})" for a in missing) + " (评分未齐)", {"missing": missing})
    total = sum(
        (assessor_score(scores_by_assessor[a], grading["indicator_weights"]) * _decimal(w)
         for a, w in grading["assessor_weights"].items()),
        Decimal(0),
    )
    return total.quantize(TWO, ROUND_HALF_UP)


def grade_for(score: Decimal, cutoffs: dict) -> str:
    for grade in ("good", "fairly_good", "average"):
        if score >= _decimal(cutoffs[grade]):
            return grade
    return "poor"


def require_in_round(organization: dict, round_: dict) -> None:
    """A round grades the organizations under its place."""
    if not regions.in_subtree(organization["place_code"], round_["place_code"]):
        raise ValidationError("the organization is not in the round's place", {"organization_id": [
            f"{organization['place_code']} is outside {round_['place_code']}"]})


@dataclass(frozen=True)
class Assignment:
    """A grade given an organization in a round: computed from its scores, or set by its
    superior (then with the score where all three assessors scored, else none)."""

    round: dict
    organization: dict
    grade: str
    score: Decimal | None
    method: str
    reason: str | None

    def is_baseline(self, standing: Mapping) -> bool:
        """`standing`: the organization's baseline and current rounds, this grade counted."""
        return standing["baseline_round_id"] == self.round["id"]


def computed_grade(round_: dict, organization: dict, scores: dict[str, dict]) -> Assignment:
    """The grade its weighted score earns by the round's cut-offs (all three must score)."""
    score = weighted_score(scores, round_["rules"])
    return Assignment(round_, organization, grade_for(score, round_["rules"]["cutoffs"]), score,
                      "computed", None)


def set_grade(round_: dict, organization: dict, scores: dict[str, dict], grade: str,
              reason: str | None) -> Assignment:
    score = weighted_score(scores, round_["rules"]) if len(scores) == len(ASSESSORS) else None
    return Assignment(round_, organization, grade, score, "set", reason)


def grade_assigned(assignment: Assignment, standing: Mapping, sequence: int) -> Event:
    """What the grade made of the organization: organizations opens a case for an average
    or poor one. `sequence` orders one organization's grade events."""
    round_, org = assignment.round, assignment.organization
    return Event("grade_assigned", {
        "organization_id": org["id"], "place_code": org["place_code"],
        "round_id": round_["id"], "year": round_["year"], "grade": assignment.grade,
        "baseline_grade": standing["baseline_grade"], "current_grade": standing["current_grade"],
        "is_baseline": assignment.is_baseline(standing),
        "is_current": standing["current_round_id"] == round_["id"],
        "method": assignment.method, "score": assignment.score, "reason": assignment.reason,
        "sequence": sequence})


def moved_up(baseline: str, current: str) -> bool:
    """Better than its baseline (晋位升级). A `good` one cannot: see improved_good."""
    return GRADE_RANK[current] > GRADE_RANK[baseline]


def improved_good(current_grade: str, first_stars: int | None, last_stars: int | None,
                  max_stars: int | None) -> bool:
    """(ours, domain.md §2) A `good` organization shows 新的提高 when, still good, its star
    level rose or it was accepted at 5 stars — counting only ratings given while good."""
    if current_grade != "good":
        return False
    rose = first_stars is not None and last_stars is not None and last_stars > first_stars
    return rose or max_stars == 5


# -- satisfaction surveys -------------------------------------------------------------
@dataclass(frozen=True)
class Satisfaction:
    valid_ballots: int
    satisfied: int
    rate: Decimal
    threshold: Decimal
    passed: bool
    rule: dict


def satisfaction(counts: Mapping[str, int], rules: Rules) -> Satisfaction:
    valid = sum(counts.get(answer, 0) for answer in ANSWERS)
    satisfied = sum(counts.get(answer, 0) for answer in rules.satisfied_answers)
    rate = share(satisfied, valid)  # for display: cut, never across the threshold
    if rate is None:  # no valid ballot
        raise Conflict("no valid ballots: nothing to close on (尚无有效票)", {"valid_ballots": 0})
    threshold = _decimal(rules.survey_threshold)
    rule = {"satisfied_answers": list(rules.satisfied_answers),
            "threshold": str(threshold)}
    # Decided on the exact ratio; the rate shown agrees (79.995 % reads 0.7999).
    return Satisfaction(valid, satisfied, rate, threshold, satisfied >= threshold * valid, rule)


def survey_title(organization_name: str, kind: str, title: str | None) -> str:
    return title or f"{organization_name}{SURVEY_KINDS[kind]}"


def case_survey_title(organization_name: str, case_round: int) -> str:
    """The survey a rectification case's round ends with (§3.7)."""
    return f"{organization_name}整改落实满意度测评（第{case_round}轮）"


# A campaign's survey that had no valid ballot when its campaign closed (无票结束): ended,
# but not closed — no rate, neither passed nor failed, never counted among the closed.
LAPSED = "lapsed"


def _ended(survey: dict) -> Conflict:
    if survey["status"] == LAPSED:
        return Conflict(f"survey {survey['id']} lapsed on {survey['closed_on']} without "
                        "ballots, with its campaign (测评已结束)", {"survey_id": survey["id"]})
    return Conflict(f"survey {survey['id']} was closed on {survey['closed_on']} (测评已结束)",
                    {"survey_id": survey["id"]})


def accept_ballots(survey: dict) -> None:
    """Ballots are counted while the survey is open."""
    if survey["status"] == LAPSED:
        raise _ended(survey)
    if survey["status"] != "open":
        raise Conflict(f"survey {survey['id']} is closed (测评已结束)", {"survey_id": survey["id"]})


def close(survey: dict, rules: Rules) -> Satisfaction:
    """An open survey's result: satisfied if enough of its valid ballots say so (§3.7)."""
    if survey["status"] != "open":
        raise _ended(survey)
    return satisfaction(survey["counts"], rules)


def survey_closed(survey: dict, result: Satisfaction) -> Event:
    """What organizations follows: a case's survey passed (accepted) or not (another round)."""
    return Event("survey_closed", {
        "survey_id": survey["id"], "kind": survey["kind"],
        "organization_id": survey["organization_id"], "case_id": survey["case_id"],
        "case_round": survey["case_round"], "valid_ballots": result.valid_ballots,
        "satisfied": result.satisfied, "rate": result.rate, "threshold": result.threshold,
        "passed": result.passed})


# -- stars ----------------------------------------------------------------------------
def allowed_stars(grade: str, rules: Rules) -> list[int]:
    return sorted(rules.star_ranges[grade])


def suggest_stars(grade: str, score: Decimal, rules: Rules) -> int:
    allowed = allowed_stars(grade, rules)
    if len(allowed) == 1:
        return allowed[0]
    threshold = _decimal(rules.star_thresholds[grade])
    return allowed[-1] if _decimal(score) >= threshold else allowed[0]


def grade_to_accept(organization: dict) -> str:
    """An acceptance is opened at the organization's current grade, which its stars follow."""
    if organization["current_grade"] is None:
        raise Conflict(f"organization {organization['id']} has no grade yet: stars follow the"
                       " grade", {"organization_id": organization["id"]})
    return organization["current_grade"]


def rate_stars(acceptance: dict, stars: int, score: Decimal, rules: Rules) -> int:
    """Check that an acceptance awaiting its stars may be given `stars`; the stars its
    `score` suggests."""
    if acceptance["status"] != "awaiting_stars":
        raise Conflict(f"acceptance {acceptance['id']} was rated on {acceptance['rated_on']}",
                       {"acceptance_id": acceptance["id"]})
    check_stars(acceptance["grade"], stars, rules)
    return suggest_stars(acceptance["grade"], score, rules)


def star_rated(acceptance: dict, stars: int, suggested: int, reason: str | None) -> Event:
    return Event("star_rated", {
        "acceptance_id": acceptance["id"], "organization_id": acceptance["organization_id"],
        "case_id": acceptance["case_id"], "grade": acceptance["grade"],
        "stars": stars, "suggested_stars": suggested, "reason": reason})


def check_stars(grade: str, stars: int, rules: Rules) -> None:
    allowed = allowed_stars(grade, rules)
    if stars not in allowed:
        raise ValidationError(
            f"a {grade} ({GRADES[grade]}) organization is rated {' or '.join(map(str, allowed))} "
            f"stars, not {stars} (星级须在定级对应范围内)", {"stars": [f"must be one of {allowed}"]})


# -- the moving-up report --------------------------------------------------------------
def tally_moving_up(counts: Iterable[Mapping]) -> tuple[dict[str, dict[str, tuple[int, int]]],
                                                         dict[str, tuple[int, int]]]:
    """The counts of (child place, baseline grade) rows, by child and in total: for each,
    baseline grade → (organizations, moved up)."""
    children: dict[str, dict[str, tuple[int, int]]] = {}
    total: dict[str, tuple[int, int]] = {}
    for row in counts:  # (a grade may come in several rows: one per current grade)
        for where in (children.setdefault(row["child"], {}), total):
            before = where.get(row["baseline_grade"], (0, 0))
            where[row["baseline_grade"]] = (before[0] + row["organizations"],
                                            before[1] + row["moved_up"])
    return children, total


def tally_current_grades(counts: Iterable[Mapping]) -> tuple[dict[str, dict[str, int]],
                                                             dict[str, int]]:
    """The same rows by current grade: child place → current grade → organizations, and
    in total."""
    children: dict[str, dict[str, int]] = {}
    total: dict[str, int] = {}
    for row in counts:
        for where in (children.setdefault(row["child"], {}), total):
            where[row["current_grade"]] = where.get(row["current_grade"], 0) + \
                row["organizations"]
    return children, total


def current_grade_rows(counts: Mapping[str, int]) -> list[dict]:
    """Organizations per current grade, every grade in order (0 where none)."""
    return [{"grade": grade, "organizations": counts.get(grade, 0)} for grade in GRADES]


def moving_up_rows(counts: Mapping[str, tuple[int, int]], rules: Rules) -> list[dict]:
    """Per baseline grade: organizations, moved up, rate, target, met (None without any).

    `counts` maps a baseline grade to (organizations, moved up); for `good`, moved up
    means improved (improved_good)."""
    rows = []
    for grade in GRADES:
        total, up = counts.get(grade, (0, 0))
        rate = share(up, total)
        target = rules.moving_up_targets.get(grade)
        target = _decimal(target) if target is not None else None
        met = None if rate is None or target is None else up >= target * total  # exact
        rows.append({"baseline_grade": grade, "organizations": total, "moved_up": up,
                     "rate": rate, "target": target, "met": met})
    return rows


def joint_review_level(place_level: str) -> str:
    if place_level not in ("city", "county", "township"):
        raise ValidationError("joint reviews are of city, county and township secretaries",
                              {"place_code": [f"a {place_level} is not reviewed (三级: 市、县、乡)"]})
    return place_level


def check_report_period(period: str, today: dt.date) -> None:
    """A township reports on a month once it has begun: up to this month, never a month
    to come (as resources' subsidies are paid)."""
    this_month = f"{today:%Y-%m}"
    if period > this_month:  # both YYYY-MM
        raise ValidationError(f"{period} has not begun: nothing to report on yet", {"period": [
            f"a month up to {this_month} (this month) (报告月份不得晚于本月)"]})


def require_township(place_level: str) -> None:
    """Townships report to their county (乡镇、街道)."""
    if place_level != "township":
        raise ValidationError("only townships report to the county",
                              {"place_code": ["must be a township (乡镇、街道)"]})

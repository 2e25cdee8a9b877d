"""Contract of the evaluation service: grading rounds, satisfaction surveys, acceptance
and star ratings, the moving-up report, joint reviews (docs/domain.md §2–§4, §7, §8)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts import NEW, event, imports, rpc_method, state_machine
from shared.contracts.common import (
    PERIOD,
    DecimalNumber,
    Enum,
    PastDate,
    Pattern,
    PlaceCode,
    StrictBoolean,
    label_of,
    page_fields,
    request_id_field,
)
from shared.contracts.enums import GRADES

SERVICE = "evaluation"

# The seven indicators of the national guidance (domain.md §2).
INDICATORS = {
    "leader": "带头人",
    "ideas": "工作思路",
    "systems": "制度机制",
    "venue": "活动场所",
    "guarantees": "工作保障",
    "results": "工作成效",
    "public_opinion": "群众评价",
}
ASSESSORS = {"self": "自评", "members_public": "党员群众评议", "superior": "上级评定"}
GRADE_METHODS = {"computed": "按得分评定", "set": "上级直接确定"}
ANSWERS = {
    "satisfied": "满意",
    "fairly_satisfied": "比较满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}
SURVEY_KINDS = {
    "rectification": "整改落实满意度测评",
    "service_oriented": "服务型党组织满意度测评",
}
SURVEY_STATUSES = {"open": "测评中", "closed": "已结束", "lapsed": "无票结束"}
ACCEPTANCE_STATUSES = {"awaiting_stars": "待定星", "rated": "已定星"}
REVIEW_LEVELS = {"city": "市", "county": "县(市、区)", "township": "乡镇(街道)"}
REVIEW_RESULTS = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}

_grade_label = label_of(GRADES)

_W = "evaluation.write, the organization in the caller's jurisdiction"
_SUPERIOR = ("evaluation.write, a superior of the organization's place (a place above it, "
             "not the place itself)")
state_machine(
    SERVICE, "satisfaction survey", field="Survey.status", statuses=SURVEY_STATUSES,
    transitions=[
        (NEW, "event organizations.rectification_submitted", "open",
         "the system, when a case's round is done", "a rectification survey of that round"),
        (NEW, "open_survey", "open", _W, "by hand"),
        (NEW, "event organizations.service_creation_entered", "open",
         "the system, when an organization enters the year's service-oriented creation",
         "while the year's campaign over its place is open"),
        (NEW, "open_service_survey", "open", "evaluation.write (the campaign's place)",
         "a service-oriented survey for each organization of the campaign"),
        ("open", "record_ballot", "open", _W, "adds one ballot"),
        ("open", "record_counts", "open", _W, "adds the counts to those recorded"),
        ("open", "close_survey", "closed", _SUPERIOR,
         "the rate on the configured rule; survey_closed (passed or not). Refused without a "
         "valid ballot"),
        ("open", "close_service_survey", "closed", "evaluation.write (the campaign's place)",
         "each open survey of the campaign with a valid ballot: the rate on the configured "
         "rule, passed or failed (no survey_closed)"),
        ("open", "close_service_survey", "lapsed", "evaluation.write (the campaign's place)",
         "each open survey of the campaign without a valid ballot: 0 valid ballots, no rate, "
         "neither passed nor failed, and not counted as closed in any report"),
    ],
    notes="A closed or lapsed survey takes no more ballots and cannot be closed (Conflict).")
state_machine(
    SERVICE, "acceptance", field="Acceptance.status", statuses=ACCEPTANCE_STATUSES,
    transitions=[
        (NEW, "event organizations.rectification_accepted", "awaiting_stars",
         "the system, when a case is accepted", "in the range of the organization's grade"),
        (NEW, "open_acceptance", "awaiting_stars", _W, "by hand; the organization is graded"),
        ("awaiting_stars", "rate_stars", "rated", _SUPERIOR,
         "stars in the grade's range, with a reason; star_rated"),
    ],
    notes="A rated acceptance is final: rating it again is a Conflict.")


def _id(**kw):
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kw)


def _score(**kw):
    return DecimalNumber(2, minimum=0, maximum=100, **kw)



# -- grading rounds -----------------------------------------------------------------
class OpenRound(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True, metadata={"description": "the place whose organizations are graded"})
    year = fields.Integer(strict=True, required=True, validate=validate.Range(2000, 2100))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class RoundRef(Schema):
    round_id = _id(required=True)


class Round(Schema):
    id = fields.Integer()
    place_code = fields.String()
    year = fields.Integer()
    name = fields.String()
    opened_on = fields.Date()
    rules = fields.Dict(metadata={"description": "weights and cut-offs this round grades by"})


class RoundsQuery(Schema):
    place_code = PlaceCode(required=True, metadata={
        "description": "the rounds this place takes part in: its own, those of the places "
                       "above it, and those opened below it"})
    year = fields.Integer(strict=True, load_default=None, allow_none=True,
                          validate=validate.Range(2000, 2100))
    limit = fields.Integer(strict=True, load_default=100, validate=validate.Range(1, 500))


class RoundList(Schema):
    items = fields.List(fields.Nested(Round), metadata={"description": "newest first"})


class RoundGradingsQuery(Schema):
    round_id = _id(required=True)
    organization_ids = fields.List(_id(), required=True,
                                   validate=validate.Length(min=1, max=200))


class RoundGrading(Schema):
    organization_id = fields.Integer()
    scores = fields.Dict(metadata={"description": "assessor → indicator → score, as recorded"})
    score = fields.Decimal(places=2, as_string=True, allow_none=True)
    grade = fields.String(allow_none=True)
    grade_label = _grade_label("grade")
    method = fields.String(allow_none=True)
    method_label = label_of(GRADE_METHODS)("method")
    reason = fields.String(allow_none=True)
    is_baseline = StrictBoolean()


class RoundGradingList(Schema):
    round_id = fields.Integer()
    items = fields.List(fields.Nested(RoundGrading), metadata={
        "description": "one per organization asked for that the caller may see and the round "
                       "grades, in the order asked; others are left out, as if not there"})


class IndicatorScores(Schema):
    leader = _score(required=True)
    ideas = _score(required=True)
    systems = _score(required=True)
    venue = _score(required=True)
    guarantees = _score(required=True)
    results = _score(required=True)
    public_opinion = _score(required=True)


class RecordScores(Schema):
    request_id = request_id_field()
    round_id = _id(required=True)
    organization_id = _id(required=True)
    assessor = Enum(ASSESSORS, required=True)
    scores = fields.Nested(IndicatorScores, required=True)


class GradingRef(Schema):
    round_id = _id(required=True)
    organization_id = _id(required=True)


class GradeOrganization(GradingRef):
    request_id = request_id_field()


class SetGrade(GradeOrganization):
    grade = Enum(GRADES, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=2, max=1000))


class Grading(RoundGrading):
    round_id = fields.Integer()
    rules = fields.Dict(metadata={"description": "the weights and cut-offs used, stored with it"})


class GradingOfRound(Schema):
    round_id = fields.Integer()
    round_name = fields.String()
    year = fields.Integer()
    score = fields.Decimal(places=2, as_string=True, allow_none=True)
    grade = fields.String()
    grade_label = _grade_label("grade")
    method = fields.String()
    method_label = label_of(GRADE_METHODS)("method")
    reason = fields.String(allow_none=True)
    is_baseline = StrictBoolean()
    graded_at = fields.AwareDateTime(format="iso")


class GradingHistory(Schema):
    items = fields.List(fields.Nested(GradingOfRound), metadata={
        "description": "newest round first"})


# -- satisfaction surveys -------------------------------------------------------------
class OpenSurvey(Schema):
    request_id = request_id_field()
    kind = Enum(SURVEY_KINDS, required=True)
    organization_id = _id(required=True)
    title = fields.String(load_default=None, validate=validate.Length(max=200))


class SurveyRef(Schema):
    survey_id = _id(required=True)


class RecordBallot(Schema):
    request_id = request_id_field()
    survey_id = _id(required=True)
    answer = Enum(ANSWERS, required=True, metadata={"description": "one ballot's answer"})


class RecordCounts(Schema):
    request_id = request_id_field()
    survey_id = _id(required=True)
    counts = fields.Dict(keys=fields.String(validate=validate.OneOf(list(ANSWERS))),
                         values=fields.Integer(strict=True, validate=validate.Range(0, 1_000_000)),
                         required=True, metadata={"description": "answer → ballots, e.g. a paper count"})


class CloseSurvey(Schema):
    request_id = request_id_field()
    survey_id = _id(required=True)


class Survey(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = label_of(SURVEY_KINDS)("kind")
    organization_id = fields.Integer()
    case_id = fields.Integer(allow_none=True)
    case_round = fields.Integer(allow_none=True)
    title = fields.String()
    status = fields.String()
    status_label = label_of(SURVEY_STATUSES)("status")
    counts = fields.Dict(metadata={"description": "answer → ballots"})
    valid_ballots = fields.Integer()
    satisfied = fields.Integer(allow_none=True)
    rate = fields.Decimal(places=4, as_string=True, allow_none=True)
    passed = StrictBoolean(allow_none=True, metadata={
        "description": "once closed; none while open and for a lapsed survey"})
    rule = fields.Dict(allow_none=True, metadata={"description": "satisfied answers and threshold used"})
    opened_on = fields.Date()
    closed_on = fields.Date(allow_none=True, metadata={
        "description": "the day it closed, or lapsed with its campaign"})


class SurveyList(Schema):
    items = fields.List(fields.Nested(Survey))


class SurveysOf(Schema):
    organization_id = _id(required=True)


# -- acceptance and stars ------------------------------------------------------------
class OpenAcceptance(Schema):
    request_id = request_id_field()
    organization_id = _id(required=True)


class AcceptanceRef(Schema):
    acceptance_id = _id(required=True)


class SuggestStars(AcceptanceRef):
    score = _score(required=True, metadata={"description": "the acceptance score"})


class RateStars(AcceptanceRef):
    request_id = request_id_field()
    score = _score(required=True)
    stars = fields.Integer(strict=True, required=True, validate=validate.Range(0, 5))
    reason = fields.String(required=True, validate=validate.Length(min=2, max=1000))


class Acceptance(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    case_id = fields.Integer(allow_none=True)
    grade = fields.String()
    grade_label = _grade_label("grade")
    allowed_stars = fields.List(fields.Integer())
    status = fields.String()
    status_label = label_of(ACCEPTANCE_STATUSES)("status")
    score = fields.Decimal(places=2, as_string=True, allow_none=True)
    suggested_stars = fields.Integer(allow_none=True)
    stars = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    rated_by = fields.String(allow_none=True)
    opened_on = fields.Date()
    rated_on = fields.Date(allow_none=True)


class StarSuggestion(Schema):
    acceptance_id = fields.Integer()
    grade = fields.String()
    allowed_stars = fields.List(fields.Integer())
    score = fields.Decimal(places=2, as_string=True)
    suggested_stars = fields.Integer()
    rule = fields.Dict()


class AcceptanceList(Schema):
    items = fields.List(fields.Nested(Acceptance))


# -- moving-up report ---------------------------------------------------------------
class MovingUpQuery(Schema):
    place_code = PlaceCode(required=True)


class BaselineRow(Schema):
    baseline_grade = fields.String()
    baseline_grade_label = _grade_label("baseline_grade")
    organizations = fields.Integer()
    moved_up = fields.Integer(metadata={"description": "for good: improved (stars rose or 5 stars)"})
    rate = fields.Decimal(places=4, as_string=True, allow_none=True)
    target = fields.Decimal(places=4, as_string=True, allow_none=True)
    met = StrictBoolean(allow_none=True, metadata={"description": "null when there is none"})


class CurrentGradeRow(Schema):
    grade = fields.String()
    grade_label = _grade_label("grade")
    organizations = fields.Integer()


class PlaceRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    graded = fields.Integer()
    rows = fields.List(fields.Nested(BaselineRow))
    current = fields.List(fields.Nested(CurrentGradeRow), metadata={
        "description": "the same organizations (active, with a baseline) by their current "
                       "grade, every grade in order"})


class MovingUpReport(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    as_of = fields.Date()
    rules = fields.Dict()
    total = fields.Nested(PlaceRow)
    by_child_place = fields.List(fields.Nested(PlaceRow))


class MovingUpDrillDown(Schema):
    place_code = PlaceCode(required=True)
    baseline_grade = Enum(GRADES, required=True)
    moved_up = StrictBoolean(load_default=None, allow_none=True,
                              metadata={"description": "only those that moved up (true) or not (false)"})
    limit, after = page_fields(default=100, maximum=1000).values()


class MovingUpOrganization(Schema):
    organization_id = fields.Integer()
    name = fields.String()
    place_code = fields.String()
    baseline_grade = fields.String()
    baseline_grade_label = _grade_label("baseline_grade")
    current_grade = fields.String()
    current_grade_label = _grade_label("current_grade")
    stars = fields.Integer(allow_none=True, metadata={"description": "the latest rating"})
    first_good_stars = fields.Integer(allow_none=True)
    last_good_stars = fields.Integer(allow_none=True)
    moved_up = StrictBoolean()


class MovingUpPage(Schema):
    items = fields.List(fields.Nested(MovingUpOrganization))
    next_cursor = fields.String(allow_none=True)


# -- joint reviews (三级联述联评联考) and township reports --------------------------------
class RecordJointReview(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True, levels=("city", "county", "township"),
                           metadata={"description": "the city, county or township"})
    year = fields.Integer(strict=True, required=True, validate=validate.Range(2000, 2100))
    secretary = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reported_on = PastDate(required=True, metadata={"description": "述职 (the secretary's report)"})
    review_score = _score(required=True, metadata={"description": "评议 score"})
    exam_result = Enum(REVIEW_RESULTS, required=True, metadata={"description": "考核 result"})


class JointReview(Schema):
    id = fields.Integer()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    level = fields.String()
    level_label = label_of(REVIEW_LEVELS)("level")
    year = fields.Integer()
    secretary = fields.String()
    reported_on = fields.Date()
    review_score = fields.Decimal(places=2, as_string=True)
    exam_result = fields.String()
    exam_result_label = label_of(REVIEW_RESULTS)("exam_result")


class JointReviewQuery(Schema):
    place_code = PlaceCode(required=True)
    year = fields.Integer(strict=True, required=True, validate=validate.Range(2000, 2100))
    level = Enum(REVIEW_LEVELS, load_default=None)


class JointReviewList(Schema):
    items = fields.List(fields.Nested(JointReview))


class RecordTownshipReport(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True, levels=("township",),
                           metadata={"description": "the township reporting"})
    period = fields.String(required=True, validate=Pattern(PERIOD),
                           metadata={"description": "the month reported on, YYYY-MM: up "
                                                    "to this month, never a month to come"})
    submitted_on = PastDate(required=True)
    summary = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class TownshipReportQuery(Schema):
    place_code = PlaceCode(required=True, metadata={"description": "a county (or above)"})
    period = fields.String(required=True, validate=Pattern(PERIOD))


class TownshipReportRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    submitted_on = fields.Date(allow_none=True)
    summary = fields.String(allow_none=True)


class TownshipReportStatus(Schema):
    place_code = fields.String()
    period = fields.String()
    townships = fields.Integer()
    reported = fields.Integer()
    items = fields.List(fields.Nested(TownshipReportRow))


# -- events ---------------------------------------------------------------------------
class GradeAssigned(Schema):
    organization_id = fields.Integer(required=True)
    place_code = fields.String(required=True)
    round_id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    grade = fields.String(required=True, metadata={"description": "the grade in this round"})
    baseline_grade = fields.String(required=True, metadata={"description": "after this grading"})
    current_grade = fields.String(required=True, metadata={
        "description": "after this grading: the grade of the organization's latest round"})
    is_baseline = StrictBoolean(required=True)
    is_current = StrictBoolean(required=True, metadata={
        "description": "this round is the organization's latest (not an old one entered late)"})
    sequence = fields.Integer(required=True, metadata={
        "description": "grade events of one organization may arrive out of order: keep the "
                       "highest number"})
    method = fields.String(required=True)
    score = fields.Decimal(places=2, as_string=True, allow_none=True)
    reason = fields.String(allow_none=True)


class SurveyClosed(Schema):
    survey_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    organization_id = fields.Integer(required=True)
    case_id = fields.Integer(allow_none=True)
    case_round = fields.Integer(allow_none=True)
    valid_ballots = fields.Integer(required=True)
    satisfied = fields.Integer(required=True)
    rate = fields.Decimal(places=4, as_string=True, required=True)
    threshold = fields.Decimal(places=4, as_string=True, required=True)
    passed = StrictBoolean(required=True)


class StarRated(Schema):
    acceptance_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    case_id = fields.Integer(allow_none=True)
    grade = fields.String(required=True)
    stars = fields.Integer(required=True)
    suggested_stars = fields.Integer(required=True)
    reason = fields.String(required=True)


# -- registration --------------------------------------------------------------------
READ, WRITE = "evaluation.read", "evaluation.write"

rpc_method(SERVICE, "open_round", params=OpenRound, result=Round,
           role=WRITE, mutating=True,
           summary="Open a grading round for a place; it keeps the weights and cut-offs it grades "
                   "by.")
rpc_method(SERVICE, "get_round", params=RoundRef, result=Round,
           role=READ, mutating=False,
           summary="One grading round, to the places that cover it and those under it (a "
                   "township grades its villages in the county's round).")
rpc_method(SERVICE, "rounds", params=RoundsQuery, result=RoundList,
           role=READ, mutating=False,
           summary="The grading rounds a place takes part in, newest first: opened at the "
                   "place, at a place above it, or below it.")
rpc_method(SERVICE, "round_gradings", params=RoundGradingsQuery, result=RoundGradingList,
           role=READ, mutating=False,
           summary="Scores and grades of up to 200 organizations in one round (a grading "
                   "sheet in one call); organizations outside the caller's reach or outside "
                   "the round are left out.")
rpc_method(SERVICE, "record_scores", params=RecordScores, result=Grading,
           role=WRITE, mutating=True,
           summary="Record one assessor's scores on the seven indicators for an organization.\n"
                   "Replaces that assessor's earlier scores for the organization in the round; "
                   "the superior's scores are recorded only by a superior of the organization's "
                   "place.")
rpc_method(SERVICE, "grade_organization", params=GradeOrganization, result=Grading,
           role=WRITE, mutating=True,
           summary="Grade from the recorded scores (all three assessors); emits grade_assigned.\n"
                   "By a superior of the organization's place. Grading again in the same round "
                   "replaces the grade (a correction). An organization's baseline grade is that "
                   "of its earliest graded round (by year), its current grade that of its latest, "
                   "whatever the order they were entered in.")
rpc_method(SERVICE, "set_grade", params=SetGrade, result=Grading,
           role=WRITE, mutating=True,
           summary="A superior sets the grade directly, with a reason; emits grade_assigned.\n"
                   "Replaces an earlier grade of the organization in that round, as "
                   "grade_organization.")
rpc_method(SERVICE, "get_grading", params=GradingRef, result=Grading,
           role=READ, mutating=False, summary="An organization's grading in a round.")
rpc_method(SERVICE, "open_survey", params=OpenSurvey, result=Survey,
           role=WRITE, mutating=True,
           summary="Open a satisfaction survey by hand (rectification surveys open themselves).")
rpc_method(SERVICE, "get_survey", params=SurveyRef, result=Survey,
           role=READ, mutating=False, summary="One survey with its counts.")
rpc_method(SERVICE, "surveys_of", params=SurveysOf, result=SurveyList,
           role=READ, mutating=False, summary="An organization's surveys, newest first.")
rpc_method(SERVICE, "record_ballot", params=RecordBallot, result=Survey,
           role=WRITE, mutating=True,
           summary="Record one ballot.\n"
                   "Adds one to the answer's count; the survey must be open.")
rpc_method(SERVICE, "record_counts", params=RecordCounts, result=Survey,
           role=WRITE, mutating=True,
           summary="Record ballots counted per answer.\n"
                   "Adds each count to the answer's count already recorded (ballots of one paper "
                   "count recorded twice count twice; a repeat with the same request_id does "
                   "not); it never replaces them. The survey must be open.")
rpc_method(SERVICE, "close_survey", params=CloseSurvey, result=Survey,
           role=WRITE, mutating=True,
           summary="Close: compute the rate by the configured rule; emits survey_closed (passed "
                   "or failed).\n"
                   "By a superior of the organization's place, with at least one valid ballot.")
rpc_method(SERVICE, "open_acceptance", params=OpenAcceptance, result=Acceptance,
           role=WRITE, mutating=True,
           summary="Open an acceptance for star rating by hand (accepted cases open one "
                   "themselves).")
rpc_method(SERVICE, "gradings_of", params=SurveysOf, result=GradingHistory,
           role=READ, mutating=False,
           summary="An organization's grades over the rounds (年度定级), newest first: score, "
                   "grade, how it was reached, whether it is the baseline.")
rpc_method(SERVICE, "acceptances_of", params=SurveysOf, result=AcceptanceList,
           role=READ, mutating=False, summary="An organization's acceptances.")
rpc_method(SERVICE, "suggest_stars", params=SuggestStars, result=StarSuggestion,
           role=READ, mutating=False,
           summary="The stars the configured thresholds suggest for an acceptance score.")
rpc_method(SERVICE, "rate_stars", params=RateStars, result=Acceptance,
           role=WRITE, mutating=True,
           summary="The evaluator's star rating, inside the grade's range, with a reason; emits "
                   "star_rated.")
rpc_method(SERVICE, "moving_up_report", params=MovingUpQuery, result=MovingUpReport,
           role=READ, mutating=False,
           summary="晋位升级: per baseline grade, organizations, moved up, rate, target, met; by "
                   "child place.\n"
                   "As of today, across every round: an organization's baseline is the grade of "
                   "its earliest graded round, its current grade that of its latest (the report "
                   "takes no year).")
rpc_method(SERVICE, "moving_up_organizations", params=MovingUpDrillDown, result=MovingUpPage,
           role=READ, mutating=False, summary="The organizations behind a moving-up figure.")
rpc_method(SERVICE, "record_joint_review", params=RecordJointReview, result=JointReview,
           role=WRITE, mutating=True,
           summary="A secretary's report, review and examination result (三级联述联评联考).")
rpc_method(SERVICE, "joint_reviews", params=JointReviewQuery, result=JointReviewList,
           role=READ, mutating=False, summary="Joint reviews in a subtree for a year, by level.")
rpc_method(SERVICE, "record_township_report", params=RecordTownshipReport, result=TownshipReportRow,
           role=WRITE, mutating=True,
           summary="A township's regular report to the county on the campaign.\n"
                   "One per township and month: a second one for the same month replaces the "
                   "first. A month that has not begun is refused (ValidationError on period).")
rpc_method(SERVICE, "township_reports", params=TownshipReportQuery, result=TownshipReportStatus,
           role=READ, mutating=False,
           summary="Which townships under a place reported for a month, and which did not.")

event(SERVICE, "grade_assigned", data=GradeAssigned,
      summary="An organization was graded in a round (the first grade is its baseline).")
event(SERVICE, "survey_closed", data=SurveyClosed,
      summary="A satisfaction survey closed, passed or failed against the threshold.")
event(SERVICE, "star_rated", data=StarRated, summary="An acceptance was given its stars.")

# Bulk import (start_import/get_import): a round's grades set at scale, each row as
# set_grade would set it (the province-scale load; bench/province.py).
IMPORT_KINDS = {"gradings": "分类定级结果"}
imports.register(SERVICE, IMPORT_KINDS, read=READ, write=WRITE,
                 values="A row's values: set_grade's params (round_id, organization_id, "
                        "grade, reason).")

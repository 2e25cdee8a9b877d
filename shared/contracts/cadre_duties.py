"""Contract of the cadres service, continued: what is asked of village cadres in post
(docs/domain.md §1 leadership, S§16–S§17) — secretaries' rotational training and forums,
start-up and resignation commitments, 双述双评, and problems of not being at post, not
performing, not acting, with their follow-up."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.contracts import NEW, rpc_method, state_machine
from shared.contracts.cadres import READ, SERVICE, WRITE, PersonRef
from shared.contracts.common import (
    DecimalNumber,
    Enum,
    PastDate,
    PlaceCode,
    StrictBoolean,
    label_of,
    request_id_field,
    text,
)

CLASS_KINDS = {"rotational_training": "集中轮训", "forum": "座谈交流"}
COMMITMENT_KINDS = {"start_up": "创业承诺", "resignation": "辞职承诺"}
COMMITMENT_STATUSES = {"signed": "已承诺", "fulfilled": "已兑现", "broken": "未兑现"}
REVIEW_RATINGS = {"good": "好", "fairly_good": "较好", "average": "一般", "poor": "差"}
PROBLEM_KINDS = {"not_at_post": "不在岗", "not_performing": "不履职", "not_acting": "不作为"}
PROBLEM_STATUSES = {"open": "跟踪处理中", "closed": "已办结"}
FOLLOW_UP_ACTIONS = {
    "reminder_talk": "谈话提醒", "admonition": "诫勉谈话", "ordered_to_rectify": "责令整改",
    "rectified": "已整改到位", "adjusted": "调整岗位", "dismissed": "免职",
}


def _id(**kw):
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kw)


def _year(**kw):
    return fields.Integer(strict=True, validate=validate.Range(2000, 2100), **kw)


# -- training classes and forums -------------------------------------------------------
class CreateClass(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True, metadata={"description": "who holds it"})
    kind = Enum(CLASS_KINDS, required=True)
    title = text(200, required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    hours = DecimalNumber(1, minimum="0.5", maximum=1000, required=True)

    contract_rules = "`ends_on` is not before `starts_on`."

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["ends_on"] < data["starts_on"]:
            raise ValidationError("ends before it starts", "ends_on")


class RecordAttendance(Schema):
    request_id = request_id_field()
    class_id = _id(required=True)
    person_id = _id(required=True)
    attended = StrictBoolean(required=True, metadata={"description": "false: enrolled, absent"})
    absence_reason = text(200, load_default=None, allow_none=True)


class ClassRef(Schema):
    class_id = _id(required=True)


class Attendance(Schema):
    person_id = fields.Integer()
    name = fields.String()
    place_code = fields.String()
    attended = StrictBoolean()
    absence_reason = fields.String(allow_none=True)


class TrainingClass(Schema):
    id = fields.Integer()
    place_code = fields.String()
    kind = fields.String()
    kind_label = label_of(CLASS_KINDS)("kind")
    title = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    hours = fields.Decimal(places=1, as_string=True)
    enrolled = fields.Integer()
    attended = fields.Integer()
    attendance = fields.List(fields.Nested(Attendance))


class TrainingReportQuery(Schema):
    place_code = PlaceCode(required=True)
    year = _year(required=True)


class Secretary(Schema):
    person_id = fields.Integer()
    name = fields.String()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)


class TrainingReport(Schema):
    place_code = fields.String()
    year = fields.Integer()
    classes = fields.Integer()
    enrolled = fields.Integer()
    attended = fields.Integer()
    secretaries = fields.Integer(metadata={"description": "village party secretaries under it"})
    secretaries_trained = fields.Integer(metadata={
        "description": "attended a rotational training class (集中轮训) that year"})
    training_rate = fields.Decimal(places=4, as_string=True, allow_none=True)
    untrained = fields.List(fields.Nested(Secretary), metadata={"description": "the first 500"})


# -- commitments -----------------------------------------------------------------------
class RecordCommitment(Schema):
    request_id = request_id_field()
    person_id = _id(required=True)
    kind = Enum(COMMITMENT_KINDS, required=True)
    signed_on = PastDate(required=True)
    content = text(2000, required=True)


class SettleCommitment(Schema):
    request_id = request_id_field()
    commitment_id = _id(required=True)
    status = Enum({k: v for k, v in COMMITMENT_STATUSES.items() if k != "signed"}, required=True)
    settled_on = PastDate(required=True)
    note = text(1000, required=True)


class Commitment(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    kind = fields.String()
    kind_label = label_of(COMMITMENT_KINDS)("kind")
    signed_on = fields.Date()
    content = fields.String()
    status = fields.String()
    status_label = label_of(COMMITMENT_STATUSES)("status")
    settled_on = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)


# -- 双述双评 ----------------------------------------------------------------------------
class RecordDualReview(Schema):
    request_id = request_id_field()
    person_id = _id(required=True, metadata={"description": "a village party secretary"})
    year = _year(required=True)
    held_on = PastDate(required=True)
    rating = Enum(REVIEW_RATINGS, required=True, metadata={"description": "评议结果"})
    approval = DecimalNumber(4, minimum=0, maximum=1, load_default=None, allow_none=True,
                             metadata={"description": "share of reviewers satisfied, 0–1"})
    remarks = text(1000, load_default=None, allow_none=True)


class DualReview(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    year = fields.Integer()
    held_on = fields.Date()
    rating = fields.String()
    rating_label = label_of(REVIEW_RATINGS)("rating")
    approval = fields.Decimal(places=4, as_string=True, allow_none=True)
    remarks = fields.String(allow_none=True)


# -- problems: not at post, not performing, not acting ------------------------------------
class RecordProblem(Schema):
    request_id = request_id_field()
    person_id = _id(required=True)
    kind = Enum(PROBLEM_KINDS, required=True)
    found_on = PastDate(required=True)
    description = text(2000, required=True)


class FollowUpProblem(Schema):
    request_id = request_id_field()
    problem_id = _id(required=True)
    action = Enum(FOLLOW_UP_ACTIONS, required=True)
    taken_on = PastDate(required=True)
    note = text(1000, required=True)
    closes = StrictBoolean(load_default=False, metadata={"description": "the problem is dealt with"})


class FollowUp(Schema):
    action = fields.String()
    action_label = label_of(FOLLOW_UP_ACTIONS)("action")
    taken_on = fields.Date()
    note = fields.String()


class Problem(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    name = fields.String()
    place_code = fields.String()
    kind = fields.String()
    kind_label = label_of(PROBLEM_KINDS)("kind")
    found_on = fields.Date()
    description = fields.String()
    status = fields.String()
    status_label = label_of(PROBLEM_STATUSES)("status")
    closed_on = fields.Date(allow_none=True)
    follow_ups = fields.List(fields.Nested(FollowUp))


class ProblemsQuery(Schema):
    place_code = PlaceCode(required=True)


class ProblemRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    open = fields.Integer()
    closed = fields.Integer()
    not_at_post = fields.Integer(metadata={"description": "open"})
    not_performing = fields.Integer(metadata={"description": "open"})
    not_acting = fields.Integer(metadata={"description": "open"})


class ProblemsReport(Schema):
    place_code = fields.String()
    total = fields.Nested(ProblemRow)
    by_child_place = fields.List(fields.Nested(ProblemRow))
    open_problems = fields.List(fields.Nested(Problem), metadata={"description": "the first 500"})


class PersonDuties(Schema):
    person_id = fields.Integer()
    classes = fields.List(fields.Nested(TrainingClass(exclude=("attendance",))))
    commitments = fields.List(fields.Nested(Commitment))
    dual_reviews = fields.List(fields.Nested(DualReview))
    problems = fields.List(fields.Nested(Problem))


rpc_method(SERVICE, "create_class", params=CreateClass, result=TrainingClass,
           role=WRITE, mutating=True,
           summary="A rotational training class or forum for village secretaries.")
rpc_method(SERVICE, "record_attendance", params=RecordAttendance, result=TrainingClass,
           role=WRITE, mutating=True,
           summary="Enrol a person in a class, attended or absent (again: corrects it).")
rpc_method(SERVICE, "get_class", params=ClassRef, result=TrainingClass,
           role=READ, mutating=False, summary="A class and its attendance.")
rpc_method(SERVICE, "training_report", params=TrainingReportQuery, result=TrainingReport,
           role=READ, mutating=False,
           summary="Classes held and how many village secretaries were trained in a year.")
rpc_method(SERVICE, "record_commitment", params=RecordCommitment, result=Commitment,
           role=WRITE, mutating=True, summary="A start-up or resignation commitment signed.")
rpc_method(SERVICE, "settle_commitment", params=SettleCommitment, result=Commitment,
           role=WRITE, mutating=True, summary="A commitment fulfilled or broken.")
rpc_method(SERVICE, "record_dual_review", params=RecordDualReview, result=DualReview,
           role=WRITE, mutating=True, summary="A secretary's 双述双评 result of a year (once a year).")
rpc_method(SERVICE, "record_problem", params=RecordProblem, result=Problem,
           role=WRITE, mutating=True,
           summary="Not at post, not performing or not acting: recorded to be followed up.")
rpc_method(SERVICE, "follow_up_problem", params=FollowUpProblem, result=Problem,
           role=WRITE, mutating=True, summary="What was done about a problem; `closes` ends it.")
rpc_method(SERVICE, "problems_report", params=ProblemsQuery, result=ProblemsReport,
           role=READ, mutating=False, summary="Open and closed problems by kind and place.")
rpc_method(SERVICE, "person_duties", params=PersonRef, result=PersonDuties,
           role=READ, mutating=False, summary="A person's classes, commitments, 双述双评 and problems.")

_W = "cadres.write, the person's place in the caller's jurisdiction"
state_machine(
    SERVICE, "commitment", field="Commitment.status", statuses=COMMITMENT_STATUSES,
    transitions=[
        (NEW, "record_commitment", "signed", _W, ""),
        ("signed", "settle_commitment", "fulfilled", _W, "status=fulfilled"),
        ("signed", "settle_commitment", "broken", _W, "status=broken"),
    ],
    notes="Settled once: settling it again is a Conflict.")
state_machine(
    SERVICE, "problem", field="Problem.status", statuses=PROBLEM_STATUSES,
    transitions=[
        (NEW, "record_problem", "open", _W, ""),
        ("open", "follow_up_problem", "open", _W, "a follow-up with closes=false"),
        ("open", "follow_up_problem", "closed", _W, "a follow-up with closes=true"),
    ],
    notes="A closed problem takes no more follow-ups (Conflict).")

"""Contract of the province's satisfaction survey of service-oriented party organizations
in the evaluation service (docs/domain.md §8, S§47): one campaign per place and year over
every organization that entered that year's service-oriented creation, with the same
ballots and the same satisfaction rule as the rectification surveys (§3.7)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts import NEW, rpc_method, state_machine
from shared.contracts.common import PlaceCode, label_of, request_id_field, text
from shared.contracts.evaluation import SURVEY_STATUSES
from shared.contracts.excellence import SERVICE_FOCUS

SERVICE = "evaluation"
# A campaign is open or closed; its surveys may also lapse (SURVEY_STATUSES), it does not.
CAMPAIGN_STATUSES = {s: SURVEY_STATUSES[s] for s in ("open", "closed")}


def _id(**kw):
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kw)


class OpenServiceSurvey(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True, metadata={"description": "the province, usually"})
    year = fields.Integer(strict=True, required=True, validate=validate.Range(2000, 2100))
    title = text(200, load_default=None, allow_none=True)


class CampaignRef(Schema):
    campaign_id = _id(required=True)


class CloseServiceSurvey(CampaignRef):
    request_id = request_id_field()


class SurveyRow(Schema):
    place_code = fields.String(metadata={"description": "a child place, or a focus"})
    place_name = fields.String(allow_none=True)
    organizations = fields.Integer(metadata={
        "description": "surveys opened: open, closed or lapsed"})
    closed = fields.Integer(metadata={
        "description": "surveys closed with valid ballots: passed + failed (a survey lapsed "
                       "without ballots is not among them)"})
    valid_ballots = fields.Integer()
    satisfied = fields.Integer()
    rate = fields.Decimal(places=4, as_string=True, allow_none=True, metadata={
        "description": "satisfied / valid ballots, over the closed surveys"})
    passed = fields.Integer(metadata={"description": "closed surveys at or above the threshold"})
    failed = fields.Integer()


class FocusRow(SurveyRow):
    focus = fields.String()
    focus_label = label_of(SERVICE_FOCUS)("focus")


class ServiceSurveyCampaign(Schema):
    id = fields.Integer()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    year = fields.Integer()
    title = fields.String()
    status = fields.String()
    status_label = label_of(CAMPAIGN_STATUSES)("status")
    opened_on = fields.Date()
    closed_on = fields.Date(allow_none=True)
    rules = fields.Dict(metadata={"description": "satisfied answers and threshold"})
    total = fields.Nested(SurveyRow)
    by_child_place = fields.List(fields.Nested(SurveyRow))
    by_focus = fields.List(fields.Nested(FocusRow(exclude=("place_code", "place_name"))),
                           metadata={"description": "window units and service industries "
                                                    "singled out"})


rpc_method(SERVICE, "open_service_survey", params=OpenServiceSurvey, result=ServiceSurveyCampaign,
           role="evaluation.write", mutating=True,
           summary="Open the year's satisfaction survey of service-oriented organizations under a "
                   "place: a survey for each organization in that year's creation (record ballots "
                   "on each with record_ballot or record_counts).")
rpc_method(SERVICE, "close_service_survey", params=CloseServiceSurvey, result=ServiceSurveyCampaign,
           role="evaluation.write", mutating=True,
           summary="Close the campaign and end every survey of it; the report by place.\n"
                   "Each survey with valid ballots closes, passed or failed; each without a "
                   "valid ballot lapses (status lapsed, 无票结束): 0 valid ballots, neither "
                   "passed nor failed, and not counted as closed, so closed = passed + failed "
                   "in total, by place and by focus. Neither takes ballots afterwards; no "
                   "survey_closed is sent.")
rpc_method(SERVICE, "service_survey_report", params=CampaignRef, result=ServiceSurveyCampaign,
           role="evaluation.read", mutating=False,
           summary="The campaign's satisfaction by place and by focus, in Chinese.")

state_machine(
    SERVICE, "service-oriented survey campaign", field="ServiceSurveyCampaign.status",
    statuses=CAMPAIGN_STATUSES, transitions=[
        (NEW, "open_service_survey", "open", "evaluation.write, the place in the caller's "
         "jurisdiction", "no campaign of that year covers its organizations already"),
        ("open", "close_service_survey", "closed", "evaluation.write, the campaign's place in "
         "the caller's jurisdiction", "closes each of its surveys with valid ballots; the "
         "others lapse"),
    ])

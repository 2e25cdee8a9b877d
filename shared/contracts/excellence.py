"""Contract of creating excellence and the campaign's publicity in the organizations
service (docs/domain.md §3.4, §8; S§8, S§42–S§47): one-sentence commitments, shining words
and deeds, organizational systems, service-oriented party organizations, publicity cards,
campaigns and awareness surveys."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.contracts import NEW, event, rpc_method, state_machine
from shared.contracts.common import (
    Enum,
    PastDate,
    PlaceCode,
    label_of,
    request_id_field,
    text,
)
from shared.contracts.organizations import SECTORS

SERVICE = "organizations"

COMMITTERS = {"organization": "党组织承诺", "member": "党员承诺"}
FULFILMENT = {"fulfilled": "已兑现", "partly": "部分兑现", "not_fulfilled": "未兑现"}
DEED_STATUSES = {"submitted": "已报送", "displayed": "已展示", "rated": "已考评"}
DEED_RATINGS = {"excellent": "优秀", "good": "良好", "fair": "一般"}
SYSTEM_CATEGORIES = {
    "study": "学习制度", "organizational_life": "组织生活制度", "serving_people": "服务群众制度",
    "democratic_supervision": "民主监督制度", "member_management": "党员管理制度",
    "other": "其他制度",
}
# S§44: window units and service industries are singled out.
SERVICE_FOCUS = {"window_unit": "窗口单位", "service_industry": "服务行业", "general": "其他"}
CREATION_STATUSES = {"entered": "创建中", "recognized": "已命名"}
CAMPAIGN_KINDS = {"broadcast": "广播", "notice_board": "宣传栏", "slogan": "标语",
                  "quiz": "知识问答"}


def _id(**kw):
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kw)


def _year(**kw):
    return fields.Integer(strict=True, validate=validate.Range(2000, 2100), **kw)


def _count(minimum: int = 0, **kw):
    return fields.Integer(strict=True, validate=validate.Range(minimum, 10_000_000), **kw)


def _rate(**kw):
    return fields.Decimal(places=4, as_string=True, allow_none=True, **kw)


class PlaceYear(Schema):
    place_code = PlaceCode(required=True)
    year = _year(required=True)


class OrganizationRef(Schema):
    organization_id = _id(required=True)


# -- one-sentence commitments ----------------------------------------------------------------
class MakeCommitment(Schema):
    request_id = request_id_field()
    organization_id = _id(required=True)
    committer = Enum(COMMITTERS, required=True)
    member_name = text(50, load_default=None, allow_none=True, metadata={
        "description": "the member's name, for a member's commitment"})
    sentence = text(100, required=True, metadata={"description": (
        "一句话承诺: one sentence, at most 100 characters. A sentence-ending mark (。！？!?；;) "
        "followed by more text is a second sentence and is refused (ValidationError on "
        "`sentence`); end marks, closing quotes and brackets at the very end are fine.")})
    year = _year(required=True)
    made_on = PastDate(required=True)

    contract_rules = ("`member_name` is given exactly when `committer` is `member` (a "
                      "member's commitment names the member; an organization's does not).")

    @validates_schema
    def _member_named(self, data, **kwargs):
        if (data["committer"] == "member") != bool(data.get("member_name")):
            raise ValidationError("a member's commitment names the member; an "
                                  "organization's does not", "member_name")

    # The rule above, as the OpenAPI document states it.
    json_schema_extra = {"oneOf": [
        {"properties": {"committer": {"enum": ["member"]}, "member_name": {"type": "string"}},
         "required": ["member_name"]},
        {"properties": {"committer": {"enum": [c for c in COMMITTERS if c != "member"]},
                        "member_name": {"nullable": True, "enum": [None]}}},
    ]}


class CheckCommitment(Schema):
    request_id = request_id_field()
    commitment_id = _id(required=True)
    checked_on = PastDate(required=True)
    result = Enum(FULFILMENT, required=True)
    note = text(500, required=True)


class Commitment(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    organization_name = fields.String()
    committer = fields.String()
    committer_label = label_of(COMMITTERS)("committer")
    member_name = fields.String(allow_none=True)
    sentence = fields.String()
    year = fields.Integer()
    made_on = fields.Date()
    result = fields.String(allow_none=True, metadata={"description": "the latest check"})
    result_label = label_of(FULFILMENT)("result")
    checks = fields.List(fields.Nested(lambda: Check()))


class Check(Schema):
    checked_on = fields.Date()
    result = fields.String()
    result_label = label_of(FULFILMENT)("result")
    note = fields.String()


class CommitmentsQuery(Schema):
    organization_id = _id(required=True)
    year = _year(load_default=None, allow_none=True)


class Commitments(Schema):
    items = fields.List(fields.Nested(Commitment))


class CommitmentRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    organizations = fields.Integer(metadata={"description": "active organizations"})
    committed = fields.Integer(metadata={"description": "with an organization commitment"})
    member_commitments = fields.Integer()
    checked = fields.Integer(metadata={"description": "commitments checked at least once"})
    fulfilled = fields.Integer(metadata={"description": "latest check: fulfilled"})
    commitment_rate = _rate()


class CommitmentReport(Schema):
    place_code = fields.String()
    year = fields.Integer()
    total = fields.Nested(CommitmentRow)
    by_child_place = fields.List(fields.Nested(CommitmentRow))


# -- shining words and deeds --------------------------------------------------------------
class SubmitDeed(Schema):
    request_id = request_id_field()
    organization_id = _id(required=True)
    member_name = text(50, required=True)
    title = text(100, required=True)
    story = text(5000, required=True, metadata={"description": "the words and deeds"})
    happened_on = PastDate(required=True)


class DisplayDeed(Schema):
    request_id = request_id_field()
    deed_id = _id(required=True)
    displayed_on = PastDate(required=True)
    where = text(200, required=True, metadata={"description": "展示方式和地点"})


class RateDeed(Schema):
    request_id = request_id_field()
    deed_id = _id(required=True)
    rated_on = PastDate(required=True)
    rating = Enum(DEED_RATINGS, required=True)
    rated_by = text(100, required=True)


class Deed(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    organization_name = fields.String()
    place_code = fields.String()
    member_name = fields.String()
    title = fields.String()
    story = fields.String()
    happened_on = fields.Date()
    status = fields.String()
    status_label = label_of(DEED_STATUSES)("status")
    displayed_on = fields.Date(allow_none=True)
    displayed_where = fields.String(allow_none=True)
    rating = fields.String(allow_none=True)
    rating_label = label_of(DEED_RATINGS)("rating")
    rated_on = fields.Date(allow_none=True)
    rated_by = fields.String(allow_none=True)


class DeedsQuery(Schema):
    place_code = PlaceCode(required=True)
    year = _year(required=True, metadata={"description": "of happened_on"})
    status = Enum(DEED_STATUSES, load_default=None, allow_none=True)
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000))


class Deeds(Schema):
    items = fields.List(fields.Nested(Deed))
    by_rating = fields.Dict(metadata={"description": "rated deeds by rating"})


# -- organizational systems -----------------------------------------------------------------
class RecordSystem(Schema):
    request_id = request_id_field()
    organization_id = _id(required=True)
    name = text(100, required=True)
    category = Enum(SYSTEM_CATEGORIES, required=True)
    established_on = PastDate(required=True)
    content = text(5000, load_default=None, allow_none=True)


class OrganizationalSystem(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    name = fields.String()
    category = fields.String()
    category_label = label_of(SYSTEM_CATEGORIES)("category")
    established_on = fields.Date()
    content = fields.String(allow_none=True)


class Systems(Schema):
    organization_id = fields.Integer()
    items = fields.List(fields.Nested(OrganizationalSystem))


class SystemsQuery(Schema):
    place_code = PlaceCode(required=True)


class SystemsRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    branches = fields.Integer()
    with_systems = fields.Integer(metadata={"description": "with at least the rule's number"})
    without = fields.Integer()
    systems = fields.Integer()


class BranchWithout(Schema):
    organization_id = fields.Integer()
    name = fields.String()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    systems = fields.Integer()


class SystemsReport(Schema):
    place_code = fields.String()
    rules = fields.Dict()
    total = fields.Nested(SystemsRow)
    by_child_place = fields.List(fields.Nested(SystemsRow))
    without = fields.List(fields.Nested(BranchWithout), metadata={"description": "the first 500"})


# -- service-oriented party organizations ------------------------------------------------
class EnterServiceCreation(Schema):
    request_id = request_id_field()
    organization_id = _id(required=True)
    year = _year(required=True)
    focus = Enum(SERVICE_FOCUS, required=True)
    entered_on = PastDate(required=True)
    measures = text(5000, required=True, metadata={"description": "创建措施"})


class RecognizeServiceOrganization(Schema):
    request_id = request_id_field()
    creation_id = _id(required=True)
    recognized_on = PastDate(required=True)


class ServiceCreation(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    organization_name = fields.String()
    place_code = fields.String()
    sector = fields.String()
    sector_label = label_of(SECTORS)("sector")
    year = fields.Integer()
    focus = fields.String()
    focus_label = label_of(SERVICE_FOCUS)("focus")
    entered_on = fields.Date()
    measures = fields.String()
    status = fields.String()
    status_label = label_of(CREATION_STATUSES)("status")
    recognized_on = fields.Date(allow_none=True)


class CreationRow(Schema):
    sector = fields.String()
    sector_label = label_of(SECTORS)("sector")
    organizations = fields.Integer(metadata={"description": "active organizations"})
    entered = fields.Integer()
    recognized = fields.Integer()
    window_units = fields.Integer()
    service_industries = fields.Integer()


class CreationReport(Schema):
    place_code = fields.String()
    year = fields.Integer()
    total = fields.Nested(CreationRow(exclude=("sector", "sector_label")))
    by_sector = fields.List(fields.Nested(CreationRow))


# -- publicity ------------------------------------------------------------------------------
class IssueCards(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True)
    year = _year(required=True)
    cards = _count(1, required=True)
    issued_on = PastDate(required=True)


class HoldCampaign(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True)
    kind = Enum(CAMPAIGN_KINDS, required=True)
    title = text(200, required=True)
    held_on = PastDate(required=True)
    participants = _count(load_default=None, allow_none=True)


class RecordAwareness(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True)
    year = _year(required=True)
    surveyed_on = PastDate(required=True)
    surveyed = _count(1, required=True, metadata={"description": "members asked"})
    aware = _count(required=True, metadata={"description": "knew the campaign (知晓)"})
    participating = _count(required=True, metadata={"description": "took part (参与)"})

    contract_rules = "`aware` and `participating` are each at most `surveyed`."

    @validates_schema
    def _within(self, data, **kwargs):
        errors = {name: [f"more than the {data['surveyed']} surveyed"]
                  for name in ("aware", "participating") if data[name] > data["surveyed"]}
        if errors:
            raise ValidationError(errors)


class PublicityRecord(Schema):
    id = fields.Integer()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    what = fields.String(metadata={"description": "cards, campaign or awareness"})
    details = fields.Dict()


class PublicityRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    cards = fields.Integer()
    campaigns = fields.Integer()
    campaigns_by_kind = fields.Dict(metadata={"description": "中文 kind → campaigns"})
    surveyed = fields.Integer()
    aware = fields.Integer()
    participating = fields.Integer()
    awareness_rate = _rate(metadata={"description": "知晓率: aware / surveyed"})
    participation_rate = _rate(metadata={"description": "参与率: participating / surveyed"})


class PublicityReport(Schema):
    place_code = fields.String()
    year = fields.Integer()
    total = fields.Nested(PublicityRow)
    by_child_place = fields.List(fields.Nested(PublicityRow))


# -- events ---------------------------------------------------------------------------------
class ServiceCreationEntered(Schema):
    creation_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    focus = Enum(SERVICE_FOCUS, required=True)


READ, WRITE = "organizations.read", "organizations.write"

rpc_method(SERVICE, "make_commitment", params=MakeCommitment, result=Commitment,
           role=WRITE, mutating=True,
           summary="A one-sentence commitment (一句话承诺) of an organization or one of its "
                   "members: more than one sentence is refused (see `sentence`).")
rpc_method(SERVICE, "check_commitment", params=CheckCommitment, result=Commitment,
           role=WRITE, mutating=True, summary="A check of whether a commitment was kept.")
rpc_method(SERVICE, "commitments_of", params=CommitmentsQuery, result=Commitments,
           role=READ, mutating=False, summary="An organization's commitments and their checks.")
rpc_method(SERVICE, "commitment_report", params=PlaceYear, result=CommitmentReport,
           role=READ, mutating=False,
           summary="Organizations with their commitment, member commitments and fulfilment, by "
                   "place.")
rpc_method(SERVICE, "submit_deed", params=SubmitDeed, result=Deed,
           role=WRITE, mutating=True, summary="A member's shining words and deeds (闪光言行).")
rpc_method(SERVICE, "display_deed", params=DisplayDeed, result=Deed,
           role=WRITE, mutating=True, summary="Shown to members and the public.")
rpc_method(SERVICE, "rate_deed", params=RateDeed, result=Deed,
           role=WRITE, mutating=True, summary="Rated, once, after it was displayed.")
rpc_method(SERVICE, "deeds", params=DeedsQuery, result=Deeds,
           role=READ, mutating=False, summary="Shining words and deeds under a place.")
rpc_method(SERVICE, "record_system", params=RecordSystem, result=OrganizationalSystem,
           role=WRITE, mutating=True, summary="An organizational system (组织制度) a branch built.")
rpc_method(SERVICE, "systems_of", params=OrganizationRef, result=Systems,
           role=READ, mutating=False, summary="A branch's systems.")
rpc_method(SERVICE, "systems_report", params=SystemsQuery, result=SystemsReport,
           role=READ, mutating=False,
           summary="Branches with and without the systems the rule asks for (at least one), by "
                   "place.")
rpc_method(SERVICE, "enter_service_creation", params=EnterServiceCreation, result=ServiceCreation,
           role=WRITE, mutating=True,
           summary="An organization enters the year's service-oriented creation (服务型基层党组织创建).")
rpc_method(SERVICE, "recognize_service_organization", params=RecognizeServiceOrganization,
           result=ServiceCreation, role=WRITE, mutating=True,
           summary="Named a service-oriented party organization.")
rpc_method(SERVICE, "service_creation_report", params=PlaceYear, result=CreationReport,
           role=READ, mutating=False,
           summary="The creation by sector, window units and service industries singled out.")
rpc_method(SERVICE, "issue_publicity_cards", params=IssueCards, result=PublicityRecord,
           role=WRITE, mutating=True, summary="Publicity cards (宣传卡) issued to members at a place.")
rpc_method(SERVICE, "hold_publicity_campaign", params=HoldCampaign, result=PublicityRecord,
           role=WRITE, mutating=True, summary="A campaign: broadcast, notice board, slogans, quiz.")
rpc_method(SERVICE, "record_awareness_survey", params=RecordAwareness, result=PublicityRecord,
           role=WRITE, mutating=True,
           summary="How many members asked knew the campaign and took part.")
rpc_method(SERVICE, "publicity_report", params=PlaceYear, result=PublicityReport,
           role=READ, mutating=False,
           summary="Cards, campaigns, awareness (知晓率) and participation rates, by place.")

event(SERVICE, "service_creation_entered", data=ServiceCreationEntered,
      summary="An organization entered the year's service-oriented creation: evaluation "
              "includes it in that year's satisfaction survey.")

_W = "organizations.write, the organization in the caller's jurisdiction"
state_machine(
    SERVICE, "shining deed", field="Deed.status", statuses=DEED_STATUSES, transitions=[
        (NEW, "submit_deed", "submitted", _W, "of an active organization"),
        ("submitted", "display_deed", "displayed", _W, "not before it happened"),
        ("displayed", "rate_deed", "rated", _W, "once, not before it was displayed"),
    ],
    notes="Shown, then evaluated (展示考评): any other order is a Conflict.")
state_machine(
    SERVICE, "service-oriented creation", field="ServiceCreation.status",
    statuses=CREATION_STATUSES, transitions=[
        (NEW, "enter_service_creation", "entered", _W,
         "service_creation_entered: evaluation surveys it in that year's campaign"),
        ("entered", "recognize_service_organization", "recognized", _W,
         "once: recognizing it again is a Conflict"),
    ])

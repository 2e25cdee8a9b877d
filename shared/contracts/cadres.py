"""Contract of the cadres service: people and their identity numbers, reserve cadres per
village, the talent pool of college-graduate village officials and their placements
(docs/domain.md §1 leadership, §3.6, §5). Training, commitments, 双述双评 and problems:
shared/contracts/cadre_duties.py.

An identity number (身份证号码) is whole in a result only for a caller with the role
cadres.personal_data and only in answers to queries; everywhere else — results of
commands (which are kept for replays), events, the audit trail — it is masked."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.contracts import NEW, event, imports, rpc_method, state_machine
from shared.contracts.common import (
    Enum,
    IdentityNumber,
    PastDate,
    Pattern,
    PlaceCode,
    StrictBoolean,
    label_of,
    page_fields,
    request_id_field,
    text,
)
from shared.national import identity_number

SERVICE = "cadres"

SEXES = {"male": "男", "female": "女"}
EDUCATION = {
    "postgraduate": "研究生", "bachelor": "大学本科", "junior_college": "大学专科",
    "secondary_vocational": "中专", "high_school": "高中", "junior_high_or_below": "初中及以下",
}
POLITICAL_STATUS = {
    "party_member": "中共党员", "probationary_member": "中共预备党员",
    "league_member": "共青团员", "democratic_party": "民主党派", "masses": "群众",
}
POST_CATEGORIES = {
    "village_party_secretary": "村党组织书记",
    "village_director": "村委会主任",
    "two_committees_member": "村“两委”委员",
    "township_cadre": "乡镇干部",
    "other": "其他",
}
RECOMMENDATION_METHODS = {
    "democratic": "民主推荐", "organization": "组织推荐", "masses": "群众推荐",
    "self": "个人自荐", "open_selection": "公开选拔",
}
ASSESSMENT_RESULTS = {"excellent": "优秀", "competent": "称职",
                      "basically_competent": "基本称职", "incompetent": "不称职"}
RESERVE_STATUSES = {"candidate": "推荐人选", "reserve": "后备干部", "appointed": "已使用",
                    "withdrawn": "已退出"}
QUOTA_STATUSES = {"short": "不足", "within": "达标", "over": "超出"}
POOL_STATUSES = {"in_pool": "在库", "left": "出库"}
# Where a placement takes the person (S§19). The party_* kinds fill a post of the
# village party organization in the organizations service.
PLACEMENT_KINDS = {
    "party_secretary": "任村党组织书记",
    "party_committee_member": "进入村党组织班子",
    "village_director": "任村委会主任",
    "village_committee_member": "进入村委会班子",
    "township_leadership": "进入乡镇领导班子",
}
TWO_COMMITTEES = ("party_secretary", "party_committee_member", "village_director",
                  "village_committee_member")
CHIEF_POSTS = ("party_secretary", "village_director")
PARTY_POSTS = {"secretary": "书记", "deputy_secretary": "副书记", "committee_member": "委员"}
PLACEMENT_STATUSES = {"recorded": "已记录", "pending": "待党组织登记", "applied": "已配入班子",
                      "refused": "未能配入班子"}


def _id(**kw):
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kw)


YEAR_MONTH = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"


class CvEntry(Schema):
    start = fields.String(required=True, validate=Pattern(YEAR_MONTH),
                          metadata={"description": "YYYY-MM"})
    end = fields.String(load_default=None, allow_none=True, validate=Pattern(YEAR_MONTH),
                        metadata={"description": "YYYY-MM; none: to this day"})
    unit_and_post = text(200, required=True)

    contract_rules = "`end`, where given, is not before `start`."

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("end") and data["end"] < data["start"]:
            raise ValidationError("ends before it starts", "end")


def _person_fields(registering: bool) -> dict:
    """The fields of a person: all required to register (but those with a default), and
    any subset to update."""

    def need(field, default=None):
        if registering:
            if default is None and not field.allow_none:
                field.required = True
            else:
                field.load_default = default
        return field

    return {
        "name": need(text(50)),
        "sex": need(Enum(SEXES, metadata={
            "description": "must agree with the identity number (its 17th digit: odd male, "
                           "even female)"})),
        "ethnicity": need(text(20, metadata={"description": "民族, e.g. 汉族"})),
        "birth_date": need(PastDate(allow_none=True, metadata={
            "description": "default: the one the identity number carries; must agree"})),
        "native_place": need(text(100, allow_none=True, metadata={"description": "籍贯"})),
        "education": need(Enum(EDUCATION)),
        "school": need(text(100, allow_none=True, metadata={"description": "毕业院校及专业"})),
        "political_status": need(Enum(POLITICAL_STATUS)),
        "work_started_on": need(PastDate(allow_none=True, metadata={
            "description": "参加工作时间"})),
        "current_post": need(text(100, allow_none=True)),
        "current_unit": need(text(100, allow_none=True)),
        "post_category": need(Enum(POST_CATEGORIES), "other"),
        "place_code": need(PlaceCode(metadata={
            "description": "the village, community or township that manages the person "
                           "(jurisdiction)"})),
        "identity_number": need(IdentityNumber()),
        "college_graduate_official": need(StrictBoolean(metadata={
            "description": "大学生村官"}), False),
        "cv": need(fields.List(fields.Nested(CvEntry), metadata={"description": "简历"}), list),
    }


class _AgreesWithIdentityNumber(Schema):
    """Sex and birth date, where given, are those the identity number carries."""

    contract_rules = ("`sex` and `birth_date`, where given, agree with `identity_number` "
                      "(GB 11643: the birth date is its 7th–14th digits, the 17th digit is "
                      "odd for male, even for female); `birth_date` left out is taken from "
                      "it. update_person checks the person as updated: a new number must "
                      "agree with the sex and birth date kept. Refused otherwise "
                      "(性别、出生日期与身份证号码不符).")

    @validates_schema
    def _agrees(self, data, **kwargs):
        number = data.get("identity_number")
        if not number:
            return
        errors = {}
        if data.get("sex") and data["sex"] != identity_number.sex(number):
            errors["sex"] = ["does not agree with the identity number (性别与身份证号码不符)"]
        if data.get("birth_date") and data["birth_date"] != identity_number.birth_date(number):
            errors["birth_date"] = ["does not agree with the identity number "
                                    "(出生日期与身份证号码不符)"]
        if errors:
            raise ValidationError(errors)


RegisterPerson = type("RegisterPerson", (_AgreesWithIdentityNumber,), {
    "request_id": request_id_field(), **_person_fields(registering=True)})
UpdatePerson = type("UpdatePerson", (_AgreesWithIdentityNumber,), {
    "__doc__": "Only the fields given change; the identity number too, if it was wrong.",
    "request_id": request_id_field(), "person_id": _id(required=True),
    "version": fields.Integer(strict=True, required=True, metadata={
        "description": "the version read; someone else's change since → Conflict"}),
    **_person_fields(registering=False)})


class PersonRef(Schema):
    person_id = _id(required=True)


class FindPerson(Schema):
    identity_number = IdentityNumber(required=True)


class PeopleQuery(Schema):
    place_code = PlaceCode(required=True)
    college_graduate_official = StrictBoolean(load_default=None, allow_none=True)
    post_category = Enum(POST_CATEGORIES, load_default=None, allow_none=True)
    limit, after = page_fields(default=100, maximum=500, shape=(str, int)).values()


class Person(Schema):
    id = fields.Integer()
    name = fields.String()
    sex = fields.String()
    sex_label = label_of(SEXES)("sex")
    ethnicity = fields.String()
    birth_date = fields.Date()
    native_place = fields.String(allow_none=True)
    education = fields.String()
    education_label = label_of(EDUCATION)("education")
    school = fields.String(allow_none=True)
    political_status = fields.String()
    political_status_label = label_of(POLITICAL_STATUS)("political_status")
    work_started_on = fields.Date(allow_none=True)
    current_post = fields.String(allow_none=True)
    current_unit = fields.String(allow_none=True)
    post_category = fields.String()
    post_category_label = label_of(POST_CATEGORIES)("post_category")
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    identity_number = fields.String(metadata={
        "description": "masked (province and check character) unless identity_number_whole"})
    identity_number_whole = StrictBoolean()
    college_graduate_official = StrictBoolean()
    cv = fields.List(fields.Dict())
    withdrawn_on = fields.Date(allow_none=True, metadata={
        "description": "withdrawn from the ledger (移出名册): kept, but counted nowhere"})
    withdrawn_reason = fields.String(allow_none=True)
    version = fields.Integer()


class PeoplePage(Schema):
    items = fields.List(fields.Nested(Person))
    next_cursor = fields.String(allow_none=True)


class ClashQuery(Schema):
    place_code = PlaceCode(required=True)
    limit, after = page_fields(default=100, maximum=500, shape=(bytes,)).values()


class ClashingPerson(Schema):
    id = fields.Integer()
    name = fields.String()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)


class IdentityClash(Schema):
    identity_number = fields.String(metadata={
        "description": "masked unless the caller has cadres.personal_data"})
    people = fields.List(fields.Nested(ClashingPerson))


class IdentityClashes(Schema):
    items = fields.List(fields.Nested(IdentityClash))
    next_cursor = fields.String(allow_none=True)


class WithdrawPerson(Schema):
    request_id = request_id_field()
    person_id = _id(required=True)
    version = fields.Integer(strict=True, required=True, metadata={
        "description": "the version read; someone else's change since → Conflict"})
    withdrawn_on = PastDate(required=True)
    reason = text(200, required=True, metadata={"description": "移出名册的原因"})


# -- reserve cadres ----------------------------------------------------------------------
class RecommendReserve(Schema):
    request_id = request_id_field()
    person_id = _id(required=True)
    place_code = PlaceCode(required=True, metadata={"description": "the village"})
    recommended_by = text(100, required=True, metadata={"description": "推荐人或推荐单位"})
    method = Enum(RECOMMENDATION_METHODS, required=True)
    recommended_on = PastDate(required=True)
    votes = fields.Integer(load_default=None, allow_none=True,
                           validate=validate.Range(min=0, max=10_000_000),
                           metadata={"description": "votes received, for a democratic one"})
    remarks = text(500, load_default=None, allow_none=True)


class AssessReserve(Schema):
    request_id = request_id_field()
    reserve_id = _id(required=True)
    assessed_on = PastDate(required=True)
    assessor = text(100, required=True, metadata={"description": "考察组或考察单位"})
    result = Enum(ASSESSMENT_RESULTS, required=True)
    remarks = text(1000, load_default=None, allow_none=True)


class ConfirmReserve(Schema):
    request_id = request_id_field()
    reserve_id = _id(required=True)
    confirmed_on = PastDate(required=True)


class WithdrawReserve(Schema):
    request_id = request_id_field()
    reserve_id = _id(required=True)
    withdrawn_on = PastDate(required=True)
    reason = text(200, required=True)


class ReserveRef(Schema):
    reserve_id = _id(required=True)


class Assessment(Schema):
    assessed_on = fields.Date()
    assessor = fields.String()
    result = fields.String()
    result_label = label_of(ASSESSMENT_RESULTS)("result")
    remarks = fields.String(allow_none=True)


class Reserve(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    name = fields.String()
    sex = fields.String()
    sex_label = label_of(SEXES)("sex")
    birth_date = fields.Date()
    education = fields.String()
    education_label = label_of(EDUCATION)("education")
    college_graduate_official = StrictBoolean()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    status = fields.String()
    status_label = label_of(RESERVE_STATUSES)("status")
    recommended_by = fields.String()
    method = fields.String()
    method_label = label_of(RECOMMENDATION_METHODS)("method")
    recommended_on = fields.Date()
    votes = fields.Integer(allow_none=True)
    remarks = fields.String(allow_none=True)
    confirmed_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    end_reason = fields.String(allow_none=True)
    best_assessment = fields.String(allow_none=True)
    best_assessment_label = label_of(ASSESSMENT_RESULTS)("best_assessment")
    assessments = fields.List(fields.Nested(Assessment))


class VillageReservesQuery(Schema):
    place_code = PlaceCode(required=True, metadata={"description": "the village"})


class VillageReserves(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    rules = fields.Dict()
    reserves = fields.Integer(metadata={"description": "confirmed reserve cadres"})
    quota_status = fields.String()
    quota_status_label = label_of(QUOTA_STATUSES)("quota_status")
    items = fields.List(fields.Nested(Reserve), metadata={
        "description": "recommendation order: status, college-graduate officials first, "
                       "best assessment, earliest recommended"})


class ShortfallQuery(Schema):
    place_code = PlaceCode(required=True)


class ShortfallRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    villages = fields.Integer()
    short = fields.Integer(metadata={"description": "villages with fewer than the minimum"})
    within = fields.Integer()
    over = fields.Integer(metadata={"description": "villages with more than the maximum"})
    reserves = fields.Integer()
    college_graduate_officials = fields.Integer(metadata={"description": "among the reserves"})
    missing = fields.Integer(metadata={"description": "reserves the short villages lack"})


class ShortfallVillage(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    reserves = fields.Integer()
    college_graduate_officials = fields.Integer()
    quota_status = fields.String()
    quota_status_label = label_of(QUOTA_STATUSES)("quota_status")


class ShortfallReport(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    rules = fields.Dict()
    total = fields.Nested(ShortfallRow)
    by_child_place = fields.List(fields.Nested(ShortfallRow))
    short_villages = fields.List(fields.Nested(ShortfallVillage))
    over_villages = fields.List(fields.Nested(ShortfallVillage))


class RosterQuery(Schema):
    place_code = PlaceCode(required=True)
    status = Enum(RESERVE_STATUSES, load_default="reserve")
    limit, after = page_fields(default=1000, maximum=5000, shape=(str, int)).values()


class Roster(Schema):
    title = fields.String()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    columns = fields.List(fields.Dict(), metadata={"description": "key and 中文 title, in order"})
    rows = fields.List(fields.Dict(), metadata={"description": "one per reserve cadre, by key"})
    next_cursor = fields.String(allow_none=True, metadata={
        "description": "more rows: ask again with after=next_cursor (numbering continues)"})


# -- the talent pool and placements ----------------------------------------------------
class SelectForPool(Schema):
    request_id = request_id_field()
    person_id = _id(required=True, metadata={"description": "a college-graduate village official"})
    selected_on = PastDate(required=True)
    assessment = Enum(ASSESSMENT_RESULTS, required=True, metadata={"description": "考核结果"})
    recommended_by = text(100, required=True)
    remarks = text(500, load_default=None, allow_none=True)


class LeavePool(Schema):
    request_id = request_id_field()
    member_id = _id(required=True)
    left_on = PastDate(required=True)
    reason = text(200, required=True)


class PoolMember(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    name = fields.String()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    status = fields.String()
    status_label = label_of(POOL_STATUSES)("status")
    selected_on = fields.Date()
    assessment = fields.String()
    assessment_label = label_of(ASSESSMENT_RESULTS)("assessment")
    recommended_by = fields.String()
    remarks = fields.String(allow_none=True)
    left_on = fields.Date(allow_none=True)
    leave_reason = fields.String(allow_none=True)


class RecordPlacement(Schema):
    request_id = request_id_field()
    person_id = _id(required=True)
    kind = Enum(PLACEMENT_KINDS, required=True)
    placed_on = PastDate(required=True)
    place_code = PlaceCode(required=True, metadata={
        "description": "the village (two committees) or the township (its leadership)"})
    organization_id = _id(load_default=None, allow_none=True, metadata={
        "description": "the village party organization (party_* kinds)"})
    post = Enum(PARTY_POSTS, load_default=None, allow_none=True, metadata={
        "description": "the post in it (party_* kinds; party_secretary: secretary)"})
    position = text(100, load_default=None, allow_none=True, metadata={
        "description": "the position held, in words (e.g. 副镇长)"})


class Placement(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    kind_label = label_of(PLACEMENT_KINDS)("kind")
    placed_on = fields.Date()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    organization_id = fields.Integer(allow_none=True)
    post = fields.String(allow_none=True)
    post_label = label_of(PARTY_POSTS)("post")
    position = fields.String(allow_none=True)
    status = fields.String()
    status_label = label_of(PLACEMENT_STATUSES)("status")
    outcome = fields.String(allow_none=True, metadata={
        "description": "the leader id it became, or why the registry refused it"})


class PersonPlacements(Schema):
    person_id = fields.Integer()
    pool = fields.List(fields.Nested(PoolMember))
    placements = fields.List(fields.Nested(Placement))


class PoolReportQuery(Schema):
    place_code = PlaceCode(required=True, metadata={"description": "a county (or above)"})
    since = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "count placements dated from this date (the current term; one before "
                       "it is of an earlier term); default all"})


# S§18 puts first the officials already in the two committees (村“两委”).
_IN_THE_POOL = ("pool members now (in_pool status); leavers are not counted here but still "
                "count below for what they held as members")
_TWO_COMMITTEES = (
    "people in the two committees while in the pool, whenever they got there: a placement "
    "of a two-committees kind (party_secretary, party_committee_member, village_director, "
    "village_committee_member), not refused, dated on or before the day the member left "
    "(any date while still a member), so one placed before joining counts; cadres records "
    "no end of a post, so one counts from its date on (with since, only placements dated "
    "from it). Past members count for what they held as members; each person once")
_CHIEF_POSTS = ("people who held a chief post (村党组织书记 or 村委会主任) while in the pool, by "
                "the same rule as entered_two_committees")
_TOWNSHIP_LEADERSHIP = ("people who entered the township's leadership while in the pool: "
                        "placed between the day selected and the day left (if they left)")


class PoolTownship(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    in_pool = fields.Integer(metadata={"description": _IN_THE_POOL})
    entered_two_committees = fields.Integer(metadata={
        "description": _TWO_COMMITTEES + ", in the township of their earliest such placement"})
    chief_posts = fields.Integer(metadata={"description": _CHIEF_POSTS})
    entered_township_leadership = fields.Integer(metadata={"description": _TOWNSHIP_LEADERSHIP})
    target_met = StrictBoolean(metadata={
        "description": "at least one excellent college-graduate official entered the "
                       "township's leadership"})


class PoolReport(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    since = fields.Date(allow_none=True)
    in_pool = fields.Integer(metadata={"description": _IN_THE_POOL})
    entered_two_committees = fields.Integer(metadata={"description": _TWO_COMMITTEES})
    two_committees_rate = fields.Decimal(places=4, as_string=True, allow_none=True, metadata={
        "description": "entered_two_committees ÷ in_pool, cut to four decimals; null when "
                       "in_pool is 0 (past members count in the numerator only)"})
    chief_posts = fields.Integer(metadata={"description": _CHIEF_POSTS})
    townships = fields.Integer()
    townships_with = fields.Integer()
    townships_without = fields.Integer()
    items = fields.List(fields.Nested(PoolTownship))


# -- events ------------------------------------------------------------------------------
class ReserveShortfallChanged(Schema):
    place_code = fields.String(required=True)
    reserves = fields.Integer(required=True)
    minimum = fields.Integer(required=True)
    maximum = fields.Integer(required=True)
    quota_status = Enum(QUOTA_STATUSES, required=True)
    previous_status = Enum(QUOTA_STATUSES, required=True)


class CadrePlaced(Schema):
    """No identity number: the registry needs who, not which citizen."""

    external_ref = fields.String(required=True, metadata={"description": "cadres:<placement id>"})
    placement_id = fields.Integer(required=True)
    kind = Enum(PLACEMENT_KINDS, required=True)
    organization_id = fields.Integer(required=True)
    post = Enum(PARTY_POSTS, required=True)
    name = fields.String(required=True)
    sex = Enum(SEXES, required=True)
    birth_date = fields.Date(required=True)
    college_graduate_official = StrictBoolean(required=True)
    placed_on = fields.Date(required=True)


READ, WRITE = "cadres.read", "cadres.write"
PERSONAL_DATA = "cadres.personal_data"

rpc_method(SERVICE, "register_person", params=RegisterPerson, result=Person,
           role=WRITE, mutating=True,
           summary="A cadre or candidate, with the identity number checked (GB 11643) and sealed.")
rpc_method(SERVICE, "update_person", params=UpdatePerson, result=Person,
           role=WRITE, mutating=True,
           summary="Correct or bring a person up to date; state the version you read (stale → "
                   "Conflict).")
rpc_method(SERVICE, "get_person", params=PersonRef, result=Person,
           role=READ, mutating=False,
           summary="A person; the identity number whole only with cadres.personal_data.")
rpc_method(SERVICE, "find_person", params=FindPerson, result=Person,
           role=PERSONAL_DATA, mutating=False,
           summary="The person with this identity number (a lookup by the whole number is "
                   "personal data: without the role, it would tell whether a guessed number is "
                   "registered).")
rpc_method(SERVICE, "list_people", params=PeopleQuery, result=PeoplePage,
           role=READ, mutating=False,
           summary="People on the ledger under a place (not those withdrawn).")
rpc_method(SERVICE, "identity_clashes", params=ClashQuery, result=IdentityClashes,
           role=READ, mutating=False,
           summary="Identity numbers registered by more than one place under this one (each place "
                   "checks only its own jurisdiction): the superior that sees both has one "
                   "withdrawn.")
rpc_method(SERVICE, "withdraw_person", params=WithdrawPerson, result=Person,
           role=WRITE, mutating=True,
           summary="Take a person off the ledger (a duplicate of another place's, or registered "
                   "in error); refused while the person has open reserve recommendations or is in "
                   "the talent pool.")
rpc_method(SERVICE, "recommend_reserve", params=RecommendReserve, result=Reserve,
           role=WRITE, mutating=True,
           summary="Recommend a person as a village's reserve cadre (a candidate).")
rpc_method(SERVICE, "assess_reserve", params=AssessReserve, result=Reserve,
           role=WRITE, mutating=True, summary="An assessment (考察) of a candidate.")
rpc_method(SERVICE, "confirm_reserve", params=ConfirmReserve, result=Reserve,
           role=WRITE, mutating=True,
           summary="A candidate assessed at least basically competent becomes a reserve cadre.")
rpc_method(SERVICE, "withdraw_reserve", params=WithdrawReserve, result=Reserve,
           role=WRITE, mutating=True, summary="Out of the reserve, and why.")
rpc_method(SERVICE, "get_reserve", params=ReserveRef, result=Reserve,
           role=READ, mutating=False, summary="A reserve cadre and the assessments.")
rpc_method(SERVICE, "village_reserves", params=VillageReservesQuery, result=VillageReserves,
           role=READ, mutating=False,
           summary="A village's reserve cadres in recommendation order, and its quota status.")
rpc_method(SERVICE, "reserve_shortfall", params=ShortfallQuery, result=ShortfallReport,
           role=READ, mutating=False,
           summary="Villages short of or over the reserve quota (configured), by place.")
rpc_method(SERVICE, "reserve_roster", params=RosterQuery, result=Roster,
           role=READ, mutating=False, summary="后备干部花名册: the standard columns, in Chinese.")
rpc_method(SERVICE, "select_for_pool", params=SelectForPool, result=PoolMember,
           role=WRITE, mutating=True,
           summary="Into the talent pool of excellent college-graduate village officials.")
rpc_method(SERVICE, "leave_pool", params=LeavePool, result=PoolMember,
           role=WRITE, mutating=True, summary="Out of the talent pool.")
rpc_method(SERVICE, "record_placement", params=RecordPlacement, result=Placement,
           role=WRITE, mutating=True,
           summary="A person entered the two committees, a chief post or township leadership; a "
                   "party post is filled in the registry (cadre_placed).")
rpc_method(SERVICE, "person_placements", params=PersonRef, result=PersonPlacements,
           role=READ, mutating=False,
           summary="A person's talent-pool entries and placements, with the registry's answer.")
rpc_method(SERVICE, "pool_report", params=PoolReportQuery, result=PoolReport,
           role=READ, mutating=False,
           summary="Townships with and without an excellent college-graduate official entering "
                   "their leadership; how many entered the two committees.")

event(SERVICE, "reserve_shortfall_changed", data=ReserveShortfallChanged,
      summary="A village's reserve cadres crossed its quota (short, within, over).")
event(SERVICE, "cadre_placed", data=CadrePlaced,
      summary="A person took a post of a village party organization: the registry fills it.")

# Bulk import (start_import/get_import): rows of register_person's params and
# recommend_reserve's (the reserve's place is the person's); the rows hold identity numbers.
IMPORT_KINDS = {"reserve_cadres": "后备干部"}
imports.register(SERVICE, IMPORT_KINDS, read=READ, write=WRITE, personal=True, values=(
    "A row's values: register_person's params and recommend_reserve's recommended_by, "
    "method, recommended_on, votes, remarks (the reserve's place is the person's; a person "
    "on the ledger in the caller's jurisdiction is reused)."))

_W = "cadres.write, the person's place in the caller's jurisdiction"
_USED = ("a placement into that village's two committees (party posts once the registry "
         "applied it)")
state_machine(
    SERVICE, "reserve cadre", field="Reserve.status", statuses=RESERVE_STATUSES,
    transitions=[
        (NEW, "recommend_reserve", "candidate", _W, "a village or community in reach"),
        ("candidate", "assess_reserve", "candidate", _W, "an assessment (考察) is recorded"),
        ("reserve", "assess_reserve", "reserve", _W, "an assessment (考察) is recorded"),
        ("candidate", "confirm_reserve", "reserve", _W,
         "after an assessment at least the configured minimum (basically competent by "
         "default)"),
        ("candidate", "withdraw_reserve", "withdrawn", _W, "with a reason"),
        ("reserve", "withdraw_reserve", "withdrawn", _W, "with a reason"),
        ("candidate", "record_placement", "appointed", _W, _USED),
        ("reserve", "record_placement", "appointed", _W, _USED),
        ("candidate", "event organizations.cadre_placement_applied", "appointed",
         "the system, on the registry's answer", _USED),
        ("reserve", "event organizations.cadre_placement_applied", "appointed",
         "the system, on the registry's answer", _USED),
    ],
    notes="appointed (已使用) and withdrawn are final. Each change of a village's confirmed "
          "reserves recounts its quota status (short, within, over: reserve_shortfall_changed "
          "when it changes).")
state_machine(
    SERVICE, "talent pool membership", field="PoolMember.status", statuses=POOL_STATUSES,
    transitions=[
        (NEW, "select_for_pool", "in_pool", _W, "a college-graduate village official"),
        ("in_pool", "leave_pool", "left", _W, "once, with a reason"),
    ])
state_machine(
    SERVICE, "placement", field="Placement.status", statuses=PLACEMENT_STATUSES,
    transitions=[
        (NEW, "record_placement", "recorded", _W, "a post that is not a party post"),
        (NEW, "record_placement", "pending", _W,
         "a party post (party_*): cadre_placed asks the registry to fill it"),
        ("pending", "event organizations.cadre_placement_applied", "applied",
         "the system, on the registry's answer", "the person is in post"),
        ("pending", "event organizations.cadre_placement_refused", "refused",
         "the system, on the registry's answer", "`outcome` says why"),
    ])

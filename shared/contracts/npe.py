"""Contract of the npe service: non-public enterprises and their party coverage
(docs/domain.md §6, S§20–S§27)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts import NEW, event, imports, rpc_method, state_machine
from shared.contracts.common import (
    CreditCode,
    DecimalNumber,
    Enum,
    PastDate,
    PlaceCode,
    StrictBoolean,
    label_of,
    page_fields,
    request_id_field,
    text,
)

SERVICE = "npe"

# GB/T 4754-2017 sections that enterprises fall in.
INDUSTRIES = {
    "A": "农、林、牧、渔业", "B": "采矿业", "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业", "E": "建筑业", "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业", "H": "住宿和餐饮业", "I": "信息传输、软件和信息技术服务业",
    "J": "金融业", "K": "房地产业", "L": "租赁和商务服务业", "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业", "O": "居民服务、修理和其他服务业", "P": "教育",
    "Q": "卫生和社会工作", "R": "文化、体育和娱乐业",
}
SIZES = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}
OPERATING = {"operating": "在营", "suspended": "停业、歇业", "closed": "注销、吊销"}
# How an enterprise is covered, best first (§6).
COVERAGE = {
    "own": "单独组建党组织",
    "joint": "联合党支部覆盖",
    "regional": "区域性党组织覆盖",
    "industry": "行业党组织覆盖",
    "work": "工作覆盖（党建指导员、联络员）",
    "none": "未覆盖",
}
ESTABLISHMENT_KINDS = {"own": "单独组建", "joint": "联合组建", "regional": "区域性党组织",
                       "industry": "行业党组织"}
ESTABLISHMENT_STATUSES = {"pending": "待登记", "registered": "已登记", "refused": "登记未通过",
                          "dissolved": "已撤销"}
WORK_ROLES = {"instructor": "党建指导员", "liaison": "党建联络员"}
DOUBLE_STRONG = {"applied": "已申报", "cultivating": "培育中", "recognized": "已认定",
                 "rejected": "未通过"}
CONTACT_KINDS = {"key_contact": "重点联系", "direct_guidance": "直接指导"}
LAGGING_CAUSES = {
    "weak_leadership": "班子软弱涣散",
    "irregular_activities": "组织生活不正常",
    "little_effect": "作用发挥不明显",
    "business_difficulty": "企业生产经营困难",
    "mobile_members": "党员流动性大",
    "owner_unsupportive": "出资人不支持",
    "other": "其他",
}
LAGGING_STATUSES = {"rectifying": "整顿中", "transformed": "已转化"}
SIX_GOOD = {"entered": "创建中", "recognized": "已命名"}
TRAINING_KINDS = {
    "investors": "新生代党员出资人示范培训班",
    "dual_managed_secretaries": "双管非公企业党组织书记培训班",
    "other": "其他培训班",
}
ASSOCIATION_ROLES = {"member": "会员", "council": "理事", "officer": "会长、副会长、秘书长"}


def _id(**kw):
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kw)




def _count(**kw):
    return fields.Integer(strict=True, validate=validate.Range(0, 10_000_000), **kw)


def _year(**kw):
    return fields.Integer(strict=True, validate=validate.Range(2000, 2100), **kw)


# -- enterprises ---------------------------------------------------------------------
class EnterpriseFields(Schema):
    credit_code = CreditCode(required=True)
    name = text(required=True)
    place_code = PlaceCode(required=True)
    industry = Enum(INDUSTRIES, required=True)
    size = Enum(SIZES, required=True)
    operating_status = Enum(OPERATING, load_default="operating")
    employees = _count(required=True)
    full_members = _count(required=True, metadata={"description": "正式党员"})
    migrant_share = DecimalNumber(4, minimum=0, maximum=1, load_default=0,
                                  metadata={"description": "share of migrant workers, 0–1"})
    cluster = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                            metadata={"description": "the park, building or cluster it is in"})
    dual_managed = StrictBoolean(load_default=False,
                                  metadata={"description": "双管企业 (directly guided)"})


class RegisterEnterprise(EnterpriseFields):
    request_id = request_id_field()


class ImportEnterprises(Schema):
    request_id = request_id_field()
    enterprises = fields.List(fields.Nested(EnterpriseFields), required=True,
                              validate=validate.Length(min=1, max=5000))


class EnterprisesImported(Schema):
    created = fields.Integer()
    updated = fields.Integer()


class UpdateEnterprise(Schema):
    request_id = request_id_field()
    credit_code = CreditCode(required=True)
    version = fields.Integer(strict=True, required=True)
    name = text()
    place_code = PlaceCode()
    industry = Enum(INDUSTRIES)
    size = Enum(SIZES)
    operating_status = Enum(OPERATING)
    employees = _count()
    full_members = _count()
    migrant_share = DecimalNumber(4, minimum=0, maximum=1)
    cluster = fields.String(allow_none=True, validate=validate.Length(max=200))
    dual_managed = StrictBoolean()


class EnterpriseRef(Schema):
    credit_code = CreditCode(required=True)


def _record_id(**kw):
    return _id(load_default=None, metadata={
        "description": "which record of the code, where your jurisdiction holds more than "
                       "one (a clash: see credit_code_clashes)"}, **kw)


class GetEnterprise(EnterpriseRef):
    enterprise_id = _record_id()


class WithdrawEnterprise(Schema):
    request_id = request_id_field()
    credit_code = CreditCode(required=True)
    enterprise_id = _record_id()
    version = fields.Integer(strict=True, required=True)
    reason = text(1000, required=True, metadata={
        "description": "why the record comes off the ledger (e.g. 该企业属另一辖区，重复登记)"})


class Enterprise(Schema):
    id = fields.Integer(metadata={
        "description": "the record's id: a code is unique within a jurisdiction, and two "
                       "places may each hold a record of it (credit_code_clashes)"})
    credit_code = fields.String()
    name = fields.String()
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    industry = fields.String()
    industry_label = label_of(INDUSTRIES)("industry")
    size = fields.String()
    size_label = label_of(SIZES)("size")
    operating_status = fields.String()
    operating_status_label = label_of(OPERATING)("operating_status")
    employees = fields.Integer()
    full_members = fields.Integer()
    migrant_share = fields.Decimal(places=4, as_string=True)
    cluster = fields.String(allow_none=True)
    dual_managed = StrictBoolean()
    coverage = fields.String()
    coverage_label = label_of(COVERAGE)("coverage")
    due_own_organization = StrictBoolean(metadata={"description": "≥ 3 full members, none of its own"})
    version = fields.Integer()
    withdrawn_on = fields.Date(allow_none=True, metadata={
        "description": "off the ledger since (withdraw_enterprise); null while on it"})
    withdrawn_reason = fields.String(allow_none=True)


class ListEnterprises(Schema):
    place_code = PlaceCode(required=True)
    coverage = Enum(COVERAGE, load_default=None)
    industry = Enum(INDUSTRIES, load_default=None)
    operating_status = Enum(OPERATING, load_default=None)
    limit, after = page_fields(default=100, maximum=1000, shape=(str, str)).values()


class EnterprisePage(Schema):
    items = fields.List(fields.Nested(Enterprise))
    next_cursor = fields.String(allow_none=True)


class ClashQuery(Schema):
    place_code = PlaceCode(required=True)
    limit, after = page_fields(default=100, maximum=1000, shape=(str,)).values()


class ClashRecord(Schema):
    id = fields.Integer(metadata={"description": "the record's id (enterprise_id)"})
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    name = fields.String()
    operating_status = fields.String()
    operating_status_label = label_of(OPERATING)("operating_status")
    created_at = fields.AwareDateTime()


class CreditCodeClash(Schema):
    credit_code = fields.String()
    records = fields.List(fields.Nested(ClashRecord), metadata={
        "description": "its records on the ledger in the place's subtree, two or more"})


class ClashPage(Schema):
    items = fields.List(fields.Nested(CreditCodeClash))
    next_cursor = fields.String(allow_none=True)


# -- coverage -------------------------------------------------------------------------
class Establish(Schema):
    request_id = request_id_field()
    kind = Enum(ESTABLISHMENT_KINDS, required=True)
    name = text(required=True)
    place_code = PlaceCode(required=True, metadata={"description": "where it is registered"})
    credit_codes = fields.List(CreditCode(), required=True, validate=validate.Length(min=1, max=500),
                               metadata={"description": "own: one; joint: 2–5; regional, industry: any"})
    full_members = _count(required=True)
    org_kind = Enum({"611": "党委", "621": "党总支", "631": "党支部"}, load_default="631",
                    metadata={"description": "the registry kind (a joint one is always 632)"})
    founded_on = PastDate(required=True)


class JoinOrganization(Schema):
    request_id = request_id_field()
    establishment_id = _id(required=True)
    credit_code = CreditCode(required=True)


class Establishment(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = label_of(ESTABLISHMENT_KINDS)("kind")
    name = fields.String()
    place_code = fields.String()
    org_kind = fields.String()
    full_members = fields.Integer()
    founded_on = fields.Date()
    organization_id = fields.Integer(allow_none=True, metadata={
        "description": "its id in the organizations registry, once registered there"})
    status = fields.String()
    status_label = label_of(ESTABLISHMENT_STATUSES)("status")
    status_reason = fields.String(allow_none=True)
    credit_codes = fields.List(fields.String())
    enterprise_ids = fields.List(fields.Integer(), metadata={
        "description": "the members' records, in the order of credit_codes"})


class LeaveOrganization(JoinOrganization):
    pass


class EstablishmentRef(Schema):
    establishment_id = _id(required=True)


class AssignWorkCoverage(Schema):
    request_id = request_id_field()
    credit_code = CreditCode(required=True)
    role = Enum(WORK_ROLES, required=True)
    person = text(100, required=True)
    assigned_on = PastDate(required=True)


class EndWorkCoverage(Schema):
    request_id = request_id_field()
    assignment_id = _id(required=True)
    ended_on = PastDate(required=True)


class WorkAssignment(Schema):
    id = fields.Integer()
    credit_code = fields.String()
    enterprise_id = fields.Integer()
    role = fields.String()
    role_label = label_of(WORK_ROLES)("role")
    person = fields.String()
    assigned_on = fields.Date()
    ended_on = fields.Date(allow_none=True)


class CoverageQuery(Schema):
    place_code = PlaceCode(required=True)


class CoverageRow(Schema):
    place_code = fields.String()
    place_name = fields.String(allow_none=True)
    enterprises = fields.Integer(metadata={"description": "registered, any status"})
    operating = fields.Integer()
    own = fields.Integer()
    joint = fields.Integer()
    regional = fields.Integer()
    industry = fields.Integer()
    organizational = fields.Integer(metadata={"description": "own + joint + regional + industry"})
    work = fields.Integer(metadata={"description": "no organization, an instructor or liaison"})
    uncovered = fields.Integer()
    due_own = fields.Integer(metadata={"description": "≥ 3 full members, no own organization"})
    organizational_rate = fields.Decimal(places=4, as_string=True, allow_none=True)
    own_rate = fields.Decimal(places=4, as_string=True, allow_none=True)
    work_rate = fields.Decimal(places=4, as_string=True, allow_none=True)
    total_rate = fields.Decimal(places=4, as_string=True, allow_none=True,
                                metadata={"description": "organizational + work"})


class NamedEnterprise(Schema):
    id = fields.Integer()
    credit_code = fields.String()
    name = fields.String()
    place_code = fields.String()
    full_members = fields.Integer()
    coverage = fields.String()
    coverage_label = label_of(COVERAGE)("coverage")


class CoverageReport(Schema):
    place_code = fields.String()
    as_of = fields.Date()
    rules = fields.Dict()
    total = fields.Nested(CoverageRow)
    by_child_place = fields.List(fields.Nested(CoverageRow))
    uncovered = fields.List(fields.Nested(NamedEnterprise), metadata={
        "description": "the first ones by name; uncovered_enterprises pages through all"})
    due_own = fields.List(fields.Nested(NamedEnterprise))
    duplicate_credit_codes = fields.Integer(metadata={
        "description": "credit codes registered more than once in the subtree (each such "
                       "enterprise is counted once per record): credit_code_clashes lists "
                       "them (重复登记的统一社会信用代码数)"})


class EnterpriseListing(Schema):
    place_code = PlaceCode(required=True)
    limit, after = page_fields(default=200, maximum=1000, shape=(str, str, int)).values()


class NamedPage(Schema):
    items = fields.List(fields.Nested(NamedEnterprise))
    next_cursor = fields.String(allow_none=True)


# -- standardization, the two ends, creation, training, association ---------------------
class RecordStandard(Schema):
    request_id = request_id_field()
    establishment_id = _id(required=True)
    item = fields.String(required=True, validate=validate.Length(min=1, max=50),
                         metadata={"description": "an item of the configured checklist"})
    met = StrictBoolean(required=True)
    checked_on = PastDate(required=True)


class StandardItem(Schema):
    item = fields.String()
    label = fields.String()
    met = StrictBoolean()
    checked_on = fields.Date(allow_none=True)


class Standardization(Schema):
    establishment_id = fields.Integer()
    items = fields.List(fields.Nested(StandardItem))
    completion = fields.Decimal(places=4, as_string=True)


class ApplyDoubleStrong(Schema):
    request_id = request_id_field()
    credit_code = CreditCode(required=True)
    year = _year(required=True)
    applied_on = PastDate(required=True)


class AdvanceDoubleStrong(Schema):
    request_id = request_id_field()
    application_id = _id(required=True)
    status = Enum({k: v for k, v in DOUBLE_STRONG.items() if k != "applied"}, required=True)
    on = PastDate(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class DoubleStrongStep(Schema):
    status = fields.String()
    status_label = label_of(DOUBLE_STRONG)("status")
    on = fields.Date()
    note = fields.String(allow_none=True)


class DoubleStrongApplication(Schema):
    id = fields.Integer()
    credit_code = fields.String()
    enterprise_id = fields.Integer()
    enterprise_name = fields.String()
    year = fields.Integer()
    status = fields.String()
    status_label = label_of(DOUBLE_STRONG)("status")
    history = fields.List(fields.Nested(DoubleStrongStep))


class DoubleStrongQuery(Schema):
    place_code = PlaceCode(required=True)
    year = _year(required=True)
    status = Enum(DOUBLE_STRONG, load_default=None)


class DoubleStrongList(Schema):
    items = fields.List(fields.Nested(DoubleStrongApplication))


class RecordContact(Schema):
    request_id = request_id_field()
    credit_code = CreditCode(required=True)
    kind = Enum(CONTACT_KINDS, required=True)
    leader = text(100, required=True, metadata={"description": "the contact leader"})
    contact_on = PastDate(required=True)
    content = text(5000, required=True)


class Contact(Schema):
    id = fields.Integer()
    credit_code = fields.String()
    enterprise_id = fields.Integer()
    kind = fields.String()
    kind_label = label_of(CONTACT_KINDS)("kind")
    leader = fields.String()
    contact_on = fields.Date()
    content = fields.String()


class ContactList(Schema):
    items = fields.List(fields.Nested(Contact))


class MarkLagging(Schema):
    request_id = request_id_field()
    establishment_id = _id(required=True)
    cause = Enum(LAGGING_CAUSES, required=True)
    noted_on = PastDate(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class TransformLagging(Schema):
    request_id = request_id_field()
    lagging_id = _id(required=True)
    transformed_on = PastDate(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class Lagging(Schema):
    id = fields.Integer()
    establishment_id = fields.Integer()
    establishment_name = fields.String()
    place_code = fields.String()
    cause = fields.String()
    cause_label = label_of(LAGGING_CAUSES)("cause")
    status = fields.String()
    status_label = label_of(LAGGING_STATUSES)("status")
    noted_on = fields.Date()
    transformed_on = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)


class LaggingList(Schema):
    items = fields.List(fields.Nested(Lagging))
    by_cause = fields.Dict(metadata={"description": "cause → organizations still rectifying"})


class EnterSixGood(Schema):
    request_id = request_id_field()
    establishment_id = _id(required=True)
    year = _year(required=True)


class RecognizeSixGood(Schema):
    request_id = request_id_field()
    entry_id = _id(required=True)


class SixGoodEntry(Schema):
    id = fields.Integer()
    establishment_id = fields.Integer()
    establishment_name = fields.String()
    year = fields.Integer()
    status = fields.String()
    status_label = label_of(SIX_GOOD)("status")


class SixGoodQuery(Schema):
    place_code = PlaceCode(required=True)
    year = _year(required=True)


class SixGoodList(Schema):
    items = fields.List(fields.Nested(SixGoodEntry))


class OpenTrainingClass(Schema):
    request_id = request_id_field()
    kind = Enum(TRAINING_KINDS, required=True)
    title = text(required=True)
    place_code = PlaceCode(required=True, metadata={"description": "who runs it"})
    starts_on = fields.Date(required=True)
    sessions = fields.Integer(strict=True, required=True, validate=validate.Range(1, 200))


class Enrol(Schema):
    request_id = request_id_field()
    class_id = _id(required=True)
    person = text(100, required=True)
    credit_code = CreditCode(required=True)


class RecordAttendance(Schema):
    request_id = request_id_field()
    class_id = _id(required=True)
    session = fields.Integer(strict=True, required=True, validate=validate.Range(1, 200))
    present = fields.List(_id(), required=True, metadata={"description": "enrolment ids present"})


class ClassRef(Schema):
    class_id = _id(required=True)


class Enrolment(Schema):
    id = fields.Integer()
    person = fields.String()
    credit_code = fields.String()
    enterprise_id = fields.Integer()
    enterprise_name = fields.String()
    attended = fields.Integer()
    attendance_rate = fields.Decimal(places=4, as_string=True, allow_none=True)


class TrainingClass(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = label_of(TRAINING_KINDS)("kind")
    title = fields.String()
    place_code = fields.String()
    starts_on = fields.Date()
    sessions = fields.Integer()
    sessions_held = fields.Integer()
    enrolments = fields.List(fields.Nested(Enrolment))


class JoinAssociation(Schema):
    request_id = request_id_field()
    person = text(100, required=True)
    credit_code = CreditCode(required=True)
    role = Enum(ASSOCIATION_ROLES, load_default="member")
    joined_on = PastDate(required=True)


class AssociationMember(Schema):
    id = fields.Integer()
    person = fields.String()
    credit_code = fields.String()
    enterprise_id = fields.Integer()
    enterprise_name = fields.String()
    place_code = fields.String()
    role = fields.String()
    role_label = label_of(ASSOCIATION_ROLES)("role")
    joined_on = fields.Date()


class AssociationList(Schema):
    items = fields.List(fields.Nested(AssociationMember))


# -- events ---------------------------------------------------------------------------
class EnterpriseOrgEstablished(Schema):
    establishment_id = fields.Integer(required=True)
    external_ref = fields.String(required=True, metadata={
        "description": "npe:<establishment id>: the registry keeps one organization per ref"})
    kind = fields.String(required=True, metadata={"description": "registry kind: 611/621/631/632"})
    name = fields.String(required=True)
    place_code = fields.String(required=True)
    full_members = fields.Integer(required=True)
    committee_size = fields.Integer(required=True)
    units = fields.List(fields.String(), required=True)
    founded_on = fields.Date(required=True)


# -- registration --------------------------------------------------------------------
READ, WRITE = "npe.read", "npe.write"

rpc_method(SERVICE, "register_enterprise", params=RegisterEnterprise, result=Enterprise,
           role=WRITE, mutating=True,
           summary="Register an enterprise by its unified social credit code; a code registered "
                   "in your jurisdiction already is a Conflict (a code is unique within a "
                   "jurisdiction).")
rpc_method(SERVICE, "import_enterprises", params=ImportEnterprises, result=EnterprisesImported,
           role=WRITE, mutating=True,
           summary="Create or update up to 5 000 enterprises at once, all or nothing (a code "
                   "registered in your jurisdiction is updated, any other is created).")
rpc_method(SERVICE, "update_enterprise", params=UpdateEnterprise, result=Enterprise,
           role=WRITE, mutating=True,
           summary="Change an enterprise; state the version you read (stale → Conflict).\n"
                   "Only the parameters given change; those left out keep their values.")
rpc_method(SERVICE, "get_enterprise", params=GetEnterprise, result=Enterprise,
           role=READ, mutating=False,
           summary="One enterprise: the record its code names in your jurisdiction (a withdrawn "
                   "one when none is on the ledger there); a code registered more than once there "
                   "is a Conflict.")
rpc_method(SERVICE, "list_enterprises", params=ListEnterprises, result=EnterprisePage,
           role=READ, mutating=False,
           summary="Enterprises in a subtree, filtered, in keyset pages.")
rpc_method(SERVICE, "credit_code_clashes", params=ClashQuery, result=ClashPage,
           role=READ, mutating=False,
           summary="Credit codes registered more than once in a subtree (by different places), "
                   "each with its records: the superior decides where the enterprise belongs.")
rpc_method(SERVICE, "withdraw_enterprise", params=WithdrawEnterprise, result=Enterprise,
           role=WRITE, mutating=True,
           summary="Take a wrong record off the ledger (one of a clash); state the version you "
                   "read. Refused while organizations, work coverage or double-strong "
                   "applications hang on it.")
rpc_method(SERVICE, "establish_organization", params=Establish, result=Establishment,
           role=WRITE, mutating=True,
           summary="A party organization set up for enterprises (own, joint ≤ 5, regional, "
                   "industry); the organizations service registers it "
                   "(enterprise_org_established).")
rpc_method(SERVICE, "join_organization", params=JoinOrganization, result=Establishment,
           role=WRITE, mutating=True,
           summary="An enterprise joins a joint, regional or industry organization.")
rpc_method(SERVICE, "leave_organization", params=LeaveOrganization, result=Establishment,
           role=WRITE, mutating=True,
           summary="An enterprise leaves a joint, regional or industry organization (to set up "
                   "its own, say).")
rpc_method(SERVICE, "get_establishment", params=EstablishmentRef, result=Establishment,
           role=READ, mutating=False, summary="One establishment.")
rpc_method(SERVICE, "assign_work_coverage", params=AssignWorkCoverage, result=WorkAssignment,
           role=WRITE, mutating=True,
           summary="A party-building instructor or liaison for an enterprise (work coverage).")
rpc_method(SERVICE, "end_work_coverage", params=EndWorkCoverage, result=WorkAssignment,
           role=WRITE, mutating=True, summary="An assignment ends.")
rpc_method(SERVICE, "coverage_report", params=CoverageQuery, result=CoverageReport,
           role=READ, mutating=False,
           summary="Coverage by place: organizational, own-organization and work coverage rates "
                   "(§6).")
rpc_method(SERVICE, "uncovered_enterprises", params=EnterpriseListing, result=NamedPage,
           role=READ, mutating=False, summary="Operating enterprises with no coverage, by name.")
rpc_method(SERVICE, "due_own_organization", params=EnterpriseListing, result=NamedPage,
           role=READ, mutating=False,
           summary="Operating enterprises with ≥ 3 full members and no own organization.")
rpc_method(SERVICE, "record_standard", params=RecordStandard, result=Standardization,
           role=WRITE, mutating=True,
           summary="Mark an item of an organization's standardization checklist (标准化建设).\n"
                   "Replaces the item's earlier mark (met or not, and the date checked).")
rpc_method(SERVICE, "standardization", params=EstablishmentRef, result=Standardization,
           role=READ, mutating=False, summary="An organization's checklist and its completion.")
rpc_method(SERVICE, "apply_double_strong", params=ApplyDoubleStrong, result=DoubleStrongApplication,
           role=WRITE, mutating=True,
           summary="An enterprise applies to be a 双强 (strong party building, strong development) "
                   "one.")
rpc_method(SERVICE, "advance_double_strong", params=AdvanceDoubleStrong,
           result=DoubleStrongApplication, role=WRITE, mutating=True,
           summary="Applied → cultivating → recognized (or rejected), with its history.")
rpc_method(SERVICE, "double_strong", params=DoubleStrongQuery, result=DoubleStrongList,
           role=READ, mutating=False, summary="Applications of a year.")
rpc_method(SERVICE, "record_contact", params=RecordContact, result=Contact,
           role=WRITE, mutating=True,
           summary="A key contact or direct guidance record for a dual-managed (双管) enterprise.")
rpc_method(SERVICE, "contacts_of", params=EnterpriseRef, result=ContactList,
           role=READ, mutating=False, summary="An enterprise's contact records.")
rpc_method(SERVICE, "mark_lagging", params=MarkLagging, result=Lagging,
           role=WRITE, mutating=True,
           summary="A lagging enterprise organization, with its cause classified (抓后进).")
rpc_method(SERVICE, "transform_lagging", params=TransformLagging, result=Lagging,
           role=WRITE, mutating=True, summary="It has been transformed.")
rpc_method(SERVICE, "lagging", params=CoverageQuery, result=LaggingList,
           role=READ, mutating=False, summary="Lagging organizations in a subtree.")
rpc_method(SERVICE, "enter_six_good", params=EnterSixGood, result=SixGoodEntry,
           role=WRITE, mutating=True, summary="An organization enters the 双强六好 creation of a year.")
rpc_method(SERVICE, "recognize_six_good", params=RecognizeSixGood, result=SixGoodEntry,
           role=WRITE, mutating=True, summary="It is named 双强六好.")
rpc_method(SERVICE, "six_good", params=SixGoodQuery, result=SixGoodList,
           role=READ, mutating=False, summary="Entries of a year in a subtree.")
rpc_method(SERVICE, "open_training_class", params=OpenTrainingClass, result=TrainingClass,
           role=WRITE, mutating=True,
           summary="A training class (new-generation investors; dual-managed secretaries).")
rpc_method(SERVICE, "enrol", params=Enrol, result=TrainingClass,
           role=WRITE, mutating=True, summary="Enrol a participant.")
rpc_method(SERVICE, "record_attendance", params=RecordAttendance, result=TrainingClass,
           role=WRITE, mutating=True,
           summary="Who attended a session.\n"
                   "Every enrolment of the class is marked for the session: those listed present, "
                   "the others absent; recording the same session again replaces it.")
rpc_method(SERVICE, "get_training_class", params=ClassRef, result=TrainingClass,
           role=READ, mutating=False, summary="A class with its participants and their attendance.")
rpc_method(SERVICE, "join_association", params=JoinAssociation, result=AssociationMember,
           role=WRITE, mutating=True,
           summary="A party worker joins the association of non-public enterprise party workers.")
rpc_method(SERVICE, "association_members", params=CoverageQuery, result=AssociationList,
           role=READ, mutating=False, summary="Members in a subtree.")

event(SERVICE, "enterprise_org_established", data=EnterpriseOrgEstablished,
      summary="A party organization was set up for enterprises: the registry registers it once.")

# Bulk import (start_import/get_import): rows of register_enterprise's params.
IMPORT_KINDS = {"enterprises": "非公企业"}
imports.register(SERVICE, IMPORT_KINDS, read=READ, write=WRITE,
                 values="A row's values: register_enterprise's params.")

_W = "npe.write, the enterprise's place in the caller's jurisdiction"
_REGISTRY = "the system, on the organizations registry's answer"
state_machine(
    SERVICE, "establishment", field="Establishment.status", statuses=ESTABLISHMENT_STATUSES,
    transitions=[
        (NEW, "establish_organization", "pending", _W,
         "enterprise_org_established asks the registry to register it"),
        ("pending", "event organizations.organization_registered", "registered", _REGISTRY,
         "registered: `organization_id` set"),
        ("pending", "event organizations.enterprise_org_refused", "refused", _REGISTRY,
         "its party rules refused it (`status_reason` says why); it covers no one"),
        ("registered", "event organizations.organization_status_changed", "dissolved",
         _REGISTRY, "the organization merged or dissolved in the registry; it covers no one"),
    ])
# services/npe/domain.py DOUBLE_STRONG_NEXT holds the same steps (a test compares them).
state_machine(
    SERVICE, "double-strong application", field="DoubleStrongApplication.status",
    statuses=DOUBLE_STRONG, transitions=[
        (NEW, "apply_double_strong", "applied", _W, ""),
        ("applied", "advance_double_strong", "cultivating", _W, "status=cultivating"),
        ("applied", "advance_double_strong", "rejected", _W, "status=rejected"),
        ("cultivating", "advance_double_strong", "recognized", _W, "status=recognized"),
        ("cultivating", "advance_double_strong", "rejected", _W, "status=rejected"),
    ],
    notes="Any other step is a Conflict (申报、培育、认定须依次进行); recognized and rejected "
          "are final. Each step is kept in `history` with its date and note.")
state_machine(
    SERVICE, "lagging organization", field="Lagging.status", statuses=LAGGING_STATUSES,
    transitions=[
        (NEW, "mark_lagging", "rectifying", _W, ""),
        ("rectifying", "transform_lagging", "transformed", _W,
         "once: a transformed one again is a Conflict"),
    ])
state_machine(
    SERVICE, "双强六好 entry", field="SixGoodEntry.status", statuses=SIX_GOOD,
    transitions=[
        (NEW, "enter_six_good", "entered", _W, ""),
        ("entered", "recognize_six_good", "recognized", _W,
         "once: a recognized one again is a Conflict"),
    ])

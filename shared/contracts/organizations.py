"""Contract of the organizations service: places, party organizations, leadership,
township organizers (docs/domain.md §1)."""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields, validate

from shared.contracts import NEW, event, imports, rpc_method, state_machine
from shared.contracts.common import (
    Enum,
    PastDate,
    Pattern,
    PlaceCode,
    RenamedParameters,
    StrictBoolean,
    label_of,
    page_fields,
    renamed_to,
    request_id_field,
    text,
)
from shared.contracts.enums import GRADES
from shared.national import regions

SERVICE = "organizations"

# -- enums: stable codes for the API, labels for people (one place per enum) ---------
KINDS = {"611": "党委", "621": "党总支", "631": "党支部", "632": "联合党支部"}
SECTORS = {
    "rural_village": "农村",
    "urban_community": "社区",
    "non_public_enterprise": "非公企业",
    "social_organization": "社会组织",
    "government_agency": "机关",
    "public_institution": "事业单位",
    "state_owned_enterprise": "国有企业",
    "school": "学校",
}
STATUSES = {"active": "正常", "merged": "已合并", "dissolved": "已撤销"}
POSTS = {
    "secretary": "书记",
    "deputy_secretary": "副书记",
    "committee_member": "委员",
    "first_secretary": "第一书记",
}
# How a post was filled (S§15).
FILL_METHODS = {
    "election": "选举产生",
    "internal_selection": "本单位选拔",
    "college_graduate_official": "选派大学生党员村官",
    "open_recruitment": "挂牌招才",
    "first_secretary": "下派第一书记",
    "cross_unit": "跨单位任职",
}
# Why a member left (S§15: adjusted for lacking ability, energy, or breaking commitments).
LEAVE_REASONS = {
    "resigned": "辞职",
    "transferred": "调离",
    "term_ended": "任期届满",
    "lacks_ability": "能力素质不高调整",
    "lacks_energy": "精力不到位调整",
    "broke_commitment": "不能兑现承诺调整",
    "deceased": "去世",
    "other": "其他",
}
VACANCY_STATUSES = {"open": "空缺", "filled": "已配齐", "cancelled": "已撤销"}
SEXES = {"male": "男", "female": "女"}
FLAGS = {
    "over_50_members": "党员超过50人，可考虑设立党总支",
    "committee_required": "正式党员7人以上，应设立支部委员会",
    "reelection_due": "即将届满，应准备换届",
    "name_clash": "与同一地点的正常党组织重名（规则实施前登记），请更名、合并或撤销",
    "reelection_overdue": "已超期未换届",
}

# Why a team is incomplete (班子不健全).
TEAM_PROBLEMS = {
    "no_secretary": "书记空缺",
    "committee_short": "委员未配齐",
    "open_vacancies": "有空缺职位",
}

_kind_label = label_of(KINDS)
_sector_label = label_of(SECTORS)
_status_label = label_of(STATUSES)
_grade_label = label_of(GRADES)
_post_label = label_of(POSTS)
_method_label = label_of(FILL_METHODS)


def _id(**kw):
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kw)


def _name(**kw):
    return text(200, **kw)


# -- places ------------------------------------------------------------------------
class Place(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    level_label = fields.Function(lambda p: regions.LEVEL_LABELS[p["level"]])
    kind = fields.String()
    kind_label = fields.Function(lambda p: regions.KINDS[p["kind"]])
    parent_code = fields.String(allow_none=True)


class PlaceInput(Schema):
    code = PlaceCode(required=True)
    name = _name(required=True)


class ImportPlaces(Schema):
    request_id = request_id_field()
    places = fields.List(fields.Nested(PlaceInput), required=True,
                         validate=validate.Length(min=1, max=5000))


class PlacesImported(Schema):
    created = fields.Integer()
    renamed = fields.Integer()
    unchanged = fields.Integer()


class PlaceRef(RenamedParameters):
    place_code = PlaceCode(required=True)
    # Until 1.x every place parameter is place_code; these methods took `code`.
    RENAMED = {"code": "place_code"}
    code = renamed_to("place_code", PlaceCode)


class PlaceList(Schema):
    items = fields.List(fields.Nested(Place))


# -- organizations -------------------------------------------------------------------
class Problem(Schema):
    code = fields.String()
    label = fields.Function(lambda p: TEAM_PROBLEMS[p["code"]])


class Flag(Schema):
    code = fields.String()
    label = fields.Function(lambda f: FLAGS[f["code"]])


class Organization(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    kind_label = _kind_label("kind")
    sector = fields.String()
    sector_label = _sector_label("sector")
    place_code = fields.String()
    place_name = fields.String()
    parent_id = fields.Integer(allow_none=True)
    full_members = fields.Integer()
    probationary_members = fields.Integer()
    committee_size = fields.Integer()
    units = fields.List(fields.String())
    founded_on = fields.Date()
    elected_on = fields.Date()
    term_ends_on = fields.Date()
    status = fields.String()
    status_label = _status_label("status")
    status_changed_on = fields.Date(allow_none=True)
    status_reason = fields.String(allow_none=True)
    merged_into_id = fields.Integer(allow_none=True)
    baseline_grade = fields.String(allow_none=True)
    baseline_grade_label = _grade_label("baseline_grade")
    current_grade = fields.String(allow_none=True)
    current_grade_label = _grade_label("current_grade")
    flags = fields.List(fields.Nested(Flag))
    version = fields.Integer()
    updated_at = fields.AwareDateTime()


class OrganizationFields(Schema):
    """What a caller states about an organization (register; update takes a subset)."""

    name = _name(required=True)
    kind = Enum(KINDS, required=True)
    sector = Enum(SECTORS, required=True)
    place_code = PlaceCode(required=True)
    parent_id = _id(load_default=None, allow_none=True)
    full_members = fields.Integer(strict=True, required=True,
                                  validate=validate.Range(min=0, max=100_000),
                                  metadata={"description": "正式党员 (probationary members do not count)"})
    probationary_members = fields.Integer(strict=True, load_default=0,
                                          validate=validate.Range(min=0, max=100_000))
    committee_size = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=50),
                                    metadata={"description": "committee seats incl. the secretary; "
                                                             "0 = no committee, a secretary only"})
    units = fields.List(_name(), load_default=list,
                        metadata={"description": "units a joint branch (632) covers, 2–5"})
    founded_on = PastDate(required=True)
    elected_on = PastDate(load_default=None, allow_none=True,
                          metadata={"description": "start of the current term; default founded_on"})


class RegisterOrganization(OrganizationFields):
    request_id = request_id_field()


class UpdateOrganization(Schema):
    request_id = request_id_field()
    organization_id = _id(required=True)
    version = fields.Integer(strict=True, required=True,
                             metadata={"description": "the version you read; stale → Conflict"})
    name = _name()
    kind = Enum(KINDS)
    sector = Enum(SECTORS)
    place_code = PlaceCode()
    parent_id = _id(allow_none=True)
    full_members = fields.Integer(strict=True, validate=validate.Range(min=0, max=100_000))
    probationary_members = fields.Integer(strict=True, validate=validate.Range(min=0, max=100_000))
    committee_size = fields.Integer(strict=True, validate=validate.Range(min=0, max=50))
    units = fields.List(_name())
    elected_on = PastDate(metadata={"description": "a re-election starts a new term"})


class DissolveOrganization(Schema):
    request_id = request_id_field()
    organization_id = _id(required=True)
    version = fields.Integer(strict=True, required=True)
    effective_on = PastDate(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class MergeOrganization(DissolveOrganization):
    into_organization_id = _id(required=True)


class OrganizationRef(Schema):
    organization_id = _id(required=True)


NAME_SEARCH_MAX = 50  # list_organizations' `name`: a substring of a name


class ListOrganizations(Schema):
    place_code = PlaceCode(required=True, metadata={"description": "the subtree to list"})
    kind = Enum(KINDS, load_default=None)
    sector = Enum(SECTORS, load_default=None)
    status = Enum(STATUSES, load_default="active")
    grade = Enum(GRADES, load_default=None, metadata={"description": "current grade"})
    name = text(NAME_SEARCH_MAX, load_default=None, metadata={"description": (
        "only those whose name contains this text, compared as names are (after Unicode "
        "NFKC, white space and invisible format characters ignored: （一） finds (一)); "
        "% and _ are plain characters, not wildcards")})
    limit, after = page_fields().values()


class OrganizationPage(Schema):
    items = fields.List(fields.Nested(Organization))
    next_cursor = fields.String(allow_none=True)


class ReelectionDue(Schema):
    place_code = PlaceCode(required=True)
    within_days = fields.Integer(strict=True, load_default=None, allow_none=True,
                                 validate=validate.Range(min=0, max=3650),
                                 metadata={"description": "default: the configured reminder window"})
    limit, after = page_fields(default=200, maximum=1000, shape=(dt.date, int)).values()


class ReelectionItem(Schema):
    organization_id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    kind_label = _kind_label("kind")
    place_code = fields.String()
    place_name = fields.String()
    elected_on = fields.Date()
    term_ends_on = fields.Date()
    overdue = StrictBoolean()
    days_left = fields.Integer()


class ReelectionReport(Schema):
    place_code = fields.String()
    as_of = fields.Date()
    within_days = fields.Integer()
    rules = fields.Dict()
    items = fields.List(fields.Nested(ReelectionItem))
    next_cursor = fields.String(allow_none=True)


# -- leadership -------------------------------------------------------------------
class Leader(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    post = fields.String()
    post_label = _post_label("post")
    name = fields.String()
    sex = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    from_unit = fields.String(allow_none=True)
    method = fields.String()
    method_label = _method_label("method")
    started_on = fields.Date()
    ended_on = fields.Date(allow_none=True)
    end_reason = fields.String(allow_none=True)
    end_reason_label = label_of(LEAVE_REASONS)("end_reason")


class Vacancy(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    post = fields.String()
    post_label = _post_label("post")
    reason = fields.String()
    reason_label = fields.Function(
        lambda v: LEAVE_REASONS.get(v["reason"]) or {"unfilled": "未配齐"}.get(v["reason"]))
    opened_on = fields.Date(metadata={"description": (
        "a registered organization's seats: its `founded_on`; a post left: the day its holder "
        "left; a committee grown: the day of the change")})
    status = fields.String()
    status_label = label_of(VACANCY_STATUSES)("status")
    filled_on = fields.Date(allow_none=True)
    fill_method = fields.String(allow_none=True)
    fill_method_label = _method_label("fill_method")
    filled_by_leader_id = fields.Integer(allow_none=True)


class Leadership(Schema):
    organization_id = fields.Integer()
    committee_size = fields.Integer()
    complete = StrictBoolean()
    problems = fields.List(fields.Nested(lambda: Problem()))
    leaders = fields.List(fields.Nested(Leader), metadata={"description": "in post now"})
    open_vacancies = fields.List(fields.Nested(Vacancy))
    filled_vacancies = fields.List(fields.Nested(Vacancy),
                                   metadata={"description": "how each vacancy was filled"})
    former_leaders = fields.List(fields.Nested(Leader))


class AppointLeader(Schema):
    request_id = request_id_field()
    organization_id = _id(required=True)
    post = Enum(POSTS, required=True)
    name = _name(required=True)
    sex = Enum(SEXES, load_default=None, allow_none=True)
    birth_date = PastDate(load_default=None, allow_none=True)
    from_unit = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(max=200),
                              metadata={"description": "sending unit: required for a dispatched "
                                                       "first secretary or a cross-unit appointment"})
    method = Enum(FILL_METHODS, required=True)
    started_on = PastDate(required=True, metadata={"description": (
        "not before the vacancy it fills opened (that vacancy's `opened_on`; a new "
        "organization's seats open on its `founded_on`): an earlier day is a ValidationError "
        "on `started_on` naming both days")})
    vacancy_id = _id(load_default=None, allow_none=True,
                     metadata={"description": "the vacancy this fills; default the oldest of the "
                                              "post open by `started_on`, else the oldest the "
                                              "post can fill open by then"})


class EndLeader(Schema):
    request_id = request_id_field()
    leader_id = _id(required=True)
    ended_on = PastDate(required=True)
    reason = Enum(LEAVE_REASONS, required=True)


class TeamReport(Schema):
    place_code = PlaceCode(required=True)
    limit, after = page_fields(default=200, maximum=1000).values()


class IncompleteTeam(Schema):
    organization_id = fields.Integer()
    name = fields.String()
    place_code = fields.String()
    place_name = fields.String()
    problems = fields.List(fields.Nested(lambda: Problem()))
    open_vacancies = fields.Integer()


class ChildCount(Schema):
    place_code = fields.String()
    place_name = fields.String()
    organizations = fields.Integer()
    incomplete = fields.Integer()


class IncompleteTeamsReport(Schema):
    place_code = fields.String()
    organizations = fields.Integer()
    incomplete = fields.Integer()
    by_child_place = fields.List(fields.Nested(ChildCount))
    items = fields.List(fields.Nested(IncompleteTeam))
    next_cursor = fields.String(allow_none=True)


# -- township organizers (S§32) ----------------------------------------------------
class Organizer(Schema):
    id = fields.Integer()
    place_code = fields.String()
    place_name = fields.String()
    name = fields.String()
    sex = fields.String(allow_none=True)
    appointed_on = fields.Date()
    ended_on = fields.Date(allow_none=True)


class AppointOrganizer(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True, levels=("township",),
                           metadata={"description": "a township (乡镇/街道)"})
    name = _name(required=True)
    sex = Enum(SEXES, load_default=None, allow_none=True)
    appointed_on = PastDate(required=True)


class EndOrganizer(Schema):
    request_id = request_id_field()
    organizer_id = _id(required=True)
    ended_on = PastDate(required=True)


class OrganizerList(Schema):
    items = fields.List(fields.Nested(Organizer))


class TownshipShort(Schema):
    place_code = fields.String()
    place_name = fields.String()
    kind = fields.String()
    kind_label = fields.Function(lambda t: regions.KINDS[t["kind"]])
    organizers = fields.Integer()


class TownshipsWithoutOrganizer(Schema):
    place_code = fields.String()
    rules = fields.Dict()
    townships = fields.Integer()
    short = fields.Integer()
    items = fields.List(fields.Nested(TownshipShort))


# -- audit ---------------------------------------------------------------------------
class AuditQuery(Schema):
    entity_type = fields.String(required=True, validate=validate.OneOf(
        ["organization", "place", "leader", "organizer", "rectification_case"]))
    entity_id = fields.String(required=True, validate=Pattern(r"^[0-9]{1,18}$"), metadata={
        "description": "the record's id; a place's code"})


class AuditEntry(Schema):
    occurred_at = fields.AwareDateTime()
    subject = fields.String()
    department = fields.String()
    system = fields.String()
    request_id = fields.String(allow_none=True)
    operation = fields.String()
    changes = fields.Dict()


class AuditTrail(Schema):
    items = fields.List(fields.Nested(AuditEntry))


# -- events ------------------------------------------------------------------------
class OrganizationSnapshot(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    sector = fields.String(required=True)
    place_code = fields.String(required=True)
    parent_id = fields.Integer(allow_none=True)
    full_members = fields.Integer(required=True)
    committee_size = fields.Integer(required=True)
    status = fields.String(required=True)
    term_ends_on = fields.Date(required=True)
    version = fields.Integer(required=True)
    external_ref = fields.String(load_default=None, allow_none=True, metadata={
        "description": "set when another service asked for it (npe:<establishment id>)"})


class OrganizationRegistered(Schema):
    organization = fields.Nested(OrganizationSnapshot, required=True)


class OrganizationUpdated(Schema):
    organization = fields.Nested(OrganizationSnapshot, required=True)
    changes = fields.Dict(required=True, metadata={"description": "field → {old, new}"})


class OrganizationStatusChanged(Schema):
    organization = fields.Nested(OrganizationSnapshot, required=True)
    old_status = fields.String(required=True)
    new_status = fields.String(required=True)
    effective_on = fields.Date(required=True)
    reason = fields.String(required=True)
    merged_into_id = fields.Integer(allow_none=True)


class PlaceData(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True)
    parent_code = fields.String(allow_none=True)


class ImportedPlaces(Schema):
    places = fields.List(fields.Nested(PlaceData), required=True,
                         metadata={"description": "the places created or renamed"})


class RequestRefused(Schema):
    """Another service asked the registry for something it cannot do (its rules)."""

    external_ref = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class CadrePlacementApplied(Schema):
    external_ref = fields.String(required=True, metadata={"description": "cadres:<placement id>"})
    organization_id = fields.Integer(required=True)
    leader_id = fields.Integer(required=True)
    filled_vacancy_id = fields.Integer(required=True, allow_none=True)


class PublishSnapshot(Schema):
    request_id = request_id_field()
    place_code = PlaceCode(required=True, metadata={"description": "the subtree to publish"})


class SnapshotPublished(Schema):
    places = fields.Integer()
    organizations = fields.Integer()
    events = fields.Integer()


class OrganizationsSnapshot(Schema):
    organizations = fields.List(fields.Nested(OrganizationSnapshot), required=True)



# -- registration --------------------------------------------------------------------
READ, WRITE, PLACES = "organizations.read", "organizations.write", "places.admin"

rpc_method(SERVICE, "import_places", params=ImportPlaces, result=PlacesImported,
           role=PLACES, mutating=True,
           summary="Create or rename places (up to 5 000 a call); parents first or already known.")
rpc_method(SERVICE, "get_place", params=PlaceRef, result=Place,
           role=READ, mutating=False, summary="One place.")
rpc_method(SERVICE, "list_children", params=PlaceRef, result=PlaceList,
           role=READ, mutating=False, summary="The places directly under a place.")
rpc_method(SERVICE, "place_path", params=PlaceRef, result=PlaceList,
           role=READ, mutating=False, summary="The place and its ancestors, province first.")
rpc_method(SERVICE, "register_organization", params=RegisterOrganization, result=Organization,
           role=WRITE, mutating=True,
           summary="Register a party organization; every party rule of domain.md §1 is enforced.\n"
                   "A name is taken once among the active organizations of a place (compared "
                   "after Unicode NFKC, white space ignored: （一） and (一) are one name): a second "
                   "is a Conflict whose details name the `existing_organization_id`; an import "
                   "reports such rows. A rename or move onto a taken name is refused the same way.\n"
                   "Every seat opens a vacancy, open since `founded_on` (see appoint_leader).")
rpc_method(SERVICE, "update_organization", params=UpdateOrganization, result=Organization,
           role=WRITE, mutating=True,
           summary="Change an organization; state the version you read (stale → Conflict).\n"
                   "Only the parameters given change; those left out keep their values (null is "
                   "not \"leave it\": give a parameter only to change it). A change of "
                   "`elected_on` starts a new term; a committee grown or shrunk opens or cancels "
                   "vacancies.")
rpc_method(SERVICE, "dissolve_organization", params=DissolveOrganization, result=Organization,
           role=WRITE, mutating=True,
           summary="Dissolve (撤销) an organization without active child organizations.")
rpc_method(SERVICE, "merge_organization", params=MergeOrganization, result=Organization,
           role=WRITE, mutating=True,
           summary="Merge an organization into another; its members move to the target. Returns "
                   "the target.")
rpc_method(SERVICE, "get_organization", params=OrganizationRef, result=Organization,
           role=READ, mutating=False, summary="One organization.")
rpc_method(SERVICE, "list_organizations", params=ListOrganizations, result=OrganizationPage,
           role=READ, mutating=False,
           summary="Organizations in a place's subtree, filtered, in keyset pages.\n"
                   "`name` finds those whose name contains a text (a search box: 1–50 "
                   "characters, e.g. 城关 or 党支部), the other filters and the subtree still "
                   "applying; a text that is only white space after NFKC is a ValidationError "
                   "on `name`.")
rpc_method(SERVICE, "reelection_due", params=ReelectionDue, result=ReelectionReport,
           role=READ, mutating=False,
           summary="Re-election (换届) reminder list: terms ending within the window, or overdue.")
rpc_method(SERVICE, "get_leadership", params=OrganizationRef, result=Leadership,
           role=READ, mutating=False,
           summary="Secretary, committee, first secretaries, vacancies and how each was filled.")
rpc_method(SERVICE, "appoint_leader", params=AppointLeader, result=Leadership,
           role=WRITE, mutating=True,
           summary="Put a person in a post, filling a vacancy; a first secretary takes no "
                   "committee seat.\n"
                   "A post does not start before the vacancy it fills opened, so a vacancy's "
                   "`filled_on` (the leader's `started_on`) is never before its `opened_on`: a "
                   "`started_on` before it is a ValidationError on `started_on` naming both "
                   "days. A registration opens the new organization's seats on its "
                   "`founded_on`, so the leaders already in post are entered with the days "
                   "they started, from the founding on.")
rpc_method(SERVICE, "end_leader", params=EndLeader, result=Leadership,
           role=WRITE, mutating=True,
           summary="A leader leaves the post; a committee post left opens a vacancy.")
rpc_method(SERVICE, "incomplete_teams", params=TeamReport, result=IncompleteTeamsReport,
           role=READ, mutating=False,
           summary="Organizations whose team is incomplete (班子不健全), by child place.")
rpc_method(SERVICE, "appoint_organizer", params=AppointOrganizer, result=Organizer,
           role=WRITE, mutating=True, summary="Appoint a township organizer (组织员).")
rpc_method(SERVICE, "end_organizer", params=EndOrganizer, result=Organizer,
           role=WRITE, mutating=True, summary="An organizer leaves.")
rpc_method(SERVICE, "list_organizers", params=PlaceRef, result=OrganizerList,
           role=READ, mutating=False, summary="Organizers in post in a subtree.")
rpc_method(SERVICE, "townships_without_organizer", params=PlaceRef,
           result=TownshipsWithoutOrganizer, role=READ, mutating=False,
           summary="Townships with fewer organizers than the rule asks.")
rpc_method(SERVICE, "audit_trail", params=AuditQuery, result=AuditTrail,
           role="audit.read", mutating=False,
           summary="Every recorded change of one entity: who, when, from which system, what "
                   "changed.")

rpc_method(SERVICE, "publish_snapshot", params=PublishSnapshot, result=SnapshotPublished,
           role=PLACES, mutating=True,
           summary="Publish every place and organization of a subtree again (places_imported, "
                   "organizations_snapshot), for a service that starts after they were made.")

event(SERVICE, "places_imported", data=ImportedPlaces,
      summary="Places were created or renamed (other services keep the names they report with).")
event(SERVICE, "enterprise_org_refused", data=RequestRefused,
      summary="The registry could not register an organization npe asked for: why.")
event(SERVICE, "cadre_placement_applied", data=CadrePlacementApplied,
      summary="A cadres placement put the person in post (and filled the vacancy, if one was open).")
event(SERVICE, "cadre_placement_refused", data=RequestRefused,
      summary="A cadres placement could not be applied (no room in the post, organization "
              "dissolved, ...): why.")
event(SERVICE, "organizations_snapshot", data=OrganizationsSnapshot,
      summary="Organizations as they are now, in batches: publish_snapshot's answer to a "
              "newcomer. Apply each only if its version is newer than the one held.")
event(SERVICE, "organization_registered", data=OrganizationRegistered,
      summary="A party organization was registered.")
event(SERVICE, "organization_updated", data=OrganizationUpdated,
      summary="An organization's details changed (members, committee, term, place, ...).")
event(SERVICE, "organization_status_changed", data=OrganizationStatusChanged,
      summary="An organization was merged or dissolved.")

# Bulk import (start_import/get_import): rows of register_organization's params.
IMPORT_KINDS = {"organizations": "党组织"}
imports.register(SERVICE, IMPORT_KINDS, read=READ, write=WRITE,
                 values="A row's values: register_organization's params.")

# -- state machines ------------------------------------------------------------------
_W = "organizations.write, the organization in the caller's jurisdiction"
state_machine(
    SERVICE, "organization", field="Organization.status", statuses=STATUSES, transitions=[
        (NEW, "register_organization", "active", "organizations.write, its place in the "
         "caller's jurisdiction", "also a row of start_import (organizations)"),
        (NEW, "event npe.enterprise_org_established", "active",
         "the system, at npe's request", "or enterprise_org_refused, with why"),
        ("active", "dissolve_organization", "dissolved", _W,
         "no active child organizations; its leaders leave, its vacancies are cancelled"),
        ("active", "merge_organization", "merged", _W + " (and the target)",
         "into an active organization, which takes its members; its leaders leave, its "
         "vacancies are cancelled"),
    ],
    notes="merged and dissolved are final (organization_status_changed). update_organization "
          "changes an active organization's details, not its status.")
state_machine(
    SERVICE, "vacancy", field="Vacancy.status", statuses=VACANCY_STATUSES, transitions=[
        (NEW, "register_organization", "open", "as the organization", "each committee seat "
         "(reason unfilled)"),
        (NEW, "update_organization", "open", _W, "the committee grew"),
        (NEW, "end_leader", "open", _W, "a committee post left (reason: the leaving reason)"),
        ("open", "appoint_leader", "filled", _W, "the vacancy named, or the oldest open one of "
         "the post"),
        ("open", "event cadres.cadre_placed", "filled", "the system, on a cadres placement",
         "cadre_placement_applied answers"),
        ("open", "update_organization", "cancelled", _W, "the committee shrank: the newest "
         "open vacancies other than the secretary's"),
        ("open", "dissolve_organization", "cancelled", _W, "every open one"),
        ("open", "merge_organization", "cancelled", _W, "every open one of the merged one"),
    ])

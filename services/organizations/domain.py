"""The party rules of grassroots organizations and their leadership (docs/domain.md §1).

Pure: no I/O. The store loads and saves these objects; the service wires them to RPC.
A rule broken by a caller's input raises ValidationError with per-field messages; a
state the rules dislike but that can arise by itself (members grew past 50, a term ran
out) is a flag, not an error. Operations record what happened as events on the
organization (`Organization.events`); the store writes them to the outbox with the
organization's snapshot, in the same commit as the change.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from shared.contracts.organizations import KINDS, SECTORS
from shared.domain.dates import not_before
from shared.domain.events import Event
from shared.errors import Conflict, JinweiError, ValidationError
from shared.national import regions

BRANCHES = ("631", "632")  # 党支部, 联合党支部
COMMITTEE_POSTS = ("secretary", "deputy_secretary", "committee_member")


@dataclass(frozen=True)
class Rules:
    """This province's choices (domain.md §9): configuration with these defaults."""

    # 党章: an organization needs at least 3 full members; probationary ones do not count.
    min_full_members: int = 3
    # A joint branch (联合党支部) covers at least 2 and at most 5 units.
    joint_branch_units: tuple[int, int] = (2, 5)
    # 支部工作条例: 7+ full members → a branch committee of 3–5, at most 7.
    committee_from_full_members: int = 7
    # Committee seats allowed per kind (incl. the secretary); branches only from 7 members.
    # 611/621 per 《基层组织选举工作条例》: 党委 5–9 (≤11), 总支 5–7 (≤9).
    committee_size: dict = field(default_factory=lambda: {
        "611": (5, 11), "621": (5, 9), "631": (3, 7), "632": (3, 7)})
    flag_members_over: int = 50
    # Committees serve 5 years in villages and communities, 3 elsewhere.
    term_years_by_sector: dict = field(default_factory=lambda: {
        "rural_village": 5, "urban_community": 5})
    default_term_years: int = 3
    reelection_window_days: int = 180
    # S§32: every township has at least one organizer (组织员).
    organizers_per_township: int = 1
    organizer_township_kinds: tuple[str, ...] = ("sub_district", "town", "township")
    # S§46: every branch builds at least one practical organizational system (组织制度).
    systems_per_branch: int = 1
    system_branch_kinds: tuple[str, ...] = ("631", "632")

    @classmethod
    def from_config(cls, values: dict | None) -> Rules:
        values = dict(values or {})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown organizations rules: {', '.join(sorted(unknown))}")
        for name in ("joint_branch_units", "organizer_township_kinds", "system_branch_kinds"):
            if name in values:
                values[name] = tuple(values[name])
        if "committee_size" in values:
            values["committee_size"] = {k: tuple(v) for k, v in values["committee_size"].items()}
        return cls(**values)

    def as_report(self, *names: str) -> dict:
        """The rule values a report used, so its reader knows them."""
        values = asdict(self)
        return {name: values[name] for name in names}

    def term_years(self, sector: str) -> int:
        return self.term_years_by_sector.get(sector, self.default_term_years)


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass
class Organization:
    name: str
    kind: str
    sector: str
    place_code: str
    full_members: int
    founded_on: dt.date
    elected_on: dt.date
    term_ends_on: dt.date | None = None
    parent_id: int | None = None
    probationary_members: int = 0
    committee_size: int = 0
    units: list[str] = field(default_factory=list)
    status: str = "active"
    status_changed_on: dt.date | None = None
    status_reason: str | None = None
    merged_into_id: int | None = None
    baseline_grade: str | None = None
    current_grade: str | None = None
    external_ref: str | None = None  # "npe:42": made at another service's request
    # Registered twice under one name before names were unique (migration 0007): kept
    # out of the rule until renamed or moved (`update` clears it), flagged meanwhile.
    name_clash: bool = False
    id: int | None = None
    version: int = 0
    place_name: str | None = None
    updated_at: dt.datetime | None = None
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    # Fields a caller may change through update_organization.
    EDITABLE = ("name", "kind", "sector", "place_code", "parent_id", "full_members",
                "probationary_members", "committee_size", "units", "elected_on")

    def snapshot(self) -> dict:
        return {
            "id": self.id, "name": self.name, "kind": self.kind, "sector": self.sector,
            "place_code": self.place_code, "parent_id": self.parent_id,
            "full_members": self.full_members, "committee_size": self.committee_size,
            "status": self.status, "term_ends_on": self.term_ends_on, "version": self.version,
            "external_ref": self.external_ref,
        }

    @property
    def stored_id(self) -> int:
        """The id of an organization the store has read or inserted (`id` is None only
        before that): for the statements that name it."""
        assert self.id is not None, "an organization not stored yet"
        return self.id

    @property
    def active(self) -> bool:
        return self.status == "active"

    def flags(self, rules: Rules, today: dt.date) -> list[dict]:
        found = []
        if self.kind in BRANCHES and self.full_members > rules.flag_members_over:
            found.append("over_50_members")
        if (self.kind in BRANCHES and self.committee_size == 0
                and self.full_members >= rules.committee_from_full_members):
            found.append("committee_required")
        if self.active and self.term_ends_on is not None:
            if self.term_ends_on < today:
                found.append("reelection_overdue")
            elif (self.term_ends_on - today).days <= rules.reelection_window_days:
                found.append("reelection_due")
        if self.active and self.name_clash:
            found.append("name_clash")
        return [{"code": code} for code in found]

    def required_seats(self) -> int:
        """Committee seats to fill, the secretary's included; a secretary alone without a committee."""
        return self.committee_size or 1


def _require_active(org: Organization, what: str = "organization") -> None:
    if not org.active:
        raise Conflict(f"{what} {org.id} is {org.status}, not active (组织已{_STATUS_WORD[org.status]})",
                       {"organization_id": org.id, "status": org.status})


_STATUS_WORD = {"merged": "合并", "dissolved": "撤销", "active": "正常"}


def check_rules(org: Organization, rules: Rules) -> None:
    """Every party rule on the organization's own fields; all broken ones at once."""
    errors: dict[str, list[str]] = {}

    def broken(field_name: str, message: str) -> None:
        errors.setdefault(field_name, []).append(message)

    if org.kind not in KINDS:
        broken("kind", f"must be one of {', '.join(KINDS)}")
    if org.sector not in SECTORS:
        broken("sector", f"must be one of {', '.join(SECTORS)}")
    if org.full_members < rules.min_full_members:
        broken("full_members",
               f"a party organization needs at least {rules.min_full_members} full members; "
               f"with fewer, units join a joint branch (正式党员不少于{rules.min_full_members}人，"
               "不足的应成立联合党支部)")
    lo, hi = rules.joint_branch_units
    if org.kind == "632":
        if not lo <= len(org.units) <= hi:
            broken("units", f"a joint branch covers {lo} to {hi} units, not {len(org.units)} "
                            f"(联合党支部覆盖单位{lo}至{hi}个)")
        if len(set(org.units)) != len(org.units):
            broken("units", "each unit is listed once (单位不能重复)")
    elif org.units:
        broken("units", "only a joint branch (632) lists the units it covers")
    _check_committee(org, rules, broken)
    if org.elected_on < org.founded_on:
        broken("elected_on", "a term cannot start before the organization was founded "
                             "(换届日期不能早于成立日期)")
    if errors:
        raise ValidationError("the organization breaks party rules (不符合党内规定)", errors)


def _check_committee(org: Organization, rules: Rules,
                     broken: Callable[[str, str], None]) -> None:
    size = org.committee_size
    lo, hi = rules.committee_size.get(org.kind, (0, 0))
    needs = rules.committee_from_full_members
    if org.kind in BRANCHES and org.full_members < needs:
        if size:
            broken("committee_size",
                   f"a branch with fewer than {needs} full members has no committee, only a "
                   f"secretary: committee_size must be 0 (正式党员不足{needs}人的党支部不设支委会)")
        return
    if org.kind in BRANCHES and size == 0:
        broken("committee_size",
               f"a branch with {needs} or more full members needs a committee of {lo}–{hi} "
               f"(正式党员{needs}人以上的党支部应设立支部委员会，由{lo}至{hi}人组成)")
        return
    if not lo <= size <= hi:
        broken("committee_size", f"a {KINDS.get(org.kind, org.kind)} committee has {lo} to {hi} "
                                 f"members, not {size} (委员会{lo}至{hi}人)")
    if size > org.full_members:
        broken("committee_size", "a committee cannot have more members than the organization "
                                 "has full members (委员人数不能超过正式党员人数)")


def require_version(org: Organization, read_version: int) -> None:
    """The caller changes the organization as it read it (optimistic locking)."""
    if org.version != read_version:
        raise Conflict(
            f"organization {org.id} is at version {org.version}, you read {read_version}; "
            "read it again (数据已被他人修改，请刷新后重试)",
            {"organization_id": org.id, "current_version": org.version,
             "your_version": read_version})


def check_parent(org: Organization, parent: Organization | None, ancestors_of_parent: list[int]) -> None:
    """The organization's place in the party hierarchy."""
    if parent is None:
        return
    problems = []
    if not parent.active:
        problems.append(f"parent organization {parent.id} is {parent.status}")
    if parent.kind not in ("611", "621"):
        problems.append("only a committee (611) or a general branch (621) has organizations "
                        "under it (只有党委、党总支可下设党组织)")
    elif parent.kind == "621" and org.kind not in BRANCHES:
        problems.append("a general branch (621) has only branches under it (党总支下设党支部)")
    if not regions.in_subtree(org.place_code, parent.place_code):
        problems.append(f"place {org.place_code} is outside the parent's place {parent.place_code}")
    if org.id is not None and (org.id == parent.id or org.id in ancestors_of_parent):
        problems.append("an organization cannot be under itself")
    if problems:
        raise ValidationError("the parent organization does not fit (上级党组织不符)",
                              {"parent_id": problems})


def name_key(name: str) -> str:
    """What two names must share to be one name: Unicode NFKC (full-width brackets and
    letters as half-width ones), white space dropped. Among the active organizations of
    one place a name is taken once (S§15's registry lists each organization once);
    store.NAME_KEY is the same in SQL, for the unique index of migration 0007."""
    return _NOT_IN_A_NAME.sub("", unicodedata.normalize("NFKC", name))


def name_search(text: str | None) -> str | None:
    """list_organizations' `name` as the name_key of the names it is looked for in
    (NFKC, white space dropped: "（一）" finds "(一)", "党 支部" finds "党支部"); None for
    no such filter. A text with nothing left is no search."""
    if text is None:
        return None
    key = name_key(text)
    if not key:
        raise ValidationError("a name to search for has no characters to look for "
                              "(请输入要查找的名称)", {"name": ["nothing to look for"]})
    return key


# White space and invisible format characters (soft hyphen, zero-width space and joiners,
# word joiner, BOM) after NFKC (which makes U+3000 and the other spaces U+0020): listed,
# the same in store.NAME_KEY, since \s differs between Python and the server's locale.
_NOT_IN_A_NAME = re.compile("[\t\n\v\f\r \u00ad\u200b\u200c\u200d\u2060\ufeff]+")


def register(values: dict, rules: Rules) -> Organization:
    elected_on = values.get("elected_on") or values["founded_on"]
    org = Organization(
        name=values["name"].strip(), kind=values["kind"], sector=values["sector"],
        place_code=values["place_code"], parent_id=values.get("parent_id"),
        full_members=values["full_members"],
        probationary_members=values.get("probationary_members", 0),
        committee_size=values.get("committee_size", 0),
        units=[u.strip() for u in values.get("units") or []],
        founded_on=values["founded_on"], elected_on=elected_on,
        external_ref=values.get("external_ref"),
    )
    org.term_ends_on = add_years(elected_on, rules.term_years(org.sector))
    check_rules(org, rules)
    org.events.append(Event("organization_registered"))
    return org


def enterprise_org_refused(external_ref: str, refusal: JinweiError) -> Event:
    """npe's request to register an enterprise's organization (enterprise_org_established)
    cannot be met: no retry would change the answer, so npe is told why."""
    return Event("enterprise_org_refused", {
        "external_ref": external_ref, "message": refusal.message, "details": refusal.details})


def update(org: Organization, changes: Mapping[str, Any],
           rules: Rules) -> tuple[Organization, dict]:
    """The organization after `changes` (their editable fields; others, such as the id
    and version an update names, are not changes), and the diff {field: {old, new}}."""
    _require_active(org)
    edits = {k: v for k, v in changes.items() if k in Organization.EDITABLE}
    if "name" in edits:
        edits["name"] = edits["name"].strip()
    new = replace(org, **edits, events=[])
    if new.name != org.name or new.place_code != org.place_code:
        new.name_clash = False  # renamed or moved: the name is unique from here on
    if {"elected_on", "sector"} & edits.keys():
        new.term_ends_on = add_years(new.elected_on, rules.term_years(new.sector))
    check_rules(new, rules)
    diff = _diff(org, new)
    if diff:
        new.version = org.version + 1
        new.events.append(Event("organization_updated", {"changes": diff}))
    return new, diff


def _diff(old: Organization, new: Organization) -> dict:
    diff = {}
    for name in (*Organization.EDITABLE, "term_ends_on", "status", "status_changed_on",
                 "status_reason", "merged_into_id"):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            diff[name] = {"old": before, "new": after}
    return diff


def check_children(org: Organization, children: list[Organization], changed: str) -> None:
    """After a change of `changed` (kind or place_code), the organizations under it must
    still fit under it."""
    problems = []
    for child in children:
        try:
            check_parent(child, org, [])
        except ValidationError as exc:
            problems += [f"organization {child.id} ({child.name}): {p}"
                         for p in exc.details["parent_id"]]
    if problems:
        raise ValidationError("the organizations under it would no longer fit (下级党组织不符)",
                              {changed: problems})


def _check_can_close(org: Organization, active_children: int) -> None:
    _require_active(org)
    if active_children:
        raise Conflict(f"organization {org.id} still has {active_children} active organizations "
                       "under it: merge, move or dissolve them first (请先处理下级党组织)",
                       {"active_children": active_children})


def dissolve(org: Organization, effective_on: dt.date, reason: str,
             active_children: int) -> tuple[Organization, dict]:
    _check_can_close(org, active_children)
    new = replace(org, status="dissolved", status_changed_on=effective_on,
                  status_reason=reason, version=org.version + 1, events=[])
    new.events.append(_status_changed(org, new))
    return new, _diff(org, new)


def _status_changed(old: Organization, new: Organization) -> Event:
    return Event("organization_status_changed", {
        "old_status": old.status, "new_status": new.status,
        "effective_on": new.status_changed_on, "reason": new.status_reason,
        "merged_into_id": new.merged_into_id,
    })


def merge(source: Organization, target: Organization, effective_on: dt.date, reason: str,
          active_children: int) -> tuple[Organization, Organization]:
    """The source is merged into the target, whose members it joins."""
    if source.id == target.id:
        raise ValidationError("an organization cannot merge into itself",
                              {"into_organization_id": ["must differ from organization_id"]})
    _require_active(target, "target organization")
    _check_can_close(source, active_children)
    merged = replace(source, status="merged", status_changed_on=effective_on,
                     status_reason=reason, merged_into_id=target.id,
                     version=source.version + 1, events=[])
    merged.events.append(_status_changed(source, merged))
    grown = replace(target, full_members=target.full_members + source.full_members,
                    probationary_members=target.probationary_members + source.probationary_members,
                    version=target.version + 1, events=[])
    grown.events.append(Event("organization_updated", {"changes": _diff(target, grown)}))
    return merged, grown


# -- leadership ---------------------------------------------------------------------
def team_problems(committee_size: int, in_post: list[str], open_vacancies: int) -> list[str]:
    """Why a team is incomplete (班子不健全); empty when it is complete.

    store.incomplete_teams applies the same rule in SQL to filter a whole subtree."""
    problems = []
    if "secretary" not in in_post:
        problems.append("no_secretary")
    committee = sum(1 for post in in_post if post in COMMITTEE_POSTS)
    if committee_size and committee < committee_size:
        problems.append("committee_short")
    if open_vacancies:
        problems.append("open_vacancies")
    return problems


def team_problems_of_row(row: dict) -> list[str]:
    """team_problems on a report row's counts (store.incomplete_teams)."""
    in_post = ["secretary"] * row["secretaries"]
    in_post += ["committee_member"] * (row["committee"] - row["secretaries"])
    return team_problems(row["committee_size"], in_post, row["open_vacancies"])


def check_appointment(org: Organization, post: str, method: str, from_unit: str | None,
                      in_post: list[str]) -> None:
    """Whether `post` has room for one more person; raises when it has not."""
    _require_active(org)
    errors = {}
    if post == "first_secretary":
        if method != "first_secretary":
            errors["method"] = ["a first secretary is dispatched: method must be first_secretary"]
        if not from_unit:
            errors["from_unit"] = ["a dispatched first secretary names the sending unit (派出单位)"]
    elif method == "first_secretary" and not from_unit:
        errors["from_unit"] = ["a post filled by a dispatched first secretary names the sending unit"]
    if method == "cross_unit" and not from_unit:
        errors["from_unit"] = ["a cross-unit appointment names the person's own unit (原单位)"]
    if errors:
        raise ValidationError("the appointment is incomplete", errors)
    if post == "first_secretary":
        return  # dispatched, in addition to the committee: takes no seat
    if post == "secretary" and "secretary" in in_post:
        raise Conflict("the organization already has a secretary; end that post first "
                       "(已有书记，请先免去原书记)", {"post": post})
    committee = sum(1 for p in in_post if p in COMMITTEE_POSTS)
    if org.committee_size == 0:
        # Without a committee: a secretary and, where needed, one deputy (支部工作条例).
        if post == "committee_member":
            raise ValidationError("an organization without a committee has no committee members",
                                  {"post": ["committee_member needs committee_size > 0"]})
        if post == "deputy_secretary" and "deputy_secretary" in in_post:
            raise Conflict("an organization without a committee has at most one deputy secretary",
                           {"post": post})
        return
    if committee >= org.committee_size:
        raise Conflict(f"all {org.committee_size} committee seats are filled (委员已满)",
                       {"post": post, "committee_size": org.committee_size})


def vacancy_to_fill(org: Organization, post: str, vacancy_id: int | None,
                    open_vacancies: list[dict], started_on: dt.date) -> dict | None:
    """The open vacancy an appointment to `post` starting on `started_on` fills: the one
    the caller named, else the first of that post, else the first the post can fill;
    none for a first secretary (dispatched, in addition to the committee).

    A post does not start before the vacancy it fills opened (the vacancy's filled_on is
    the leader's started_on): a named vacancy opened later is refused, and unnamed, only
    the vacancies open by then are chosen from; if the post can fill some but none was
    open by then, it is refused."""
    if post == "first_secretary":
        return None
    if vacancy_id is not None:
        chosen = next((v for v in open_vacancies if v["id"] == vacancy_id), None)
        if chosen is None or not vacancy_matches(chosen["post"], post):
            raise ValidationError("no such open vacancy for this post", {
                "vacancy_id": [f"vacancy {vacancy_id} is not an open "
                               f"{post} vacancy of organization {org.id}"]})
        _check_started_after_opening(chosen, started_on)
        return chosen
    fillable = [v for v in open_vacancies if vacancy_matches(v["post"], post)]
    open_then = [v for v in fillable if v["opened_on"] <= started_on]
    if fillable and not open_then:
        _check_started_after_opening(min(fillable, key=lambda v: v["opened_on"]), started_on)
    exact = [v for v in open_then if v["post"] == post]
    matching = exact or open_then
    return matching[0] if matching else None


def _check_started_after_opening(vacancy: dict, started_on: dt.date) -> None:
    not_before(started_on, vacancy["opened_on"], "started_on",
               "a post cannot start before the vacancy it fills opened",
               f"{started_on} is before vacancy {vacancy['id']} ({vacancy['post']}) opened on "
               f"{vacancy['opened_on']}")


def check_leader_leaving(leader: dict, ended_on: dt.date) -> None:
    """A leader leaves a post once, not before taking it."""
    if leader["ended_on"] is not None:
        raise Conflict(f"leader {leader['id']} already left on {leader['ended_on']}",
                       {"leader_id": leader["id"]})
    not_before(ended_on, leader["started_on"], "ended_on", "a post cannot end before it started",
               f"before started_on {leader['started_on']}")


def cadre_placement_applied(external_ref: str, organization_id: int, leader_id: int,
                            filled_vacancy_id: int | None) -> Event:
    """The cadres service's placement (cadre_placed) is a leader here now."""
    return Event("cadre_placement_applied", {
        "external_ref": external_ref, "organization_id": organization_id,
        "leader_id": leader_id, "filled_vacancy_id": filled_vacancy_id})


def cadre_placement_refused(external_ref: str, refusal: JinweiError) -> Event:
    """The cadres service's placement cannot be applied: no retry would change the
    answer, so cadres is told why."""
    return Event("cadre_placement_refused", {
        "external_ref": external_ref, "message": refusal.message, "details": refusal.details})


def initial_vacancies(org: Organization) -> tuple[list[str], dt.date]:
    """The vacancies a newly registered organization opens, and the day they open: every
    seat, open since its founding. A registration records an organization that may be
    years old; its leaders in post are then appointed with the days they started, which
    are not before the founding (vacancy_to_fill)."""
    return vacancy_posts_to_open(org, [], []), org.founded_on


def vacancy_posts_to_open(org: Organization, in_post: list[str], open_posts: list[str]) -> list[str]:
    """Vacancies to open so that people in post + open vacancies cover every seat."""
    missing = []
    if "secretary" not in in_post and "secretary" not in open_posts:
        missing.append("secretary")
    if org.committee_size:
        covered = (sum(1 for p in in_post if p in COMMITTEE_POSTS)
                   + sum(1 for p in open_posts if p in COMMITTEE_POSTS) + len(missing))
        missing += ["committee_member"] * max(0, org.committee_size - covered)
    return missing


def vacancies_after_leaving(org: Organization, left_post: str, in_post: list[str],
                            open_posts: list[str]) -> list[str]:
    """Vacancies to open when someone left `left_post`: the seat they held, if it is one."""
    wanted = vacancy_posts_to_open(org, in_post, open_posts)
    if left_post == "deputy_secretary" and "committee_member" in wanted:
        wanted[wanted.index("committee_member")] = "deputy_secretary"
    return wanted


def surplus_vacancies(org: Organization, in_post: list[str], open_posts: list[str]) -> int:
    """How many open non-secretary vacancies exceed the seats (after a committee shrank)."""
    if org.committee_size == 0:
        return sum(1 for p in open_posts if p != "secretary")
    committee = sum(1 for p in in_post if p in COMMITTEE_POSTS)
    return max(0, committee + len(open_posts) - org.committee_size)


def vacancy_matches(vacancy_post: str, post: str) -> bool:
    """A committee seat can be filled by a deputy or a member; the secretary's by a secretary."""
    if post == "secretary" or vacancy_post == "secretary":
        return post == vacancy_post
    return post in COMMITTEE_POSTS and vacancy_post in COMMITTEE_POSTS


# -- township organizers -------------------------------------------------------------
def check_organizer_place(place_code: str) -> None:
    if regions.level_of(place_code) != "township":
        raise ValidationError("organizers serve townships", {
            "place_code": ["must be a township (乡镇、街道): organizers serve townships"]})


def check_organizer_leaving(organizer: dict, ended_on: dt.date) -> None:
    """An organizer leaves once, not before being appointed."""
    if organizer["ended_on"] is not None:
        raise Conflict(f"organizer {organizer['id']} already left on {organizer['ended_on']}",
                       {"organizer_id": organizer["id"]})
    not_before(ended_on, organizer["appointed_on"], "ended_on",
               "cannot leave before being appointed",
               f"before appointed_on {organizer['appointed_on']}")


def organizer_coverage(townships: list[dict], rules: Rules) -> tuple[list[dict], list[dict]]:
    """The townships the rule covers (by kind), and those with fewer organizers than it asks."""
    covered = [t for t in townships if t["kind"] in rules.organizer_township_kinds]
    return covered, [t for t in covered if t["organizers"] < rules.organizers_per_township]

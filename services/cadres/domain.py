"""Cadres (docs/domain.md §1 leadership, §3.6, §5). Pure: no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from shared.contracts.cadres import (
    ASSESSMENT_RESULTS,
    CHIEF_POSTS,
    EDUCATION,
    POLITICAL_STATUS,
    RESERVE_STATUSES,
    SEXES,
    TWO_COMMITTEES,
)
from shared.contracts.typed import cadres as typed
from shared.domain.dates import not_before
from shared.domain.events import Event
from shared.errors import Conflict, ValidationError
from shared.national import identity_number, regions

# Best first: an assessment's rank orders the recommendation list and gates confirmation.
ASSESSMENT_RANK = {result: rank for rank, result in enumerate(ASSESSMENT_RESULTS)}
PARTY_KINDS = {"party_secretary": ("secretary",),
               "party_committee_member": ("deputy_secretary", "committee_member")}
# A village's or community's party organization (the two committees' party side).
VILLAGE_SECTORS = ("rural_village", "urban_community")


@dataclass(frozen=True)
class Rules:
    """This province's choices (domain.md §9): configuration with these defaults."""

    # 每个村2–3名后备干部 (S§10).
    reserve_min: int = 2
    reserve_max: int = 3
    # The kinds of place that keep reserve cadres (regions.kind_of): villages (村委会).
    reserve_place_kinds: tuple[str, ...] = ("village",)
    # A candidate becomes a reserve cadre after an assessment at least this good.
    reserve_min_assessment: str = "basically_competent"
    # The talent pool is of *excellent* college-graduate officials (S§19): assessed at
    # least this well.
    pool_min_assessment: str = "competent"

    @classmethod
    def from_config(cls, values: dict | None) -> Rules:
        values = dict(values or {})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown cadres rules: {', '.join(sorted(unknown))}")
        if "reserve_place_kinds" in values:
            values["reserve_place_kinds"] = tuple(values["reserve_place_kinds"])
        rules = cls(**values)
        if not 0 <= rules.reserve_min <= rules.reserve_max:
            raise ValueError("cadres rules: need 0 <= reserve_min <= reserve_max")
        for name in ("reserve_min_assessment", "pool_min_assessment"):
            if getattr(rules, name) not in ASSESSMENT_RANK:
                raise ValueError(f"{name} must be one of {list(ASSESSMENT_RANK)}")
        return rules

    def as_report(self) -> dict:
        values = asdict(self)
        return {"reserve_min": values["reserve_min"], "reserve_max": values["reserve_max"],
                "reserve_place_kinds": list(values["reserve_place_kinds"]),
                "reserve_min_assessment": values["reserve_min_assessment"]}


# -- people --------------------------------------------------------------------------------
def known_place(place_code: str, place_name: str | None) -> str:
    """The name of a place a record is kept at; one cadres has not heard of (places
    arrive from the organizations service) is refused."""
    if place_name is None:
        raise ValidationError("unknown place", {"place_code": [
            f"no place {place_code} known to cadres (places arrive from organizations)"]})
    return place_name


def check_on_the_ledger(person: dict) -> None:
    """A person to recommend, select or place is not withdrawn from the ledger."""
    if person["withdrawn_on"] is not None:
        raise Conflict(f"person {person['id']} was withdrawn from the ledger on "
                       f"{person['withdrawn_on']} (该人员已移出名册)",
                       {"person_id": person["id"]})


# An identity number is registered once within a jurisdiction: `holders` are the people
# with the number that the caller sees (the service keeps the others from it).
def check_unregistered(holders: list[dict]) -> None:
    """A number to register (or to change a person's to) is held by no one else."""
    if holders:
        raise _registered(holders)


def holder_to_reuse(holders: list[dict]) -> int | None:
    """An import's person: the one registered with the number, to be reused, or None
    (to be registered); two or more are for identity_clashes to resolve first."""
    if len(holders) > 1:
        raise _registered(holders)
    return holders[0]["id"] if holders else None


def check_registered_once(holders: list[dict]) -> None:
    """A person found by the number is the only one registered with it."""
    if len(holders) > 1:
        raise Conflict("this identity number is registered more than once in your "
                       "jurisdiction: see identity_clashes (该身份证号码在本辖区重复登记)",
                       {"person_ids": [p["id"] for p in holders],
                        "place_codes": [p["place_code"] for p in holders]})


def _registered(holders: list[dict]) -> Conflict:
    return Conflict("a person with this identity number is registered in your "
                    "jurisdiction already (该身份证号码已在本辖区登记)",
                    {"identity_number": "registered",
                     "person_ids": [p["id"] for p in holders]})


def check_agrees(number: str, person: dict) -> None:
    """After an update: sex and birth date still those the identity number carries."""
    errors: dict[str, list[str]] = {}
    if person["sex"] != identity_number.sex(number):
        errors["sex"] = ["does not agree with the identity number (性别与身份证号码不符)"]
    if person["birth_date"] != identity_number.birth_date(number):
        errors["birth_date"] = ["does not agree with the identity number (出生日期与身份证号码不符)"]
    if errors:
        raise ValidationError("the person would not agree with the identity number", errors)


def check_withdrawable(dependents: dict[str, list[int]]) -> None:
    """A person leaves the ledger once out of every open reserve recommendation and the
    talent pool: `dependents` are the ids of each kind the person still holds."""
    holding = {kind: ids for kind, ids in dependents.items() if ids}
    if holding:
        raise Conflict("end the person's open reserve recommendations and talent pool "
                       "membership first (请先退出后备干部和人才库)", holding)


# -- reserve cadres ------------------------------------------------------------------------
def quota_status(reserves: int, rules: Rules) -> str:
    if reserves < rules.reserve_min:
        return "short"
    return "over" if reserves > rules.reserve_max else "within"


def keeps_reserves(place_code: str, rules: Rules) -> bool:
    return (regions.level_of(place_code) == "village"
            and regions.kind_of(place_code) in rules.reserve_place_kinds)


def reserve_village_blocks(rules: Rules) -> list[tuple[int, int]]:
    """keeps_reserves for SQL: the last-block ranges of the codes of such villages."""
    return regions.village_blocks(rules.reserve_place_kinds)


def check_reserve_place(place_code: str, rules: Rules) -> None:
    if not keeps_reserves(place_code, rules):
        kinds = "、".join(regions.KINDS.get(k, k) for k in rules.reserve_place_kinds)
        raise ValidationError("reserve cadres are kept by villages", {"place_code": [
            f"{place_code} is not a place that keeps reserve cadres ({kinds})"]})


def best_assessment(results: list[str]) -> str | None:
    return min(results, key=ASSESSMENT_RANK.__getitem__) if results else None


def recommendation_order(reserve: dict) -> tuple:
    """Confirmed before candidates; college-graduate village officials first (S§10);
    then the best assessed, the earliest recommended."""
    best, unassessed = reserve.get("best_assessment"), len(ASSESSMENT_RANK)
    return (0 if reserve["status"] == "reserve" else 1,
            0 if reserve["college_graduate_official"] else 1,
            unassessed if best is None else ASSESSMENT_RANK.get(best, unassessed),
            reserve["recommended_on"], reserve["id"])


def reserve_shortfall_changed(place_code: str, reserves: int, previous_status: str,
                              rules: Rules) -> Event:
    """A village's confirmed reserves crossed its quota (its status is no longer
    `previous_status`)."""
    return Event("reserve_shortfall_changed", {
        "place_code": place_code, "reserves": reserves,
        "minimum": rules.reserve_min, "maximum": rules.reserve_max,
        "quota_status": quota_status(reserves, rules), "previous_status": previous_status})


def check_open(reserve: dict, action: str) -> None:
    if reserve["status"] not in ("candidate", "reserve"):
        raise Conflict(f"reserve {reserve['id']} is {reserve['status']}: it cannot be {action}",
                       {"status": reserve["status"]})


def check_assessment(reserve: dict, assessed_on: dt.date) -> None:
    check_open(reserve, "assessed")
    not_before(assessed_on, reserve["recommended_on"], "assessed_on",
               "assessed before recommended")


def good_enough(result: str | None, minimum: str) -> bool:
    return result is not None and ASSESSMENT_RANK[result] <= ASSESSMENT_RANK[minimum]


def check_confirmation(reserve: dict, assessments: list[dict], confirmed_on: dt.date,
                       rules: Rules) -> None:
    if reserve["status"] != "candidate":
        raise Conflict(f"reserve {reserve['id']} is {reserve['status']}, not a candidate",
                       {"status": reserve["status"]})
    passing = [a for a in assessments if good_enough(a["result"], rules.reserve_min_assessment)]
    if not passing:
        raise Conflict("a candidate is confirmed after an assessment at least "
                       f"{ASSESSMENT_RESULTS[rules.reserve_min_assessment]} (须经考察合格)",
                       {"best_assessment": best_assessment([a["result"] for a in assessments])})
    first_passed = min(a["assessed_on"] for a in passing)
    not_before(confirmed_on, first_passed, "confirmed_on",
               "confirmed before the assessment that allows it")


def check_withdrawal(reserve: dict, withdrawn_on: dt.date) -> None:
    check_open(reserve, "withdrawn")
    since = reserve["confirmed_on"] or reserve["recommended_on"]
    not_before(withdrawn_on, since, "withdrawn_on", "withdrawn before it began")


# -- placements and the talent pool --------------------------------------------------------
def placement(params: typed.RecordPlacementParams) -> dict:
    """The placement to record, checked: a party post names the organization and the post
    (the secretary's by default), the others name neither; the place is a village for the
    two committees, a township for its leadership."""
    kind, errors = params["kind"], {}
    values = dict(params)
    level = regions.level_of(params["place_code"])
    if kind in PARTY_KINDS:
        posts = PARTY_KINDS[kind]
        values["post"] = params["post"] or (posts[0] if len(posts) == 1 else None)
        if params["organization_id"] is None:
            errors["organization_id"] = ["a party post names the village party organization"]
        if values["post"] not in posts:
            errors["post"] = [f"{kind} takes one of: {', '.join(posts)}"]
    else:
        for name in ("organization_id", "post"):
            if params[name] is not None:
                errors[name] = [f"only a party post (party_*) names the {name.split('_')[0]}"]
    if kind == "township_leadership" and level != "township":
        errors["place_code"] = ["township leadership: the township's code"]
    if kind in TWO_COMMITTEES and level != "village":
        errors["place_code"] = ["the two committees: the village's (or community's) code"]
    if errors:
        raise ValidationError("the placement is incomplete", errors)
    values["status"] = "pending" if kind in PARTY_KINDS else "recorded"
    return values


def cadre_placed(placement_id: int, placement: dict, person: dict) -> Event:
    """A party post recorded: the registry (organizations) is to fill it, once; its
    answer comes back as cadre_placement_applied or cadre_placement_refused."""
    return Event("cadre_placed", {
        "external_ref": f"cadres:{placement_id}", "placement_id": placement_id,
        "kind": placement["kind"], "organization_id": placement["organization_id"],
        "post": placement["post"], "name": person["name"], "sex": person["sex"],
        "birth_date": person["birth_date"],
        "college_graduate_official": person["college_graduate_official"],
        "placed_on": placement["placed_on"]})


def unknown_organization(organization_id: int) -> ValidationError:
    """What a placement naming an organization cadres does not know of is refused with;
    one outside the caller's jurisdiction is refused with it too, before its state or
    place is told."""
    return _not_the_village_organization(
        organization_id, "is not known to cadres (organizations arrive from the registry)")


def check_village_organization(organization: dict, place_code: str) -> None:
    """A party post's organization is the active party organization of the village (or
    community) at `place_code`."""
    problem = (
        f"is {organization['status']}" if organization["status"] != "active"
        else f"is at {organization['place_code']}, not {place_code}"
        if organization["place_code"] != place_code
        else f"is of the {organization['sector']} sector, not a village's or community's"
        if organization["sector"] not in VILLAGE_SECTORS else None)
    if problem:
        raise _not_the_village_organization(organization["id"], problem)


def _not_the_village_organization(organization_id: int, problem: str) -> ValidationError:
    return ValidationError("not the village's party organization", {
        "organization_id": [f"organization {organization_id} {problem}"]})


def check_pool_selection(person: dict, assessment: str, rules: Rules) -> None:
    errors = {}
    if not person["college_graduate_official"]:
        errors["person_id"] = ["not a college-graduate village official (非大学生村官)"]
    if not good_enough(assessment, rules.pool_min_assessment):
        errors["assessment"] = [f"the pool is of excellent officials: at least "
                                f"{ASSESSMENT_RESULTS[rules.pool_min_assessment]}"]
    if errors:
        raise ValidationError("not for the talent pool of excellent college-graduate "
                              "village officials", errors)


def check_leaving(member: dict, left_on: dt.date) -> None:
    if member["status"] != "in_pool":
        raise Conflict(f"member {member['id']} left the pool on {member['left_on']}", {})
    not_before(left_on, member["selected_on"], "left_on", "left before selected")


def pool_townships(townships: Mapping[str, str | None], memberships: list[dict],
                   placements: list[dict]) -> list[dict]:
    """Per township: pool members from its villages now, and how many of the pool's
    members were in the two committees, held a chief post, entered its leadership (the
    target: at least one) while in the pool; each person counts once per measure, in the
    township of their earliest placement that counts (`placements` come by date).

    S§18 puts first the officials *already* in the two committees: a post in them (a
    chief post is one) counts whenever it was taken, before joining the pool or during
    the membership, but not after the member left. Cadres records no end of a post, so
    one counts from its date on; a refused placement was never held, and one before the
    report's `since` (the current term) is of an earlier term and was left out by the
    caller. Township leadership is the S§19 target of *entering* it: it counts only when
    taken during a membership. Someone who left the pool afterwards still counts for what
    they held as a member."""
    rows: dict[str, dict[str, Any]] = {
        code: {"place_code": code, "place_name": name, "in_pool": 0,
               "entered_two_committees": 0, "chief_posts": 0,
               "entered_township_leadership": 0} for code, name in townships.items()}
    windows: dict[int, list[tuple]] = {}
    for member in memberships:
        windows.setdefault(member["person_id"], []).append(
            (member["selected_on"], member["left_on"]))
        township = _township_of(member["place_code"])
        if member["status"] == "in_pool" and township in rows:
            rows[township]["in_pool"] += 1
    counted: set[tuple[int, str]] = set()
    for placed in placements:
        if placed["status"] == "refused" or not any(
                _held_while_in_pool(placed, start, end)
                for start, end in windows.get(placed["person_id"], ())):
            continue
        township = (placed["place_code"] if placed["kind"] == "township_leadership"
                    else _township_of(placed["place_code"]))
        for measure, applies in (("entered_two_committees", placed["kind"] in TWO_COMMITTEES),
                                 ("chief_posts", placed["kind"] in CHIEF_POSTS),
                                 ("entered_township_leadership",
                                  placed["kind"] == "township_leadership")):
            key = (placed["person_id"], measure)
            if applies and township in rows and key not in counted:  # a person counts once
                counted.add(key)
                rows[township][measure] += 1
    for row in rows.values():
        row["target_met"] = row["entered_township_leadership"] > 0
    return [rows[code] for code in sorted(rows)]


def _held_while_in_pool(placed: dict, selected_on: dt.date, left_on: dt.date | None) -> bool:
    """A placement overlaps the membership [selected_on, left_on]: taken no later than the
    member left (or still in the pool), and, unless it is a post of the two committees
    (held from its date on, S§18), no earlier than the member was selected."""
    on = placed["placed_on"]
    return ((left_on is None or on <= left_on)
            and (placed["kind"] in TWO_COMMITTEES or selected_on <= on))


def _township_of(place_code: str) -> str:
    return place_code[:9] + "000"


# -- the roster (后备干部花名册) -----------------------------------------------------------
ROSTER_COLUMNS = (
    ("number", "序号"), ("village", "所在村"), ("name", "姓名"), ("sex", "性别"),
    ("ethnicity", "民族"), ("birth", "出生年月"), ("age", "年龄"), ("native_place", "籍贯"),
    ("education", "学历"), ("school", "毕业院校及专业"), ("political_status", "政治面貌"),
    ("work_started", "参加工作时间"), ("current_post", "现任职务"),
    ("college_graduate_official", "是否大学生村官"), ("recommended_by", "推荐人（单位）"),
    ("assessment", "考察结果"), ("status", "状态"), ("identity_number", "身份证号码"),
)


def roster_row(number: int, reserve: dict, village_name: str | None, today: dt.date) -> dict:
    born = reserve["birth_date"]
    return {
        "number": str(number), "village": village_name or reserve["place_code"],
        "name": reserve["name"], "sex": SEXES[reserve["sex"]], "ethnicity": reserve["ethnicity"],
        "birth": f"{born.year}.{born.month:02d}", "age": str(age(born, today)),
        "native_place": reserve["native_place"] or "",
        "education": EDUCATION[reserve["education"]], "school": reserve["school"] or "",
        "political_status": POLITICAL_STATUS[reserve["political_status"]],
        "work_started": (f"{reserve['work_started_on'].year}.{reserve['work_started_on'].month:02d}"
                         if reserve["work_started_on"] else ""),
        "current_post": reserve["current_post"] or "",
        "college_graduate_official": "是" if reserve["college_graduate_official"] else "否",
        "recommended_by": reserve["recommended_by"],
        "assessment": ASSESSMENT_RESULTS.get(reserve["best_assessment"], ""),
        "status": RESERVE_STATUSES[reserve["status"]],
        "identity_number": reserve["identity_number"],
    }


def age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

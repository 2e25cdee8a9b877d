"""Non-public enterprise party building (docs/domain.md §6). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal

from shared.contracts.typed import npe as typed
from shared.domain.events import Event
from shared.domain.shares import share
from shared.errors import Conflict, ValidationError
from shared.national import regions

ORGANIZATIONAL = ("own", "joint", "regional", "industry")


@dataclass(frozen=True)
class Rules:
    """This province's choices (domain.md §9): configuration with these defaults."""

    # §6: an enterprise with this many full members sets up its own organization.
    own_min_members: int = 3
    # A joint branch covers 2 to 5 units (the registry checks the same).
    joint_units: tuple[int, int] = (2, 5)
    # 标准化建设: the checklist every enterprise organization is measured against (ours).
    standard_items: dict = field(default_factory=lambda: {
        "organization_set_up": "组织设置规范",
        "team": "班子队伍过硬",
        "venue": "活动阵地达标",
        "systems": "制度机制健全",
        "activities": "组织生活正常",
        "role": "作用发挥明显",
    })

    @classmethod
    def from_config(cls, values: dict | None) -> Rules:
        values = dict(values or {})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown npe rules: {', '.join(sorted(unknown))}")
        if "joint_units" in values:
            values["joint_units"] = tuple(values["joint_units"])
        return cls(**values)

    def as_report(self, *names: str) -> dict:
        values = asdict(self)
        return {name: values[name] for name in names}


# An enterprise's coverage is the best it has (§6): an organization of its own, then a
# joint, regional or industry one (in this order), then work coverage by an instructor
# or liaison, else none. store.refresh_coverage applies it, in SQL.
COVERAGE_ORDER = list(ORGANIZATIONAL)
# Establishments that cover their enterprises: not refused by the registry, not dissolved.
COVERING = ("pending", "registered")


def require_known_place(code: str, known: Collection[str]) -> None:
    """A place npe was told of (`known`: the place names the owner lookup found)."""
    if code not in known:
        raise ValidationError("unknown place", {"place_code": [
            f"no place {code} known to npe (places arrive from the organizations service)"]})


def check_registrations(rows: list[dict], known_places: Collection[str]) -> None:
    """Enterprises registered together: each in a known place, no credit code twice."""
    for row in rows:
        require_known_place(row["place_code"], known_places)
    codes = [row["credit_code"] for row in rows]
    if len(set(codes)) != len(codes):
        raise ValidationError("a credit code twice (统一社会信用代码重复)",
                              {"credit_code": ["appears twice"]})


def check_import(rows: list[typed.EnterpriseFields], known_places: Collection[str]) -> None:
    """An import's rows, all judged before any is refused: each row's first problem (its
    code already in an earlier row, its place unknown), by its index."""
    errors: dict[int, dict[str, list[str]]] = {}
    seen: set[str] = set()
    for index, row in enumerate(rows):
        if row["credit_code"] in seen:
            errors[index] = {"credit_code": ["appears twice in this batch"]}
        elif row["place_code"] not in known_places:
            errors[index] = {"place_code": [f"no place {row['place_code']} known to npe"]}
        seen.add(row["credit_code"])
    if errors:
        raise ValidationError("some enterprises cannot be imported", {"enterprises": errors})


def due_own(enterprise: dict, rules: Rules) -> bool:
    return (enterprise["operating_status"] == "operating" and enterprise["coverage"] != "own"
            and enterprise["full_members"] >= rules.own_min_members)


def registry_kind(kind: str, org_kind: str) -> str:
    return "632" if kind == "joint" else org_kind


def committee_size(org_kind: str, full_members: int) -> int:
    """The smallest committee the registry's party rules accept for such an organization
    (it is elected later; the registry opens vacancies for its seats)."""
    if org_kind in ("611", "621"):
        return 5
    return 3 if full_members >= 7 else 0


def check_establishment(kind: str, org_kind: str, enterprises: list[dict], full_members: int,
                        rules: Rules) -> None:
    errors: dict[str, list[str]] = {}
    if kind == "own" and len(enterprises) != 1:
        errors["credit_codes"] = ["an own organization is set up in one enterprise"]
    if kind == "joint":
        check_joint_size(len(enterprises), rules, errors)
    if full_members < rules.own_min_members:
        errors["full_members"] = [f"a party organization needs at least {rules.own_min_members}"
                                  f" full members (正式党员不少于{rules.own_min_members}人)"]
    if kind == "own" and enterprises and enterprises[0]["full_members"] < rules.own_min_members:
        errors.setdefault("credit_codes", []).append(
            f"the enterprise has {enterprises[0]['full_members']} full members: fewer than "
            f"{rules.own_min_members} join a joint or regional organization instead")
    if org_kind in ("611", "621") and full_members < committee_size(org_kind, full_members):
        errors.setdefault("org_kind", []).append("a committee or general branch needs at least "
                                                 "5 full members for its committee")
    check_members(kind, enterprises, errors)
    if errors:
        raise ValidationError("the organization cannot be set up so (不符合组建要求)", errors)


def check_joint_size(units: int, rules: Rules, errors: dict | None = None) -> None:
    lo, hi = rules.joint_units
    if not lo <= units <= hi:
        problem = [f"a joint branch covers {lo} to {hi} enterprises, not {units}"
                   f" (联合党支部覆盖{lo}至{hi}家企业)"]
        if errors is None:
            raise ValidationError("too many for a joint branch", {"credit_codes": problem})
        errors["credit_codes"] = problem


def check_members(kind: str, enterprises: list[dict], errors: dict | None = None) -> None:
    """Who may be in an organization: operating enterprises, in at most one own or joint
    one (an enterprise in a joint branch leaves it before setting up its own)."""
    raise_now = errors is None
    errors = {} if errors is None else errors
    closed = [e["credit_code"] for e in enterprises if e["operating_status"] != "operating"]
    if closed:
        errors.setdefault("credit_codes", []).append(f"not operating: {', '.join(closed)}")
    if raise_now and errors:
        raise ValidationError("the enterprise cannot join (不符合组建要求)", errors)
    if kind in ("own", "joint"):
        taken = [e["credit_code"] for e in enterprises if e["coverage"] in ("own", "joint")]
        if taken:
            raise Conflict(f"already in an own or joint organization: {', '.join(taken)}; "
                           "leave it first (leave_organization)", {"credit_codes": taken})


def check_within_place(enterprises: list[dict], place_code: str) -> None:
    """An organization covers enterprises of its own place (its subtree)."""
    for enterprise in enterprises:
        if not regions.in_subtree(enterprise["place_code"], place_code):
            raise ValidationError("the enterprises lie outside the organization's place", {
                "credit_codes": [f"{enterprise['credit_code']} is in {enterprise['place_code']}"]})


def check_joining(establishment: dict, enterprise: dict, rules: Rules) -> None:
    """Who joins an organization set up already: not an own one (one enterprise's), one
    that covers, in its place, as the members of a new one would be."""
    if establishment["kind"] == "own":
        raise ValidationError("an own organization is one enterprise's",
                              {"establishment_id": ["own organizations take no others"]})
    if establishment["status"] not in COVERING:
        raise ValidationError("that organization covers no one", {
            "establishment_id": [f"it is {establishment['status']}"]})
    place, own_place = enterprise["place_code"], establishment["place_code"]
    if not regions.in_subtree(place, own_place):
        raise ValidationError("the enterprise lies outside the organization's place", {
            "credit_code": [f"{place} is outside {own_place}"]})
    check_members(establishment["kind"], [enterprise])
    if establishment["kind"] == "joint":
        check_joint_size(len(establishment["credit_codes"]) + 1, rules)


def unit_names(enterprises: list[dict]) -> list[str]:
    """The units a joint branch lists in the registry: unique even when names repeat."""
    return [f"{e['name']}（{e['credit_code']}）" for e in enterprises]


# The registry knows an organization npe asked for by this reference: npe:<establishment id>.
def external_ref(establishment_id: int) -> str:
    return f"npe:{establishment_id}"


def establishment_of(reference: str | None) -> int | None:
    """The establishment id in an npe reference ("npe:42"), or None (not ours)."""
    prefix, _, number = (reference or "").partition(":")
    return int(number) if prefix == "npe" and number.isdigit() else None


def organization_established(establishment_id: int, establishment: dict,
                             enterprises: list[dict]) -> Event:
    """What the registry is asked to register (enterprise_org_established): the
    organization as set up (`establishment`: the stored values, with the registry's
    org_kind), the smallest committee its rules want, a joint branch's units."""
    org_kind, full_members = establishment["org_kind"], establishment["full_members"]
    return Event("enterprise_org_established", {
        "establishment_id": establishment_id, "external_ref": external_ref(establishment_id),
        "kind": org_kind, "name": establishment["name"],
        "place_code": establishment["place_code"], "full_members": full_members,
        "committee_size": committee_size(org_kind, full_members),
        "units": unit_names(enterprises) if establishment["kind"] == "joint" else [],
        "founded_on": establishment["founded_on"]})


def rates(row: dict) -> dict:
    """§6's rates over operating enterprises (None when there are none)."""
    operating = row["operating"]

    def rate(part: int) -> Decimal | None:
        return share(part, operating)

    organizational = sum(row[kind] for kind in ORGANIZATIONAL)
    return {**row, "organizational": organizational,
            "organizational_rate": rate(organizational), "own_rate": rate(row["own"]),
            "work_rate": rate(row["work"]), "total_rate": rate(organizational + row["work"])}


DOUBLE_STRONG_NEXT = {"applied": ("cultivating", "rejected"),
                      "cultivating": ("recognized", "rejected")}
# Applications not yet decided: they hold their enterprise's record on the ledger.
DOUBLE_STRONG_OPEN = tuple(DOUBLE_STRONG_NEXT)


def check_double_strong_step(current: str, new: str) -> None:
    if new not in DOUBLE_STRONG_NEXT.get(current, ()):
        raise Conflict(f"an application that is {current} cannot become {new}"
                       " (申报、培育、认定须依次进行)", {"status": current})


def check_standard_item(item: str, rules: Rules) -> None:
    if item not in rules.standard_items:
        raise ValidationError("not an item of the checklist", {
            "item": [f"one of {', '.join(rules.standard_items)}"]})


def standardization(items: dict[str, dict],
                    rules: Rules) -> tuple[list[dict], Decimal | None]:
    """The checklist in the configured order, and the share of items met."""
    listed = [{"item": item, "label": label, "met": bool(items.get(item, {}).get("met")),
               "checked_on": items.get(item, {}).get("checked_on")}
              for item, label in rules.standard_items.items()]
    met = sum(1 for item in listed if item["met"])
    return listed, share(met, len(listed))


def check_session(training: dict, session: int) -> None:
    """Attendance is taken at one of the class's sessions."""
    if session > training["sessions"]:
        raise ValidationError("no such session", {
            "session": [f"the class has {training['sessions']} sessions"]})


def attendance_rate(attended: int, held: int) -> Decimal | None:
    return share(attended, held)


def check_contact(enterprise: dict) -> None:
    """Key contact (重点联系) and direct guidance (直接指导) are for dual-managed enterprises."""
    if not enterprise["dual_managed"]:
        raise ValidationError("key contact and direct guidance are for dual-managed enterprises",
                              {"credit_code": ["not a dual-managed (双管) enterprise"]})


# What holds a record on the ledger, and how the place that holds it ends each (§6): an
# organization that covers it (the enterprise leaves), an instructor or liaison not
# withdrawn, a double-strong application not yet decided.
WITHDRAWAL_BLOCKERS = {
    "establishments": "the organizations (establishments) {ids}: leave_organization "
                      "(先退出所在党组织)",
    "work_assignments": "the work coverage (assignments) {ids}: end_work_coverage "
                        "(先结束党建指导员、联络员工作覆盖)",
    "double_strong_applications": "the double-strong applications {ids}: advance_double_strong"
                                  " to recognized or rejected (先办结双强申报)",
}


def check_withdrawal(credit_code: str, dependents: dict[str, list[int]]) -> None:
    """A record comes off the ledger only with nothing active left on it: the caller is
    told what to end first, by id."""
    held = {kind: ids for kind, ids in dependents.items() if ids}
    if held:
        ends = "; ".join(WITHDRAWAL_BLOCKERS[kind].format(ids=", ".join(map(str, ids)))
                         for kind, ids in held.items())
        raise Conflict(f"enterprise {credit_code} cannot be withdrawn while it has active "
                       f"dependents; end them first: {ends} (该企业仍有在办事项，不能撤回登记)",
                       {"credit_code": credit_code, **held})

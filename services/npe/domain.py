"""Non-public enterprise party building (docs/domain.md §6). Pure: no I/O."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal

from shared.domain.shares import share
from shared.errors import Conflict, ValidationError

FOUR = Decimal("0.0001")
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


def unit_names(enterprises: list[dict]) -> list[str]:
    """The units a joint branch lists in the registry: unique even when names repeat."""
    return [f"{e['name']}（{e['credit_code']}）" for e in enterprises]


def rates(row: dict) -> dict:
    """§6's rates over operating enterprises (None when there are none)."""
    operating = row["operating"]

    def rate(part: int):
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


def standardization(items: dict[str, dict], rules: Rules) -> tuple[list[dict], Decimal]:
    """The checklist in the configured order, and the share of items met."""
    listed = [{"item": item, "label": label, "met": bool(items.get(item, {}).get("met")),
               "checked_on": items.get(item, {}).get("checked_on")}
              for item, label in rules.standard_items.items()]
    met = sum(1 for item in listed if item["met"])
    return listed, share(met, len(listed))


def attendance_rate(attended: int, held: int):
    return share(attended, held)



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

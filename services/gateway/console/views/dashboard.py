"""首页: the dashboard of the member's place (or a place below it, ?place=): moving up per
baseline grade against its target, overall and per child place; the ledger's open and
overdue cases; NPE coverage; villages short of reserve cadres; venues below standard.
Each part is one report of its owning service, asked as the member; a part whose role
the member lacks is left out, not refused. Every figure links to the list behind it."""

from __future__ import annotations

from services.gateway.console.texts import notice
from services.gateway.console.views import route
from shared.contracts.roles import ROLES
from shared.national import regions


@route("/", name="home")
def home(view):
    place = view.place()
    parts, unavailable = view.ask_parts({
        "moving_up": ("evaluation", "moving_up_report", {"place_code": place}),
        "ledger": ("organizations", "ledger", {"place_code": place, "status": None,
                                               "listed": None, "limit": 1, "after": None}),
        "coverage": ("npe", "coverage_report", {"place_code": place}),
        "reserves": ("cadres", "reserve_shortfall", {"place_code": place}),
        "venues": ("resources", "venue_report", {"place_code": place}),
        "path": ("organizations", "place_path", {"place_code": place}),
    })
    moving_up, ledger, coverage = parts["moving_up"], parts["ledger"], parts["coverage"]
    reserves, venues, path = parts["reserves"], parts["venues"], parts["path"] or {}
    principal = view.principal
    roles = [label for role, label in ROLES.items() if role in principal.roles]
    return view.page(
        "dashboard.html", section="/console/", place=place, level=regions.LEVEL_LABELS[regions.level_of(place)],
        path=_path_items(path), moving_up=moving_up, ledger=ledger,
        coverage=coverage and coverage.get("total"), reserves=reserves and reserves.get("total"),
        venues=venues and venues.get("total"), roles=roles, notice=notice(view.request),
        chart=moving_up and _chart(moving_up["total"]["rows"]),
        is_home=place == view.home_place,
        unavailable=[PART_NAMES[name] for name in unavailable])


PART_NAMES = {"moving_up": "晋位升级进度", "ledger": "整改台账", "coverage": "非公企业党建覆盖",
              "reserves": "村级后备干部", "venues": "活动场所", "path": "地区名称"}


def _path_items(path) -> list[dict]:
    """The places from the member's own down to this one, for the breadcrumb."""
    items = path.get("items") if isinstance(path, dict) else path
    return [p for p in (items or []) if isinstance(p, dict)]


BAR_W, BAR_H, GAP, LABEL_W = 300, 22, 14, 70


def _chart(rows) -> dict:
    """Bars of the rate per baseline grade with the target marked, as numbers for an SVG
    drawn by the template (no script, no inline style: the CSP allows neither)."""
    bars = []
    for i, row in enumerate(rows):
        rate = float(row.get("rate") or 0)
        target = row.get("target")
        bars.append({
            "label": row["baseline_grade_label"], "y": i * (BAR_H + GAP),
            "width": round(min(rate, 1) * BAR_W, 1),
            "target_x": None if target is None else round(LABEL_W + float(target) * BAR_W, 1),
            "rate": rate, "target": target, "met": row.get("met"),
            "moved_up": row["moved_up"], "organizations": row["organizations"]})
    return {"bars": bars, "height": max(len(bars) * (BAR_H + GAP), BAR_H),
            "bar_h": BAR_H, "bar_w": BAR_W, "label_w": LABEL_W}

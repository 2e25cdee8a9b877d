"""首页: the dashboard of the member's place (or a place below it, ?place=): moving up per
baseline grade against its target, overall and per child place; the ledger's open and
overdue cases; NPE coverage; villages short of reserve cadres; venues below standard.
Each part is one report of its owning service, asked as the member; a part whose role
the member lacks is left out, not refused. Every figure links to the list behind it."""

from __future__ import annotations

import datetime as dt

from services.gateway.console.texts import notice
from services.gateway.console.views import route
from shared.contracts.roles import ROLES
from shared.national import regions

LOCAL = dt.timezone(dt.timedelta(hours=8), "北京时间")  # what the staff read the time in


# The dashboards whose reports read a whole province or city: their answers are kept for
# a short while (recent.py); a county's and below are asked every time.
KEPT_LEVELS = ("province", "city")


@route("/", name="home")
def home(view):
    place = view.place()
    questions = {
        "moving_up": ("evaluation", "moving_up_report", {"place_code": place}),
        "ledger": ("organizations", "ledger", {"place_code": place, "status": None,
                                               "listed": None, "limit": 1, "after": None}),
        "coverage": ("npe", "coverage_report", {"place_code": place}),
        "reserves": ("cadres", "reserve_shortfall", {"place_code": place}),
        "venues": ("resources", "venue_report", {"place_code": place}),
        "path": ("organizations", "place_path", {"place_code": place}),
    }
    kept = regions.level_of(place) in KEPT_LEVELS
    parts, unavailable, as_of = _answers(view, questions, kept)
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
        is_home=place == view.home_place, as_of=as_of,
        unavailable=[PART_NAMES[name] for name in unavailable])


def _answers(view, questions: dict, kept: bool) -> tuple[dict, list[str], str | None]:
    """The parts' answers: asked at once; for a province or a city, those answered within
    the last half minute to a member of the same place and roles are used again. With
    the time of the oldest answer used again (None: all asked now)."""
    if not kept:
        parts, unavailable = view.ask_parts(questions)
        return parts, unavailable, None
    recent = view.console.recent_answers
    principal = view.principal
    asker = (principal.place_code, principal.roles)

    def key(name):
        service, method, params = questions[name]
        return (service, method, tuple(sorted(params.items())), asker)

    found = {name: recent.get(key(name)) for name in questions}
    parts, unavailable = view.ask_parts(
        {name: question for name, question in questions.items() if found[name] is None})
    for name, answer in parts.items():
        if answer is not None:
            recent.put(key(name), answer)
    oldest = min((f[0] for f in found.values() if f is not None), default=None)
    parts.update({name: f[1] for name, f in found.items() if f is not None})
    return parts, unavailable, None if oldest is None else \
        dt.datetime.fromtimestamp(oldest, LOCAL).strftime("%H:%M:%S")


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

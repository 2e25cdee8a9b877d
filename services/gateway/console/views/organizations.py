"""组织: the place tree and the party organizations in it (menu "/console/organizations").

    GET /console/organizations                   the tree: a place's path, its child places
                                                 and the organizations of its subtree
    GET /console/organizations/search?q=&place=  organizations whose name contains q
    GET /console/organizations/list?place=...    a filtered list (the dashboard's figures)
    GET /console/organizations/<id>              one organization: facts, leadership,
                                                 stars, rectification, excellence records

Every part is a service's answer to the member (view.ask): an organization or a place
outside the member's reach is the service's NotFound or Forbidden, shown as its page;
a part whose role the member lacks is left out (view.ask_or_none). Paging is the
services' keyset cursor, passed back as `after`.
"""

from __future__ import annotations

from typing import Any

from services.gateway.console.context import field_errors
from services.gateway.console.texts import chinese
from services.gateway.console.views import route
from shared.contracts.enums import GRADES
from shared.contracts.organizations import KINDS, NAME_SEARCH_MAX, SECTORS, STATUSES
from shared.errors import NotFound, ValidationError
from shared.national import regions

SECTION = "/console/organizations"
PAGE = 50  # rows a page (the search's most)
CURSOR_MAX = 400  # an opaque cursor's characters (the services check it)
# A service's parameter → the query field that carries it on these pages.
QUERY_FIELDS = {"name": "q", "baseline_grade": "baseline", "moved_up": "moved_up"}


def _after(view) -> str | None:
    return view.text("after", limit=CURSOR_MAX) or None


def _crumbs(view, path: dict | None) -> list[dict]:
    """The place and its ancestors, province first; a place above the member's own is
    shown, not linked (its tree is not the member's to list)."""
    items = [p for p in ((path or {}).get("items") or []) if isinstance(p, dict)]
    home = view.home_place
    return [{**p, "linked": regions.in_subtree(p["code"], home)} for p in items]


# The query parameters these pages read, the only ones carried into their links.
QUERY_KEYS = ("place", "q", "status", "kind", "sector", "grade", "baseline", "moved_up")


def _paging(view, page: dict | None) -> dict[str, str | None]:
    """The links to the next page (this address, `after` replaced by the page's cursor,
    never repeated) and back to the first (none on the first)."""
    args = {name: value for name, value in view.request.args.items() if name in QUERY_KEYS}
    here = view.request.path.removeprefix("/console")
    cursor = (page or {}).get("next_cursor")
    return {"next_url": view.url(here, **args, after=cursor) if cursor else None,
            "first_url": view.url(here, **args) if _after(view) else None}


def _errors(error: ValidationError) -> dict[str, str]:
    """The service's refusal next to the query field that carries the parameter; the
    search box's in words of its own where the service's have no Chinese."""
    errors = {QUERY_FIELDS.get(name, name): text for name, text in field_errors(error).items()}
    details = error.details if isinstance(error.details, dict) else {}
    if "q" in errors and not chinese(details.get("name")):
        errors["q"] = f"请输入名称中的 1–{NAME_SEARCH_MAX} 个字（不能只有空格）"
    return errors


@route("/organizations", name="organizations.tree")
def tree(view):
    place = view.place()
    path = view.ask("organizations", "place_path", place_code=place)
    children = view.ask("organizations", "list_children", place_code=place)
    page = view.ask("organizations", "list_organizations", place_code=place,
                    limit=PAGE, after=_after(view))
    crumbs = _crumbs(view, path)
    return view.page(
        "organizations_tree.html", section=SECTION, place=place,
        place_name=crumbs[-1]["name"] if crumbs else place,
        level=regions.LEVEL_LABELS[regions.level_of(place)], crumbs=crumbs,
        children=children.get("items") or [], page=page,
        q="", errors={}, search_max=NAME_SEARCH_MAX, **_paging(view, page))


@route("/organizations/search", name="organizations.search")
def search(view):
    place = view.place()
    q = view.text("q", limit=NAME_SEARCH_MAX * 2)  # longer than allowed: the service says so
    status = view.text("status", "active", limit=20)
    path = view.ask("organizations", "place_path", place_code=place)
    errors: dict[str, str] = {}
    page = None
    if q:
        try:
            page = view.ask("organizations", "list_organizations", place_code=place, name=q,
                            status=status, limit=PAGE, after=_after(view))
        except ValidationError as error:
            errors = _errors(error)
    crumbs = _crumbs(view, path)
    return view.page(
        "organizations_search.html", status=400 if errors else 200, section=SECTION,
        place=place, place_name=crumbs[-1]["name"] if crumbs else place, crumbs=crumbs,
        q=q, status_value=status, statuses=list(STATUSES.items()), errors=errors, page=page,
        search_max=NAME_SEARCH_MAX, **_paging(view, page))


@route("/organizations/list", name="organizations.list")
def listing(view):
    """The dashboard's figures lead here: by baseline grade (and moved up or not) the
    evaluation service's moving_up_organizations, which knows baselines and moving up;
    otherwise list_organizations with its own filters."""
    place = view.place()
    path = view.ask("organizations", "place_path", place_code=place)
    baseline = view.text("baseline", limit=20)
    moved_up = {"1": True, "0": False}.get(view.text("moved_up", limit=1))
    filters = {name: view.text(name, limit=20) for name in ("kind", "sector", "status", "grade")}
    filters["status"] = filters["status"] or "active"
    errors: dict[str, str] = {}
    page: dict[str, Any] | None = None
    try:
        if baseline:
            page = view.ask("evaluation", "moving_up_organizations", place_code=place,
                            baseline_grade=baseline, moved_up=moved_up, limit=PAGE,
                            after=_after(view))
        else:
            page = view.ask("organizations", "list_organizations", place_code=place,
                            **{k: v or None for k, v in filters.items()}, limit=PAGE,
                            after=_after(view))
    except ValidationError as error:
        errors = _errors(error)
    crumbs = _crumbs(view, path)
    return view.page(
        "organizations_list.html", status=400 if errors else 200, section=SECTION,
        place=place, place_name=crumbs[-1]["name"] if crumbs else place, crumbs=crumbs,
        baseline=baseline, baseline_label=GRADES.get(baseline), moved_up=moved_up,
        filters=filters, kinds=list(KINDS.items()), sectors=list(SECTORS.items()),
        statuses=list(STATUSES.items()), grades=list(GRADES.items()), errors=errors,
        page=page, **_paging(view, page))


@route("/organizations/<int:organization_id>", name="organizations.detail")
def detail(view, organization_id: int):
    # Not there, or not the member's: the service's one NotFound for both, as its page.
    org = view.ask("organizations", "get_organization", organization_id=organization_id)
    parent = None
    if org.get("parent_id"):
        try:
            parent = view.ask("organizations", "get_organization",
                              organization_id=org["parent_id"])
        except NotFound:
            parent = None  # above the member's reach: its number only
    path = view.ask_or_none("organizations", "place_path", place_code=org["place_code"])
    return view.page(
        "organizations_detail.html", section=SECTION, org=org, parent=parent,
        crumbs=_crumbs(view, path),
        leadership=view.ask_or_none("organizations", "get_leadership",
                                    organization_id=organization_id),
        gradings=view.ask_or_none("evaluation", "gradings_of",
                                  organization_id=organization_id),
        acceptances=view.ask_or_none("evaluation", "acceptances_of",
                                     organization_id=organization_id),
        cases=view.ask_or_none("organizations", "cases_of", organization_id=organization_id),
        commitments=view.ask_or_none("organizations", "commitments_of",
                                     organization_id=organization_id, year=None),
        systems=view.ask_or_none("organizations", "systems_of",
                                 organization_id=organization_id))

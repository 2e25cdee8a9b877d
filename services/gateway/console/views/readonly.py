"""Read-only pages: 非公企业 (NPE coverage and the enterprises), 后备干部 (villages short of
or over the reserve quota, and the roster), 阵地经费 (venues below standard, and the funding
of a year). GET only; each shows the member's place or ?place=, and its reports as the
owning service answers them, asked as the member: a place outside the member's reach is
the service's refusal, and identity numbers on the roster are shown as the service gives
them (masked unless the member holds cadres.personal_data) — never unmasked here.

Listings are paged with the services' own cursors (?after=<next_cursor>): a "下一页" link
carries the next page's cursor, the filters kept. Each report links to its spreadsheet
export: the console's download route (/console/transfers/exports/<report>?<its RPC's
parameters>), or the 导入导出 page where that route is not there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from urllib.parse import urlencode

from services.gateway.console.context import field_errors
from services.gateway.console.texts import chinese
from services.gateway.console.views import HANDLERS, route
from shared.contracts import cadres, npe, resources
from shared.errors import ValidationError
from shared.national import regions

PAGE = 50            # enterprises on a page
ROSTER_PAGE = 100    # roster rows on a page (whole villages: the service never splits one)
CURSOR_CHARS = 2000  # a cursor is the base64 of a sort key (a name, a code, an id)
EXPORT_ENDPOINT = "transfers.export"
TRANSFERS_PATH = "/console/transfers"
YEAR_REFUSED = "没有这个年度的统计：请填写四位数的年份"


def export_link(report: str, **params) -> str:
    """Where the report's spreadsheet is downloaded: the console's export route
    (views/transfers.py: the report's RPC parameters by their contract names, as on
    /v1/exports), or the 导入导出 page where that route is not there."""
    if EXPORT_ENDPOINT not in HANDLERS:
        return TRANSFERS_PATH
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{TRANSFERS_PATH}/exports/{report}" + (f"?{query}" if query else "")


def choice(view, name: str, options: Mapping[str, str]) -> str | None:
    """A query parameter that is one of a contract's codes, or None (any)."""
    value = view.text(name)
    return value if value in options else None


def after(view) -> str | None:
    return view.text("after", limit=CURSOR_CHARS) or None


def next_page(view, path: str, cursor: str | None, **args) -> str | None:
    """The link to the next page: this page's query, `after` the service's cursor."""
    return view.url(path, **args, after=cursor) if cursor else None


def level(place: str) -> str:
    return regions.LEVEL_LABELS[regions.level_of(place)]


# -- 非公企业 -----------------------------------------------------------------------------
@route("/enterprises", name="readonly.enterprises")
def enterprises(view):
    place = view.place()
    uncovered = view.text("uncovered") == "1"
    cursor = after(view)
    report = view.ask("npe", "coverage_report", place_code=place)
    filters: dict[str, str | None] = {"coverage": None, "industry": None,
                                      "operating_status": None}
    if uncovered:
        listing = view.ask("npe", "uncovered_enterprises", place_code=place, limit=PAGE,
                           after=cursor)
        more = next_page(view, "/enterprises", listing.get("next_cursor"), place=place,
                         uncovered=1)
    else:
        filters = {"coverage": choice(view, "coverage", npe.COVERAGE),
                   "industry": choice(view, "industry", npe.INDUSTRIES),
                   "operating_status": choice(view, "operating_status", npe.OPERATING)}
        listing = view.ask("npe", "list_enterprises", place_code=place, **filters,
                           limit=PAGE, after=cursor)
        more = next_page(view, "/enterprises", listing.get("next_cursor"), place=place,
                         **filters)
    total = report.get("total") or {}
    return view.page(
        "readonly_enterprises.html", section="/console/enterprises", place=place,
        place_name=total.get("place_name") or place, level=level(place), report=report,
        total=total, uncovered=uncovered, items=listing.get("items") or [], more=more,
        first=view.url("/enterprises", place=place, uncovered=1 if uncovered else None,
                       **filters) if cursor else None,
        filters=filters, coverage_options=list(npe.COVERAGE.items()),
        industry_options=list(npe.INDUSTRIES.items()),
        operating_options=list(npe.OPERATING.items()),
        export=export_link("coverage", place_code=place))


# -- 后备干部 -----------------------------------------------------------------------------
@route("/reserves", name="readonly.reserves")
def reserves(view):
    place = view.place()
    status = choice(view, "status", cadres.RESERVE_STATUSES) or "reserve"
    cursor = after(view)
    shortfall = view.ask("cadres", "reserve_shortfall", place_code=place)
    roster = view.ask("cadres", "reserve_roster", place_code=place, status=status,
                      limit=ROSTER_PAGE, after=cursor)
    return view.page(
        "readonly_reserves.html", section="/console/reserves", place=place,
        place_name=shortfall.get("place_name") or place, level=level(place),
        shortfall=shortfall, total=shortfall.get("total") or {},
        rules=shortfall.get("rules") or {}, roster=roster, roster_status=status,
        status_options=list(cadres.RESERVE_STATUSES.items()),
        columns=roster.get("columns") or [], rows=roster.get("rows") or [],
        more=next_page(view, "/reserves", roster.get("next_cursor"), place=place,
                       status=status),
        first=view.url("/reserves", place=place, status=status) if cursor else None,
        export=export_link("reserve_roster", place_code=place, status=status))


# -- 阵地经费 -----------------------------------------------------------------------------
@route("/venues", name="readonly.venues")
def venues(view):
    place = view.place()
    this_year = dt.date.today().year
    year = view.number("year", this_year)
    kind = choice(view, "kind", resources.PROGRAM_KINDS)
    report = view.ask("resources", "venue_report", place_code=place)
    errors: dict[str, str] = {}
    try:
        funding = view.ask("resources", "funding_report", place_code=place, year=year,
                           kind=kind)
    except ValidationError as error:  # a year the service does not take: said at the field
        funding, errors = None, field_errors(error)
        if "year" in errors and not chinese(error.details.get("year")
                                            if isinstance(error.details, dict) else None):
            errors["year"] = YEAR_REFUSED  # the schema's own words are English only
    total = report.get("total") or {}
    below = [{**venue, "why": [chinese(text) or text for text in venue.get("shortfalls") or ()]}
             for venue in report.get("below_standard") or ()]
    return view.page(
        "readonly_venues.html", status=400 if errors else 200, section="/console/venues",
        place=place, place_name=total.get("place_name") or place, level=level(place),
        report=report, total=total, below=below, funding=funding, year=year, kind=kind, errors=errors,
        kind_options=list(resources.PROGRAM_KINDS.items()),
        venues_export=export_link("venues", place_code=place),
        funding_export=export_link("funding", place_code=place, year=year, kind=kind))

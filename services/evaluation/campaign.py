"""The province's satisfaction survey of service-oriented party organizations, as pure
rules: one campaign a year over a place, its surveys closed together under the
satisfaction rule of the rectification surveys (domain.satisfaction), its figures."""

from __future__ import annotations

from collections.abc import Mapping

from services.evaluation.domain import Rules, Satisfaction, satisfaction
from shared.contracts.excellence import SERVICE_FOCUS
from shared.domain.shares import share
from shared.errors import Conflict, ValidationError

SURVEY_TITLE = "年度服务型党组织满意度测评"
MEASURES = ("organizations", "closed", "valid_ballots", "satisfied", "passed", "failed")


def known_place(place_code: str, place_name: str | None) -> str:
    """The name of the place a campaign is opened over; a place evaluation has not heard
    of (from the organizations service) is refused."""
    if place_name is None:
        raise ValidationError(f"no place {place_code} known to evaluation yet",
                              {"place_code": ["unknown place (未知的行政区划)"]})
    return place_name


def refuse_overlap(place_code: str, year: int, taken: dict | None, *, seen: bool) -> None:
    """One campaign a year over any organization: `taken` is the year's campaign over or
    under `place_code`, if any; `seen` whether the caller may know of it (its place is in
    the caller's reach). A superior's campaign over this place is told of without its id
    or place: its organizations' surveys are the caller's to see, the campaign is not."""
    if taken is not None and seen:
        raise Conflict(f"the {year} survey of {taken['place_code']} (campaign {taken['id']}) "
                       "covers these organizations already (已开展本年度测评)",
                       {"campaign_id": taken["id"]})
    if taken is not None:
        raise Conflict(f"a {year} survey above {place_code} covers these organizations "
                       "already (上级已开展本年度测评)", {"place_code": place_code})


def campaign_title(place_name: str, year: int, title: str | None) -> str:
    return title or f"{place_name}{year}年服务型基层党组织建设满意度测评"


def require_open(campaign: dict) -> None:
    if campaign["status"] != "open":
        raise Conflict(f"campaign {campaign['id']} was closed on {campaign['closed_on']}", {})


def survey_results(ballots: Mapping[int, Mapping[str, int]],
                   rules: Rules) -> dict[int, Satisfaction]:
    """The results of a closing campaign's surveys, from each one's ballots by answer: these
    close, passed or failed. A survey without a valid ballot has none: it does not close but
    lapses (domain.LAPSED), so a report's `closed` is always passed + failed."""
    return {survey_id: satisfaction(counts, rules)
            for survey_id, counts in ballots.items() if sum(counts.values())}


def campaign_report(campaign: dict, by_child: list[dict], by_focus: list[dict],
           names: Mapping[str, str], rules: Rules) -> dict:
    """The campaign with its figures in total, per child place (`by_child`: the
    MEASURES of each) and per focus (every focus, zeros where none), each with its rate."""
    total = {"place_code": campaign["place_code"],
             "place_name": names.get(campaign["place_code"]),
             **{m: sum(r[m] for r in by_child) for m in MEASURES}}
    for row in by_child:
        row["place_name"] = names.get(row["place_code"])
    focus = {r["focus"]: r for r in by_focus}
    return {**campaign, "place_name": names.get(campaign["place_code"]),
            "rules": {"satisfied_answers": list(rules.satisfied_answers),
                      "threshold": rules.survey_threshold},
            "total": _rated(total), "by_child_place": [_rated(r) for r in by_child],
            "by_focus": [_rated(focus.get(f) or {"focus": f, **dict.fromkeys(MEASURES, 0)})
                         for f in SERVICE_FOCUS]}


def _rated(row: dict) -> dict:
    row["rate"] = share(row["satisfied"], row["valid_ballots"])
    return row

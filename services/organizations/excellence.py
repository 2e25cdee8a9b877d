"""Creating excellence and publicity (docs/domain.md §3.4, §8). Pure: no I/O."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from services.organizations.domain import Organization
from shared.contracts.excellence import CAMPAIGN_KINDS
from shared.domain import dates
from shared.domain.events import Event
from shared.domain.shares import share
from shared.errors import Conflict, ValidationError


def rate(part: int, whole: int) -> Decimal | None:
    return share(part, whole)


def not_before(day: dt.date, earliest: dt.date, field: str, what: str) -> None:
    """`day` is not before `what` happened (on `earliest`)."""
    dates.not_before(day, earliest, field, f"before {what}", f"before {what} ({earliest})")


def require_active(org: Organization) -> None:
    """Commitments, deeds, systems and creations are an active organization's."""
    if org.status != "active":
        raise ValidationError("not an active organization", {"organization_id": [
            f"organization {org.id} is {org.status}"]})


# A sentence ends at one of these: the full stop 。, the exclamation and question marks
# (full-width and ASCII), and the semicolon (full-width and ASCII), which joins two
# sentences into one line. Not the ASCII period: it is also the decimal point (3.5公里).
# Closing quotes and brackets after the mark still belong to the sentence.
SENTENCE_ENDS = "。！？!?；;"
_CLOSING = "”’」』）)】》\"'"
_ANOTHER_SENTENCE = re.compile(
    f"[{re.escape(SENTENCE_ENDS)}][{re.escape(SENTENCE_ENDS + _CLOSING)}\\s]*"
    f"[^{re.escape(SENTENCE_ENDS + _CLOSING)}\\s]")


def check_one_sentence(sentence: str) -> None:
    """一句话承诺 (S§46): a commitment is one sentence. A sentence-ending mark followed by
    more text starts a second one; marks at the very end are fine."""
    more = _ANOTHER_SENTENCE.search(sentence)
    if more:
        raise ValidationError("a commitment is one sentence (一句话承诺)", {"sentence": [
            f"more than one sentence: text follows the end mark '{more.group()[0]}' after "
            f"{sentence[:more.start()].strip()}"]})


def check_display(deed: dict, displayed_on: dt.date) -> None:
    if deed["status"] != "submitted":
        raise Conflict(f"deed {deed['id']} was displayed already ({deed['status']})", {})
    not_before(displayed_on, deed["happened_on"], "displayed_on", "it happened")


def check_rating(deed: dict, rated_on: dt.date) -> None:
    """Rated once, after it was shown (展示考评: displayed, then evaluated)."""
    if deed["status"] != "displayed":
        raise Conflict(f"deed {deed['id']} is {deed['status']}: only a displayed deed is "
                       "rated, once (先展示后考评)", {"status": deed["status"]})
    not_before(rated_on, deed["displayed_on"], "rated_on", "it was displayed")


def check_creation_year(year: int, entered_on: dt.date) -> None:
    if entered_on.year > year:
        raise ValidationError("entered after its year", {"entered_on": [f"after {year}"]})


def service_creation_entered(creation_id: int, organization_id: int, year: int,
                             focus: str) -> Event:
    """An organization entered the service-oriented creation: evaluation surveys
    satisfaction with it."""
    return Event("service_creation_entered", {
        "creation_id": creation_id, "organization_id": organization_id, "year": year,
        "focus": focus})


def check_recognition(creation: dict, recognized_on: dt.date) -> None:
    """Recognized once (命名), not before it entered the creation."""
    if creation["status"] == "recognized":
        raise Conflict(f"recognized already on {creation['recognized_on']}", {})
    not_before(recognized_on, creation["entered_on"], "recognized_on", "it entered the creation")


def check_survey_year(year: int, surveyed_on: dt.date) -> None:
    """An awareness survey counts for the year it was made in."""
    if surveyed_on.year != year:
        raise ValidationError("surveyed in another year", {"surveyed_on": [f"not in {year}"]})


def publicity_rows(counts: dict[str, list[dict]]) -> dict[str, dict]:
    """Rows per child place from the three tallies (cards, campaigns by kind, awareness),
    with the rates; places with none of them do not appear."""
    rows: dict[str, dict] = {}

    def row(code: str) -> dict:
        return rows.setdefault(code, {"place_code": code, "cards": 0, "campaigns": 0,
                                      "campaigns_by_kind": {}, "surveyed": 0, "aware": 0,
                                      "participating": 0})

    for tally in counts["cards"]:
        row(tally["place_code"])["cards"] += tally["cards"]
    for tally in counts["campaigns"]:
        r = row(tally["place_code"])
        r["campaigns"] += tally["campaigns"]
        label = CAMPAIGN_KINDS[tally["kind"]]
        r["campaigns_by_kind"][label] = r["campaigns_by_kind"].get(label, 0) + tally["campaigns"]
    for tally in counts["awareness"]:
        r = row(tally["place_code"])
        for name in ("surveyed", "aware", "participating"):
            r[name] += tally[name]
    return rows


def total_of(rows: list[dict], place_code: str) -> dict:
    total: dict[str, Any] = {"place_code": place_code, "cards": 0, "campaigns": 0,
                             "campaigns_by_kind": {}, "surveyed": 0, "aware": 0,
                             "participating": 0}
    for r in rows:
        for name in ("cards", "campaigns", "surveyed", "aware", "participating"):
            total[name] += r[name]
        for label, n in r["campaigns_by_kind"].items():
            total["campaigns_by_kind"][label] = total["campaigns_by_kind"].get(label, 0) + n
    return with_rates(total)


def with_rates(row: dict) -> dict:
    row["awareness_rate"] = rate(row["aware"], row["surveyed"])
    row["participation_rate"] = rate(row["participating"], row["surveyed"])
    return row

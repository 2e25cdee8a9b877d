"""Places (行政区划) as this service keeps them: what an import may write, and the
events that tell the other services about them — after an import, and in a snapshot
with everything else they mirror. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Collection

from services.organizations import excellence
from services.organizations.domain import Organization
from shared.contracts.typed import organizations as typed
from shared.domain.events import Event
from shared.errors import ValidationError
from shared.national import regions

SNAPSHOT_BATCH = 1000  # places or organizations per snapshot event
_ANNOUNCED = ("code", "name", "level", "parent_code")  # a place in an event


def rows_to_import(places: list[typed.PlaceInput]) -> tuple[list[dict], dict[int, dict]]:
    """The rows an import writes, one per code in the caller's order (codes checked by
    the contract), and the refusals so far by the index of the place given: a code
    that appears twice."""
    rows: list[dict] = []
    errors: dict[int, dict] = {}
    seen: set[str] = set()
    for index, place in enumerate(places):
        code = regions.parse(place["code"])
        if code.code in seen:
            errors[index] = {"code": [f"{code.code} appears twice in this batch"]}
            continue
        seen.add(code.code)
        rows.append({"code": code.code, "name": place["name"].strip(), "level": code.level,
                     "kind": code.kind, "parent_code": code.parent})
    return rows, errors


def parents_outside(rows: list[dict]) -> set[str]:
    """The parents the rows name that are not among them: they must be known already."""
    return {r["parent_code"] for r in rows if r["parent_code"]} - {r["code"] for r in rows}


def check_import(rows: list[dict], errors: dict[int, dict], known: Collection[str]) -> None:
    """Refuse the whole batch if a place appears twice (`errors`) or names a parent
    neither `known` nor in the batch. (A parent's refusal is keyed by the row's index
    among `rows`, as it always was.)"""
    in_batch = {r["code"] for r in rows}
    for index, row in enumerate(rows):
        if row["parent_code"] and row["parent_code"] not in in_batch | set(known):
            errors.setdefault(index, {})["code"] = [
                f"parent {row['parent_code']} is neither known nor in this batch"]
    if errors:
        raise ValidationError("some places cannot be imported", {"places": errors})


def places_imported(rows: list[dict], touched: Collection[str]) -> Event | None:
    """What an import announces: the places it created or renamed (`touched`), in the
    rows' order; nothing if it changed none."""
    if not touched:
        return None
    return Event("places_imported", {"places": [
        {k: row[k] for k in _ANNOUNCED} for row in rows if row["code"] in touched]})


def snapshot(places: list[dict], organizations: list[Organization],
             creations: list[dict]) -> list[Event]:
    """Places and organizations again, in batches, and the service-oriented creations,
    as the events that first announced them: for a service that came later."""
    events = [Event("places_imported", {"places": [
        {k: place[k] for k in _ANNOUNCED} for place in places[start:start + SNAPSHOT_BATCH]]})
        for start in range(0, len(places), SNAPSHOT_BATCH)]
    events += [Event("organizations_snapshot", {"organizations": [
        org.snapshot() for org in organizations[start:start + SNAPSHOT_BATCH]]})
        for start in range(0, len(organizations), SNAPSHOT_BATCH)]
    # Evaluation surveys the creations (its handler ignores one it holds already).
    events += [excellence.service_creation_entered(**creation) for creation in creations]
    return events

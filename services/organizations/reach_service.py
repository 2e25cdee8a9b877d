"""The records an entrypoint names, found within the caller's reach: the lookups that
OrganizationsService and its mixins (rectification_service.py, excellence_service.py)
share. An edge, like the entrypoints: it reads the store and checks jurisdiction.

A record named by its id and outside the caller's jurisdiction is answered with the
store's own NotFound for that id (docs/platform.md, "Jurisdiction without oracles")."""

from __future__ import annotations

from services.organizations import rectification_store, store
from services.organizations.domain import Organization
from services.organizations.rectification import Case
from shared.errors import NotFound, ValidationError
from shared.platform.db import Transaction
from shared.platform.entrypoints import Call


def organization(call: Call, organization_id: int, *, lock: str | None = None) -> Organization:
    """`lock` as store.get_organization's."""
    org = store.get_organization(call.tx, organization_id, lock=lock)
    call.principal.require_visible(org.place_code, store.missing_organization(organization_id))
    return org


def leader(call: Call, leader_id: int, *, lock: str | None = None) -> tuple[dict, Organization]:
    """The leader and its organization (locked with `lock`); a leader of an
    organization outside the jurisdiction is no such leader."""
    found = store.get_leader(call.tx, leader_id)
    org = store.get_organization(call.tx, found["organization_id"], lock=lock)
    call.principal.require_visible(org.place_code, store.missing_leader(leader_id))
    if lock:
        found = store.get_leader(call.tx, leader_id)  # as it is under the lock
    return found, org


def organizer(call: Call, organizer_id: int) -> dict:
    found = store.get_organizer(call.tx, organizer_id)
    call.principal.require_visible(found["place_code"], store.missing_organizer(organizer_id))
    return found


def case(call: Call, case_id: int, *, lock: bool = False,
         absent: NotFound | None = None) -> tuple[Case, Organization]:
    """The rectification case and its organization; outside the jurisdiction, `absent`
    (the case's own NotFound, or that of the record that named the case, e.g. a task)."""
    found = rectification_store.get_case(call.tx, case_id, lock=lock)
    org = store.get_organization(call.tx, found.organization_id)
    call.principal.require_visible(org.place_code,
                                   absent or rectification_store.missing_case(case_id))
    return found, org


def audited(call: Call, entity_type: str, entity_id: str) -> None:
    """The audited entity is the caller's to see: a place (public) within the
    jurisdiction, a record as each of its own methods finds it."""
    if entity_type == "place":
        call.principal.require_place(store.get_place(call.tx, entity_id)["code"])
        return
    if not entity_id.isdigit():
        raise ValidationError("bad entity id", {"entity_id": ["must be a number"]})
    number = int(entity_id)
    if entity_type == "organization":
        organization(call, number)
    elif entity_type == "organizer":
        organizer(call, number)
    elif entity_type == "rectification_case":
        case(call, number)
    else:
        leader(call, number)


def known_place(tx: Transaction, code: str) -> dict:
    """A place a record is to be at: one that is not there is the caller's mistake."""
    try:
        return store.get_place(tx, code)
    except NotFound:
        raise ValidationError("unknown place", {"place_code": [f"no place {code}"]}) from None

"""The npe rules the entrypoints hand their loaded records to (services/npe/domain.py):
registration and import checks, who joins an organization, the checklist, sessions,
contacts, and the event an established organization records."""

import datetime as dt

import pytest

from services.npe import domain
from shared.domain.events import Event
from shared.errors import Conflict, ValidationError

RULES = domain.Rules()
TOWN, VILLAGE, OTHER_TOWN = "331123102000", "331123102201", "331123103000"


def enterprise(code="A", place=VILLAGE, coverage="none"):
    return {"credit_code": code, "name": f"{code}公司", "place_code": place,
            "full_members": 5, "operating_status": "operating", "coverage": coverage}


def establishment(kind="regional", status="registered", place=TOWN, codes=("B",)):
    return {"kind": kind, "status": status, "place_code": place, "credit_codes": list(codes)}


def test_an_unknown_place_is_refused_naming_it():
    domain.require_known_place(VILLAGE, {VILLAGE: "一村"})
    with pytest.raises(ValidationError) as caught:
        domain.require_known_place(TOWN, {VILLAGE: "一村"})
    assert caught.value.message == "unknown place"
    assert caught.value.details == {"place_code": [
        f"no place {TOWN} known to npe (places arrive from the organizations service)"]}


def test_registrations_need_known_places_and_distinct_codes():
    rows = [{"credit_code": "A", "place_code": VILLAGE}, {"credit_code": "B", "place_code": TOWN}]
    domain.check_registrations(rows, {VILLAGE, TOWN})
    with pytest.raises(ValidationError) as caught:
        domain.check_registrations(rows, {VILLAGE})
    assert caught.value.message == "unknown place"
    with pytest.raises(ValidationError) as caught:
        domain.check_registrations([rows[0], rows[0]], {VILLAGE})
    assert caught.value.details == {"credit_code": ["appears twice"]}


def test_an_import_names_each_bad_row_by_its_index():
    rows = [{"credit_code": "A", "place_code": VILLAGE},
            {"credit_code": "A", "place_code": TOWN},  # twice: said before its place
            {"credit_code": "C", "place_code": TOWN},
            {"credit_code": "D", "place_code": VILLAGE}]
    domain.check_import([rows[0], rows[3]], {VILLAGE})
    with pytest.raises(ValidationError) as caught:
        domain.check_import(rows, {VILLAGE})
    assert caught.value.message == "some enterprises cannot be imported"
    assert caught.value.details == {"enterprises": {
        1: {"credit_code": ["appears twice in this batch"]},
        2: {"place_code": [f"no place {TOWN} known to npe"]}}}


def test_an_organization_covers_its_own_place_only():
    domain.check_within_place([enterprise("A"), enterprise("B", TOWN)], TOWN)
    with pytest.raises(ValidationError) as caught:
        domain.check_within_place([enterprise("A"), enterprise("B", OTHER_TOWN)], TOWN)
    assert caught.value.details == {"credit_codes": [f"B is in {OTHER_TOWN}"]}


@pytest.mark.parametrize("joined, field, says", [
    (establishment(kind="own"), "establishment_id", "own organizations take no others"),
    (establishment(status="refused"), "establishment_id", "it is refused"),
    (establishment(place=OTHER_TOWN), "credit_code", f"{VILLAGE} is outside {OTHER_TOWN}"),
])
def test_who_may_join_an_organization(joined, field, says):
    with pytest.raises(ValidationError) as caught:
        domain.check_joining(joined, enterprise(), RULES)
    assert caught.value.details == {field: [says]}


def test_joining_keeps_the_member_rules():
    domain.check_joining(establishment(), enterprise(), RULES)
    domain.check_joining(establishment(kind="joint", codes="BCDE"), enterprise(), RULES)
    with pytest.raises(ValidationError):  # a sixth unit of a joint branch
        domain.check_joining(establishment(kind="joint", codes="BCDEF"), enterprise(), RULES)
    with pytest.raises(Conflict):  # in its own organization already
        domain.check_joining(establishment(kind="joint"), enterprise(coverage="own"), RULES)


def test_an_established_organization_records_what_the_registry_registers():
    founded = dt.date(2025, 7, 1)
    joint = {"kind": "joint", "org_kind": "632", "name": "联合党支部", "place_code": TOWN,
             "full_members": 7, "founded_on": founded}
    members = [enterprise("A"), enterprise("B")]
    assert domain.organization_established(42, joint, members) == Event(
        "enterprise_org_established", {
            "establishment_id": 42, "external_ref": "npe:42", "kind": "632",
            "name": "联合党支部", "place_code": TOWN, "full_members": 7, "committee_size": 3,
            "units": ["A公司（A）", "B公司（B）"], "founded_on": founded})
    regional = {**joint, "kind": "regional", "org_kind": "611", "full_members": 9}
    event = domain.organization_established(43, regional, members)
    assert (event.data["kind"], event.data["committee_size"], event.data["units"]) == (
        "611", 5, [])


def test_the_registry_reference_names_our_establishment():
    assert domain.establishment_of(domain.external_ref(42)) == 42
    for reference in (None, "", "npe:", "npe:x", "other:42", "42"):
        assert domain.establishment_of(reference) is None


def test_checklist_items_sessions_and_contacts():
    domain.check_standard_item("venue", RULES)
    with pytest.raises(ValidationError) as caught:
        domain.check_standard_item("parking", RULES)
    assert caught.value.details == {"item": [
        "one of organization_set_up, team, venue, systems, activities, role"]}
    domain.check_session({"sessions": 4}, 4)
    with pytest.raises(ValidationError) as caught:
        domain.check_session({"sessions": 4}, 5)
    assert caught.value.details == {"session": ["the class has 4 sessions"]}
    domain.check_contact({"dual_managed": True})
    with pytest.raises(ValidationError) as caught:
        domain.check_contact({"dual_managed": False})
    assert caught.value.details == {"credit_code": ["not a dual-managed (双管) enterprise"]}

"""Lookups the cadres entrypoints share (service.py and duties_service.py): a person in
the caller's reach, a place cadres knows. An edge like the entrypoints (it loads through
the store and may ask the organizations service), hence the _service name: the domain
modules beside it stay pure."""

from __future__ import annotations

from services.cadres import domain, store
from shared.platform.entrypoints import Call
from shared.platform.owner_lookup import Lookup


# A record named by its id and outside the caller's jurisdiction is the store's own
# NotFound (require_visible): whether it exists elsewhere is not the caller's to learn.
def person(call: Call, person_id: int, *, lock: bool = False) -> dict:
    found = store.person(call.tx, person_id, lock=lock)
    call.principal.require_visible(found["place_code"], store.person_absent(person_id))
    return found


def place_known(call: Call, owner: Lookup, place_code: str) -> str:
    """The place's name, asked of the organizations service through `owner` (what the
    host's OwnerLookup gives a worker) when cadres has not heard of it yet;
    ValidationError if no one knows it."""
    return domain.known_place(place_code, owner.place_names(call, [place_code]).get(place_code))

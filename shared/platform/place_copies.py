"""What every reporting service needs of places: a copy of the place tree kept from the
organizations service's places_imported events (its own `places` table), and the SQL
that groups rows by the child place of a report's place.

    class EvaluationService(PlaceDirectory): ...     # keeps the copy up to date
"""

from __future__ import annotations

from shared.national import regions
from shared.platform.db import Transaction
from shared.platform.events import handles


def child_width(place_code: str) -> int:
    """Digits that name a child place under `place_code` (a village has none below it)."""
    level = regions.level_of(place_code)
    if level == "village":
        return 12
    return regions.PREFIX_LENGTHS[regions.LEVELS[regions.LEVELS.index(level) + 1]]


def child_of(column: str, place_code: str) -> tuple[str, dict]:
    """SQL naming, for each row, the child place of `place_code` its `column` lies in —
    or `place_code` itself for rows at that very place (its blocks below are zeros, so
    the same expression gives it) — and its parameters. Cheap on purpose: a province's
    report evaluates it for every row (a CASE here cost 40 % of a 200 000-row report)."""
    return (f"rpad(left({column}, %(child_width)s), 12, '0')",
            {"child_width": child_width(place_code)})


def child_code(code: str, place_code: str) -> str:
    """In Python, what child_of gives in SQL: the child place of `place_code` that `code`
    lies in (or `place_code` itself)."""
    return code[:child_width(place_code)].ljust(12, "0")


def upsert(tx: Transaction, places: list[dict]) -> None:
    insert = _insert(tx, places)
    if insert is not None:
        tx.execute(insert + b" ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name")


def insert_missing(tx: Transaction, places: list[dict]) -> None:
    """Places not held yet, as upsert writes them; those held are left as they are (and
    unlocked): what a lookup of the owner records (shared.platform.owner_lookup). Renames are
    the events' to make."""
    insert = _insert(tx, places)
    if insert is not None:
        tx.execute(insert + b" ON CONFLICT (code) DO NOTHING")


def _insert(tx: Transaction, places: list[dict]) -> bytes | None:
    """The INSERT of `places`; None for none."""
    return tx.render_rows(
        "INSERT INTO places (code, name, level, parent_code) VALUES", "(%s, %s, %s, %s)",
        ((p["code"], p["name"], p["level"], p["parent_code"]) for p in places))


def names(tx: Transaction, codes) -> dict[str, str]:
    rows = tx.all("SELECT code, name FROM places WHERE code = ANY(%s)", (list(codes),))
    return {row["code"]: row["name"] for row in rows}


def name(tx: Transaction, code: str) -> str | None:
    return tx.scalar("SELECT name FROM places WHERE code = %s", (code,))


def children(tx: Transaction, place_code: str) -> list[str]:
    return [row["code"] for row in tx.all(
        "SELECT code FROM places WHERE parent_code = %s ORDER BY code", (place_code,))]


class PlaceDirectory:
    """Mixed into a service class: keeps its `places` table from the events."""

    @handles("organizations", "places_imported")
    def on_places_imported(self, tx, event):
        upsert(tx, event["data"]["places"])


# The copy tables a service mixing in PlaceDirectory or OrganizationDirectory creates in
# its own migrations (each service owns its schema; a landed migration is never edited),
# with these columns: tests/integration/test_place_copies.py migrates every such service
# and holds its tables to them.
# (type, collation): place codes compare byte-wise (COLLATE "C"), as regions.subtree
# bounds' range queries expect.
PLACE_COPY_COLUMNS = {"code": ("text", "C"), "name": ("text", None), "level": ("text", None),
                      "parent_code": ("text", "C")}
ORGANIZATION_COPY_COLUMNS = {"id": ("bigint", None), "name": ("text", None),
                             "kind": ("text", None), "sector": ("text", None),
                             "place_code": ("text", "C"), "status": ("text", None),
                             "version": ("integer", None)}


class OrganizationDirectory:
    """Mixed into a service class: keeps its `organizations` table (id, name, kind,
    sector, place_code, status, version) from the organizations service's events. A
    snapshot older than what is held is ignored: events can arrive out of order across
    relay replicas."""

    @handles("organizations", "organization_registered")
    def on_organization_registered(self, tx, event):
        organization = event["data"]["organization"]
        apply_organization(tx, organization)
        self.organization_registered(tx, organization)

    def organization_registered(self, tx, organization: dict) -> None:
        """What the service does once it knows a new organization, in the same
        transaction: what arrived for it before it was known (events of different
        types travel on different queues) may now be applied. Nothing, here."""

    @handles("organizations", "organization_updated")
    def on_organization_updated(self, tx, event):
        apply_organization(tx, event["data"]["organization"])

    @handles("organizations", "organization_status_changed")
    def on_organization_status_changed(self, tx, event):
        apply_organization(tx, event["data"]["organization"])

    @handles("organizations", "organizations_snapshot")
    def on_organizations_snapshot(self, tx, event):
        for organization in event["data"]["organizations"]:
            apply_organization(tx, organization)


def insert_organization_if_absent(tx: Transaction, org: dict) -> None:
    """An organization not held yet, as apply_organization writes it; one held is left as
    it is (and unlocked: the caller's locks stay in the order it takes them). What a
    lookup of the owner records (shared.platform.owner_lookup): newer versions come by events."""
    tx.execute(
        "INSERT INTO organizations (id, name, kind, sector, place_code, status, version)"
        " VALUES (%(id)s, %(name)s, %(kind)s, %(sector)s, %(place_code)s, %(status)s, %(version)s)"
        " ON CONFLICT (id) DO NOTHING", org)


def apply_organization(tx: Transaction, org: dict) -> None:
    tx.execute(
        "INSERT INTO organizations (id, name, kind, sector, place_code, status, version)"
        " VALUES (%(id)s, %(name)s, %(kind)s, %(sector)s, %(place_code)s, %(status)s, %(version)s)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
        " sector = EXCLUDED.sector, place_code = EXCLUDED.place_code, status = EXCLUDED.status,"
        " version = EXCLUDED.version WHERE organizations.version < EXCLUDED.version", org)

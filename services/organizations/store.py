"""SQL of the organizations service (psycopg2, parameterized). No rules here: those are
in domain.py. Subtree queries are `place_code BETWEEN lo AND hi` on fixed-width codes
(shared.national.regions.subtree_bounds), which a btree index answers directly."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

import psycopg2.errors
import psycopg2.extensions

from services.organizations.domain import Organization
from shared.contracts.typed import organizations as typed
from shared.domain.events import Event
from shared.errors import Conflict, NotFound, ValidationError
from shared.national import regions
from shared.platform import place_copies as places
from shared.platform.db import Transaction, TransientConflict


def _returned(tx: Transaction, sql: str, values) -> dict:
    """The one row an INSERT or UPDATE … RETURNING gives back."""
    (row,) = tx.all(sql, values)
    return row


# -- places ---------------------------------------------------------------------------
PLACE_COLUMNS = "code, name, level, kind, parent_code"


def get_place(tx: Transaction, code: str) -> dict:
    place = tx.one(f"SELECT {PLACE_COLUMNS} FROM places WHERE code = %s", (code,))
    if place is None:
        raise NotFound(f"no place {code} (未找到该地区)", {"code": code})
    return place


def place_names(tx: Transaction, codes) -> dict[str, str]:
    rows = tx.all("SELECT code, name FROM places WHERE code = ANY(%s)", (list(codes),))
    return {row["code"]: row["name"] for row in rows}


def children(tx: Transaction, code: str) -> list[dict]:
    return tx.all(f"SELECT {PLACE_COLUMNS} FROM places WHERE parent_code = %s ORDER BY code",
                  (code,))


def path(tx: Transaction, code: str) -> list[dict]:
    codes = [*regions.ancestors(code), code]
    rows = tx.all(f"SELECT {PLACE_COLUMNS} FROM places WHERE code = ANY(%s)", (codes,))
    by_code = {row["code"]: row for row in rows}
    return [by_code[c] for c in codes if c in by_code]


def places_in(tx: Transaction, place_code: str) -> list[dict]:
    """The place, its ancestors and its whole subtree, parents first."""
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all("SELECT code, name, level, parent_code FROM places"
                  " WHERE code BETWEEN %s AND %s OR code = ANY(%s) ORDER BY code",
                  (lo, hi, regions.ancestors(place_code)))


def upsert_places(tx: Transaction, places: list[dict]) -> dict:
    """Create new places and rename changed ones; returns counts and what changed."""
    existing = place_names(tx, (p["code"] for p in places))
    new = [p for p in places if p["code"] not in existing]
    renamed = [p for p in places if p["code"] in existing and existing[p["code"]] != p["name"]]
    if new:  # one statement: a parent later in the list is still checked at its end
        tx.execute(tx.render_rows(
            "INSERT INTO places (code, name, level, kind, parent_code) VALUES", "(%s, %s, %s, %s, %s)",
            ((p["code"], p["name"], p["level"], p["kind"], p["parent_code"]) for p in new)))
    values = tx.render_rows("VALUES", "(%s, %s)", ((p["code"], p["name"]) for p in renamed))
    if values is not None:  # some renamed
        tx.execute(b"UPDATE places SET name = v.name, updated_at = now() FROM ("
                   + values + b") AS v(code, name) WHERE places.code = v.code")
    return {
        "created": [p["code"] for p in new],
        "renamed": {p["code"]: {"old": existing[p["code"]], "new": p["name"]} for p in renamed},
        "unchanged": len(places) - len(new) - len(renamed),
    }


# -- organizations ------------------------------------------------------------------
_ORG_FIELDS = [f.name for f in fields(Organization) if f.name not in ("events", "place_name")]
_ORG_SELECT = (
    "SELECT " + ", ".join(f"o.{name}" for name in _ORG_FIELDS)
    + ", p.name AS place_name FROM organizations o JOIN places p ON p.code = o.place_code"
)
_WRITABLE = [name for name in _ORG_FIELDS if name not in ("id", "updated_at")]


def _organization(row: dict) -> Organization:
    return Organization(**row)


# missing_*: the one NotFound for a record that is not there and for one outside the
# caller's jurisdiction (Principal.require_visible), built in one place so that the two
# answers cannot drift apart and tell a caller what exists elsewhere.
def missing_organization(organization_id: int) -> NotFound:
    return NotFound(f"no organization {organization_id} (未找到该党组织)",
                    {"organization_id": organization_id})


def get_organization(tx: Transaction, organization_id: int, *, lock: str | None = None) -> Organization:
    """`lock`: "update" to change it, "share" to rely on it (a parent) until commit."""
    row = tx.one(_ORG_SELECT + " WHERE o.id = %s" + (f" FOR {lock.upper()} OF o" if lock else ""),
                 (organization_id,))
    if row is None:
        raise missing_organization(organization_id)
    return _organization(row)


def organizations_by_id(tx: Transaction, ids, *, lock: str | None = None) -> dict[int, Organization]:
    """Those of `ids` that exist; locked in id order, as any other caller locks them."""
    rows = tx.all(_ORG_SELECT + " WHERE o.id = ANY(%s) ORDER BY o.id"
                  + (f" FOR {lock.upper()} OF o" if lock else ""), (sorted(ids),))
    return {row["id"]: _organization(row) for row in rows}


def lock_reference(tx: Transaction, external_ref: str) -> None:
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (external_ref,))


def organization_id_by_ref(tx: Transaction, external_ref: str) -> int | None:
    return tx.scalar("SELECT id FROM organizations WHERE external_ref = %s", (external_ref,))


# domain.name_key in SQL: the expression of the unique index organizations_active_name
# (migration 0007), which holds one name per place among active organizations.
NAME_KEY = ("regexp_replace(normalize({}, NFKC), "
            "'[\\t\\n\\v\\f\\r \\u00ad\\u200b\\u200c\\u200d\\u2060\\ufeff]+', '', 'g')")


def insert_organizations(tx: Transaction, orgs: list[Organization]) -> list[Organization]:
    """Insert, in one statement, and learn each place's name with it: the foreign key is
    what checks that the place exists, the unique index that the name is free there
    (a row it refuses is not inserted: Conflict naming the one that has the name). For
    several, their ids are drawn first, so that each row's id is known without relying
    on the order of RETURNING (which PostgreSQL does not promise); one alone costs no
    second round trip."""
    if len(orgs) == 1:
        ids = [psycopg2.extensions.AsIs("DEFAULT")]
    else:
        ids = [row["id"] for row in tx.all(
            "SELECT nextval(pg_get_serial_sequence('organizations', 'id')) AS id"
            " FROM generate_series(1, %s)", (len(orgs),))]
    columns = ["id", *_WRITABLE]
    for org, org_id in zip(orgs, ids, strict=True):
        org.id, org.version = org_id, 1
    insert = tx.render_rows(
        f"INSERT INTO organizations ({', '.join(columns)}) OVERRIDING SYSTEM VALUE VALUES",
        f"({', '.join(['%s'] * len(columns))})",
        ([getattr(org, name) for name in columns] for org in orgs))
    if insert is None:  # no organizations
        return orgs
    try:
        rows = tx.all(
            insert
            + (f" ON CONFLICT (place_code, ({NAME_KEY.format('name')}))"  # the name's index
               " WHERE status = 'active' AND NOT name_clash DO NOTHING").encode()  # told below
            + b" RETURNING id, updated_at, (SELECT p.name FROM places p"
              b" WHERE p.code = organizations.place_code) AS place_name")
    except psycopg2.errors.ForeignKeyViolation as exc:
        if exc.diag.constraint_name != "organizations_place_code_fkey" or len(orgs) > 1:
            raise  # several: the import replays them one by one, each told apart
        raise ValidationError("unknown place", {"place_code": [f"no place {orgs[0].place_code}"]}) from None
    if len(rows) < len(orgs):
        returned = {row["id"] for row in rows}
        refused = orgs[0] if len(orgs) == 1 else next(o for o in orgs if o.id not in returned)
        raise name_taken(tx, refused)  # (its id was drawn but not inserted)
    if len(orgs) == 1:
        orgs[0].id = rows[0]["id"]
    inserted = {row["id"]: row for row in rows}
    for org in orgs:
        org.updated_at, org.place_name = inserted[org.id]["updated_at"], inserted[org.id]["place_name"]
        _write_events(tx, org)
    return orgs


def name_taken(tx: Transaction, org: Organization,
               other_than: int | None = None) -> Conflict | TransientConflict:
    """The Conflict for `org`, whose name an active organization of its place (other
    than `other_than`: itself, when renamed) has; a TransientConflict (run it again)
    when the one that took it is gone by now (rolled back meanwhile)."""
    holder = tx.one(
        "SELECT id, name FROM organizations WHERE place_code = %s AND status = 'active'"
        f" AND NOT name_clash AND {NAME_KEY.format('name')} = {NAME_KEY.format('%s')}"
        " AND id IS DISTINCT FROM %s ORDER BY id LIMIT 1", (org.place_code, org.name, other_than))
    if holder is None:
        return TransientConflict(f"the name {org.name} was being taken at {org.place_code}"
                                 " by a registration that did not commit; try again")
    return Conflict(
        f"an active organization at {org.place_code} is named {holder['name']} already "
        f"(organization {holder['id']}) (同一地点已有同名的正常党组织)",
        {"name": ["taken at this place"], "existing_organization_id": holder["id"]})


def require_name_free(tx: Transaction, org: Organization) -> None:
    """Before a rename or a move: the name free at the (new) place."""
    taken = tx.scalar(
        "SELECT true FROM organizations WHERE place_code = %s AND status = 'active'"
        f" AND NOT name_clash AND {NAME_KEY.format('name')} = {NAME_KEY.format('%s')}"
        " AND id <> %s", (org.place_code, org.name, org.id))
    if taken:
        raise name_taken(tx, org, other_than=org.id)


def save_organization(tx: Transaction, org: Organization, read_version: int) -> Organization:
    """Write a changed organization if nobody changed it since `read_version` (its cases
    follow it to a new place by a trigger: migration 0006)."""
    columns = [name for name in _WRITABLE]
    try:
        row = tx.one(
            f"UPDATE organizations SET {', '.join(f'{c} = %s' for c in columns)}, updated_at = now()"
            " WHERE id = %s AND version = %s RETURNING updated_at",
            [getattr(org, c) for c in columns] + [org.id, read_version],
        )
    except psycopg2.errors.UniqueViolation:  # the name taken at the same moment by another
        raise Conflict(f"the name {org.name} was taken at {org.place_code} meanwhile "
                       "(同一地点已有同名的正常党组织)",
                       {"name": ["taken at this place"]}) from None
    if row is None:
        current = tx.scalar("SELECT version FROM organizations WHERE id = %s", (org.id,))
        raise Conflict(
            f"organization {org.id} was changed by someone else (version {current}, you read "
            f"{read_version}); read it again (数据已被他人修改，请刷新后重试)",
            {"organization_id": org.id, "current_version": current, "your_version": read_version},
        )
    org.updated_at = row["updated_at"]
    _write_events(tx, org)
    return org


def _write_events(tx: Transaction, org: Organization) -> None:
    for event in org.events:
        tx.emit(Event(event.type, {"organization": org.snapshot(), **event.data}))
    org.events.clear()


def organizations_in(tx: Transaction, place_code: str) -> list[Organization]:
    lo, hi = regions.subtree_bounds(place_code)
    return [_organization(row) for row in tx.all(
        _ORG_SELECT + " WHERE o.place_code BETWEEN %s AND %s ORDER BY o.id", (lo, hi))]


def active_children(tx: Transaction, organization_id: int) -> list[Organization]:
    rows = tx.all(_ORG_SELECT + " WHERE o.parent_id = %s AND o.status = 'active' ORDER BY o.id",
                  (organization_id,))
    return [_organization(row) for row in rows]


def ancestor_ids(tx: Transaction, organization_id: int) -> list[int]:
    rows = tx.all(
        """
        WITH RECURSIVE up(id, parent_id, depth) AS (
            SELECT id, parent_id, 0 FROM organizations WHERE id = %s
            UNION ALL
            SELECT o.id, o.parent_id, up.depth + 1 FROM organizations o
            JOIN up ON o.id = up.parent_id WHERE up.depth < 20
        )
        SELECT id FROM up WHERE depth > 0
        """,
        (organization_id,),
    )
    return [row["id"] for row in rows]


def like_pattern(text: str) -> str:
    """A LIKE pattern for names containing `text`, its \\, % and _ plain characters."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def organization_page(tx: Transaction, place_code: str, *, kind=None, sector=None, status=None,
                      grade=None, name: str | None = None, limit: int,
                      after=None) -> tuple[list[Organization], list | None]:
    """`name`: a domain.name_search key the name's key contains. The trigram index of
    migration 0008 answers it from three characters on; a shorter one, the index of
    one- and two-character substrings of migration 0009."""
    lo, hi = regions.subtree_bounds(place_code)
    where = ["o.place_code BETWEEN %s AND %s"]
    params: list = [lo, hi]
    for column, value in (("kind", kind), ("sector", sector), ("status", status),
                          ("current_grade", grade)):
        if value is not None:
            where.append(f"o.{column} = %s")
            params.append(value)
    if name is not None:
        where.append(f"{NAME_KEY.format('o.name')} LIKE %s ESCAPE '\\'")
        params.append(like_pattern(name))
        if len(name) <= 2:  # too short for trigrams: migration 0009's index of substrings
            where.append(f"name_grams({NAME_KEY.format('o.name')}) @> ARRAY[%s]")
            params.append(name)
    if after is not None:
        where.append("(o.place_code, o.id) > (%s, %s)")
        params += list(after)
    rows = tx.all(
        _ORG_SELECT + " WHERE " + " AND ".join(where)
        + " ORDER BY o.place_code, o.id LIMIT %s",
        params + [limit + 1],
    )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = [rows[-1]["place_code"], rows[-1]["id"]] if more else None
    return [_organization(r) for r in rows], cursor


def reelection_due(tx: Transaction, place_code: str, until: dt.date, *, limit: int,
                   after=None) -> tuple[list[dict], list | None]:
    lo, hi = regions.subtree_bounds(place_code)
    params: list = [lo, hi, until]
    keyset = ""
    if after is not None:
        keyset = " AND (o.term_ends_on, o.id) > (%s, %s)"
        params += list(after)
    rows = tx.all(
        "SELECT o.id AS organization_id, o.name, o.kind, o.place_code, p.name AS place_name,"
        " o.elected_on, o.term_ends_on FROM organizations o JOIN places p ON p.code = o.place_code"
        " WHERE o.status = 'active' AND o.place_code BETWEEN %s AND %s AND o.term_ends_on <= %s"
        + keyset + " ORDER BY o.term_ends_on, o.id LIMIT %s",
        params + [limit + 1],
    )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = [rows[-1]["term_ends_on"].isoformat(), rows[-1]["organization_id"]] if more else None
    return rows, cursor


# -- leadership ---------------------------------------------------------------------
LEADER_COLUMNS = ("id, organization_id, post, name, sex, birth_date, from_unit, method,"
                  " started_on, ended_on, end_reason")
VACANCY_COLUMNS = ("id, organization_id, post, reason, opened_on, status, filled_on,"
                   " fill_method, filled_by_leader_id")


def leaders(tx: Transaction, organization_id: int) -> list[dict]:
    return tx.all(f"SELECT {LEADER_COLUMNS} FROM leaders WHERE organization_id = %s"
                  " ORDER BY ended_on NULLS FIRST, started_on, id", (organization_id,))


def posts_in_post(tx: Transaction, organization_id: int) -> list[str]:
    """The post of each person in post now."""
    rows = tx.all("SELECT post FROM leaders WHERE organization_id = %s AND ended_on IS NULL",
                  (organization_id,))
    return [row["post"] for row in rows]


def open_vacancy_rows(tx: Transaction, organization_id: int) -> list[dict]:
    return tx.all(f"SELECT {VACANCY_COLUMNS} FROM vacancies WHERE organization_id = %s"
                  " AND status = 'open' ORDER BY opened_on, id", (organization_id,))


def missing_leader(leader_id: int) -> NotFound:  # see missing_organization
    return NotFound(f"no leader {leader_id}", {"leader_id": leader_id})


def get_leader(tx: Transaction, leader_id: int) -> dict:
    row = tx.one(f"SELECT {LEADER_COLUMNS} FROM leaders WHERE id = %s", (leader_id,))
    if row is None:
        raise missing_leader(leader_id)
    return row


def vacancies(tx: Transaction, organization_id: int) -> list[dict]:
    return tx.all(f"SELECT {VACANCY_COLUMNS} FROM vacancies WHERE organization_id = %s"
                  " ORDER BY opened_on, id", (organization_id,))


def insert_leader(tx: Transaction, values: dict) -> dict:
    return _returned(
        tx,
        "INSERT INTO leaders (organization_id, post, name, sex, birth_date, from_unit, method,"
        " started_on, external_ref) VALUES (%(organization_id)s, %(post)s, %(name)s, %(sex)s,"
        " %(birth_date)s, %(from_unit)s, %(method)s, %(started_on)s, %(external_ref)s)"
        f" RETURNING {LEADER_COLUMNS}",
        values,
    )


def leader_id_by_ref(tx: Transaction, external_ref: str) -> int | None:
    return tx.scalar("SELECT id FROM leaders WHERE external_ref = %s", (external_ref,))


def end_leader(tx: Transaction, leader_id: int, ended_on: dt.date, reason: str) -> dict:
    row = tx.one(
        f"UPDATE leaders SET ended_on = %s, end_reason = %s WHERE id = %s AND ended_on IS NULL"
        f" RETURNING {LEADER_COLUMNS}",
        (ended_on, reason, leader_id),
    )
    if row is None:
        raise Conflict(f"leader {leader_id} has already left the post", {"leader_id": leader_id})
    return row


def open_vacancies(tx: Transaction, organization_id: int, posts: list[str], reason: str,
                   opened_on: dt.date) -> list[dict]:
    if not posts:
        return []
    return tx.all(
        "INSERT INTO vacancies (organization_id, post, reason, opened_on) SELECT %s, post, %s, %s"
        f" FROM unnest(%s::text[]) AS post RETURNING {VACANCY_COLUMNS}",
        (organization_id, reason, opened_on, posts),
    )


def defer_vacancies(tx: Transaction,
                    seats: list[tuple[Organization, list[str], dt.date]], reason: str) -> None:
    """open_vacancies for organizations just inserted (each: its posts and the day they
    open), when nothing in the transaction needs the vacancies back (sent at commit)."""
    tx.defer_rows("INSERT INTO vacancies (organization_id, post, reason, opened_on) VALUES",
                  "(%s, %s, %s, %s)", ((org.id, post, reason, opened_on)
                                       for org, posts, opened_on in seats
                                       for post in posts))


def fill_vacancy(tx: Transaction, vacancy_id: int, leader: dict) -> dict:
    return _returned(
        tx,
        "UPDATE vacancies SET status = 'filled', filled_on = %s, fill_method = %s,"
        f" filled_by_leader_id = %s WHERE id = %s RETURNING {VACANCY_COLUMNS}",
        (leader["started_on"], leader["method"], leader["id"], vacancy_id),
    )


def cancel_vacancies(tx: Transaction, vacancy_ids: list[int]) -> list[int]:
    if vacancy_ids:
        tx.execute("UPDATE vacancies SET status = 'cancelled' WHERE id = ANY(%s)", (vacancy_ids,))
    return vacancy_ids


def end_all_leadership(tx: Transaction, organization_id: int, ended_on: dt.date) -> dict:
    """An organization merged or dissolved: its posts end and its vacancies close.
    Returns the ids of both, for the audit trail."""
    leaders = tx.all("UPDATE leaders SET ended_on = %s, end_reason = 'other'"
                     " WHERE organization_id = %s AND ended_on IS NULL RETURNING id",
                     (ended_on, organization_id))
    vacancies = tx.all("UPDATE vacancies SET status = 'cancelled' WHERE organization_id = %s"
                       " AND status = 'open' RETURNING id", (organization_id,))
    return {"leaders_ended": [r["id"] for r in leaders],
            "vacancies_cancelled": [r["id"] for r in vacancies]}


_TEAM_STATE = """
    SELECT o.id AS organization_id, o.name, o.place_code, p.name AS place_name,
           o.committee_size,
           coalesce(l.secretaries, 0) AS secretaries,
           coalesce(l.committee, 0) AS committee,
           coalesce(v.open, 0) AS open_vacancies
    FROM organizations o
    JOIN places p ON p.code = o.place_code
    LEFT JOIN (
        SELECT organization_id,
               count(*) FILTER (WHERE post = 'secretary') AS secretaries,
               count(*) FILTER (WHERE post IN ('secretary', 'deputy_secretary',
                                               'committee_member')) AS committee
        FROM leaders WHERE ended_on IS NULL GROUP BY organization_id
    ) l ON l.organization_id = o.id
    LEFT JOIN (
        SELECT organization_id, count(*) AS open FROM vacancies
        WHERE status = 'open' GROUP BY organization_id
    ) v ON v.organization_id = o.id
    WHERE o.status = 'active' AND o.place_code BETWEEN %(lo)s AND %(hi)s
"""
# The same rule as domain.team_problems, in SQL so the database does the filtering.
_INCOMPLETE = ("(secretaries = 0 OR (committee_size > 0 AND committee < committee_size)"
               " OR open_vacancies > 0)")


def incomplete_teams(tx: Transaction, place_code: str, *, limit: int,
                     after=None) -> tuple[list[dict], list | None]:
    lo, hi = regions.subtree_bounds(place_code)
    params = {"lo": lo, "hi": hi, "limit": limit + 1}
    keyset = ""
    if after is not None:
        keyset = " AND (place_code, organization_id) > (%(after_place)s, %(after_id)s)"
        params.update(after_place=after[0], after_id=after[1])
    rows = tx.all(
        f"SELECT * FROM ({_TEAM_STATE}) t WHERE {_INCOMPLETE}{keyset}"
        " ORDER BY place_code, organization_id LIMIT %(limit)s",
        params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = [rows[-1]["place_code"], rows[-1]["organization_id"]] if more else None
    return rows, cursor


def team_counts_by_child(tx: Transaction, place_code: str) -> list[dict]:
    """Active organizations and incomplete teams per child place (and the place itself,
    for organizations sitting at its own level)."""
    lo, hi = regions.subtree_bounds(place_code)
    child, params = places.child_of("place_code", place_code)
    return tx.all(
        f"""
        SELECT c.code AS place_code, coalesce(pl.name, '') AS place_name,
               c.organizations, c.incomplete
        FROM (
            SELECT {child} AS code, count(*) AS organizations,
                   count(*) FILTER (WHERE {_INCOMPLETE}) AS incomplete
            FROM ({_TEAM_STATE}) t GROUP BY 1
        ) c LEFT JOIN places pl ON pl.code = c.code
        ORDER BY c.code
        """,
        {**params, "lo": lo, "hi": hi},
    )


# -- organizers ---------------------------------------------------------------------
ORGANIZER_COLUMNS = "o.id, o.place_code, p.name AS place_name, o.name, o.sex, o.appointed_on, o.ended_on"


def insert_organizer(tx: Transaction, values: typed.AppointOrganizerParams) -> dict:
    organizer_id = tx.scalar(
        "INSERT INTO organizers (place_code, name, sex, appointed_on)"
        " VALUES (%(place_code)s, %(name)s, %(sex)s, %(appointed_on)s) RETURNING id", values)
    return get_organizer(tx, organizer_id)


def missing_organizer(organizer_id: int) -> NotFound:  # see missing_organization
    return NotFound(f"no organizer {organizer_id}", {"organizer_id": organizer_id})


def get_organizer(tx: Transaction, organizer_id: int) -> dict:
    row = tx.one(f"SELECT {ORGANIZER_COLUMNS} FROM organizers o JOIN places p ON p.code = o.place_code"
                 " WHERE o.id = %s", (organizer_id,))
    if row is None:
        raise missing_organizer(organizer_id)
    return row


def end_organizer(tx: Transaction, organizer_id: int, ended_on: dt.date) -> dict:
    ended = tx.scalar("UPDATE organizers SET ended_on = %s WHERE id = %s AND ended_on IS NULL"
                      " RETURNING id", (ended_on, organizer_id))
    if ended is None:
        raise Conflict(f"organizer {organizer_id} has already left", {"organizer_id": organizer_id})
    return get_organizer(tx, organizer_id)


def organizers_in_post(tx: Transaction, place_code: str) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all(f"SELECT {ORGANIZER_COLUMNS} FROM organizers o JOIN places p ON p.code = o.place_code"
                  " WHERE o.ended_on IS NULL AND o.place_code BETWEEN %s AND %s"
                  " ORDER BY o.place_code, o.id", (lo, hi))


def townships_with_organizer_counts(tx: Transaction, place_code: str) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all(
        "SELECT p.code AS place_code, p.name AS place_name, p.kind,"
        " count(o.id) AS organizers FROM places p"
        " LEFT JOIN organizers o ON o.place_code = p.code AND o.ended_on IS NULL"
        " WHERE p.level = 'township' AND p.code BETWEEN %s AND %s"
        " GROUP BY p.code ORDER BY p.code",
        (lo, hi),
    )


# -- audit --------------------------------------------------------------------------
def audit_trail(tx: Transaction, entity_type: str, entity_id: str) -> list[dict]:
    return tx.all(
        "SELECT occurred_at, subject, department, system, request_id, operation, changes"
        " FROM audit_log WHERE entity_type = %s AND entity_id = %s ORDER BY id",
        (entity_type, entity_id),
    )

"""SQL of the cadres service: people, reserve cadres, the talent pool and placements
(psycopg2, parameterized); rules are in domain.py. Training, commitments, reviews and
problems: duties_store.py."""

from __future__ import annotations

from typing import cast

import psycopg2.errors
import psycopg2.extras

from shared.contracts.typed import cadres as typed
from shared.errors import Conflict, NotFound
from shared.national import regions
from shared.platform import place_copies as places
from shared.platform.db import Transaction
from shared.platform.pg import json_dumps

PERSON_COLUMNS = ("name", "sex", "ethnicity", "birth_date", "native_place", "education",
                  "school", "political_status", "work_started_on", "current_post",
                  "current_unit", "post_category", "place_code", "college_graduate_official", "cv",
                  "id_number_sealed", "id_number_index", "id_number_masked")


# -- not found ----------------------------------------------------------------------------
# Each record's NotFound is built in one place: the service raises the very same one for a
# record outside the caller's jurisdiction (Principal.require_visible), so that "not
# there" and "not yours" cannot be told apart.
def person_absent(person_id: int) -> NotFound:
    return NotFound(f"no person {person_id}", {"person_id": person_id})


def reserve_absent(reserve_id: int) -> NotFound:
    return NotFound(f"no reserve cadre {reserve_id}", {"reserve_id": reserve_id})


def member_absent(member_id: int) -> NotFound:
    return NotFound(f"no talent pool member {member_id}", {"member_id": member_id})


# -- people ---------------------------------------------------------------------------
def _row(values: dict) -> dict:
    """The columns of `values` as psycopg2 parameters (the identity number itself, whole,
    is not a column: the service seals it before it comes here)."""
    values = {k: v for k, v in values.items() if k in PERSON_COLUMNS}
    if "cv" in values:
        values["cv"] = psycopg2.extras.Json(values["cv"], dumps=json_dumps)
    for key in ("id_number_sealed", "id_number_index"):
        if key in values:
            values[key] = psycopg2.Binary(values[key])
    return values


def insert_person(tx: Transaction, values: dict) -> int:
    row = _row(values)
    columns = list(row)
    return tx.scalar(f"INSERT INTO people ({', '.join(columns)}) VALUES"
                     f" ({', '.join(f'%({c})s' for c in columns)}) RETURNING id", row)


def update_person(tx: Transaction, person_id: int, changes: dict, read_version: int) -> None:
    row = _row(changes)
    sets = "".join(f"{c} = %({c})s, " for c in row)
    updated = tx.scalar(f"UPDATE people SET {sets}version = version + 1"
                        " WHERE id = %(id)s AND version = %(read_version)s RETURNING id",
                        {**row, "id": person_id, "read_version": read_version})
    if updated is None:
        raise Conflict(f"person {person_id} was changed by someone else; read it again "
                       "(数据已被他人修改)", {"person_id": person_id})


def person(tx: Transaction, person_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT p.*, pl.name AS place_name FROM people p"
                 " LEFT JOIN places pl ON pl.code = p.place_code WHERE p.id = %s"
                 + (" FOR UPDATE OF p" if lock else ""), (person_id,))
    if row is None:
        raise person_absent(person_id)
    return row


def lock_identity_number(tx: Transaction, index: bytes) -> None:
    """Until the transaction ends, no one else checks or registers this number: the
    check of the caller's jurisdiction and the insert are one step."""
    tx.execute("INSERT INTO identity_number_locks (number_index) VALUES (%s)"
               " ON CONFLICT (number_index) DO UPDATE SET number_index = EXCLUDED.number_index",
               (psycopg2.Binary(index),))


def holders(tx: Transaction, indexes: list[bytes]) -> list[dict]:
    """The people on the ledger (not withdrawn) with this identity number, anywhere: the
    service keeps those in the caller's jurisdiction."""
    return tx.all("SELECT id, place_code FROM people WHERE id_number_index = ANY(%s)"
                  " AND withdrawn_on IS NULL ORDER BY id",
                  ([psycopg2.Binary(i) for i in indexes],))


def withdraw_person(tx: Transaction, person_id: int, read_version: int, on, reason: str) -> None:
    updated = tx.scalar("UPDATE people SET withdrawn_on = %s, withdrawn_reason = %s,"
                        " version = version + 1 WHERE id = %s AND version = %s RETURNING id",
                        (on, reason, person_id, read_version))
    if updated is None:
        raise Conflict(f"person {person_id} was changed by someone else; read it again "
                       "(数据已被他人修改)", {"person_id": person_id})


def dependents(tx: Transaction, person_id: int) -> dict[str, list[int]]:
    """What keeps a person on the ledger: open reserve recommendations, the talent pool."""
    return {
        "reserves": [r["id"] for r in tx.all("SELECT id FROM reserves WHERE person_id = %s"
                                       " AND status IN ('candidate', 'reserve') ORDER BY id",
                                       (person_id,))],
        "pool_members": [r["id"] for r in tx.all("SELECT id FROM pool_members WHERE person_id = %s"
                                           " AND status = 'in_pool' ORDER BY id",
                                           (person_id,))],
    }


def clashes(tx: Transaction, place_code: str, *, limit: int, after: bytes | None):
    """Identity numbers held by more than one person on the ledger under a place, each
    with its people (by blind index: one group per number under the current key)."""
    lo, hi = regions.subtree_bounds(place_code)
    rows = tx.all(
        "SELECT p.id_number_index AS number_index, p.id, p.name, p.place_code,"
        " pl.name AS place_name, p.id_number_sealed, p.id_number_masked"
        " FROM people p LEFT JOIN places pl ON pl.code = p.place_code"
        " WHERE p.withdrawn_on IS NULL AND p.id_number_index IN ("
        "   SELECT id_number_index FROM people WHERE withdrawn_on IS NULL"
        "   AND place_code BETWEEN %(lo)s AND %(hi)s"
        "   AND (%(after)s::bytea IS NULL OR id_number_index > %(after)s)"
        "   GROUP BY id_number_index HAVING count(*) > 1"
        "   ORDER BY id_number_index LIMIT %(limit)s)"
        " AND p.place_code BETWEEN %(lo)s AND %(hi)s ORDER BY p.id_number_index, p.id",
        {"lo": lo, "hi": hi, "limit": limit + 1,
         "after": psycopg2.Binary(after) if after is not None else None})
    groups: dict[bytes, list[dict]] = {}
    for row in rows:
        groups.setdefault(bytes(row.pop("number_index")), []).append(row)
    keys = list(groups)
    more = len(keys) > limit
    return [groups[k] for k in keys[:limit]], (keys[limit - 1] if more else None)


def people_page(tx: Transaction, place_code: str, filters: dict, *, limit: int, after=None):
    lo, hi = regions.subtree_bounds(place_code)
    params = {"lo": lo, "hi": hi, "limit": limit + 1, **filters}
    where = ["p.place_code BETWEEN %(lo)s AND %(hi)s", "p.withdrawn_on IS NULL"]
    for name in ("college_graduate_official", "post_category"):
        if filters.get(name) is not None:
            where.append(f"p.{name} = %({name})s")
    if after is not None:
        where.append("(p.place_code, p.id) > (%(a_place)s, %(a_id)s)")
        params.update(a_place=after[0], a_id=after[1])
    rows = tx.all("SELECT p.*, pl.name AS place_name FROM people p"
                  " LEFT JOIN places pl ON pl.code = p.place_code WHERE " + " AND ".join(where)
                  + " ORDER BY p.place_code, p.id LIMIT %(limit)s", params)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ([rows[-1]["place_code"], rows[-1]["id"]] if more else None)


def all_sealed(tx: Transaction, *, after_id: int, limit: int) -> list[dict]:
    return tx.all("SELECT id, id_number_sealed FROM people WHERE id > %s ORDER BY id LIMIT %s",
                  (after_id, limit))


# -- reserve cadres ----------------------------------------------------------------------
_RESERVE = ("SELECT r.*, p.name, p.sex, p.birth_date, p.ethnicity, p.native_place, p.education,"
            " p.school, p.political_status, p.work_started_on, p.current_post,"
            " p.college_graduate_official, p.id_number_sealed, p.id_number_masked,"
            " p.place_code AS person_place_code,"
            " pl.name AS place_name FROM reserves r JOIN people p ON p.id = r.person_id"
            " LEFT JOIN places pl ON pl.code = r.place_code")


def insert_reserve(tx: Transaction, values: dict) -> int:
    try:
        return tx.scalar(
            "INSERT INTO reserves (person_id, place_code, status, recommended_by, method,"
            " recommended_on, votes, remarks) VALUES (%(person_id)s, %(place_code)s,"
            " 'candidate', %(recommended_by)s, %(method)s, %(recommended_on)s, %(votes)s,"
            " %(remarks)s) RETURNING id", values)
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"person {values['person_id']} is already recommended to "
                       f"{values['place_code']}", {"person_id": values["person_id"]}) from None


def _with_assessments(tx: Transaction, rows: list[dict]) -> list[dict]:
    ids = [r["id"] for r in rows]
    found = tx.all("SELECT reserve_id, assessed_on, assessor, result, remarks"
                   " FROM reserve_assessments WHERE reserve_id = ANY(%s) ORDER BY id", (ids,))
    by_reserve: dict[int, list] = {}
    for a in found:
        by_reserve.setdefault(a.pop("reserve_id"), []).append(a)
    for row in rows:
        row["assessments"] = by_reserve.get(row["id"], [])
    return rows


def reserve(tx: Transaction, reserve_id: int, *, lock: bool = False) -> dict:
    row = tx.one(_RESERVE + " WHERE r.id = %s" + (" FOR UPDATE OF r" if lock else ""),
                 (reserve_id,))
    if row is None:
        raise reserve_absent(reserve_id)
    return _with_assessments(tx, [row])[0]


def village_reserves(tx: Transaction, place_code: str) -> list[dict]:
    return _with_assessments(tx, tx.all(
        _RESERVE + " WHERE r.place_code = %s AND r.status IN ('candidate', 'reserve')",
        (place_code,)))


def roster(tx: Transaction, place_code: str, status: str, *, limit: int,
           after_village: str | None) -> tuple[list[dict], bool]:
    """A page of the roster: whole villages (never one split over two pages), at least
    one, as many as fit in `limit` rows; and whether villages remain."""
    lo, hi = regions.subtree_bounds(place_code)
    villages = tx.all("SELECT place_code, count(*) AS n FROM reserves WHERE status = %s"
                      " AND place_code BETWEEN %s AND %s AND place_code > %s"
                      " GROUP BY place_code ORDER BY place_code",
                      (status, lo, hi, after_village or ""))
    taken: list[str] = []
    rows = 0
    for village in villages:
        if taken and rows + village["n"] > limit:
            break
        taken.append(village["place_code"])
        rows += village["n"]
    found = _with_assessments(tx, tx.all(
        _RESERVE + " WHERE r.place_code = ANY(%s) AND r.status = %s", (taken, status)))
    return found, len(taken) < len(villages)


def insert_assessment(tx: Transaction, reserve_id: int,
                      values: typed.AssessReserveParams) -> None:
    tx.execute("INSERT INTO reserve_assessments (reserve_id, assessed_on, assessor, result,"
               " remarks) VALUES (%s, %s, %s, %s, %s)",
               (reserve_id, values["assessed_on"], values["assessor"], values["result"],
                values["remarks"]))


def set_reserve_status(tx: Transaction, reserve_id: int, status: str, *, on, reason=None) -> None:
    column = "confirmed_on" if status == "reserve" else "ended_on"
    tx.execute(f"UPDATE reserves SET status = %s, {column} = %s, end_reason = coalesce(%s,"
               " end_reason) WHERE id = %s", (status, on, reason, reserve_id))


def open_reserves_of(tx: Transaction, person_id: int, place_code: str) -> list[dict]:
    return tx.all("SELECT id, status FROM reserves WHERE person_id = %s AND place_code = %s"
                  " AND status IN ('candidate', 'reserve') FOR UPDATE", (person_id, place_code))


def lock_village_quota(tx: Transaction, place_code: str, status_at_zero: str) -> dict:
    """The village's last quota status, locked: its reserve changes take turns."""
    tx.execute("INSERT INTO village_quota (place_code, reserves, status) VALUES (%s, 0, %s)"
               " ON CONFLICT DO NOTHING", (place_code, status_at_zero))
    # There is a row: inserted just above if it was missing (and quotas are never deleted).
    return cast(dict, tx.one("SELECT * FROM village_quota WHERE place_code = %s FOR UPDATE",
                             (place_code,)))


def count_reserves(tx: Transaction, place_code: str) -> int:
    return tx.scalar("SELECT count(*) FROM reserves WHERE place_code = %s AND status = 'reserve'",
                     (place_code,))


def save_village_quota(tx: Transaction, place_code: str, reserves: int, status: str) -> None:
    tx.execute("UPDATE village_quota SET reserves = %s, status = %s WHERE place_code = %s",
               (reserves, status, place_code))


def reserve_shortfall(tx: Transaction, place_code: str, *, village_blocks: list[tuple[int, int]],
                      below: int, above: int, listed: int) -> dict:
    """The villages under the place whose last code block is in `village_blocks` (those
    that keep reserve cadres), in one round trip:
    - groups: [{child, reserves, villages, cgo}]: how many villages of each child place
      have so many confirmed reserve cadres, and the college-graduate village officials
      among them — a few hundred rows at most for a province, whose rules the service
      applies per group rather than per village;
    - short / over: the first `listed` villages by code with fewer than `below`, more
      than `above` ({place_code, place_name, reserves, college_graduate_officials})."""
    lo, hi = regions.subtree_bounds(place_code)
    child, params = places.child_of("code", place_code)
    # One row always: a SELECT of aggregates, without FROM.
    return cast(dict, tx.one(f"""
        WITH counts AS (
            SELECT r.place_code, count(*) AS reserves,
                   count(*) FILTER (WHERE p.college_graduate_official) AS cgo
            FROM reserves r JOIN people p ON p.id = r.person_id
            WHERE r.status = 'reserve' AND r.place_code BETWEEN %(lo)s AND %(hi)s
            GROUP BY r.place_code
        ), villages AS MATERIALIZED (
            SELECT v.code, v.name, coalesce(c.reserves, 0) AS reserves,
                   coalesce(c.cgo, 0) AS cgo
            FROM places v LEFT JOIN counts c ON c.place_code = v.code
            WHERE v.level = 'village' AND v.code BETWEEN %(lo)s AND %(hi)s
              AND substr(v.code, 10, 3)::int <@ ANY(%(blocks)s::int4range[])
        )
        SELECT
            (SELECT coalesce(json_agg(g), '[]') FROM (
                SELECT {child} AS child, reserves, count(*) AS villages, sum(cgo) AS cgo
                FROM villages GROUP BY 1, 2) g) AS groups,
            (SELECT coalesce(json_agg(s ORDER BY s.place_code), '[]') FROM (
                SELECT code AS place_code, name AS place_name, reserves,
                       cgo AS college_graduate_officials
                FROM villages WHERE reserves < %(below)s ORDER BY code LIMIT %(listed)s) s)
                AS short,
            (SELECT coalesce(json_agg(s ORDER BY s.place_code), '[]') FROM (
                SELECT code AS place_code, name AS place_name, reserves,
                       cgo AS college_graduate_officials
                FROM villages WHERE reserves > %(above)s ORDER BY code LIMIT %(listed)s) s) AS over
        """, {**params, "lo": lo, "hi": hi, "below": below, "above": above, "listed": listed,
              "blocks": [f"[{low},{high}]" for low, high in village_blocks]}))


# -- the talent pool and placements --------------------------------------------------------
def insert_pool_member(tx: Transaction, person_id: int,
                       values: typed.SelectForPoolParams) -> int:
    try:
        return tx.scalar(
            "INSERT INTO pool_members (person_id, status, selected_on, assessment,"
            " recommended_by, remarks) VALUES (%s, 'in_pool', %s, %s, %s, %s) RETURNING id",
            (person_id, values["selected_on"], values["assessment"],
             values["recommended_by"], values["remarks"]))
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"person {person_id} is in the talent pool already", {}) from None


_MEMBER = ("SELECT m.*, p.name, p.place_code, pl.name AS place_name FROM pool_members m"
           " JOIN people p ON p.id = m.person_id LEFT JOIN places pl ON pl.code = p.place_code")


def pool_member(tx: Transaction, member_id: int, *, lock: bool = False) -> dict:
    row = tx.one(_MEMBER + " WHERE m.id = %s" + (" FOR UPDATE OF m" if lock else ""),
                 (member_id,))
    if row is None:
        raise member_absent(member_id)
    return row


def leave_pool(tx: Transaction, member_id: int, left_on, reason: str) -> None:
    tx.execute("UPDATE pool_members SET status = 'left', left_on = %s, leave_reason = %s"
               " WHERE id = %s", (left_on, reason, member_id))


def person_pool(tx: Transaction, person_id: int) -> list[dict]:
    return tx.all(_MEMBER + " WHERE m.person_id = %s ORDER BY m.id", (person_id,))


def memberships_under(tx: Transaction, place_code: str) -> list[dict]:
    """Every pool membership, past and present, of people managed under the place."""
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all("SELECT m.person_id, p.place_code, m.status, m.selected_on, m.left_on"
                  " FROM pool_members m JOIN people p ON p.id = m.person_id"
                  " WHERE p.place_code BETWEEN %s AND %s", (lo, hi))


def insert_placement(tx: Transaction, values: dict) -> int:
    return tx.scalar(
        "INSERT INTO placements (person_id, kind, placed_on, place_code, organization_id, post,"
        " position, status) VALUES (%(person_id)s, %(kind)s, %(placed_on)s, %(place_code)s,"
        " %(organization_id)s, %(post)s, %(position)s, %(status)s) RETURNING id", values)


_PLACEMENT = ("SELECT pm.*, p.name, pl.name AS place_name FROM placements pm"
              " JOIN people p ON p.id = pm.person_id"
              " LEFT JOIN places pl ON pl.code = pm.place_code")


def placement(tx: Transaction, placement_id: int, *, lock: bool = False) -> dict | None:
    return tx.one(_PLACEMENT + " WHERE pm.id = %s" + (" FOR UPDATE OF pm" if lock else ""),
                  (placement_id,))


def person_placements(tx: Transaction, person_id: int) -> list[dict]:
    return tx.all(_PLACEMENT + " WHERE pm.person_id = %s ORDER BY pm.placed_on, pm.id",
                  (person_id,))


def placements_of(tx: Transaction, person_ids: list[int], since) -> list[dict]:
    """The people's placements dated from `since` (all when None), earliest first."""
    return tx.all("SELECT person_id, kind, place_code, status, placed_on FROM placements"
                  " WHERE person_id = ANY(%s) AND (%s::date IS NULL OR placed_on >= %s)"
                  " ORDER BY placed_on, id", (person_ids, since, since))


def set_placement_outcome(tx: Transaction, placement_id: int, status: str, outcome: str) -> None:
    tx.execute("UPDATE placements SET status = %s, outcome = %s WHERE id = %s",
                (status, outcome, placement_id))


def townships_under(tx: Transaction, place_code: str) -> dict[str, str]:
    lo, hi = regions.subtree_bounds(place_code)
    return {r["code"]: r["name"] for r in tx.all(
        "SELECT code, name FROM places WHERE level = 'township' AND code BETWEEN %s AND %s",
        (lo, hi))}


# -- the registry's organizations ------------------------------------------------------------

def organization(tx: Transaction, organization_id: int) -> dict | None:
    return tx.one("SELECT * FROM organizations WHERE id = %s", (organization_id,))

"""SQL of the npe service (psycopg2, parameterized); rules are in domain.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg2.errors

from services.npe.domain import COVERAGE_ORDER, COVERING, DOUBLE_STRONG_OPEN
from shared.contracts.typed import npe as typed
from shared.errors import Conflict, NotFound, ValidationError
from shared.national import regions
from shared.platform import place_copies as places
from shared.platform.db import Transaction

ENTERPRISE_COLUMNS = ("credit_code", "name", "place_code", "industry", "size", "operating_status",
                      "employees", "full_members", "migrant_share", "cluster", "dual_managed")
_SELECT = ("SELECT e.*, p.name AS place_name FROM enterprises e"
           " LEFT JOIN places p ON p.code = e.place_code")


def _the_row(tx: Transaction, sql: str, values) -> dict:
    """The one row a statement gives (an INSERT … RETURNING, a record by a known id)."""
    (row,) = tx.all(sql, values)
    return row


# -- not found ----------------------------------------------------------------------------
# Each record's NotFound is built in one place: the service raises the very same one for a
# record outside the caller's jurisdiction (Principal.require_visible), so that "not
# there" and "not yours" cannot be told apart.
def enterprise_absent(credit_code: str) -> NotFound:
    return NotFound(f"no enterprise {credit_code} (未找到该企业)", {"credit_code": credit_code})


def enterprises_absent(credit_codes: list[str]) -> NotFound:
    return NotFound(f"no enterprise {', '.join(credit_codes)}", {"credit_codes": credit_codes})


def establishment_absent(establishment_id: int) -> NotFound:
    return NotFound(f"no establishment {establishment_id}", {"establishment_id": establishment_id})


def assignment_absent(assignment_id: int) -> NotFound:
    return NotFound(f"no assignment {assignment_id}", {"assignment_id": assignment_id})


def application_absent(application_id: int) -> NotFound:
    return NotFound(f"no application {application_id}", {"application_id": application_id})


def lagging_absent(lagging_id: int) -> NotFound:
    return NotFound(f"no lagging record {lagging_id}", {"lagging_id": lagging_id})


def six_good_absent(entry_id: int) -> NotFound:
    return NotFound(f"no entry {entry_id}", {"entry_id": entry_id})


def class_absent(class_id: int) -> NotFound:
    return NotFound(f"no training class {class_id}", {"class_id": class_id})


# -- enterprises ---------------------------------------------------------------------
# An enterprise is named by its credit code, which is unique among the records a caller
# sees (its jurisdiction), not across the province: two places may each have registered
# it (a clash their common superior resolves). So every call resolves a code within the
# caller's jurisdiction (`within`: the principal's place), and the records are keyed by id.
COLUMN_TYPES = {"credit_code": "text", "name": "text", "place_code": "text", "industry": "text",
                "size": "text", "operating_status": "text", "employees": "integer",
                "full_members": "integer", "migrant_share": "numeric", "cluster": "text",
                "dual_managed": "boolean"}
_ON_LEDGER = "e.withdrawn_on IS NULL"


def registered_already(credit_code: str, place_code: str) -> Conflict:
    return Conflict(f"enterprise {credit_code} is registered already in your jurisdiction, at "
                    f"{place_code} (该企业已在本辖区登记)", {"credit_code": credit_code})


def _places(records: list[dict]) -> str:
    return ", ".join(f"{r['place_name']} ({r['place_code']})" if r.get("place_name")
                     else r["place_code"] for r in records)


def credit_code_clash(clashes: dict[str, list[dict]], *, batch: bool = False) -> Conflict:
    """More than one record of a code in the caller's jurisdiction (only a superior of both
    places sees that): which one is meant is for the places to settle first."""
    said = "; ".join(f"{code} at {_places(records)}" for code, records in sorted(clashes.items()))
    records = {code: [{"id": r["id"], "place_code": r["place_code"]} for r in rows]
               for code, rows in sorted(clashes.items())}
    details = ({"credit_codes": sorted(clashes), "records": records} if batch else
               {"credit_code": next(iter(records)), "records": next(iter(records.values()))})
    return Conflict(f"registered more than once in your jurisdiction: {said}; see "
                    "credit_code_clashes, and the place in the wrong withdraws its record "
                    "(withdraw_enterprise) (统一社会信用代码在本辖区重复登记，请先处理)", details)


def stale_enterprise(credit_code: str) -> Conflict:
    return Conflict(f"enterprise {credit_code} was changed by someone else; read it again "
                    "(数据已被他人修改)", {"credit_code": credit_code})


def lock_credit_codes(tx: Transaction, credit_codes) -> None:
    """Until the transaction ends, no one else registers or withdraws these codes: the
    check among the records a caller sees and the insert are one step. The lock is the
    code's row in credit_codes (made on first use), taken in code order so that two
    imports cannot deadlock; a migration comment says why not an advisory lock."""
    tx.execute("INSERT INTO credit_codes (credit_code) SELECT c FROM unnest(%s::text[]) AS c"
               " ORDER BY c ON CONFLICT (credit_code) DO UPDATE SET credit_code = EXCLUDED.credit_code",
               (sorted(set(credit_codes)),))


def visible(tx: Transaction, credit_codes, within: str, *, lock: bool = False) -> list[dict]:
    """The records on the ledger with these codes in the subtree of `within`, by code and
    id (the service tells one, none and several apart)."""
    lo, hi = regions.subtree_bounds(within)
    return tx.all(_SELECT + f" WHERE e.credit_code = ANY(%s) AND {_ON_LEDGER}"
                  " AND e.place_code BETWEEN %s AND %s ORDER BY e.credit_code, e.id"
                  + (" FOR UPDATE OF e" if lock else ""), (list(credit_codes), lo, hi))


def records_of(tx: Transaction, credit_code: str, within: str) -> list[dict]:
    """Every record of the code in the subtree of `within`, withdrawn ones too: those on
    the ledger first, then the last withdrawn first."""
    lo, hi = regions.subtree_bounds(within)
    return tx.all(_SELECT + " WHERE e.credit_code = %s AND e.place_code BETWEEN %s AND %s"
                  " ORDER BY e.withdrawn_on DESC NULLS FIRST, e.id DESC", (credit_code, lo, hi))


def enterprise(tx: Transaction, enterprise_id: int, *, lock: bool = False) -> dict:
    """A record by its id (the caller resolved it already)."""
    return _the_row(tx, _SELECT + " WHERE e.id = %s" + (" FOR UPDATE OF e" if lock else ""),
                    (enterprise_id,))


def _typed_rows(tx: Transaction, columns, rows) -> bytes:
    """VALUES rows with their columns' types (NULLs and literals in a VALUES list that
    feeds a SELECT or a join are otherwise text)."""
    template = "(" + ", ".join(f"%s::{COLUMN_TYPES.get(c, 'bigint')}" for c in columns) + ")"
    return b", ".join(tx.cursor.mogrify(template, [row[c] for c in columns]) for row in rows)


def insert_enterprises(tx: Transaction, rows: Sequence[Mapping[str, Any]],
                       within: str) -> dict[str, int]:
    """A new record for each row whose code has none on the ledger in the subtree of
    `within` (under lock_credit_codes, so that holds until commit): {credit code: id} of
    those inserted; the caller tells the others apart."""
    if not rows:
        return {}
    lo, hi = regions.subtree_bounds(within)
    columns = ", ".join(ENTERPRISE_COLUMNS)
    # Rendered whole, values included, and sent without parameters: a % in a name must
    # not be read as a placeholder a second time.
    return {row["credit_code"]: row["id"] for row in tx.all(
        f"WITH new AS (INSERT INTO enterprises ({columns}) SELECT {columns} FROM (VALUES ".encode()
        + _typed_rows(tx, ENTERPRISE_COLUMNS, rows)
        + tx.cursor.mogrify(
            f") AS v ({columns}) WHERE NOT EXISTS (SELECT 1 FROM enterprises e"
            f" WHERE e.credit_code = v.credit_code AND {_ON_LEDGER}"
            " AND e.place_code BETWEEN %s AND %s) RETURNING id, credit_code),"
            " counted AS (UPDATE credit_codes c SET registered = c.registered + 1 FROM new"
            " WHERE c.credit_code = new.credit_code) SELECT id, credit_code FROM new", (lo, hi)))}


def overwrite_enterprises(tx: Transaction, rows: list[dict]) -> None:
    """Each row's values onto the record `row["id"]` (an import of known enterprises)."""
    if not rows:
        return
    columns = ENTERPRISE_COLUMNS[1:]
    tx.execute(
        b"UPDATE enterprises e SET "
        + ", ".join(f"{c} = v.{c}" for c in columns).encode()
        + b", version = e.version + 1, updated_at = now() FROM (VALUES "
        + _typed_rows(tx, ("id", *columns), rows)
        + f") AS v (id, {', '.join(columns)}) WHERE e.id = v.id".encode())


def save_enterprise(tx: Transaction, enterprise_id: int, credit_code: str, values: dict,
                    read_version: int) -> None:
    columns = [c for c in ENTERPRISE_COLUMNS[1:] if c in values]
    updated = tx.scalar(
        f"UPDATE enterprises SET {', '.join(f'{c} = %({c})s' for c in columns)},"
        " version = version + 1, updated_at = now()"
        " WHERE id = %(id)s AND version = %(read_version)s RETURNING version",
        {**values, "id": enterprise_id, "read_version": read_version})
    if updated is None:
        raise stale_enterprise(credit_code)


def dependents(tx: Transaction, enterprise_id: int) -> dict[str, list[int]]:
    """What still holds a record on the ledger: organizations that cover it, work coverage
    not ended, double-strong applications not decided."""
    found: dict[str, list[int]] = {}
    for row in tx.all(
            "SELECT 'establishments' AS kind, m.establishment_id AS id"
            " FROM establishment_members m JOIN establishments s ON s.id = m.establishment_id"
            " WHERE m.enterprise_id = %(id)s AND s.status = ANY(%(covering)s)"
            " UNION ALL SELECT 'work_assignments', id FROM work_coverage"
            " WHERE enterprise_id = %(id)s AND ended_on IS NULL"
            " UNION ALL SELECT 'double_strong_applications', id FROM double_strong"
            " WHERE enterprise_id = %(id)s AND status = ANY(%(open)s) ORDER BY 1, 2",
            {"id": enterprise_id, "covering": list(COVERING),
             "open": list(DOUBLE_STRONG_OPEN)}):
        found.setdefault(row["kind"], []).append(row["id"])
    return found


def withdraw(tx: Transaction, enterprise_id: int, credit_code: str, read_version: int,
             reason: str) -> None:
    """Off the ledger (under lock_credit_codes: the code's count follows)."""
    done = tx.scalar(
        "WITH gone AS (UPDATE enterprises SET withdrawn_on = current_date,"
        " withdrawn_reason = %(reason)s, version = version + 1, updated_at = now()"
        " WHERE id = %(id)s AND version = %(version)s AND withdrawn_on IS NULL"
        " RETURNING credit_code),"
        " counted AS (UPDATE credit_codes c SET registered = c.registered - 1 FROM gone"
        " WHERE c.credit_code = gone.credit_code) SELECT count(*) FROM gone",
        {"id": enterprise_id, "version": read_version, "reason": reason})
    if not done:
        raise stale_enterprise(credit_code)


def page(tx: Transaction, place_code: str, *, coverage=None, industry=None, operating_status=None,
         limit: int, after=None) -> tuple[list[dict], list | None]:
    # (place, code) is unique among the records on the ledger: whoever registers or moves a
    # record to a place sees every record there, so the code's check would have refused it.
    lo, hi = regions.subtree_bounds(place_code)
    where, params = ["e.place_code BETWEEN %(lo)s AND %(hi)s", _ON_LEDGER], {
        "lo": lo, "hi": hi, "limit": limit + 1}
    for column, value in (("coverage", coverage), ("industry", industry),
                          ("operating_status", operating_status)):
        if value is not None:
            where.append(f"e.{column} = %({column})s")
            params[column] = value
    if after is not None:
        where.append("(e.place_code, e.credit_code) > (%(a_place)s, %(a_code)s)")
        params.update(a_place=after[0], a_code=after[1])
    rows = tx.all(_SELECT + " WHERE " + " AND ".join(where)
                  + " ORDER BY e.place_code, e.credit_code LIMIT %(limit)s", params)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ([rows[-1]["place_code"], rows[-1]["credit_code"]] if more else None)


def refresh_coverage(tx: Transaction, enterprise_ids: list[int]) -> None:
    """Keep each enterprise's best coverage (domain.coverage_of's precedence)."""
    tx.execute(
        """
        UPDATE enterprises e SET coverage = coalesce(
            (SELECT s.kind FROM establishment_members m
             JOIN establishments s ON s.id = m.establishment_id
             WHERE m.enterprise_id = e.id AND s.status = ANY(%(covering)s)
             ORDER BY array_position(%(order)s::text[], s.kind) LIMIT 1),
            CASE WHEN EXISTS (SELECT 1 FROM work_coverage w WHERE w.enterprise_id = e.id
                              AND w.ended_on IS NULL) THEN 'work' ELSE 'none' END)
        WHERE e.id = ANY(%(ids)s)
        """, {"order": COVERAGE_ORDER, "covering": list(COVERING), "ids": list(enterprise_ids)})


# -- clashes: a code registered more than once ----------------------------------------
_CLASHING = ("SELECT e.credit_code FROM credit_codes c JOIN enterprises e"
             f" ON e.credit_code = c.credit_code AND {_ON_LEDGER}"
             " WHERE c.registered > 1 AND e.place_code BETWEEN %(lo)s AND %(hi)s")


def duplicate_credit_codes(tx: Transaction, place_code: str) -> int:
    """How many codes have more than one record on the ledger in the subtree."""
    lo, hi = regions.subtree_bounds(place_code)
    return tx.scalar(f"SELECT count(*) FROM ({_CLASHING} GROUP BY e.credit_code"
                     " HAVING count(*) > 1) d", {"lo": lo, "hi": hi})


def clashes(tx: Transaction, place_code: str, *, limit: int, after: str | None = None
            ) -> tuple[list[tuple[str, list[dict]]], str | None]:
    """Codes with more than one record on the ledger in the subtree, by code, each with
    those records."""
    lo, hi = regions.subtree_bounds(place_code)
    keyset = " AND e.credit_code > %(after)s" if after is not None else ""
    rows = tx.all(
        "SELECT e.credit_code, e.id, e.place_code, p.name AS place_name, e.name,"
        " e.operating_status, e.created_at FROM enterprises e"
        " LEFT JOIN places p ON p.code = e.place_code"
        f" WHERE {_ON_LEDGER} AND e.place_code BETWEEN %(lo)s AND %(hi)s"
        f" AND e.credit_code IN ({_CLASHING}{keyset} GROUP BY e.credit_code"
        " HAVING count(*) > 1 ORDER BY e.credit_code LIMIT %(limit)s)"
        " ORDER BY e.credit_code, e.id",
        {"lo": lo, "hi": hi, "after": after, "limit": limit + 1})
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.pop("credit_code"), []).append(row)
    codes = list(groups)
    more = len(codes) > limit
    return [(code, groups[code]) for code in codes[:limit]], (codes[limit - 1] if more else None)


# -- establishments and work coverage ------------------------------------------------
def insert_establishment(tx: Transaction, values: dict) -> int:
    return tx.scalar(
        "INSERT INTO establishments (kind, org_kind, name, place_code, full_members, founded_on)"
        " VALUES (%(kind)s, %(org_kind)s, %(name)s, %(place_code)s, %(full_members)s,"
        " %(founded_on)s) RETURNING id", values)


def add_members(tx: Transaction, establishment_id: int, enterprise_ids: list[int]) -> None:
    insert = tx.render_rows(
        "INSERT INTO establishment_members (establishment_id, enterprise_id) VALUES", "(%s, %s)",
        ((establishment_id, enterprise_id) for enterprise_id in enterprise_ids))
    if insert is not None:  # none to add
        tx.execute(insert + b" ON CONFLICT DO NOTHING")


def get_establishment(tx: Transaction, establishment_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT * FROM establishments WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                 (establishment_id,))
    if row is None:
        raise establishment_absent(establishment_id)
    members = tx.all("SELECT e.id, e.credit_code FROM establishment_members m"
                     " JOIN enterprises e ON e.id = m.enterprise_id WHERE m.establishment_id = %s"
                     " ORDER BY e.credit_code, e.id", (establishment_id,))
    row["credit_codes"] = [m["credit_code"] for m in members]
    row["enterprise_ids"] = [m["id"] for m in members]
    return row


def remove_member(tx: Transaction, establishment_id: int, enterprise: dict) -> None:
    credit_code = enterprise["credit_code"]
    if tx.scalar("DELETE FROM establishment_members WHERE establishment_id = %s"
                 " AND enterprise_id = %s RETURNING enterprise_id",
                 (establishment_id, enterprise["id"])) is None:
        raise Conflict(f"{credit_code} is not in that organization",
                       {"credit_code": credit_code, "establishment_id": establishment_id})


def set_status(tx: Transaction, establishment_id: int, status: str, reason: str | None = None,
               organization_id: int | None = None) -> list[int]:
    """Record what the registry said; returns the members (their ids), whose coverage
    follows."""
    tx.execute("UPDATE establishments SET status = %s, status_reason = %s,"
               " organization_id = coalesce(%s, organization_id) WHERE id = %s",
               (status, reason, organization_id, establishment_id))
    return [row["enterprise_id"] for row in tx.all(
        "SELECT enterprise_id FROM establishment_members WHERE establishment_id = %s",
        (establishment_id,))]


def insert_assignment(tx: Transaction, enterprise: dict,
                      values: typed.AssignWorkCoverageParams) -> dict:
    row = _the_row(tx, "INSERT INTO work_coverage (enterprise_id, role, person, assigned_on)"
                   " VALUES (%(enterprise_id)s, %(role)s, %(person)s, %(assigned_on)s)"
                   " RETURNING *", {**values, "enterprise_id": enterprise["id"]})
    return {**row, "credit_code": enterprise["credit_code"]}


def end_assignment(tx: Transaction, assignment_id: int, ended_on: dt.date) -> dict:
    row = tx.one("UPDATE work_coverage w SET ended_on = %s FROM enterprises e"
                 " WHERE w.id = %s AND w.ended_on IS NULL AND e.id = w.enterprise_id"
                 " RETURNING w.*, e.credit_code", (ended_on, assignment_id))
    if row is None:
        raise Conflict(f"assignment {assignment_id} is unknown or ended already",
                       {"assignment_id": assignment_id})
    return row


def assignment(tx: Transaction, assignment_id: int) -> dict:
    """The assignment, with its enterprise's place (its jurisdiction)."""
    row = tx.one("SELECT w.*, e.credit_code, e.place_code FROM work_coverage w"
                 " JOIN enterprises e ON e.id = w.enterprise_id WHERE w.id = %s",
                 (assignment_id,))
    if row is None:
        raise assignment_absent(assignment_id)
    return row


# -- the coverage report ---------------------------------------------------------------
def coverage_counts(tx: Transaction, place_code: str, own_min_members: int) -> list[dict]:
    """Per child place: enterprises, operating, and operating ones by coverage."""
    lo, hi = regions.subtree_bounds(place_code)
    child, params = places.child_of("place_code", place_code)
    operating = "operating_status = 'operating'"
    return tx.all(
        f"""
        SELECT {child} AS place_code, count(*) AS enterprises,
               count(*) FILTER (WHERE {operating}) AS operating,
               count(*) FILTER (WHERE {operating} AND coverage = 'own') AS own,
               count(*) FILTER (WHERE {operating} AND coverage = 'joint') AS joint,
               count(*) FILTER (WHERE {operating} AND coverage = 'regional') AS regional,
               count(*) FILTER (WHERE {operating} AND coverage = 'industry') AS industry,
               count(*) FILTER (WHERE {operating} AND coverage = 'work') AS work,
               count(*) FILTER (WHERE {operating} AND coverage = 'none') AS uncovered,
               count(*) FILTER (WHERE {operating} AND coverage <> 'own'
                                AND full_members >= %(own_min)s) AS due_own
        FROM enterprises WHERE place_code BETWEEN %(lo)s AND %(hi)s AND withdrawn_on IS NULL
        GROUP BY 1 ORDER BY 1
        """, {**params, "lo": lo, "hi": hi, "own_min": own_min_members})


def named(tx: Transaction, place_code: str, which: str, own_min_members: int, *, limit: int,
          after=None) -> tuple[list[dict], list | None]:
    """Operating enterprises by name: `uncovered` ones, or those `due_own` an organization
    (by name, code and id: in a clash two records may share the first two)."""
    lo, hi = regions.subtree_bounds(place_code)
    condition = ("coverage = 'none'" if which == "uncovered"
                 else "coverage <> 'own' AND full_members >= %(own_min)s")
    params = {"lo": lo, "hi": hi, "own_min": own_min_members, "limit": limit + 1}
    keyset = ""
    if after is not None:
        keyset = " AND (name, credit_code, id) > (%(a_name)s, %(a_code)s, %(a_id)s)"
        params.update(a_name=after[0], a_code=after[1], a_id=after[2])
    rows = tx.all(
        "SELECT id, credit_code, name, place_code, full_members, coverage FROM enterprises"
        f" WHERE operating_status = 'operating' AND {condition} AND withdrawn_on IS NULL"
        f" AND place_code BETWEEN %(lo)s AND %(hi)s{keyset}"
        " ORDER BY name, credit_code, id LIMIT %(limit)s", params)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ([rows[-1]["name"], rows[-1]["credit_code"], rows[-1]["id"]] if more else None)


# -- standardization, the two ends, creation, training, association -------------------
def standard_checks(tx: Transaction, establishment_id: int) -> dict[str, dict]:
    return {row["item"]: row for row in tx.all(
        "SELECT item, met, checked_on FROM standard_checks WHERE establishment_id = %s",
        (establishment_id,))}


def save_standard(tx: Transaction, establishment_id: int, item: str, met: bool,
                  checked_on: dt.date) -> None:
    tx.execute("INSERT INTO standard_checks (establishment_id, item, met, checked_on)"
               " VALUES (%s, %s, %s, %s) ON CONFLICT (establishment_id, item)"
               " DO UPDATE SET met = EXCLUDED.met, checked_on = EXCLUDED.checked_on",
               (establishment_id, item, met, checked_on))


def insert_application(tx: Transaction, enterprise: dict, year: int) -> int:
    credit_code = enterprise["credit_code"]
    try:
        return tx.scalar("INSERT INTO double_strong (enterprise_id, year) VALUES (%s, %s)"
                         " RETURNING id", (enterprise["id"], year))
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"{credit_code} has applied for {year} already",
                       {"credit_code": credit_code, "year": year}) from None


def record_step(tx: Transaction, application_id: int, status: str, on: dt.date,
                note: str | None) -> None:
    tx.execute("UPDATE double_strong SET status = %s WHERE id = %s", (status, application_id))
    tx.execute("INSERT INTO double_strong_history (application_id, status, on_date, note)"
               " VALUES (%s, %s, %s, %s)", (application_id, status, on, note))


def application(tx: Transaction, application_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT d.*, e.credit_code, e.name AS enterprise_name, e.place_code"
                 " FROM double_strong d JOIN enterprises e ON e.id = d.enterprise_id WHERE d.id = %s"
                 + (" FOR UPDATE OF d" if lock else ""), (application_id,))
    if row is None:
        raise application_absent(application_id)
    row["history"] = tx.all("SELECT status, on_date AS on, note FROM double_strong_history"
                            " WHERE application_id = %s ORDER BY recorded_at", (application_id,))
    return row


def applications(tx: Transaction, place_code: str, year: int, status) -> list[int]:
    lo, hi = regions.subtree_bounds(place_code)
    return [row["id"] for row in tx.all(
        "SELECT d.id FROM double_strong d JOIN enterprises e ON e.id = d.enterprise_id"
        " WHERE e.place_code BETWEEN %s AND %s AND e.withdrawn_on IS NULL AND d.year = %s"
        " AND (%s::text IS NULL OR d.status = %s) ORDER BY e.place_code, d.id",
        (lo, hi, year, status, status))]


def insert_contact(tx: Transaction, enterprise: dict, values: typed.RecordContactParams) -> dict:
    row = _the_row(tx, "INSERT INTO contacts (enterprise_id, kind, leader, contact_on, content)"
                   " VALUES (%(enterprise_id)s, %(kind)s, %(leader)s, %(contact_on)s,"
                   " %(content)s) RETURNING *", {**values, "enterprise_id": enterprise["id"]})
    return {**row, "credit_code": enterprise["credit_code"]}


def contacts_of(tx: Transaction, enterprise: dict) -> list[dict]:
    return [{**row, "credit_code": enterprise["credit_code"]} for row in tx.all(
        "SELECT * FROM contacts WHERE enterprise_id = %s ORDER BY contact_on DESC, id DESC",
        (enterprise["id"],))]


_LAGGING = ("SELECT l.*, s.name AS establishment_name, s.place_code FROM lagging l"
            " JOIN establishments s ON s.id = l.establishment_id")


def insert_lagging(tx: Transaction, values: typed.MarkLaggingParams) -> int:
    try:
        return tx.scalar("INSERT INTO lagging (establishment_id, cause, noted_on, note) VALUES"
                         " (%(establishment_id)s, %(cause)s, %(noted_on)s, %(note)s) RETURNING id",
                         values)
    except psycopg2.errors.UniqueViolation:
        raise Conflict("the organization is being rectified already (正在整顿)",
                       {"establishment_id": values["establishment_id"]}) from None


def lagging(tx: Transaction, lagging_id: int) -> dict:
    row = tx.one(_LAGGING + " WHERE l.id = %s", (lagging_id,))
    if row is None:
        raise lagging_absent(lagging_id)
    return row


def transform(tx: Transaction, lagging_id: int, on: dt.date, note) -> None:
    done = tx.scalar("UPDATE lagging SET status = 'transformed', transformed_on = %s,"
                     " note = coalesce(%s, note) WHERE id = %s AND status = 'rectifying'"
                     " RETURNING id", (on, note, lagging_id))
    if done is None:
        raise Conflict(f"lagging record {lagging_id} is transformed already",
                       {"lagging_id": lagging_id})


def laggings(tx: Transaction, place_code: str) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all(_LAGGING + " WHERE s.place_code BETWEEN %s AND %s ORDER BY l.status, l.id",
                  (lo, hi))


_SIX_GOOD = ("SELECT x.*, s.name AS establishment_name, s.place_code FROM six_good x"
             " JOIN establishments s ON s.id = x.establishment_id")


def insert_six_good(tx: Transaction, establishment_id: int, year: int) -> int:
    try:
        return tx.scalar("INSERT INTO six_good (establishment_id, year) VALUES (%s, %s)"
                         " RETURNING id", (establishment_id, year))
    except psycopg2.errors.UniqueViolation:
        raise Conflict("entered for that year already", {"establishment_id": establishment_id,
                                                         "year": year}) from None


def six_good(tx: Transaction, entry_id: int) -> dict:
    row = tx.one(_SIX_GOOD + " WHERE x.id = %s", (entry_id,))
    if row is None:
        raise six_good_absent(entry_id)
    return row


def recognize(tx: Transaction, entry_id: int) -> None:
    if tx.scalar("UPDATE six_good SET status = 'recognized' WHERE id = %s AND status = 'entered'"
                 " RETURNING id", (entry_id,)) is None:
        raise Conflict(f"entry {entry_id} is recognized already", {"entry_id": entry_id})


def six_goods(tx: Transaction, place_code: str, year: int) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all(_SIX_GOOD + " WHERE s.place_code BETWEEN %s AND %s AND x.year = %s"
                  " ORDER BY s.place_code, x.id", (lo, hi, year))


def insert_class(tx: Transaction, values: typed.OpenTrainingClassParams) -> int:
    return tx.scalar("INSERT INTO training_classes (kind, title, place_code, starts_on, sessions)"
                     " VALUES (%(kind)s, %(title)s, %(place_code)s, %(starts_on)s, %(sessions)s)"
                     " RETURNING id", values)


def training_class(tx: Transaction, class_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT * FROM training_classes WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                 (class_id,))
    if row is None:
        raise class_absent(class_id)
    row["sessions_held"] = tx.scalar(
        "SELECT count(DISTINCT session) FROM attendance a JOIN enrolments n ON n.id = a.enrolment_id"
        " WHERE n.class_id = %s", (class_id,))
    row["enrolments"] = tx.all(
        "SELECT n.id, n.person, n.enterprise_id, e.credit_code, e.name AS enterprise_name,"
        " count(*) FILTER (WHERE a.present) AS attended"
        " FROM enrolments n JOIN enterprises e ON e.id = n.enterprise_id"
        " LEFT JOIN attendance a ON a.enrolment_id = n.id"
        " WHERE n.class_id = %s GROUP BY n.id, e.id ORDER BY n.id", (class_id,))
    return row


def enrol(tx: Transaction, class_id: int, person: str, enterprise_id: int) -> None:
    try:
        tx.execute("INSERT INTO enrolments (class_id, person, enterprise_id) VALUES (%s, %s, %s)",
                   (class_id, person, enterprise_id))
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"{person} is enrolled already", {"person": person}) from None


def record_attendance(tx: Transaction, class_id: int, session: int, present: set[int]) -> None:
    enrolled = [row["id"] for row in tx.all("SELECT id FROM enrolments WHERE class_id = %s",
                                            (class_id,))]
    unknown = present - set(enrolled)
    if unknown:
        raise ValidationError("not enrolled in this class", {"present": sorted(unknown)})
    insert = tx.render_rows("INSERT INTO attendance (enrolment_id, session, present) VALUES",
                            "(%s, %s, %s)", ((e, session, e in present) for e in enrolled))
    if insert is not None:  # no one enrolled
        tx.execute(insert + b" ON CONFLICT (enrolment_id, session)"
                            b" DO UPDATE SET present = EXCLUDED.present")


def join_association(tx: Transaction, enterprise_id: int,
                     values: typed.JoinAssociationParams) -> int:
    try:
        return tx.scalar("INSERT INTO association_members (person, enterprise_id, role, joined_on)"
                         " VALUES (%(person)s, %(enterprise_id)s, %(role)s, %(joined_on)s)"
                         " RETURNING id", {**values, "enterprise_id": enterprise_id})
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"{values['person']} is a member already", {"person": values["person"]}) from None


def association_members(tx: Transaction, place_code: str, member_id=None) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all(
        "SELECT m.*, e.credit_code, e.name AS enterprise_name, e.place_code"
        " FROM association_members m JOIN enterprises e ON e.id = m.enterprise_id"
        " WHERE e.place_code BETWEEN %s AND %s AND (%s::bigint IS NULL OR m.id = %s)"
        " ORDER BY e.place_code, m.id", (lo, hi, member_id, member_id))

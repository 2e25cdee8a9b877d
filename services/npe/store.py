"""SQL of the npe service (psycopg2, parameterized); rules are in domain.py."""

from __future__ import annotations

import datetime as dt

import psycopg2.errors

from services.npe.domain import COVERAGE_ORDER, COVERING
from shared import places, regions
from shared.db import Transaction
from shared.errors import Conflict, NotFound, ValidationError

ENTERPRISE_COLUMNS = ("credit_code", "name", "place_code", "industry", "size", "operating_status",
                      "employees", "full_members", "migrant_share", "cluster", "dual_managed")
_SELECT = ("SELECT e.*, p.name AS place_name FROM enterprises e"
           " LEFT JOIN places p ON p.code = e.place_code")


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
def get_enterprise(tx: Transaction, credit_code: str, *, lock: bool = False) -> dict:
    row = tx.one(_SELECT + " WHERE e.credit_code = %s" + (" FOR UPDATE OF e" if lock else ""),
                 (credit_code,))
    if row is None:
        raise enterprise_absent(credit_code)
    return row


def enterprises(tx: Transaction, credit_codes: list[str], *, lock: bool = False) -> list[dict]:
    """Those of these enterprises that exist (the caller reports the others, with those it
    may not see, by enterprises_absent)."""
    return tx.all(_SELECT + " WHERE e.credit_code = ANY(%s) ORDER BY e.credit_code"
                  + (" FOR UPDATE OF e" if lock else ""), (credit_codes,))


def insert_enterprise(tx: Transaction, values: dict) -> None:
    try:
        tx.execute(f"INSERT INTO enterprises ({', '.join(ENTERPRISE_COLUMNS)}) VALUES "
                   f"({', '.join(f'%({c})s' for c in ENTERPRISE_COLUMNS)})", values)
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"enterprise {values['credit_code']} is registered already (该企业已登记)",
                       {"credit_code": values["credit_code"]}) from None


def places_of(tx: Transaction, credit_codes: list[str]) -> dict[str, str]:
    """Where the known ones of these enterprises are now."""
    return {row["credit_code"]: row["place_code"] for row in tx.all(
        "SELECT credit_code, place_code FROM enterprises WHERE credit_code = ANY(%s) FOR UPDATE",
        (credit_codes,))}


def upsert_enterprises(tx: Transaction, rows: list[dict], existing: set[str]) -> dict:
    """Create or update many (`existing`: the codes already registered)."""
    tx.execute(tx.render_rows(
        f"INSERT INTO enterprises ({', '.join(ENTERPRISE_COLUMNS)}) VALUES",
        "(" + ", ".join(["%s"] * len(ENTERPRISE_COLUMNS)) + ")",
        ([r[c] for c in ENTERPRISE_COLUMNS] for r in rows))
        + b" ON CONFLICT (credit_code) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in ENTERPRISE_COLUMNS[1:]).encode()
        + b", version = enterprises.version + 1, updated_at = now()")
    return {"created": len(rows) - len(existing), "updated": len(existing)}


def save_enterprise(tx: Transaction, values: dict, read_version: int) -> None:
    columns = [c for c in ENTERPRISE_COLUMNS[1:] if c in values]
    updated = tx.scalar(
        f"UPDATE enterprises SET {', '.join(f'{c} = %({c})s' for c in columns)},"
        " version = version + 1, updated_at = now()"
        " WHERE credit_code = %(credit_code)s AND version = %(read_version)s RETURNING version",
        {**values, "read_version": read_version})
    if updated is None:
        raise Conflict(f"enterprise {values['credit_code']} was changed by someone else; read it "
                       "again (数据已被他人修改)", {"credit_code": values["credit_code"]})


def page(tx: Transaction, place_code: str, *, coverage=None, industry=None, operating_status=None,
         limit: int, after=None) -> tuple[list[dict], list | None]:
    lo, hi = regions.subtree_bounds(place_code)
    where, params = ["e.place_code BETWEEN %(lo)s AND %(hi)s"], {"lo": lo, "hi": hi,
                                                                  "limit": limit + 1}
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


def refresh_coverage(tx: Transaction, credit_codes: list[str]) -> None:
    """Keep each enterprise's best coverage (domain.coverage_of's precedence)."""
    tx.execute(
        """
        UPDATE enterprises e SET coverage = coalesce(
            (SELECT s.kind FROM establishment_members m
             JOIN establishments s ON s.id = m.establishment_id
             WHERE m.credit_code = e.credit_code AND s.status = ANY(%(covering)s)
             ORDER BY array_position(%(order)s::text[], s.kind) LIMIT 1),
            CASE WHEN EXISTS (SELECT 1 FROM work_coverage w WHERE w.credit_code = e.credit_code
                              AND w.ended_on IS NULL) THEN 'work' ELSE 'none' END)
        WHERE e.credit_code = ANY(%(codes)s)
        """, {"order": COVERAGE_ORDER, "covering": list(COVERING), "codes": credit_codes})


# -- establishments and work coverage ------------------------------------------------
def insert_establishment(tx: Transaction, values: dict) -> int:
    return tx.scalar(
        "INSERT INTO establishments (kind, org_kind, name, place_code, full_members, founded_on)"
        " VALUES (%(kind)s, %(org_kind)s, %(name)s, %(place_code)s, %(full_members)s,"
        " %(founded_on)s) RETURNING id", values)


def add_members(tx: Transaction, establishment_id: int, credit_codes: list[str]) -> None:
    tx.execute(tx.render_rows(
        "INSERT INTO establishment_members (establishment_id, credit_code) VALUES", "(%s, %s)",
        ((establishment_id, code) for code in credit_codes)) + b" ON CONFLICT DO NOTHING")


def get_establishment(tx: Transaction, establishment_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT * FROM establishments WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                 (establishment_id,))
    if row is None:
        raise establishment_absent(establishment_id)
    row["credit_codes"] = [r["credit_code"] for r in tx.all(
        "SELECT credit_code FROM establishment_members WHERE establishment_id = %s"
        " ORDER BY credit_code", (establishment_id,))]
    return row


def remove_member(tx: Transaction, establishment_id: int, credit_code: str) -> None:
    if tx.scalar("DELETE FROM establishment_members WHERE establishment_id = %s"
                 " AND credit_code = %s RETURNING credit_code",
                 (establishment_id, credit_code)) is None:
        raise Conflict(f"{credit_code} is not in that organization",
                       {"credit_code": credit_code, "establishment_id": establishment_id})


def set_status(tx: Transaction, establishment_id: int, status: str, reason: str | None = None,
               organization_id: int | None = None) -> list[str]:
    """Record what the registry said; returns the members, whose coverage follows."""
    tx.execute("UPDATE establishments SET status = %s, status_reason = %s,"
               " organization_id = coalesce(%s, organization_id) WHERE id = %s",
               (status, reason, organization_id, establishment_id))
    return [row["credit_code"] for row in tx.all(
        "SELECT credit_code FROM establishment_members WHERE establishment_id = %s",
        (establishment_id,))]


def insert_assignment(tx: Transaction, values: dict) -> dict:
    return tx.one("INSERT INTO work_coverage (credit_code, role, person, assigned_on)"
                  " VALUES (%(credit_code)s, %(role)s, %(person)s, %(assigned_on)s) RETURNING *",
                  values)


def end_assignment(tx: Transaction, assignment_id: int, ended_on: dt.date) -> dict:
    row = tx.one("UPDATE work_coverage SET ended_on = %s WHERE id = %s AND ended_on IS NULL"
                 " RETURNING *", (ended_on, assignment_id))
    if row is None:
        raise Conflict(f"assignment {assignment_id} is unknown or ended already",
                       {"assignment_id": assignment_id})
    return row


def assignment(tx: Transaction, assignment_id: int) -> dict:
    """The assignment, with its enterprise's place (its jurisdiction)."""
    row = tx.one("SELECT w.*, e.place_code FROM work_coverage w"
                 " JOIN enterprises e ON e.credit_code = w.credit_code WHERE w.id = %s",
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
        FROM enterprises WHERE place_code BETWEEN %(lo)s AND %(hi)s
        GROUP BY 1 ORDER BY 1
        """, {**params, "lo": lo, "hi": hi, "own_min": own_min_members})


def named(tx: Transaction, place_code: str, which: str, own_min_members: int, *, limit: int,
          after=None) -> tuple[list[dict], list | None]:
    """Operating enterprises by name: `uncovered` ones, or those `due_own` an organization."""
    lo, hi = regions.subtree_bounds(place_code)
    condition = ("coverage = 'none'" if which == "uncovered"
                 else "coverage <> 'own' AND full_members >= %(own_min)s")
    params = {"lo": lo, "hi": hi, "own_min": own_min_members, "limit": limit + 1}
    keyset = ""
    if after is not None:
        keyset = " AND (name, credit_code) > (%(a_name)s, %(a_code)s)"
        params.update(a_name=after[0], a_code=after[1])
    rows = tx.all(
        "SELECT credit_code, name, place_code, full_members, coverage FROM enterprises"
        f" WHERE operating_status = 'operating' AND {condition}"
        f" AND place_code BETWEEN %(lo)s AND %(hi)s{keyset}"
        " ORDER BY name, credit_code LIMIT %(limit)s", params)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ([rows[-1]["name"], rows[-1]["credit_code"]] if more else None)


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


def insert_application(tx: Transaction, credit_code: str, year: int) -> int:
    try:
        return tx.scalar("INSERT INTO double_strong (credit_code, year) VALUES (%s, %s)"
                         " RETURNING id", (credit_code, year))
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"{credit_code} has applied for {year} already",
                       {"credit_code": credit_code, "year": year}) from None


def record_step(tx: Transaction, application_id: int, status: str, on: dt.date,
                note: str | None) -> None:
    tx.execute("UPDATE double_strong SET status = %s WHERE id = %s", (status, application_id))
    tx.execute("INSERT INTO double_strong_history (application_id, status, on_date, note)"
               " VALUES (%s, %s, %s, %s)", (application_id, status, on, note))


def application(tx: Transaction, application_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT d.*, e.name AS enterprise_name, e.place_code FROM double_strong d"
                 " JOIN enterprises e ON e.credit_code = d.credit_code WHERE d.id = %s"
                 + (" FOR UPDATE OF d" if lock else ""), (application_id,))
    if row is None:
        raise application_absent(application_id)
    row["history"] = tx.all("SELECT status, on_date AS on, note FROM double_strong_history"
                            " WHERE application_id = %s ORDER BY recorded_at", (application_id,))
    return row


def applications(tx: Transaction, place_code: str, year: int, status) -> list[int]:
    lo, hi = regions.subtree_bounds(place_code)
    return [row["id"] for row in tx.all(
        "SELECT d.id FROM double_strong d JOIN enterprises e ON e.credit_code = d.credit_code"
        " WHERE e.place_code BETWEEN %s AND %s AND d.year = %s"
        " AND (%s::text IS NULL OR d.status = %s) ORDER BY e.place_code, d.id",
        (lo, hi, year, status, status))]


def insert_contact(tx: Transaction, values: dict) -> dict:
    return tx.one("INSERT INTO contacts (credit_code, kind, leader, contact_on, content) VALUES"
                  " (%(credit_code)s, %(kind)s, %(leader)s, %(contact_on)s, %(content)s)"
                  " RETURNING *", values)


def contacts_of(tx: Transaction, credit_code: str) -> list[dict]:
    return tx.all("SELECT * FROM contacts WHERE credit_code = %s ORDER BY contact_on DESC, id DESC",
                  (credit_code,))


_LAGGING = ("SELECT l.*, s.name AS establishment_name, s.place_code FROM lagging l"
            " JOIN establishments s ON s.id = l.establishment_id")


def insert_lagging(tx: Transaction, values: dict) -> int:
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


def insert_class(tx: Transaction, values: dict) -> int:
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
        "SELECT n.id, n.person, n.credit_code, e.name AS enterprise_name,"
        " count(*) FILTER (WHERE a.present) AS attended"
        " FROM enrolments n JOIN enterprises e ON e.credit_code = n.credit_code"
        " LEFT JOIN attendance a ON a.enrolment_id = n.id"
        " WHERE n.class_id = %s GROUP BY n.id, e.name ORDER BY n.id", (class_id,))
    return row


def enrol(tx: Transaction, class_id: int, person: str, credit_code: str) -> None:
    try:
        tx.execute("INSERT INTO enrolments (class_id, person, credit_code) VALUES (%s, %s, %s)",
                   (class_id, person, credit_code))
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"{person} is enrolled already", {"person": person}) from None


def record_attendance(tx: Transaction, class_id: int, session: int, present: set[int]) -> None:
    enrolled = [row["id"] for row in tx.all("SELECT id FROM enrolments WHERE class_id = %s",
                                            (class_id,))]
    unknown = present - set(enrolled)
    if unknown:
        raise ValidationError("not enrolled in this class", {"present": sorted(unknown)})
    if enrolled:
        tx.execute(tx.render_rows("INSERT INTO attendance (enrolment_id, session, present) VALUES",
                                  "(%s, %s, %s)",
                                  ((e, session, e in present) for e in enrolled))
                   + b" ON CONFLICT (enrolment_id, session) DO UPDATE SET present = EXCLUDED.present")


def join_association(tx: Transaction, values: dict) -> int:
    try:
        return tx.scalar("INSERT INTO association_members (person, credit_code, role, joined_on)"
                         " VALUES (%(person)s, %(credit_code)s, %(role)s, %(joined_on)s)"
                         " RETURNING id", values)
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"{values['person']} is a member already", {"person": values["person"]}) from None


def association_members(tx: Transaction, place_code: str, member_id=None) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all(
        "SELECT m.*, e.name AS enterprise_name, e.place_code FROM association_members m"
        " JOIN enterprises e ON e.credit_code = m.credit_code"
        " WHERE e.place_code BETWEEN %s AND %s AND (%s::bigint IS NULL OR m.id = %s)"
        " ORDER BY e.place_code, m.id", (lo, hi, member_id, member_id))

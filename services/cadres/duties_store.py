"""SQL of what is asked of cadres in post: training classes and attendance, commitments,
双述双评 and problems with their follow-up."""

from __future__ import annotations

import datetime as dt
from typing import cast

import psycopg2.errors

from shared.contracts.typed import cadres as typed
from shared.errors import Conflict, NotFound
from shared.national import regions
from shared.platform import place_copies as places
from shared.platform.db import Transaction

REPORT_LISTED = 500


# -- not found ----------------------------------------------------------------------------
# Built in one place for the store and for the service, which raises the same for a record
# outside the caller's jurisdiction (Principal.require_visible).
def class_absent(class_id: int) -> NotFound:
    return NotFound(f"no class {class_id}", {"class_id": class_id})


def commitment_absent(commitment_id: int) -> NotFound:
    return NotFound(f"no commitment {commitment_id}", {"commitment_id": commitment_id})


def problem_absent(problem_id: int) -> NotFound:
    return NotFound(f"no problem {problem_id}", {"problem_id": problem_id})


# -- classes -----------------------------------------------------------------------------
def insert_class(tx: Transaction, values: typed.CreateClassParams) -> int:
    return tx.scalar("INSERT INTO classes (place_code, kind, title, starts_on, ends_on, hours)"
                     " VALUES (%(place_code)s, %(kind)s, %(title)s, %(starts_on)s, %(ends_on)s,"
                     " %(hours)s) RETURNING id", values)


def training_class(tx: Transaction, class_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT * FROM classes WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                 (class_id,))
    if row is None:
        raise class_absent(class_id)
    row["attendance"] = tx.all(
        "SELECT a.person_id, p.name, p.place_code, a.attended, a.absence_reason"
        " FROM attendance a JOIN people p ON p.id = a.person_id WHERE a.class_id = %s"
        " ORDER BY p.place_code, p.id", (class_id,))
    row["enrolled"] = len(row["attendance"])
    row["attended"] = sum(1 for a in row["attendance"] if a["attended"])
    return row


def record_attendance(tx: Transaction, class_id: int,
                      values: typed.RecordAttendanceParams) -> None:
    tx.execute("INSERT INTO attendance (class_id, person_id, attended, absence_reason)"
               " VALUES (%s, %s, %s, %s) ON CONFLICT (class_id, person_id) DO UPDATE"
               " SET attended = EXCLUDED.attended, absence_reason = EXCLUDED.absence_reason",
               (class_id, values["person_id"], values["attended"],
                None if values["attended"] else values["absence_reason"]))


def training_figures(tx: Transaction, place_code: str, year: int) -> dict:
    lo, hi = regions.subtree_bounds(place_code)
    params = {"lo": lo, "hi": hi, "year_start": dt.date(year, 1, 1),
              "next_year": dt.date(year + 1, 1, 1)}
    # One row always: aggregates without GROUP BY.
    classes = cast(dict, tx.one(
        "SELECT count(DISTINCT c.id) AS classes, count(a.person_id) AS enrolled,"
        " count(a.person_id) FILTER (WHERE a.attended) AS attended FROM classes c"
        " LEFT JOIN attendance a ON a.class_id = c.id WHERE c.place_code BETWEEN %(lo)s AND"
        " %(hi)s AND c.starts_on >= %(year_start)s AND c.starts_on < %(next_year)s", params))
    secretaries = tx.all(
        "SELECT p.id AS person_id, p.name, p.place_code, pl.name AS place_name,"
        " EXISTS (SELECT 1 FROM attendance a JOIN classes c ON c.id = a.class_id"
        "   WHERE a.person_id = p.id AND a.attended AND c.kind = 'rotational_training'"
        "   AND c.starts_on >= %(year_start)s AND c.starts_on < %(next_year)s) AS trained"
        " FROM people p LEFT JOIN places pl ON pl.code = p.place_code"
        " WHERE p.post_category = 'village_party_secretary'"
        " AND p.place_code BETWEEN %(lo)s AND %(hi)s ORDER BY p.place_code, p.id", params)
    return {**classes, "secretaries": secretaries}


def person_classes(tx: Transaction, person_id: int) -> list[dict]:
    rows = tx.all("SELECT c.*, a.attended FROM attendance a JOIN classes c ON c.id = a.class_id"
                  " WHERE a.person_id = %s ORDER BY c.starts_on, c.id", (person_id,))
    for row in rows:  # this person's figures, in the class's shape
        row["enrolled"], row["attended"] = 1, 1 if row["attended"] else 0
    return rows


# -- commitments -------------------------------------------------------------------------
def insert_commitment(tx: Transaction, values: typed.RecordCommitmentParams) -> int:
    return tx.scalar("INSERT INTO commitments (person_id, kind, signed_on, content, status)"
                     " VALUES (%(person_id)s, %(kind)s, %(signed_on)s, %(content)s, 'signed')"
                     " RETURNING id", values)


def commitment(tx: Transaction, commitment_id: int, *, lock: bool = False) -> dict:
    """The commitment, with its person's place (its jurisdiction)."""
    row = tx.one("SELECT c.*, p.place_code FROM commitments c JOIN people p ON p.id = c.person_id"
                 " WHERE c.id = %s" + (" FOR UPDATE OF c" if lock else ""), (commitment_id,))
    if row is None:
        raise commitment_absent(commitment_id)
    return row


def settle_commitment(tx: Transaction, commitment_id: int,
                      values: typed.SettleCommitmentParams) -> None:
    tx.execute("UPDATE commitments SET status = %s, settled_on = %s, note = %s WHERE id = %s",
               (values["status"], values["settled_on"], values["note"], commitment_id))


def person_commitments(tx: Transaction, person_id: int) -> list[dict]:
    return tx.all("SELECT * FROM commitments WHERE person_id = %s ORDER BY signed_on, id",
                  (person_id,))


# -- 双述双评 ------------------------------------------------------------------------------
def insert_dual_review(tx: Transaction, values: typed.RecordDualReviewParams) -> int:
    try:
        return tx.scalar(
            "INSERT INTO dual_reviews (person_id, year, held_on, rating, approval, remarks)"
            " VALUES (%(person_id)s, %(year)s, %(held_on)s, %(rating)s, %(approval)s,"
            " %(remarks)s) RETURNING id", values)
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"person {values['person_id']} has a 双述双评 result for "
                       f"{values['year']} already", {"year": values["year"]}) from None


def dual_review(tx: Transaction, review_id: int) -> dict:
    # Only asked for the review just recorded, in the same transaction.
    return cast(dict, tx.one("SELECT * FROM dual_reviews WHERE id = %s", (review_id,)))


def person_dual_reviews(tx: Transaction, person_id: int) -> list[dict]:
    return tx.all("SELECT * FROM dual_reviews WHERE person_id = %s ORDER BY year", (person_id,))


# -- problems ----------------------------------------------------------------------------
_PROBLEM = ("SELECT pr.*, p.name, p.place_code FROM problems pr"
            " JOIN people p ON p.id = pr.person_id")


def insert_problem(tx: Transaction, values: typed.RecordProblemParams) -> int:
    return tx.scalar("INSERT INTO problems (person_id, kind, found_on, description, status)"
                     " VALUES (%(person_id)s, %(kind)s, %(found_on)s, %(description)s, 'open')"
                     " RETURNING id", values)


def _with_follow_ups(tx: Transaction, rows: list[dict]) -> list[dict]:
    found = tx.all("SELECT problem_id, action, taken_on, note FROM problem_follow_ups"
                   " WHERE problem_id = ANY(%s) ORDER BY id", ([r["id"] for r in rows],))
    by_problem: dict[int, list] = {}
    for f in found:
        by_problem.setdefault(f.pop("problem_id"), []).append(f)
    for row in rows:
        row["follow_ups"] = by_problem.get(row["id"], [])
    return rows


def problem(tx: Transaction, problem_id: int, *, lock: bool = False) -> dict:
    row = tx.one(_PROBLEM + " WHERE pr.id = %s" + (" FOR UPDATE OF pr" if lock else ""),
                 (problem_id,))
    if row is None:
        raise problem_absent(problem_id)
    return _with_follow_ups(tx, [row])[0]


def follow_up(tx: Transaction, problem_id: int, values: typed.FollowUpProblemParams) -> None:
    tx.execute("INSERT INTO problem_follow_ups (problem_id, action, taken_on, note)"
               " VALUES (%s, %s, %s, %s)",
               (problem_id, values["action"], values["taken_on"], values["note"]))
    if values["closes"]:
        tx.execute("UPDATE problems SET status = 'closed', closed_on = %s WHERE id = %s",
                   (values["taken_on"], problem_id))


def person_problems(tx: Transaction, person_id: int) -> list[dict]:
    return _with_follow_ups(tx, tx.all(_PROBLEM + " WHERE pr.person_id = %s ORDER BY pr.id",
                                       (person_id,)))


def problem_counts(tx: Transaction, place_code: str) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    child, params = places.child_of("p.place_code", place_code)
    params.update(lo=lo, hi=hi)
    return tx.all(
        f"SELECT {child} AS place_code, count(*) FILTER (WHERE pr.status = 'open') AS open,"
        " count(*) FILTER (WHERE pr.status = 'closed') AS closed,"
        " count(*) FILTER (WHERE pr.status = 'open' AND pr.kind = 'not_at_post') AS not_at_post,"
        " count(*) FILTER (WHERE pr.status = 'open' AND pr.kind = 'not_performing')"
        " AS not_performing,"
        " count(*) FILTER (WHERE pr.status = 'open' AND pr.kind = 'not_acting') AS not_acting"
        " FROM problems pr JOIN people p ON p.id = pr.person_id"
        " WHERE p.place_code BETWEEN %(lo)s AND %(hi)s GROUP BY 1 ORDER BY 1", params)


def open_problems(tx: Transaction, place_code: str) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    return _with_follow_ups(tx, tx.all(
        _PROBLEM + " WHERE pr.status = 'open' AND p.place_code BETWEEN %s AND %s"
        " ORDER BY p.place_code, pr.id LIMIT %s", (lo, hi, REPORT_LISTED)))

"""SQL of creating excellence and publicity (rules: excellence.py)."""

from __future__ import annotations

import datetime as dt

import psycopg2.errors

from shared.contracts.typed import organizations as typed
from shared.errors import Conflict, NotFound
from shared.national import regions
from shared.platform import place_copies as places
from shared.platform.db import Transaction

LISTED = 500
_ORG = "JOIN organizations o ON o.id = x.organization_id"


def _bounds(place_code: str) -> dict:
    lo, hi = regions.subtree_bounds(place_code)
    return {"lo": lo, "hi": hi}


# -- one-sentence commitments ------------------------------------------------------------
def insert_commitment(tx: Transaction, values: typed.MakeCommitmentParams) -> int:
    try:
        return tx.scalar(
            "INSERT INTO commitments (organization_id, committer, member_name, sentence, year,"
            " made_on) VALUES (%(organization_id)s, %(committer)s, %(member_name)s,"
            " %(sentence)s, %(year)s, %(made_on)s) RETURNING id", values)
    except psycopg2.errors.UniqueViolation:
        who = values["member_name"] or "the organization"
        raise Conflict(f"{who} has a commitment for {values['year']} already (本年度已承诺)",
                       {"year": values["year"]}) from None


def _with_checks(tx: Transaction, rows: list[dict]) -> list[dict]:
    checks = tx.all("SELECT commitment_id, checked_on, result, note FROM commitment_checks"
                    " WHERE commitment_id = ANY(%s) ORDER BY checked_on, id",
                    ([r["id"] for r in rows],))
    by_commitment: dict[int, list] = {}
    for check in checks:
        by_commitment.setdefault(check.pop("commitment_id"), []).append(check)
    for row in rows:
        row["checks"] = by_commitment.get(row["id"], [])
        row["result"] = row["checks"][-1]["result"] if row["checks"] else None
    return rows


_COMMITMENT = ("SELECT x.*, o.name AS organization_name, o.place_code FROM commitments x "
               + _ORG)


# missing_*: not there, or outside the caller's jurisdiction (store.missing_organization).
def missing_commitment(commitment_id: int) -> NotFound:
    return NotFound(f"no commitment {commitment_id}", {"commitment_id": commitment_id})


def commitment(tx: Transaction, commitment_id: int, *, lock: bool = False) -> dict:
    row = tx.one(_COMMITMENT + " WHERE x.id = %s" + (" FOR UPDATE OF x" if lock else ""),
                 (commitment_id,))
    if row is None:
        raise missing_commitment(commitment_id)
    return _with_checks(tx, [row])[0]


def commitments_of(tx: Transaction, organization_id: int, year: int | None) -> list[dict]:
    return _with_checks(tx, tx.all(
        _COMMITMENT + " WHERE x.organization_id = %s AND (%s::int IS NULL OR x.year = %s)"
        " ORDER BY x.year, x.committer DESC, x.id", (organization_id, year, year)))


def check_commitment(tx: Transaction, commitment_id: int,
                     values: typed.CheckCommitmentParams) -> None:
    tx.execute("INSERT INTO commitment_checks (commitment_id, checked_on, result, note)"
               " VALUES (%s, %s, %s, %s)",
               (commitment_id, values["checked_on"], values["result"], values["note"]))


def commitment_counts(tx: Transaction, place_code: str, year: int) -> list[dict]:
    """Per child place: active organizations, those with their own commitment, member
    commitments, commitments checked, and fulfilled at their latest check."""
    child, params = places.child_of("o.place_code", place_code)
    params.update(_bounds(place_code), year=year)
    return tx.all(
        f"""
        WITH made AS (
            -- only the subtree's commitments, each with its latest check (by index)
            SELECT x.organization_id,
                   bool_or(x.committer = 'organization') AS committed,
                   count(*) FILTER (WHERE x.committer = 'member') AS member_commitments,
                   count(l.result) AS checked,
                   count(*) FILTER (WHERE l.result = 'fulfilled') AS fulfilled
            FROM commitments x
            JOIN organizations xo ON xo.id = x.organization_id
                 AND xo.place_code BETWEEN %(lo)s AND %(hi)s
            LEFT JOIN LATERAL (
                SELECT c.result FROM commitment_checks c WHERE c.commitment_id = x.id
                ORDER BY c.checked_on DESC, c.id DESC LIMIT 1) l ON true
            WHERE x.year = %(year)s GROUP BY x.organization_id
        )
        SELECT {child} AS place_code, count(*) AS organizations,
               count(*) FILTER (WHERE m.committed) AS committed,
               coalesce(sum(m.member_commitments), 0)::int AS member_commitments,
               coalesce(sum(m.checked), 0)::int AS checked,
               coalesce(sum(m.fulfilled), 0)::int AS fulfilled
        FROM organizations o LEFT JOIN made m ON m.organization_id = o.id
        WHERE o.status = 'active' AND o.place_code BETWEEN %(lo)s AND %(hi)s
        GROUP BY 1 ORDER BY 1
        """, params)


# -- shining words and deeds ---------------------------------------------------------------
_DEED = "SELECT x.*, o.name AS organization_name, o.place_code FROM deeds x " + _ORG


def insert_deed(tx: Transaction, values: typed.SubmitDeedParams) -> int:
    return tx.scalar("INSERT INTO deeds (organization_id, member_name, title, story, happened_on,"
                     " status) VALUES (%(organization_id)s, %(member_name)s, %(title)s,"
                     " %(story)s, %(happened_on)s, 'submitted') RETURNING id", values)


def missing_deed(deed_id: int) -> NotFound:
    return NotFound(f"no deed {deed_id}", {"deed_id": deed_id})


def deed(tx: Transaction, deed_id: int, *, lock: bool = False) -> dict:
    row = tx.one(_DEED + " WHERE x.id = %s" + (" FOR UPDATE OF x" if lock else ""), (deed_id,))
    if row is None:
        raise missing_deed(deed_id)
    return row


def display_deed(tx: Transaction, deed_id: int, values: typed.DisplayDeedParams) -> None:
    tx.execute("UPDATE deeds SET status = 'displayed', displayed_on = %s, displayed_where = %s"
               " WHERE id = %s", (values["displayed_on"], values["where"], deed_id))


def rate_deed(tx: Transaction, deed_id: int, values: typed.RateDeedParams) -> None:
    tx.execute("UPDATE deeds SET status = 'rated', rating = %s, rated_on = %s, rated_by = %s"
               " WHERE id = %s", (values["rating"], values["rated_on"], values["rated_by"],
                                  deed_id))


def deeds(tx: Transaction, place_code: str, year: int, status: str | None, limit: int):
    params = {**_bounds(place_code), "start": dt.date(year, 1, 1),
              "end": dt.date(year + 1, 1, 1), "status": status, "limit": limit}
    where = (" WHERE o.place_code BETWEEN %(lo)s AND %(hi)s AND x.happened_on >= %(start)s"
             " AND x.happened_on < %(end)s AND (%(status)s::text IS NULL OR x.status = %(status)s)")
    rows = tx.all(_DEED + where + " ORDER BY x.happened_on DESC, x.id DESC LIMIT %(limit)s",
                  params)
    ratings = tx.all("SELECT x.rating, count(*) AS n FROM deeds x " + _ORG + where
                     + " AND x.rating IS NOT NULL GROUP BY x.rating", params)
    return rows, {r["rating"]: r["n"] for r in ratings}


# -- organizational systems ------------------------------------------------------------------
def insert_system(tx: Transaction, values: typed.RecordSystemParams) -> int:
    try:
        return tx.scalar(
            "INSERT INTO organizational_systems (organization_id, name, category, established_on,"
            " content) VALUES (%(organization_id)s, %(name)s, %(category)s,"
            " %(established_on)s, %(content)s) RETURNING id", values)
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"the organization has a system named {values['name']} already",
                       {"name": values["name"]}) from None


def systems_of(tx: Transaction, organization_id: int, system_id: int | None = None):
    return tx.all("SELECT * FROM organizational_systems WHERE organization_id = %s"
                  " AND (%s::bigint IS NULL OR id = %s) ORDER BY established_on, id",
                  (organization_id, system_id, system_id))


_BRANCH_SYSTEMS = """
    SELECT o.id, o.name, o.place_code,
           (SELECT count(*) FROM organizational_systems s WHERE s.organization_id = o.id) AS systems
    FROM organizations o
    WHERE o.status = 'active' AND o.kind = ANY(%(kinds)s)
      AND o.place_code BETWEEN %(lo)s AND %(hi)s"""


def systems_counts(tx: Transaction, place_code: str, kinds: list[str], minimum: int):
    child, params = places.child_of("b.place_code", place_code)
    params.update(_bounds(place_code), kinds=kinds, minimum=minimum)
    counts = tx.all(
        f"SELECT {child} AS place_code, count(*) AS branches,"
        " count(*) FILTER (WHERE b.systems >= %(minimum)s) AS with_systems,"
        " count(*) FILTER (WHERE b.systems < %(minimum)s) AS without,"
        f" coalesce(sum(b.systems), 0)::int AS systems FROM ({_BRANCH_SYSTEMS}) b"
        " GROUP BY 1 ORDER BY 1", params)
    without = tx.all(
        f"SELECT b.id AS organization_id, b.name, b.place_code, b.systems, p.name AS place_name"
        f" FROM ({_BRANCH_SYSTEMS}) b LEFT JOIN places p ON p.code = b.place_code"
        " WHERE b.systems < %(minimum)s ORDER BY b.place_code, b.id LIMIT %(listed)s",
        {**params, "listed": LISTED})
    return counts, without


# -- service-oriented creation ----------------------------------------------------------------
_CREATION = ("SELECT x.*, o.name AS organization_name, o.place_code, o.sector"
             " FROM service_creations x " + _ORG)


def insert_creation(tx: Transaction, values: typed.EnterServiceCreationParams) -> int:
    try:
        return tx.scalar(
            "INSERT INTO service_creations (organization_id, year, focus, entered_on, measures,"
            " status) VALUES (%(organization_id)s, %(year)s, %(focus)s, %(entered_on)s,"
            " %(measures)s, 'entered') RETURNING id", values)
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"the organization entered the {values['year']} creation already",
                       {"year": values["year"]}) from None


def missing_creation(creation_id: int) -> NotFound:
    return NotFound(f"no service-oriented creation {creation_id}", {"creation_id": creation_id})


def creation(tx: Transaction, creation_id: int, *, lock: bool = False) -> dict:
    row = tx.one(_CREATION + " WHERE x.id = %s" + (" FOR UPDATE OF x" if lock else ""),
                 (creation_id,))
    if row is None:
        raise missing_creation(creation_id)
    return row


def recognize(tx: Transaction, creation_id: int, recognized_on) -> None:
    tx.execute("UPDATE service_creations SET status = 'recognized', recognized_on = %s"
               " WHERE id = %s", (recognized_on, creation_id))


def creations_in(tx: Transaction, place_code: str) -> list[dict]:
    return tx.all("SELECT x.id AS creation_id, x.organization_id, x.year, x.focus"
                  " FROM service_creations x " + _ORG + " WHERE o.place_code BETWEEN %(lo)s"
                  " AND %(hi)s ORDER BY x.id", _bounds(place_code))


def creation_counts(tx: Transaction, place_code: str, year: int) -> list[dict]:
    return tx.all(
        "SELECT o.sector, count(*) AS organizations, count(x.id) AS entered,"
        " count(*) FILTER (WHERE x.status = 'recognized') AS recognized,"
        " count(*) FILTER (WHERE x.focus = 'window_unit') AS window_units,"
        " count(*) FILTER (WHERE x.focus = 'service_industry') AS service_industries"
        " FROM organizations o LEFT JOIN service_creations x"
        " ON x.organization_id = o.id AND x.year = %(year)s"
        " WHERE o.status = 'active' AND o.place_code BETWEEN %(lo)s AND %(hi)s"
        " GROUP BY o.sector ORDER BY o.sector", {**_bounds(place_code), "year": year})


# -- publicity ------------------------------------------------------------------------------
def insert_cards(tx: Transaction, values: typed.IssuePublicityCardsParams) -> int:
    return tx.scalar("INSERT INTO publicity_cards (place_code, year, cards, issued_on) VALUES"
                     " (%(place_code)s, %(year)s, %(cards)s, %(issued_on)s) RETURNING id", values)


def insert_campaign(tx: Transaction, values: typed.HoldPublicityCampaignParams) -> int:
    return tx.scalar("INSERT INTO publicity_campaigns (place_code, kind, title, held_on,"
                     " participants) VALUES (%(place_code)s, %(kind)s, %(title)s, %(held_on)s,"
                     " %(participants)s) RETURNING id", values)


def insert_awareness(tx: Transaction, values: typed.RecordAwarenessSurveyParams) -> int:
    return tx.scalar("INSERT INTO awareness_surveys (place_code, year, surveyed_on, surveyed,"
                     " aware, participating) VALUES (%(place_code)s, %(year)s, %(surveyed_on)s,"
                     " %(surveyed)s, %(aware)s, %(participating)s) RETURNING id", values)


def publicity_counts(tx: Transaction, place_code: str, year: int) -> dict[str, list[dict]]:
    """Per child place: cards issued, campaigns held by kind, members surveyed, aware and
    participating — each from its own table, summed over the year."""
    params = {**_bounds(place_code), "year": year, "start": dt.date(year, 1, 1),
              "end": dt.date(year + 1, 1, 1)}
    child, child_params = places.child_of("place_code", place_code)
    params.update(child_params)
    inside = "place_code BETWEEN %(lo)s AND %(hi)s"
    return {
        "cards": tx.all(f"SELECT {child} AS place_code, sum(cards)::int AS cards"
                        f" FROM publicity_cards WHERE year = %(year)s AND {inside}"
                        " GROUP BY 1", params),
        "campaigns": tx.all(f"SELECT {child} AS place_code, kind, count(*)::int AS campaigns"
                            " FROM publicity_campaigns WHERE held_on >= %(start)s"
                            f" AND held_on < %(end)s AND {inside} GROUP BY 1, 2", params),
        "awareness": tx.all(f"SELECT {child} AS place_code, sum(surveyed)::int AS surveyed,"
                            " sum(aware)::int AS aware, sum(participating)::int AS participating"
                            f" FROM awareness_surveys WHERE year = %(year)s AND {inside}"
                            " GROUP BY 1", params),
    }

"""SQL of the resources service (psycopg2, parameterized); rules are in domain.py."""

from __future__ import annotations

import psycopg2.errors

from shared.contracts.typed import resources as typed
from shared.errors import Conflict, NotFound
from shared.national import regions
from shared.platform import place_copies as places
from shared.platform.db import Transaction


# -- not found ----------------------------------------------------------------------------
# Each record's NotFound is built in one place: the service raises the very same one for a
# record outside the caller's jurisdiction (Principal.require_visible), so that "not
# there" and "not yours" cannot be told apart.
def program_absent(program_id: int) -> NotFound:
    return NotFound(f"no program {program_id}", {"program_id": program_id})


def allocation_absent(allocation_id: int) -> NotFound:
    return NotFound(f"no allocation {allocation_id}", {"allocation_id": allocation_id})


def cadre_absent(cadre_id: int) -> NotFound:
    return NotFound(f"no retired cadre {cadre_id}", {"cadre_id": cadre_id})


def venue_absent(venue_id: int) -> NotFound:
    return NotFound(f"no venue {venue_id}", {"venue_id": venue_id})


def project_absent(project_id: int) -> NotFound:
    return NotFound(f"no project {project_id}", {"project_id": project_id})


# -- programs and money ----------------------------------------------------------------
def insert_program(tx: Transaction, values: typed.CreateProgramParams) -> int:
    return tx.scalar("INSERT INTO programs (kind, name, place_code) VALUES"
                     " (%(kind)s, %(name)s, %(place_code)s) RETURNING id", values)


def program(tx: Transaction, program_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT * FROM programs WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                 (program_id,))
    if row is None:
        raise program_absent(program_id)
    row["budgets"] = tx.all("SELECT year, amount::text FROM budgets WHERE program_id = %s"
                            " ORDER BY year", (program_id,))
    return row


def set_budget(tx: Transaction, program_id: int, year: int, amount) -> None:
    tx.execute("INSERT INTO budgets (program_id, year, amount) VALUES (%s, %s, %s)"
               " ON CONFLICT (program_id, year) DO UPDATE SET amount = EXCLUDED.amount",
               (program_id, year, amount))


def budget_and_allocated(tx: Transaction, program_id: int, year: int):
    (row,) = tx.all("SELECT (SELECT amount FROM budgets WHERE program_id = %(p)s"
                    " AND year = %(y)s) AS budget, coalesce((SELECT sum(amount) FROM allocations"
                    " WHERE program_id = %(p)s AND year = %(y)s), 0) AS allocated",
                    {"p": program_id, "y": year})
    return row["budget"], row["allocated"]


def insert_allocation(tx: Transaction, values: typed.AllocateParams) -> int:
    return tx.scalar("INSERT INTO allocations (program_id, year, place_code, purpose, amount)"
                     " VALUES (%(program_id)s, %(year)s, %(place_code)s, %(purpose)s, %(amount)s)"
                     " RETURNING id", values)


_ALLOCATIONS = (
    "SELECT a.*, p.kind AS program_kind, p.place_code AS program_place_code,"
    " pl.name AS place_name FROM allocations a JOIN programs p ON p.id = a.program_id"
    " LEFT JOIN places pl ON pl.code = a.place_code")


def allocation(tx: Transaction, allocation_id: int, *, lock: bool = False) -> dict:
    row = tx.one(_ALLOCATIONS + " WHERE a.id = %s" + (" FOR UPDATE OF a" if lock else ""),
                 (allocation_id,))
    if row is None:
        raise allocation_absent(allocation_id)
    return _with_payments(tx, [row])[0]


def _with_payments(tx: Transaction, rows: list[dict]) -> list[dict]:
    """The allocations with their disbursements and income: two queries however many."""
    by_id = {}
    for row in rows:
        row.update(remaining=row["amount"] - row["disbursed"], disbursements=[], income=[])
        by_id[row["id"]] = row
    if not by_id:
        return rows
    ids = list(by_id)
    for paid in tx.all("SELECT allocation_id, amount, paid_on, document FROM disbursements"
                       " WHERE allocation_id = ANY(%s) ORDER BY id", (ids,)):
        by_id[paid.pop("allocation_id")]["disbursements"].append(paid)
    for raised in tx.all("SELECT allocation_id, year, income FROM project_income"
                         " WHERE allocation_id = ANY(%s) ORDER BY year", (ids,)):
        by_id[raised.pop("allocation_id")]["income"].append(raised)
    return rows


def disburse(tx: Transaction, allocation_id: int, values: typed.DisburseParams) -> None:
    tx.execute("INSERT INTO disbursements (allocation_id, amount, paid_on, document)"
               " VALUES (%s, %s, %s, %s)",
               (allocation_id, values["amount"], values["paid_on"], values["document"]))
    tx.execute("UPDATE allocations SET disbursed = disbursed + %s, version = version + 1"
               " WHERE id = %s", (values["amount"], allocation_id))


def record_income(tx: Transaction, allocation_id: int, year: int, income) -> None:
    tx.execute("INSERT INTO project_income (allocation_id, year, income) VALUES (%s, %s, %s)"
               " ON CONFLICT (allocation_id, year) DO UPDATE SET income = EXCLUDED.income",
               (allocation_id, year, income))


def funding_counts(tx: Transaction, place_code: str, year: int, kind: str | None) -> dict:
    """Per child place: budgets of the year (of programs run there or under it), the year's
    allocations to its villages and what was disbursed of them, and the income its projects
    raised in the year — projects funded in any year, so its own aggregate."""
    lo, hi = regions.subtree_bounds(place_code)
    child_p, params = places.child_of("p.place_code", place_code)
    child_a, _ = places.child_of("a.place_code", place_code)
    params.update(lo=lo, hi=hi, year=year, kind=kind)
    kind_filter = "(%(kind)s::text IS NULL OR p.kind = %(kind)s)"
    budgets = tx.all(
        f"SELECT {child_p} AS place_code, sum(b.amount) AS budget FROM budgets b"
        f" JOIN programs p ON p.id = b.program_id WHERE b.year = %(year)s AND {kind_filter}"
        " AND p.place_code BETWEEN %(lo)s AND %(hi)s GROUP BY 1", params)
    money = tx.all(
        f"SELECT {child_a} AS place_code, sum(a.amount) AS allocated,"
        " sum(a.disbursed) AS disbursed FROM allocations a JOIN programs p ON p.id = a.program_id"
        f" WHERE a.year = %(year)s AND {kind_filter}"
        " AND a.place_code BETWEEN %(lo)s AND %(hi)s GROUP BY 1", params)
    income = tx.all(
        f"SELECT {child_a} AS place_code, sum(i.income) AS income FROM project_income i"
        " JOIN allocations a ON a.id = i.allocation_id JOIN programs p ON p.id = a.program_id"
        f" WHERE i.year = %(year)s AND {kind_filter}"
        " AND a.place_code BETWEEN %(lo)s AND %(hi)s GROUP BY 1", params)
    return {"budgets": budgets, "money": money, "income": income}


def undisbursed(tx: Transaction, place_code: str, year: int, *, limit: int,
                after=None) -> tuple[list[dict], list | None]:
    """A page of the year's allocations not fully disbursed, with their payments."""
    lo, hi = regions.subtree_bounds(place_code)
    params = {"lo": lo, "hi": hi, "year": year, "limit": limit + 1}
    keyset = ""
    if after is not None:
        keyset = " AND (a.place_code, a.id) > (%(a_place)s, %(a_id)s)"
        params.update(a_place=after[0], a_id=after[1])
    rows = tx.all(_ALLOCATIONS + " WHERE a.year = %(year)s AND a.disbursed < a.amount"
                  " AND a.place_code BETWEEN %(lo)s AND %(hi)s" + keyset
                  + " ORDER BY a.place_code, a.id LIMIT %(limit)s", params)
    more = len(rows) > limit
    rows = rows[:limit]
    return _with_payments(tx, rows), ([rows[-1]["place_code"], rows[-1]["id"]] if more else None)


# -- village income ----------------------------------------------------------------------
def record_village_income(tx: Transaction, place_code: str, year: int, income) -> None:
    tx.execute("INSERT INTO village_income (place_code, year, income) VALUES (%s, %s, %s)"
               " ON CONFLICT (place_code, year) DO UPDATE SET income = EXCLUDED.income",
               (place_code, year, income))


def village_incomes(tx: Transaction, place_code: str, year: int) -> list[dict]:
    """Every village known under the place, with its income if recorded: villages (村,
    200–399) only, as record_village_income takes — not communities nor village-like units."""
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all(
        "SELECT p.code AS place_code, p.name AS place_name, i.income FROM places p"
        " LEFT JOIN village_income i ON i.place_code = p.code AND i.year = %s"
        " WHERE p.level = 'village' AND p.code BETWEEN %s AND %s"
        " AND substr(p.code, 10, 3)::int BETWEEN 200 AND 399 ORDER BY p.code", (year, lo, hi))


# -- retired village cadres ----------------------------------------------------------------
def insert_cadre(tx: Transaction, values: typed.RegisterRetiredCadreParams) -> int:
    try:
        return tx.scalar("INSERT INTO retired_cadres (name, place_code, birth_date, years_served,"
                         " left_on) VALUES (%(name)s, %(place_code)s, %(birth_date)s,"
                         " %(years_served)s, %(left_on)s) RETURNING id", values)
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"{values['name']}, born {values['birth_date']}, of {values['place_code']}"
                       " is registered already (已登记)",
                       {"place_code": values["place_code"], "name": values["name"]}) from None


def cadre(tx: Transaction, cadre_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT c.*, p.name AS place_name FROM retired_cadres c"
                 " LEFT JOIN places p ON p.code = c.place_code WHERE c.id = %s"
                 + (" FOR UPDATE OF c" if lock else ""), (cadre_id,))
    if row is None:
        raise cadre_absent(cadre_id)
    row["paid"] = tx.all("SELECT period, amount, paid_on FROM subsidies WHERE cadre_id = %s"
                         " ORDER BY period", (cadre_id,))
    return row


def pay(tx: Transaction, cadre_id: int, values: typed.PaySubsidyParams) -> None:
    try:
        tx.execute("INSERT INTO subsidies (cadre_id, period, amount, paid_on) VALUES"
                   " (%s, %s, %s, %s)", (cadre_id, values["period"], values["amount"],
                                         values["paid_on"]))
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"the subsidy of {values['period']} was paid already (该月已发放)",
                       {"period": values["period"]}) from None


def cadres_with_payments(tx: Transaction, place_code: str, year: int, as_of) -> list[dict]:
    """Every cadre under the place retired by `as_of`, with what was paid to them in the year."""
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all(
        "SELECT c.id, c.place_code, c.birth_date, c.years_served,"
        " coalesce(sum(s.amount), 0) AS paid, count(s.period) AS payments FROM retired_cadres c"
        " LEFT JOIN subsidies s ON s.cadre_id = c.id AND s.period LIKE %s"
        " WHERE c.place_code BETWEEN %s AND %s AND c.left_on <= %s GROUP BY c.id",
        (f"{year}-%", lo, hi, as_of))


# -- venues ------------------------------------------------------------------------------
def compliant_sql(standard: dict) -> tuple[str, dict]:
    """SQL true for a venue `v` that meets the standard (domain.venue_standard): the test of
    domain.venue_shortfalls, applied when reading. The verdict is not stored, so it follows
    the rules in force and reports agree with each venue's shortfalls. The kind of place is
    the village block (shared.national.regions: 社区 001–199, 村 200–399, 类似村级单位 400–599)."""
    area = standard["min_area"]
    return ("(v.area >= CASE WHEN substr(v.place_code, 10, 3)::int < 200 THEN %(min_community)s"
            " WHEN substr(v.place_code, 10, 3)::int < 400 THEN %(min_village)s"
            " ELSE %(min_village_like)s END AND v.functions @> %(required)s::text[])",
            {"min_community": area["community"], "min_village": area["village"],
             "min_village_like": area["village_like"], "required": standard["functions"]})


def insert_venue(tx: Transaction, values: dict) -> int:
    try:
        return tx.scalar("INSERT INTO venues (place_code, name, area, functions)"
                         " VALUES (%(place_code)s, %(name)s, %(area)s, %(functions)s)"
                         " RETURNING id", values)
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"{values['place_code']} has its venue registered already",
                       {"place_code": values["place_code"]}) from None


def venue(tx: Transaction, venue_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT v.*, p.name AS place_name FROM venues v"
                 " LEFT JOIN places p ON p.code = v.place_code WHERE v.id = %s"
                 + (" FOR UPDATE OF v" if lock else ""), (venue_id,))
    if row is None:
        raise venue_absent(venue_id)
    row["projects"] = tx.all("SELECT id, kind, budget, status, started_on, planned_area,"
                             " planned_functions, completed_on, reason FROM venue_projects"
                             " WHERE venue_id = %s ORDER BY id", (venue_id,))
    return row


def update_venue(tx: Transaction, venue_id: int, area, functions) -> None:
    tx.execute("UPDATE venues SET area = %s, functions = %s, version = version + 1"
               " WHERE id = %s", (area, functions, venue_id))


def insert_project(tx: Transaction, venue_id: int, values: dict) -> None:
    try:
        tx.execute("INSERT INTO venue_projects (venue_id, kind, budget, started_on, planned_area,"
                   " planned_functions) VALUES (%s, %s, %s, %s, %s, %s)",
                   (venue_id, values["kind"], values["budget"], values["started_on"],
                    values["planned_area"], values["planned_functions"]))
    except psycopg2.errors.UniqueViolation:
        raise Conflict("the venue has a project under way already (已有在建项目)",
                       {"venue_id": venue_id}) from None


def project(tx: Transaction, project_id: int) -> dict:
    """The project, with its venue's place (whose jurisdiction it is in)."""
    row = tx.one("SELECT j.*, v.place_code FROM venue_projects j JOIN venues v ON v.id = j.venue_id"
                 " WHERE j.id = %s", (project_id,))
    if row is None:
        raise project_absent(project_id)
    return row


def close_project(tx: Transaction, project_id: int, status: str, *, completed_on=None,
                  reason=None) -> None:
    if tx.scalar("UPDATE venue_projects SET status = %s, completed_on = %s, reason = %s"
                 " WHERE id = %s AND status = 'in_progress' RETURNING id",
                 (status, completed_on, reason, project_id)) is None:
        raise Conflict(f"project {project_id} is not under way", {"project_id": project_id})


def venue_counts(tx: Transaction, place_code: str, standard: dict) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    child, params = places.child_of("v.place_code", place_code)
    meets, standard_params = compliant_sql(standard)
    return tx.all(
        "SELECT place_code, count(*) AS venues, count(*) FILTER (WHERE meets) AS compliant,"
        " count(*) FILTER (WHERE NOT meets) AS below_standard,"
        " count(*) FILTER (WHERE NOT meets AND EXISTS (SELECT 1 FROM venue_projects j"
        "   WHERE j.venue_id = v.id AND j.status = 'in_progress')) AS in_progress"
        f" FROM (SELECT v.id, {child} AS place_code, {meets} AS meets FROM venues v"
        "       WHERE v.place_code BETWEEN %(lo)s AND %(hi)s) v GROUP BY 1",
        {**params, **standard_params, "lo": lo, "hi": hi})


def below_standard(tx: Transaction, place_code: str, limit: int, standard: dict) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    meets, params = compliant_sql(standard)
    return tx.all(
        "SELECT v.id, v.place_code, p.name AS place_name, v.name, v.area, v.functions,"
        " EXISTS (SELECT 1 FROM venue_projects j WHERE j.venue_id = v.id"
        "         AND j.status = 'in_progress') AS in_progress"
        " FROM venues v LEFT JOIN places p ON p.code = v.place_code"
        f" WHERE NOT {meets} AND v.place_code BETWEEN %(lo)s AND %(hi)s"
        " ORDER BY v.place_code LIMIT %(limit)s", {**params, "lo": lo, "hi": hi, "limit": limit})

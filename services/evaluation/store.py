"""SQL of the evaluation service (psycopg2, parameterized); rules are in domain.py."""

from __future__ import annotations

import psycopg2.errors
from psycopg2.extras import Json

from services.evaluation.domain import Satisfaction
from shared.contracts.evaluation import ANSWERS
from shared.contracts.typed import evaluation as typed
from shared.errors import Conflict, NotFound
from shared.national import regions
from shared.platform import place_copies as places
from shared.platform.db import Transaction
from shared.platform.pg import json_dumps


def _json(value) -> Json:
    return Json(value, dumps=json_dumps)


def _returned(tx: Transaction, sql: str, values) -> dict:
    """The one row an INSERT … RETURNING gives back."""
    (row,) = tx.all(sql, values)
    return row


# -- not found ----------------------------------------------------------------------------
# Each record's NotFound is built in one place: the service raises the very same one for a
# record outside the caller's jurisdiction (Principal.require_visible), so that "not
# there" and "not yours" cannot be told apart.
def organization_absent(organization_id: int) -> NotFound:
    return NotFound(f"organization {organization_id} is not known to evaluation (yet): "
                    "it arrives by the organizations service's events",
                    {"organization_id": organization_id})


def round_absent(round_id: int) -> NotFound:
    return NotFound(f"no grading round {round_id}", {"round_id": round_id})


def survey_absent(survey_id: int) -> NotFound:
    return NotFound(f"no survey {survey_id}", {"survey_id": survey_id})


def acceptance_absent(acceptance_id: int) -> NotFound:
    return NotFound(f"no acceptance {acceptance_id}", {"acceptance_id": acceptance_id})


# -- what this service knows of places and organizations (from events) -----------------

def organization(tx: Transaction, organization_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT * FROM organizations WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                 (organization_id,))
    if row is None:
        raise organization_absent(organization_id)
    return row


def organizations_by_id(tx: Transaction, ids, *, lock: bool = False) -> dict[int, dict]:
    """Those of `ids` known here; locked in id order, as any other caller locks them."""
    rows = tx.all("SELECT * FROM organizations WHERE id = ANY(%s) ORDER BY id"
                  + (" FOR UPDATE" if lock else ""), (sorted(set(ids)),))
    return {row["id"]: row for row in rows}


def refresh_grades(tx: Transaction, organization_ids: list[int]) -> dict[int, dict]:
    """Derive each organization's baseline grade (its earliest graded round, by year)
    and current grade (its latest) from its gradings, whatever order they were entered
    in, and mark which grading is the baseline; one statement for all.
    {id: {baseline_grade, baseline_round_id, current_grade, current_round_id}}."""
    rows = tx.all(
        """
        WITH refreshed AS (
            UPDATE organizations o
            SET baseline_grade = b.grade, baseline_round_id = b.round_id,
                current_grade = c.grade, current_round_id = c.round_id
            FROM unnest(%(ids)s::bigint[]) AS x(id),
                 LATERAL (SELECT g.grade, g.round_id FROM gradings g JOIN rounds r ON r.id = g.round_id
                          WHERE g.organization_id = x.id ORDER BY r.year, r.id LIMIT 1) b,
                 LATERAL (SELECT g.grade, g.round_id FROM gradings g JOIN rounds r ON r.id = g.round_id
                          WHERE g.organization_id = x.id ORDER BY r.year DESC, r.id DESC LIMIT 1) c
            WHERE o.id = x.id
            RETURNING o.id, o.baseline_grade, o.baseline_round_id, o.current_grade,
                      o.current_round_id
        ), marked AS (
            UPDATE gradings g SET is_baseline = (g.round_id = refreshed.baseline_round_id)
            FROM refreshed WHERE g.organization_id = refreshed.id
        )
        SELECT * FROM refreshed
        """, {"ids": list(organization_ids)})
    return {row["id"]: row for row in rows}


def record_stars(tx: Transaction, organization_id: int, stars: int, grade: str) -> None:
    """The latest rating; and, for the "new improvement" of a good organization, the
    first, last and highest ratings given while it was good."""
    tx.execute(
        "UPDATE organizations SET stars = %(s)s,"
        " first_good_stars = CASE WHEN %(good)s THEN coalesce(first_good_stars, %(s)s)"
        "                    ELSE first_good_stars END,"
        " last_good_stars = CASE WHEN %(good)s THEN %(s)s ELSE last_good_stars END,"
        " max_good_stars = CASE WHEN %(good)s THEN greatest(max_good_stars, %(s)s)"
        "                  ELSE max_good_stars END"
        " WHERE id = %(id)s", {"s": stars, "good": grade == "good", "id": organization_id})


# -- rounds, scores, gradings ------------------------------------------------------------
def insert_round(tx: Transaction, values: typed.OpenRoundParams, rules: dict) -> dict:
    return _returned(tx, "INSERT INTO rounds (place_code, year, name, rules)"
                     " VALUES (%s, %s, %s, %s) RETURNING *",
                     (values["place_code"], values["year"], values["name"], _json(rules)))


def get_round(tx: Transaction, round_id: int) -> dict:
    row = tx.one("SELECT * FROM rounds WHERE id = %s", (round_id,))
    if row is None:
        raise round_absent(round_id)
    return row


def rounds_of(tx: Transaction, place_code: str, year: int | None, limit: int) -> list[dict]:
    """Rounds at the place or above it (its ancestors' codes), or within its subtree."""
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all("SELECT * FROM rounds WHERE (place_code = ANY(%(above)s)"
                  " OR place_code BETWEEN %(lo)s AND %(hi)s)"
                  " AND (%(year)s::integer IS NULL OR year = %(year)s)"
                  " ORDER BY year DESC, id DESC LIMIT %(limit)s",
                  {"above": regions.ancestors(place_code), "lo": lo, "hi": hi, "year": year,
                   "limit": limit})


def round_gradings(tx: Transaction, round_id: int, organization_ids: list[int],
                   place_lo: str, place_hi: str) -> list[dict]:
    """Each asked organization known here with a place in [place_lo, place_hi], with its
    scores (assessor → scores) and its grading in the round, if any."""
    return tx.all(
        "SELECT o.id AS organization_id,"
        " coalesce((SELECT jsonb_object_agg(s.assessor, s.scores) FROM scores s"
        "           WHERE s.round_id = %(round)s AND s.organization_id = o.id), '{}') AS scores,"
        " g.score, g.grade, g.method, g.reason, coalesce(g.is_baseline, false) AS is_baseline"
        " FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS asked(id, n)"
        " JOIN organizations o ON o.id = asked.id"
        " LEFT JOIN gradings g ON g.round_id = %(round)s AND g.organization_id = o.id"
        " WHERE o.place_code BETWEEN %(lo)s AND %(hi)s ORDER BY asked.n",
        {"round": round_id, "ids": organization_ids, "lo": place_lo, "hi": place_hi})


def save_scores(tx: Transaction, round_id: int, organization_id: int, assessor: str,
                scores: typed.IndicatorScores) -> None:
    tx.execute(
        "INSERT INTO scores (round_id, organization_id, assessor, scores) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (round_id, organization_id, assessor)"
        " DO UPDATE SET scores = EXCLUDED.scores, recorded_at = now()",
        (round_id, organization_id, assessor, _json({k: str(v) for k, v in scores.items()})))


def scores_of(tx: Transaction, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    """scores() of many (round_id, organization_id) pairs at once."""
    rows = tx.all("SELECT s.round_id, s.organization_id, s.assessor, s.scores FROM scores s"
                  " JOIN unnest(%s::bigint[], %s::bigint[]) AS p(round_id, organization_id)"
                  " USING (round_id, organization_id)",
                  ([r for r, _ in pairs], [o for _, o in pairs]))
    found: dict[tuple[int, int], dict] = {}
    for row in rows:
        found.setdefault((row["round_id"], row["organization_id"]), {})[row["assessor"]] = row["scores"]
    return found


def scores(tx: Transaction, round_id: int, organization_id: int) -> dict[str, dict]:
    rows = tx.all("SELECT assessor, scores FROM scores WHERE round_id = %s AND organization_id = %s",
                  (round_id, organization_id))
    return {row["assessor"]: row["scores"] for row in rows}


def grading(tx: Transaction, round_id: int, organization_id: int) -> dict | None:
    return tx.one("SELECT * FROM gradings WHERE round_id = %s AND organization_id = %s",
                  (round_id, organization_id))


def save_gradings(tx: Transaction, gradings: list[dict]) -> dict[tuple[int, int], int]:
    """Insert or correct rounds' gradings (one per organization and round); the number
    of each one's grade event, by (round_id, organization_id)."""
    insert = tx.render_rows(
        "INSERT INTO gradings (round_id, organization_id, score, grade, method, reason,"
        " is_baseline, sequence, rules) VALUES",
        "(%(round_id)s, %(organization_id)s, %(score)s, %(grade)s, %(method)s, %(reason)s,"
        " false, nextval('grade_events'), %(rules)s)",
        ({**values, "rules": _json(values["rules"])} for values in gradings))
    if insert is None:  # no gradings
        return {}
    rows = tx.all(insert + b" ON CONFLICT (round_id, organization_id) DO UPDATE SET"
                  b" score = EXCLUDED.score, grade = EXCLUDED.grade, method = EXCLUDED.method,"
                  b" reason = EXCLUDED.reason, sequence = EXCLUDED.sequence,"
                  b" rules = EXCLUDED.rules, graded_at = now()"
                  b" RETURNING round_id, organization_id, sequence")
    return {(row["round_id"], row["organization_id"]): row["sequence"] for row in rows}


# -- surveys ---------------------------------------------------------------------------
_INSERT_SURVEY = ("INSERT INTO surveys (kind, organization_id, case_id, case_round, title)"
                  " VALUES (%(kind)s, %(organization_id)s, %(case_id)s, %(case_round)s,"
                  " %(title)s)")


def insert_survey(tx: Transaction, values: dict) -> int:
    """A survey of no case (opened by a call): its id."""
    return _returned(tx, _INSERT_SURVEY + " RETURNING id", values)["id"]


def insert_case_survey(tx: Transaction, values: dict) -> int | None:
    """A case round's survey: its id; None when it exists already (a repeated event)."""
    return tx.scalar(_INSERT_SURVEY + " ON CONFLICT (case_id, case_round) DO NOTHING"
                     " RETURNING id", values)


def get_survey(tx: Transaction, survey_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT * FROM surveys WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                 (survey_id,))
    if row is None:
        raise survey_absent(survey_id)
    row["counts"] = {answer: 0 for answer in ANSWERS}
    for count in tx.all("SELECT answer, ballots FROM survey_counts WHERE survey_id = %s",
                        (survey_id,)):
        row["counts"][count["answer"]] = count["ballots"]
    if row["valid_ballots"] is None:
        row["valid_ballots"] = sum(row["counts"].values())
    return row


def surveys_of(tx: Transaction, organization_id: int) -> list[int]:
    rows = tx.all("SELECT id FROM surveys WHERE organization_id = %s ORDER BY id DESC",
                  (organization_id,))
    return [row["id"] for row in rows]


def add_ballots(tx: Transaction, survey_id: int, counts: dict[str, int]) -> None:
    insert = tx.render_rows("INSERT INTO survey_counts (survey_id, answer, ballots) VALUES",
                            "(%s, %s, %s)",
                            [(survey_id, answer, n) for answer, n in counts.items() if n])
    if insert is not None:
        tx.execute(insert + b" ON CONFLICT (survey_id, answer)"
                            b" DO UPDATE SET ballots = survey_counts.ballots + EXCLUDED.ballots")


def close_survey(tx: Transaction, survey_id: int, result: Satisfaction) -> None:
    tx.execute("UPDATE surveys SET status = 'closed', closed_on = current_date,"
               " valid_ballots = %s, satisfied = %s, rate = %s, passed = %s, rule = %s"
               " WHERE id = %s",
               (result.valid_ballots, result.satisfied, result.rate, result.passed,
                _json(result.rule), survey_id))


# -- acceptances -----------------------------------------------------------------------
_INSERT_ACCEPTANCE = ("INSERT INTO acceptances (organization_id, case_id, grade)"
                      " VALUES (%s, %s, %s)")


def insert_acceptance(tx: Transaction, organization_id: int, grade: str) -> int:
    """An acceptance of no case (opened by a call): its id."""
    return _returned(tx, _INSERT_ACCEPTANCE + " RETURNING id",
                     (organization_id, None, grade))["id"]


def insert_case_acceptance(tx: Transaction, organization_id: int, case_id: int,
                           grade: str) -> int | None:
    """An accepted case's acceptance: its id; None when it exists already (a repeated
    event)."""
    return tx.scalar(_INSERT_ACCEPTANCE + " ON CONFLICT (case_id) DO NOTHING RETURNING id",
                     (organization_id, case_id, grade))


def get_acceptance(tx: Transaction, acceptance_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT * FROM acceptances WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                 (acceptance_id,))
    if row is None:
        raise acceptance_absent(acceptance_id)
    return row


def gradings_of(tx: Transaction, organization_id: int) -> list[dict]:
    return tx.all("SELECT g.round_id, r.name AS round_name, r.year, g.score, g.grade, g.method,"
                  " g.reason, g.is_baseline, g.graded_at FROM gradings g"
                  " JOIN rounds r ON r.id = g.round_id WHERE g.organization_id = %s"
                  " ORDER BY r.year DESC, g.round_id DESC", (organization_id,))


def acceptances_of(tx: Transaction, organization_id: int) -> list[dict]:
    return tx.all("SELECT * FROM acceptances WHERE organization_id = %s ORDER BY id DESC",
                  (organization_id,))


def rate(tx: Transaction, acceptance_id: int, values: dict) -> None:
    tx.execute("UPDATE acceptances SET status = 'rated', score = %(score)s,"
               " suggested_stars = %(suggested_stars)s, stars = %(stars)s, reason = %(reason)s,"
               " rated_by = %(rated_by)s, rated_on = current_date, rules = %(rules)s"
               " WHERE id = %(id)s", {**values, "id": acceptance_id, "rules": _json(values["rules"])})


# -- moving up ---------------------------------------------------------------------------
# The same rules as domain.moved_up and domain.improved_good, in SQL so that the
# database aggregates a whole province (a test checks they agree on every case).
MOVED_UP = """CASE WHEN baseline_grade = 'good'
                   THEN current_grade = 'good'
                        AND (coalesce(last_good_stars > first_good_stars, false)
                             OR coalesce(max_good_stars = 5, false))
                   ELSE grade_rank(current_grade) > grade_rank(baseline_grade) END"""




def moving_up_counts(tx: Transaction, place_code: str) -> list[dict]:
    """(child place, baseline grade, current grade) → organizations and moved up, over
    active graded ones; organizations sitting at the place itself count under the place's
    own code. One scan serves both the moving-up rows and the current grades."""
    lo, hi = regions.subtree_bounds(place_code)
    child, params = places.child_of("place_code", place_code)
    return tx.all(
        f"""
        SELECT {child} AS child, baseline_grade, current_grade,
               count(*) AS organizations, count(*) FILTER (WHERE {MOVED_UP}) AS moved_up
        FROM organizations
        WHERE status = 'active' AND baseline_grade IS NOT NULL
          AND place_code BETWEEN %(lo)s AND %(hi)s
        GROUP BY 1, 2, 3
        """,
        {**params, "lo": lo, "hi": hi},
    )


def moving_up_page(tx: Transaction, place_code: str, baseline_grade: str, moved_up: bool | None,
                   *, limit: int, after) -> tuple[list[dict], list | None]:
    lo, hi = regions.subtree_bounds(place_code)
    where = ["status = 'active'", "baseline_grade = %(grade)s",
             "place_code BETWEEN %(lo)s AND %(hi)s"]
    params = {"grade": baseline_grade, "lo": lo, "hi": hi, "limit": limit + 1}
    if moved_up is not None:
        where.append(f"({MOVED_UP}) = %(moved)s")
        params["moved"] = moved_up
    if after is not None:
        where.append("(place_code, id) > (%(after_place)s, %(after_id)s)")
        params.update(after_place=after[0], after_id=after[1])
    rows = tx.all(
        f"SELECT id AS organization_id, name, place_code, baseline_grade, current_grade,"
        f" stars, first_good_stars, last_good_stars, {MOVED_UP} AS moved_up FROM organizations"
        f" WHERE {' AND '.join(where)} ORDER BY place_code, id LIMIT %(limit)s", params)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ([rows[-1]["place_code"], rows[-1]["organization_id"]] if more else None)


# -- joint reviews and township reports -----------------------------------------------
def insert_joint_review(tx: Transaction, values: dict) -> dict:
    try:
        return _returned(
            tx, "INSERT INTO joint_reviews (place_code, level, year, secretary, reported_on,"
            " review_score, exam_result) VALUES (%(place_code)s, %(level)s, %(year)s,"
            " %(secretary)s, %(reported_on)s, %(review_score)s, %(exam_result)s) RETURNING *",
            values)
    except psycopg2.errors.UniqueViolation:
        raise Conflict(f"{values['place_code']} already has its {values['year']} review",
                       {"place_code": values["place_code"], "year": values["year"]}) from None


def joint_reviews(tx: Transaction, place_code: str, year: int, level: str | None) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all(
        "SELECT r.*, p.name AS place_name FROM joint_reviews r"
        " LEFT JOIN places p ON p.code = r.place_code"
        " WHERE r.place_code BETWEEN %s AND %s AND r.year = %s"
        " AND (%s::text IS NULL OR r.level = %s) ORDER BY r.level, r.place_code",
        (lo, hi, year, level, level))


def save_township_report(tx: Transaction, values: typed.RecordTownshipReportParams) -> dict:
    return _returned(
        tx, "INSERT INTO township_reports (place_code, period, submitted_on, summary)"
        " VALUES (%(place_code)s, %(period)s, %(submitted_on)s, %(summary)s)"
        " ON CONFLICT (place_code, period) DO UPDATE SET submitted_on = EXCLUDED.submitted_on,"
        " summary = EXCLUDED.summary RETURNING *", values)


def township_reports(tx: Transaction, place_code: str, period: str) -> list[dict]:
    lo, hi = regions.subtree_bounds(place_code)
    return tx.all(
        "SELECT p.code AS place_code, p.name AS place_name, r.submitted_on, r.summary"
        " FROM places p LEFT JOIN township_reports r ON r.place_code = p.code AND r.period = %s"
        " WHERE p.level = 'township' AND p.code BETWEEN %s AND %s ORDER BY p.code",
        (period, lo, hi))


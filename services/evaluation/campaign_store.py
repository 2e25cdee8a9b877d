"""SQL of the service-oriented satisfaction survey campaigns (rules: campaign.py)."""

from __future__ import annotations

from collections.abc import Mapping

from psycopg2.extras import Json

from services.evaluation.domain import LAPSED, Satisfaction
from shared.contracts.evaluation import ANSWERS
from shared.errors import NotFound
from shared.national import regions
from shared.platform import place_copies as places
from shared.platform.db import Transaction
from shared.platform.pg import json_dumps

KIND = "service_oriented"


def apply_creation(tx: Transaction, data: dict) -> None:
    tx.execute("INSERT INTO service_creations (creation_id, organization_id, year, focus)"
               " VALUES (%(creation_id)s, %(organization_id)s, %(year)s, %(focus)s)"
               " ON CONFLICT (creation_id) DO NOTHING", data)


def lock_organization(tx: Transaction, organization_id: int) -> None:
    """Until commit: a creation's event and its organization's arrival take turns."""
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
               (f"service_creation:{organization_id}",))


def creations_of(tx: Transaction, organization_id: int) -> list[dict]:
    return tx.all("SELECT organization_id, year FROM service_creations"
                  " WHERE organization_id = %s", (organization_id,))


def lock_year(tx: Transaction, year: int) -> None:
    """Opens of the same year take turns (until commit), so each sees the campaign the
    one before it committed: the overlap check below is then safe."""
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
               (f"survey_campaign:{KIND}:{year}",))


def join_open_campaigns(tx: Transaction, creation: dict, title: str) -> None:
    """A survey for the organization in every open campaign of the creation's year whose
    place covers it (none when it already has one there). After the year's lock, which
    opening a campaign holds too: whichever of the two commits second sees the other's
    rows, so a creation is surveyed by one or the other, never missed."""
    lock_year(tx, creation["year"])
    org = tx.one("SELECT id, name, place_code FROM organizations WHERE id = %s"
                 " AND status = 'active'", (creation["organization_id"],))
    if org is None:
        return
    for row in tx.all("SELECT id, place_code, year FROM survey_campaigns WHERE kind = %s"
                      " AND year = %s AND status = 'open'", (KIND, creation["year"])):
        if regions.in_subtree(org["place_code"], row["place_code"]):
            tx.execute("INSERT INTO surveys (kind, organization_id, title, campaign_id)"
                       " VALUES (%s, %s, %s, %s) ON CONFLICT (campaign_id, organization_id)"
                       " WHERE campaign_id IS NOT NULL DO NOTHING",
                       (KIND, org["id"], f"{org['name']}{row['year']}{title}", row["id"]))


def overlapping(tx: Transaction, place_code: str, year: int) -> dict | None:
    """A campaign of the year whose place contains this one or lies in it."""
    lo, hi = regions.subtree_bounds(place_code)
    for row in tx.all("SELECT id, place_code FROM survey_campaigns WHERE kind = %s"
                      " AND year = %s", (KIND, year)):
        if regions.in_subtree(place_code, row["place_code"]) or lo <= row["place_code"] <= hi:
            return row
    return None


def insert_campaign(tx: Transaction, place_code: str, year: int, title: str) -> int:
    return tx.scalar("INSERT INTO survey_campaigns (kind, place_code, year, title)"
                     " VALUES (%s, %s, %s, %s) RETURNING id", (KIND, place_code, year, title))


def open_surveys(tx: Transaction, campaign_id: int, place_code: str, year: int,
                 title: str) -> int:
    """A survey for every active organization under the place in the year's creation."""
    lo, hi = regions.subtree_bounds(place_code)
    tx.execute(
        "INSERT INTO surveys (kind, organization_id, title, campaign_id)"
        " SELECT %s, o.id, o.name || %s || %s, %s FROM service_creations c"
        " JOIN organizations o ON o.id = c.organization_id WHERE c.year = %s"
        " AND o.status = 'active' AND o.place_code BETWEEN %s AND %s",
        (KIND, str(year), title, campaign_id, year, lo, hi))
    return tx.cursor.rowcount


def campaign_absent(campaign_id: int) -> NotFound:
    """The one NotFound of a campaign: not there, or not the caller's to see
    (Principal.require_visible), alike."""
    return NotFound(f"no survey campaign {campaign_id}", {"campaign_id": campaign_id})


def campaign(tx: Transaction, campaign_id: int, *, lock: bool = False) -> dict:
    row = tx.one("SELECT * FROM survey_campaigns WHERE id = %s" + (" FOR UPDATE" if lock else ""),
                 (campaign_id,))
    if row is None:
        raise campaign_absent(campaign_id)
    return row


def open_counts(tx: Transaction, campaign_id: int) -> dict[int, dict[str, int]]:
    """The ballots of each open survey of the campaign, its surveys locked first (a
    ballot recorded meanwhile waits, then finds its survey closed)."""
    tx.execute("SELECT id FROM surveys WHERE campaign_id = %s AND status = 'open'"
               " ORDER BY id FOR UPDATE", (campaign_id,))
    counts: dict[int, dict[str, int]] = {}
    for row in tx.all("SELECT s.id, c.answer, c.ballots FROM surveys s"
                      " JOIN survey_counts c ON c.survey_id = s.id"
                      " WHERE s.campaign_id = %s AND s.status = 'open'", (campaign_id,)):
        counts.setdefault(row["id"], dict.fromkeys(ANSWERS, 0))[row["answer"]] = row["ballots"]
    return counts


def lapse_unballoted(tx: Transaction, campaign_id: int) -> int:
    """The campaign's surveys still open (those without a valid ballot) lapse with it
    (domain.LAPSED): 0 valid ballots, no rate, neither passed nor failed, not closed."""
    tx.execute("UPDATE surveys SET status = %s, closed_on = current_date,"
               " valid_ballots = 0, satisfied = 0 WHERE campaign_id = %s AND status = 'open'",
               (LAPSED, campaign_id))
    return tx.cursor.rowcount


def close_surveys(tx: Transaction, results: Mapping[int, Satisfaction]) -> None:
    """Close the surveys with their results, in one statement."""
    rows = [(survey_id, r.valid_ballots, r.satisfied, r.rate, r.passed,
             Json(r.rule, dumps=json_dumps)) for survey_id, r in results.items()]
    update = tx.render_rows("UPDATE surveys s SET status = 'closed', closed_on = current_date,"
                            " valid_ballots = v.valid, satisfied = v.satisfied, rate = v.rate,"
                            " passed = v.passed, rule = v.rule FROM (VALUES",
                            "(%s::bigint, %s::int, %s::int, %s::numeric, %s::boolean,"
                            " %s::jsonb)", rows)
    if update is None:  # no results
        return
    tx.execute(update + b") AS v (id, valid, satisfied, rate, passed, rule) WHERE s.id = v.id"
                        b" AND s.status = 'open'")


def close_campaign(tx: Transaction, campaign_id: int) -> None:
    tx.execute("UPDATE survey_campaigns SET status = 'closed', closed_on = current_date"
               " WHERE id = %s", (campaign_id,))


_FIGURES = (" count(*) AS organizations, count(*) FILTER (WHERE s.status = 'closed') AS closed,"
            " coalesce(sum(s.valid_ballots) FILTER (WHERE s.status = 'closed'), 0)::int"
            " AS valid_ballots,"
            " coalesce(sum(s.satisfied) FILTER (WHERE s.status = 'closed'), 0)::int AS satisfied,"
            " count(*) FILTER (WHERE s.passed) AS passed,"
            " count(*) FILTER (WHERE s.passed = false) AS failed")


def figures(tx: Transaction, campaign: dict) -> dict[str, list[dict]]:
    """The campaign's surveys counted per child place of its place, and per focus."""
    child, params = places.child_of("o.place_code", campaign["place_code"])
    params["campaign_id"] = campaign["id"]
    joined = (" FROM surveys s JOIN organizations o ON o.id = s.organization_id"
              " WHERE s.campaign_id = %(campaign_id)s")
    return {
        "by_child": tx.all(f"SELECT {child} AS place_code," + _FIGURES + joined
                           + " GROUP BY 1 ORDER BY 1", params),
        "by_focus": tx.all(
            "SELECT c.focus," + _FIGURES + joined.replace(
                " WHERE", " JOIN service_creations c ON c.organization_id = s.organization_id"
                " AND c.year = %(year)s WHERE") + " GROUP BY 1 ORDER BY 1",
            {**params, "year": campaign["year"]}),
    }

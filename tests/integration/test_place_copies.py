"""The copies of the place tree and the organizations that shared.platform.place_copies writes
into every service using PlaceDirectory / OrganizationDirectory: each such service's own
migrations create them with the columns that module declares (so its SQL and five
services' schemas cannot drift apart unseen)."""

from __future__ import annotations

import psycopg2
import pytest

from shared.platform import config
from shared.platform import place_copies as places
from shared.platform.containers import service_class
from shared.platform.migrate import migrate

COPIES = [(service, table, columns)
          for service in config.SERVICES if service != "organizations"
          for mixin, table, columns in (
              (places.PlaceDirectory, "places", places.PLACE_COPY_COLUMNS),
              (places.OrganizationDirectory, "organizations", places.ORGANIZATION_COPY_COLUMNS))
          if issubclass(service_class(service), mixin)]


def test_every_reporting_service_keeps_a_copy():
    users = {service for service, table, _ in COPIES if table == "places"}
    assert users == {"evaluation", "npe", "cadres", "resources"}
    assert {service for service, table, _ in COPIES if table == "organizations"} >= {
        "evaluation", "cadres"}


@pytest.fixture(scope="module")
def migrated(databases):
    urls = {}
    for service in sorted({service for service, _, _ in COPIES}):
        urls[service] = databases.create(f"copies_{service}")
        migrate(service, urls[service])
    return urls


@pytest.mark.parametrize("service,table,columns", COPIES,
                         ids=[f"{s}.{t}" for s, t, _ in COPIES])
def test_the_copy_has_the_columns_the_shared_sql_writes(migrated, service, table, columns):
    with psycopg2.connect(migrated[service]) as conn, conn.cursor() as cur:
        cur.execute("SELECT column_name, data_type, collation_name"
                    " FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND table_name = %s", (table,))
        found = {name: (kind, collation) for name, kind, collation in cur.fetchall()}
        cur.execute("SELECT a.attname FROM pg_index i JOIN pg_attribute a"
                    " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                    " WHERE i.indrelid = %s::regclass AND i.indisprimary", (table,))
        key = [row[0] for row in cur.fetchall()]
    conn.close()
    assert {name: found.get(name) for name in columns} == columns
    # The upserts' ON CONFLICT needs the first column to be the key.
    assert key == [next(iter(columns))]

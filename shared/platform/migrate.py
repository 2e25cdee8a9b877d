"""Apply database migrations with yoyo-migrations, safely from several replicas at once.

Each service database gets the platform tables (shared/platform/migrations: outbox, inbox,
request log, audit trail) and then the service's own (services/<name>/migrations).

yoyo guards a run with a row in its `yoyo_lock` table; a migrator killed mid-run leaves
that row behind and every later run waits, then fails ("run yoyo break-lock"). So the
run is serialized first by a PostgreSQL session advisory lock, which the server drops
by itself when the holder dies; whoever holds it knows any yoyo lock row is stale.

    python -m shared.platform.migrate [service ...]      # default: every service built so far
"""

from __future__ import annotations

import argparse
import logging
import sys
import zlib
from pathlib import Path

import psycopg2
from yoyo import get_backend, read_migrations

from shared.platform import config

log = logging.getLogger(__name__)

PLATFORM_MIGRATIONS = config.REPO_ROOT / "shared" / "platform" / "migrations"


def migration_sources(service: str) -> list[Path]:
    return [PLATFORM_MIGRATIONS, config.REPO_ROOT / "services" / service / "migrations"]


def expected_migration_ids(service: str) -> set[str]:
    return {m.id for m in read_migrations(*map(str, migration_sources(service)))}


def _advisory_key(service: str) -> int:
    return zlib.crc32(f"jinwei-migrate-{service}".encode())


def migrate(service: str, database_url: str, lock_timeout_s: float = 120,
            sources: list[Path] | None = None) -> list[str]:
    """Apply pending migrations; returns the ids applied (empty when up to date)."""
    migrations = read_migrations(*map(str, sources or migration_sources(service)))
    guard = psycopg2.connect(database_url, connect_timeout=10)
    try:
        guard.autocommit = True
        with guard.cursor() as cur:
            cur.execute("SET lock_timeout = %s", (f"{int(lock_timeout_s * 1000)}ms",))
            cur.execute("SELECT pg_advisory_lock(%s)", (_advisory_key(service),))
        backend = get_backend(database_url)
        try:
            backend.break_lock()  # stale by construction: we hold the advisory lock
            with backend.lock():
                pending = backend.to_apply(migrations)
                backend.apply_migrations(pending)
                return [m.id for m in pending]
        finally:
            backend.connection.close()
    finally:
        guard.close()  # releases the advisory lock


def applied_migration_ids(cursor) -> set[str]:
    cursor.execute("SELECT to_regclass('_yoyo_migration') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return set()  # never migrated
    cursor.execute("SELECT migration_id FROM _yoyo_migration")
    return {row[0] for row in cursor.fetchall()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("services", nargs="*", default=list(config.SERVICES))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")  # yoyo logs every step
    settings = config.load()
    for service in args.services:
        applied = migrate(service, settings.database_url(service))
        state = f"applied {', '.join(applied)}" if applied else "up to date"
        print(f"migrations {service}: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

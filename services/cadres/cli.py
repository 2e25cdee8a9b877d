"""Operator commands of the cadres service.

    python -m services.cadres.cli rekey

After a personal-data key rotation — the new key in JINWEI_PERSONAL_DATA_KEY (or the key
file), the old one in JINWEI_PERSONAL_DATA_KEY_PREVIOUS — seals every identity number
anew with the new key and re-indexes it, so the old key can then be dropped. Safe to run
while the service runs (each batch is its own short transaction; the service opens
either seal meanwhile) and to run again (rows already under the new key are skipped).
"""

from __future__ import annotations

import argparse
import sys

import psycopg2

from shared.platform import config
from shared.platform.personal_data import Protector

PURPOSE = b"people.id_number"  # as services.cadres.service seals it
BATCH = 500


def rekey(database_url: str, protector: Protector) -> int:
    """Seal and index every identity number under the current key; how many changed."""
    changed, after = 0, 0
    conn = psycopg2.connect(database_url)
    try:
        while True:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT id, id_number_sealed FROM people WHERE id > %s ORDER BY id"
                            " LIMIT %s FOR UPDATE", (after, BATCH))
                rows = cur.fetchall()
                for person_id, sealed in rows:
                    if protector.sealed_with_current_key(sealed):
                        continue
                    number = protector.open(sealed, purpose=PURPOSE)
                    cur.execute("UPDATE people SET id_number_sealed = %s, id_number_index = %s"
                                " WHERE id = %s",
                                (protector.seal(number, purpose=PURPOSE),
                                 protector.index(number), person_id))
                    changed += 1
            if len(rows) < BATCH:
                return changed
            after = rows[-1][0]
    finally:
        conn.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("rekey", help="seal every identity number with the current key")
    parser.parse_args(argv)
    settings = config.load()
    try:
        protector = Protector(settings.personal_data_keys)
    except ValueError as exc:
        sys.exit(str(exc))
    changed = rekey(settings.database_url("cadres"), protector)
    print(f"sealed anew under the current key: {changed} identity numbers")
    return 0


if __name__ == "__main__":
    sys.exit(main())

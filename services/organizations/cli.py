"""Operator commands of the organizations service, over RPC like any other client.

    python -m services.organizations.cli import-places --sample
    python -m services.organizations.cli import-places --csv places.csv
    python -m services.organizations.cli import-places --regions-dir ../shared/data/regions \\
        --province 33 [--villages-seed 2012]
    python -m services.organizations.cli publish-snapshot --place 330000000000

The token is minted from the local secret (operator, places.admin over the province),
or passed with --token / $JINWEI_TOKEN.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from shared.national import regions
from shared.platform import auth, config
from shared.platform.rpc_client import rpc_proxy

SAMPLE = config.REPO_ROOT / "deploy" / "sample" / "places-zhejiang.csv"
BATCH = 2000


def _rows(args) -> list[regions.PlaceRow]:
    if args.sample:
        return regions.read_places_csv(SAMPLE)
    if args.csv:
        return regions.read_places_csv(Path(args.csv))
    rows = regions.load_national(Path(args.regions_dir), args.province)
    if args.villages_seed is not None:
        townships = [r for r in rows if r.level == "township"]
        rows += regions.generate_villages(townships, args.villages_seed)
    return rows


def _operator_token(settings: config.Settings, place_code: str) -> str:
    if not settings.token_secrets:
        sys.exit("no token: pass --token, or run where `make run` wrote var/token-secret")
    return auth.issue_token(settings.token_secrets[0], subject="operator-cli",
                            department="operator", place_code=place_code,
                            roles=["places.admin"], system="organizations-cli", ttl_seconds=3600)


def _token(args, settings: config.Settings, rows) -> str:
    given = args.token or os.environ.get("JINWEI_TOKEN")
    return given or _operator_token(settings, regions.pad(rows[0].code[:2]))


def _batch_id(places: list[dict]) -> str:
    """The same batch (codes and names) gets the same request id, so a re-run after a
    lost reply is not applied twice; a batch with a corrected name is a new request."""
    digest = hashlib.sha256(json.dumps(places, ensure_ascii=False).encode()).hexdigest()
    return f"import-places-{digest[:32]}"


def import_places(args) -> int:
    settings = config.load()
    rows = sorted(_rows(args), key=lambda r: r.code)  # parents first
    if not rows:
        sys.exit("nothing to import")
    token = _token(args, settings, rows)
    totals = {"created": 0, "renamed": 0, "unchanged": 0}
    started = time.monotonic()
    with rpc_proxy(settings, token, timeout=120) as proxy:
        for start in range(0, len(rows), BATCH):
            batch = rows[start:start + BATCH]
            places = [{"code": r.code, "name": r.name} for r in batch]
            result = proxy.organizations.import_places(places=places, request_id=_batch_id(places))
            for key in totals:
                totals[key] += result[key]
            print(f"  {start + len(batch):>6} / {len(rows)} places", file=sys.stderr)
    print(f"imported {len(rows)} places in {time.monotonic() - started:.1f} s: "
          f"{totals['created']} created, {totals['renamed']} renamed, "
          f"{totals['unchanged']} unchanged")
    return 0


def publish_snapshot(args) -> int:
    settings = config.load()
    token = args.token or os.environ.get("JINWEI_TOKEN") or _operator_token(settings, args.place)
    with rpc_proxy(settings, token, timeout=300) as proxy:
        result = proxy.organizations.publish_snapshot(place_code=args.place)
    print(f"published {result['places']} places and {result['organizations']} organizations"
          f" under {args.place} in {result['events']} events")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Operator commands of the organizations service")
    sub = parser.add_subparsers(dest="command", required=True)
    places = sub.add_parser("import-places", help="create or rename places, parents first")
    source = places.add_mutually_exclusive_group(required=True)
    source.add_argument("--sample", action="store_true", help=f"the shipped {SAMPLE.name}")
    source.add_argument("--csv", help="a place file: code,name,level,kind,parent_code")
    source.add_argument("--regions-dir", help="the national CSV set (provinces.csv, ...)")
    places.add_argument("--province", default="33", help="with --regions-dir: e.g. 33")
    places.add_argument("--villages-seed", type=int, default=None,
                        help="with --regions-dir: also generate villages under every township")
    places.add_argument("--token", default=None)
    snapshot = sub.add_parser("publish-snapshot",
                              help="publish every place and organization again, as events, for "
                                   "a service that started after they were made")
    snapshot.add_argument("--place", default="330000000000", help="12-digit place code")
    snapshot.add_argument("--token", default=None)
    args = parser.parse_args(argv)
    return import_places(args) if args.command == "import-places" else publish_snapshot(args)


if __name__ == "__main__":
    sys.exit(main())

"""Write deploy/sample/places-zhejiang.csv: Zhejiang's real places plus made-up villages.

    python deploy/sample/make_sample.py [--regions-dir DIR] [--output FILE] [--check]

The province, its cities, counties and townships come from the national data set (default
../shared/data/regions beside the repo); villages and communities are generated with a fixed
seed under the townships of one urban district and one rural county. The same data set gives
the same file byte for byte; --check compares instead of writing (exit 1 when they differ).
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Run as a plain script, so the repo root is not on sys.path yet.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from shared.national import regions  # noqa: E402

PROVINCE = "33"  # 浙江省
VILLAGE_COUNTIES = ("330106", "331123")  # 杭州市西湖区 (urban), 丽水市遂昌县 (rural)
SEED = 2012
DEFAULT_REGIONS_DIR = REPO_ROOT.parent / "shared" / "data" / "regions"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "places-zhejiang.csv"


def build_sample(regions_dir: Path) -> list[regions.PlaceRow]:
    skipped: list[regions.SkippedRow] = []
    places = regions.load_national(regions_dir, PROVINCE, skipped=skipped)
    if skipped:  # Zhejiang has none; a new data set that has some must be looked at first
        raise SystemExit(
            f"{len(skipped)} national rows of {PROVINCE} do not fit the tree, first: {skipped[0]}"
        )
    townships = [
        row for row in places if row.level == "township" and row.code[:6] in VILLAGE_COUNTIES
    ]
    villages = regions.generate_villages(townships, seed=SEED)
    return sorted(places + villages, key=lambda row: row.code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions-dir", type=Path, default=DEFAULT_REGIONS_DIR)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="compare with --output instead of writing it"
    )
    args = parser.parse_args(argv)
    rows = build_sample(args.regions_dir)
    if args.check:
        fresh = args.output.with_name(args.output.name + ".check")
        try:
            regions.write_places_csv(rows, fresh)
            same = args.output.exists() and fresh.read_bytes() == args.output.read_bytes()
        finally:
            fresh.unlink(missing_ok=True)
        print(f"{args.output}: {'up to date' if same else 'DIFFERS from the generator output'}")
        return 0 if same else 1
    regions.write_places_csv(rows, args.output)
    counts = collections.Counter(row.level for row in rows)
    print(
        f"wrote {len(rows)} places to {args.output}: "
        + ", ".join(f"{counts[level]} {level}" for level in regions.LEVELS)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

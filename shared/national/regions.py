"""Place codes: the 12-digit statistical division codes (统计用区划代码) that key every place.

A code is five blocks, 2 province + 2 city + 2 county + 3 township + 3 village digits, with the
blocks below a place's level left at zero: 330000000000 a province, 330100000000 a city,
330102000000 a county, 330102001000 a township, 330102001001 a village. The non-zero blocks are
the place's *prefix*, and every place under it starts with that prefix, so "everything under
county X" is `code BETWEEN lo AND hi` (see `subtree_bounds`). The value of the township and
village blocks says what kind of place it is (docs/domain.md §1, national statistical standard).

Everything here is pure except the explicit CSV functions at the bottom: `load_national` reads
the national data set (shared/data/regions, outside the repo), `read_places_csv` and
`write_places_csv` the repo's own place files (deploy/sample/places-zhejiang.csv).
"""

from __future__ import annotations

import csv
import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LEVELS = ("province", "city", "county", "township", "village")

LEVEL_LABELS = {
    "province": "省",
    "city": "市",
    "county": "县(市、区)",
    "township": "乡镇(街道)",
    "village": "村(社区)",
}

KINDS = {
    "province": "省",
    "city": "市",
    "county": "县(市、区)",
    "sub_district": "街道",
    "town": "镇",
    "township": "乡",
    "township_like": "类似乡级单位",
    "community": "社区",
    "village": "村",
    "village_like": "类似村级单位",
}

# Number of significant digits of a code at each level: the length of its prefix.
PREFIX_LENGTHS = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}

# Kinds by the value of the township / village block, from the national statistical standard.
# The standard leaves 400–599 to units "like" a township or village (development zones, farms,
# forestry bureaus, the production corps' companies); the 2022 data uses them at both levels
# (e.g. 654203511501 一连生活区), so they are valid codes, not errors.
_TOWNSHIP_KINDS = (
    (1, 99, "sub_district"),
    (100, 199, "town"),
    (200, 399, "township"),
    (400, 599, "township_like"),
)
_VILLAGE_KINDS = ((1, 199, "community"), (200, 399, "village"), (400, 599, "village_like"))

KIND_LEVELS = {
    "province": "province",
    "city": "city",
    "county": "county",
    **{kind: "township" for _, _, kind in _TOWNSHIP_KINDS},
    **{kind: "village" for _, _, kind in _VILLAGE_KINDS},
}

_BLOCKS = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))  # slice of each level's block
_TWELVE_DIGITS = re.compile(r"[0-9]{12}")  # not str.isdigit: that accepts "３" and "²"


class RegionCodeError(ValueError):
    """A string that is not a valid place code. `code` holds the value as given."""

    def __init__(self, code: object, message: str):
        super().__init__(message)
        self.code = code


def _shown(code: object) -> str:
    # Plain digit strings read best bare; anything else (spaces, None, an int) needs repr.
    return code if isinstance(code, str) and code.isascii() and code.isalnum() else repr(code)


@dataclass(frozen=True)
class PlaceCode:
    code: str
    level: str
    kind: str
    prefix: str  # the significant digits: 2, 4, 6, 9 or 12 of them
    parent: str | None  # 12-digit code of the place above, None for a province

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def _kind_in(ranges: tuple[tuple[int, int, str], ...], value: int) -> str | None:
    for low, high, kind in ranges:
        if low <= value <= high:
            return kind
    return None


def parse(code: str) -> PlaceCode:
    """Validate a 12-digit place code and say what it is. Raises RegionCodeError."""
    if not isinstance(code, str) or not _TWELVE_DIGITS.fullmatch(code):
        raise RegionCodeError(code, f"{_shown(code)} is not a 12-digit place code")
    blocks = [code[start:end] for start, end in _BLOCKS]
    # GB/T 2260 province codes run from 11 (Beijing) to 82 (Macao); 50 (Chongqing) is one.
    if not "11" <= blocks[0] <= "82":
        raise RegionCodeError(
            code, f"{code} is not a valid place code: province block {blocks[0]} is not 11–82"
        )
    depth = 1  # number of leading non-zero blocks = the level's position + 1
    while depth < len(blocks) and int(blocks[depth]):
        depth += 1
    level = LEVELS[depth - 1]
    for below in range(depth + 1, len(blocks)):
        # 330000001000 would be a township of no county: its parent would not exist.
        if int(blocks[below]):
            raise RegionCodeError(
                code,
                f"{code} is not a valid place code: {LEVELS[below]} block {blocks[below]} "
                f"follows an empty {LEVELS[depth]} block",
            )
    kind: str | None = level
    if level == "township":
        kind = _kind_in(_TOWNSHIP_KINDS, int(blocks[3]))
    elif level == "village":
        kind = _kind_in(_VILLAGE_KINDS, int(blocks[4]))
    if kind is None:
        value = blocks[depth - 1]
        raise RegionCodeError(
            code, f"{code} is not a valid place code: {level} block {value} is not 001–599"
        )
    prefix = code[: PREFIX_LENGTHS[level]]
    parent = None
    if level != "province":
        parent = prefix[: PREFIX_LENGTHS[LEVELS[depth - 2]]].ljust(12, "0")
    return PlaceCode(code=code, level=level, kind=kind, prefix=prefix, parent=parent)


def village_blocks(kinds) -> list[tuple[int, int]]:
    """The ranges of a village code's last block (digits 10–12) that are of `kinds`."""
    return [(low, high) for low, high, kind in _VILLAGE_KINDS if kind in kinds]


def pad(code: str) -> str:
    """A 2/4/6/9-digit national code (`33`, `330102001`) as a valid 12-digit place code.

    A 12-digit code is returned as it is, once validated; other lengths are refused.
    """
    if not isinstance(code, str) or len(code) not in (2, 4, 6, 9, 12):
        raise RegionCodeError(
            code, f"{_shown(code)} is not a 2-, 4-, 6-, 9- or 12-digit place code"
        )
    return parse(code.ljust(12, "0")).code


def level_of(code: str) -> str:
    return parse(code).level


def kind_of(code: str) -> str:
    return parse(code).kind


def parent_of(code: str) -> str | None:
    return parse(code).parent


def ancestors(code: str) -> list[str]:
    """The places above `code`, province first; empty for a province."""
    prefix = parse(code).prefix
    return [
        prefix[:length].ljust(12, "0") for length in PREFIX_LENGTHS.values() if length < len(prefix)
    ]


def subtree_bounds(code: str) -> tuple[str, str]:
    """Lowest and highest codes under `code` (itself included), for SQL `BETWEEN lo AND hi`.

    The high bound is not itself a valid code (330199999999); it only closes the range.
    """
    prefix = parse(code).prefix
    return prefix.ljust(12, "0"), prefix.ljust(12, "9")


def in_subtree(code: str, root: str) -> bool:
    """True when `code` is `root` or any place under it."""
    return parse(code).code.startswith(parse(root).prefix)


def is_child_level(parent: str, child: str) -> bool:
    """True when `child`'s level is the one right below `parent`'s.

    Each argument is a level name ("county") or a place code; the two cannot be confused, codes
    being digits. This compares levels only: for the tree relation use
    `parent_of(child) == parent`.
    """
    parent_level = parent if parent in LEVELS else level_of(parent)
    child_level = child if child in LEVELS else level_of(child)
    return LEVELS.index(child_level) == LEVELS.index(parent_level) + 1


# ---------------------------------------------------------------------------------------------
# Place rows and the CSV files


@dataclass(frozen=True)
class PlaceRow:
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None


def _row(code: str, name: str) -> PlaceRow:
    place = parse(code)
    return PlaceRow(place.code, name, place.level, place.kind, place.parent)


@dataclass(frozen=True)
class SkippedRow:
    """A row of the national data that `load_national` left out, and why."""

    file: str
    line: int
    code: str
    name: str
    reason: str


# File of each level in the national set, and the column naming the place above.
_NATIONAL_FILES = (
    ("province", "provinces.csv", None),
    ("city", "cities.csv", "provinceCode"),
    ("county", "counties.csv", "cityCode"),
    ("township", "townships.csv", "areaCode"),
)


def _fit_national(
    raw: str, name: str, level: str, stated_parent: str | None, kept: dict[str, PlaceRow]
) -> tuple[PlaceCode | None, str]:
    """The place of one national row, or None and why it does not fit the tree."""
    try:
        place = parse(pad(raw))
    except RegionCodeError as error:
        return None, str(error)
    if place.level != level:
        return None, f"pads to {place.code}, a {place.level} code, in the {level} file"
    if place.code in kept:
        return None, f"{place.code} appears twice"
    if not name:
        return None, "has no name"
    if stated_parent is not None and stated_parent.ljust(12, "0") != place.parent:
        return None, f"its stated parent {stated_parent} is not the code's parent {place.parent}"
    if place.parent is not None and place.parent not in kept:
        return None, f"its parent {place.parent} is not in the data"
    return place, ""


def load_national(
    regions_dir: Path, province: str, *, skipped: list[SkippedRow] | None = None
) -> list[PlaceRow]:
    """Province, cities, counties and townships of one province from the national CSV set.

    `province` is "33" or "330000000000". Rows come back sorted by code, which puts every
    parent before its children (a parent's code is the lowest in its subtree). Rows that do not
    fit the tree are left out and appended to `skipped` (and logged), not raised: the real data
    has a few, e.g. the cities without counties (东莞 441900, 中山 442000, 儋州 460400) whose
    county row pads to the city's own code and whose towns (441900003) sit under an empty
    county block. City rows named 市辖区 / 县 / 省直辖县级行政区划 are real city-level codes and
    are kept as they are.
    """
    root = parse(pad(province))
    if root.level != "province":
        raise RegionCodeError(province, f"{province} is not a province code")
    out: dict[str, PlaceRow] = {}
    dropped: list[SkippedRow] = []
    for level, filename, parent_column in _NATIONAL_FILES:
        path = Path(regions_dir) / filename
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            wanted = {"code", "name"} | ({parent_column} if parent_column else set())
            if not wanted <= set(reader.fieldnames or ()):
                raise ValueError(
                    f"{path}: expected columns {sorted(wanted)}, found {reader.fieldnames}"
                )
            for record in reader:
                raw, name = record["code"].strip(), (record["name"] or "").strip()
                if not raw.startswith(root.prefix):
                    continue
                stated = record[parent_column].strip() if parent_column else None
                place, reason = _fit_national(raw, name, level, stated, out)
                if place is None:
                    dropped.append(SkippedRow(filename, reader.line_num, raw, name, reason))
                else:
                    out[place.code] = PlaceRow(place.code, name, level, place.kind, place.parent)
    if root.code not in out:
        raise ValueError(f"province {root.prefix} is not in {Path(regions_dir) / 'provinces.csv'}")
    if dropped:
        log.warning(
            "load_national(%s): skipped %d rows that do not fit the tree, first: %s",
            root.prefix,
            len(dropped),
            dropped[0],
        )
    if skipped is not None:
        skipped.extend(dropped)
    return [out[code] for code in sorted(out)]


# Village names: one syllable of each list, so every township can have up to 28 × 25 distinct
# stems. Characters common in Zhejiang place names, chosen so that no stem reads as a real
# administrative word (no 村, 镇, 乡 inside a stem).
_FIRST = "青石龙凤金白黄梅竹松桃云新高长东西南北上前后丰安和兴福华"
_SECOND = "山溪湖塘桥岭坑源口坞湾田岙坪头垄浦港林园阳川洋岗里"
_SUFFIXES = {"community": "社区", "village": "村", "village_like": "生活区"}
_FIRST_NUMBER = {"community": 1, "village": 200, "village_like": 400}
# Share of each kind of unit under each kind of township: sub-districts are mostly urban
# communities with a few villages left on the edge of town, towns have a few communities at
# their seat, townships are almost all villages, farms and zones mostly "like" units.
_MIX = {
    "sub_district": {"community": 0.85, "village": 0.15},
    "town": {"community": 0.2, "village": 0.8},
    "township": {"community": 0.05, "village": 0.95},
    "township_like": {"community": 0.3, "village": 0.2, "village_like": 0.5},
}


def generate_villages(
    townships: Iterable[PlaceRow], seed: int, per_township: tuple[int, int] = (8, 25)
) -> list[PlaceRow]:
    """Made-up villages and communities under real townships, the same for the same seed.

    Communities are numbered from 001, villages from 200 and village-like units from 400, as in
    the real data. Each township draws from its own generator seeded by (seed, township code),
    so a township's villages do not change when other townships are added or removed.
    """
    low, high = per_township
    if not 1 <= low <= high <= 199:  # 199: the community block 001–199 is the smallest range
        raise ValueError(f"per_township must satisfy 1 <= low <= high <= 199, got {per_township}")
    stems = [first + second for first in _FIRST for second in _SECOND]
    out: list[PlaceRow] = []
    for township in townships:
        if township.level != "township":
            raise ValueError(
                f"{township.code} {township.name} is a {township.level}, not a township"
            )
        # A string seed is hashed with SHA-512: stable across Python versions and runs.
        rng = random.Random(f"{seed}:{township.code}")
        count = rng.randint(low, high)
        mix = _MIX[township.kind]
        kinds = rng.choices(list(mix), weights=list(mix.values()), k=count)
        names = rng.sample(stems, count)
        next_number = dict(_FIRST_NUMBER)
        for kind in sorted(kinds, key=list(_FIRST_NUMBER).index):
            code = township.code[:9] + f"{next_number[kind]:03d}"
            next_number[kind] += 1
            out.append(_row(code, names.pop() + _SUFFIXES[kind]))
    return sorted(out, key=lambda row: row.code)


PLACES_CSV_HEADER = ("code", "name", "level", "kind", "parent_code")


class PlaceFileError(ValueError):
    """A bad line in a place CSV file; the message names the file and line."""

    def __init__(self, path: Path, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


def _row_problem(row: PlaceRow, seen: set[str]) -> str | None:
    """What is wrong with a place file row, given the codes on the lines before it."""
    try:
        place = parse(row.code)
    except RegionCodeError as error:
        return str(error)
    if not row.name or row.name != row.name.strip():
        return f"{row.code} has an empty or space-padded name {row.name!r}"
    if (row.level, row.kind) != (place.level, place.kind):
        return f"{row.code} is a {place.level}/{place.kind}, not a {row.level}/{row.kind}"
    if row.parent_code != place.parent:
        return f"{row.code} has parent_code {row.parent_code or '(empty)'}, expected {place.parent}"
    if row.code in seen:
        return f"{row.code} appears twice"
    if row.parent_code is not None and row.parent_code not in seen:
        return f"{row.code}'s parent {row.parent_code} is not on an earlier line"
    return None


def read_places_csv(path: Path) -> list[PlaceRow]:
    """Read and check a place file: header `code,name,level,kind,parent_code`, 12-digit codes.

    Every row must be consistent with its code, and its parent must be on an earlier line: the
    file is loaded top to bottom into a table whose parent_code references the same table.
    """
    path = Path(path)
    rows: list[PlaceRow] = []
    seen: set[str] = set()
    # utf-8-sig: a file saved from a spreadsheet starts with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if tuple(header or ()) != PLACES_CSV_HEADER:
            raise PlaceFileError(
                path,
                1,
                f"header must be {','.join(PLACES_CSV_HEADER)}, found {','.join(header or ())!r}",
            )
        for fields in reader:
            if not fields:
                continue  # blank line
            line = reader.line_num
            if len(fields) != len(PLACES_CSV_HEADER):
                raise PlaceFileError(path, line, f"expected 5 fields, found {len(fields)}")
            code, name, level, kind, parent_code = fields
            row = PlaceRow(code, name, level, kind, parent_code or None)
            problem = _row_problem(row, seen)
            if problem:
                raise PlaceFileError(path, line, problem)
            seen.add(code)
            rows.append(row)
    return rows


def write_places_csv(rows: Iterable[PlaceRow], path: Path) -> None:
    """Write a place file that `read_places_csv` accepts: UTF-8, no BOM, "\\n" line ends.

    The rows are checked as the reader would check them (an error names the line the row
    would have had) before anything is written, so a bad list leaves no half-written file.
    """
    rows = list(rows)
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        problem = _row_problem(row, seen)
        if problem:
            raise PlaceFileError(Path(path), line, problem)
        seen.add(row.code)
    with Path(path).open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(PLACES_CSV_HEADER)
        for row in rows:
            writer.writerow((row.code, row.name, row.level, row.kind, row.parent_code or ""))

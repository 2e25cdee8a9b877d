"""Place codes (shared/national/regions.py), the national loader and the shipped sample place file."""

from __future__ import annotations

import collections
import dataclasses
import importlib.util
from pathlib import Path

import pytest

from shared.national import regions
from shared.national.regions import PlaceRow, RegionCodeError

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "deploy" / "sample" / "places-zhejiang.csv"
REGIONS_DIR = REPO_ROOT.parent / "shared" / "data" / "regions"
needs_national = pytest.mark.skipif(
    not (REGIONS_DIR / "townships.csv").exists(),
    reason=f"national place data not present at {REGIONS_DIR} (it lives beside the repo)",
)


def _make_sample_module():
    path = REPO_ROOT / "deploy" / "sample" / "make_sample.py"
    spec = importlib.util.spec_from_file_location("make_sample", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- parse: every level and kind, with real codes ----------------------------------------------


@pytest.mark.parametrize(
    ("code", "level", "kind", "prefix", "parent"),
    [
        ("330000000000", "province", "province", "33", None),
        ("500000000000", "province", "province", "50", None),  # 重庆市
        ("330100000000", "city", "city", "3301", "330000000000"),  # 杭州市
        ("110100000000", "city", "city", "1101", "110000000000"),  # 北京 市辖区
        ("429000000000", "city", "city", "4290", "420000000000"),  # 省直辖县级行政区划
        ("330106000000", "county", "county", "330106", "330100000000"),  # 西湖区
        ("330106002000", "township", "sub_district", "330106002", "330106000000"),  # 北山街道
        ("330106109000", "township", "town", "330106109", "330106000000"),  # 三墩镇
        ("331123200000", "township", "township", "331123200", "331123000000"),  # 三仁畲族乡
        ("331123399000", "township", "township", "331123399", "331123000000"),
        ("110115403000", "township", "township_like", "110115403", "110115000000"),  # 经开区
        ("120113501000", "township", "township_like", "120113501", "120113000000"),  # 曙光农场
        ("330603107001", "village", "community", "330603107001", "330603107000"),
        ("330603107199", "village", "community", "330603107199", "330603107000"),
        ("330603107200", "village", "village", "330603107200", "330603107000"),
        ("330603107399", "village", "village", "330603107399", "330603107000"),
        ("654203511400", "village", "village_like", "654203511400", "654203511000"),
        ("654203511501", "village", "village_like", "654203511501", "654203511000"),
    ],
)
def test_parse_levels_and_kinds(code, level, kind, prefix, parent):
    place = regions.parse(code)
    assert (place.code, place.level, place.kind, place.prefix, place.parent) == (
        code,
        level,
        kind,
        prefix,
        parent,
    )
    assert regions.level_of(code) == level
    assert regions.kind_of(code) == kind
    assert regions.KIND_LEVELS[kind] == level
    assert place.level_label == regions.LEVEL_LABELS[level]
    assert place.kind_label == regions.KINDS[kind]


def test_labels_cover_every_level_and_kind():
    assert tuple(regions.LEVEL_LABELS) == regions.LEVELS
    assert regions.LEVEL_LABELS["county"] == "县(市、区)"
    assert set(regions.KINDS) == set(regions.KIND_LEVELS)
    assert regions.KINDS["township_like"] == "类似乡级单位"
    assert regions.KINDS["village_like"] == "类似村级单位"
    assert len(set(regions.KINDS.values())) == len(regions.KINDS)


# --- parse: every invalid form ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("330102001", "330102001 is not a 12-digit place code"),
        ("3301020010010", "is not a 12-digit place code"),
        ("", "is not a 12-digit place code"),
        ("33010200100a", "is not a 12-digit place code"),
        ("33010200100１", "is not a 12-digit place code"),  # full-width digit
        (" 33010200100", "is not a 12-digit place code"),
        ("330102001001\n", "is not a 12-digit place code"),
        (330102001001, "is not a 12-digit place code"),  # not a str
        (None, "None is not a 12-digit place code"),
        ("000000000000", "province block 00 is not 11–82"),
        ("100000000000", "province block 10 is not 11–82"),
        ("830000000000", "province block 83 is not 11–82"),
        ("990100000000", "province block 99 is not 11–82"),
        ("330000001000", "township block 001 follows an empty city block"),
        ("330001000000", "county block 01 follows an empty city block"),
        ("330000000001", "village block 001 follows an empty city block"),
        ("330102000001", "village block 001 follows an empty township block"),
        ("330100001001", "township block 001 follows an empty county block"),
        ("330102600000", "township block 600 is not 001–599"),
        ("330102999000", "township block 999 is not 001–599"),
        ("330102001600", "village block 600 is not 001–599"),
        ("330102001999", "village block 999 is not 001–599"),
    ],
)
def test_parse_rejects(code, message):
    with pytest.raises(RegionCodeError, match=message) as caught:
        regions.parse(code)
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


def test_parse_result_is_frozen():
    place = regions.parse("330106002000")
    with pytest.raises(dataclasses.FrozenInstanceError):
        place.level = "county"


@pytest.mark.parametrize(
    ("national", "padded"),
    [
        ("33", "330000000000"),
        ("3301", "330100000000"),
        ("330102", "330102000000"),
        ("330102001", "330102001000"),
        ("330102001001", "330102001001"),
    ],
)
def test_pad(national, padded):
    assert regions.pad(national) == padded


@pytest.mark.parametrize("bad", ["3", "330", "33010", "3301020", "33010200", "3301020010", 33])
def test_pad_rejects_other_lengths(bad):
    with pytest.raises(RegionCodeError, match="is not a 2-, 4-, 6-, 9- or 12-digit place code"):
        regions.pad(bad)


def test_pad_validates_the_result():
    with pytest.raises(RegionCodeError, match="township block 003 follows an empty county"):
        regions.pad("441900003")  # 东莞 has no counties: its towns do not fit the tree


# --- subtrees, parents, ancestors -------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "bounds"),
    [
        ("330000000000", ("330000000000", "339999999999")),
        ("330100000000", ("330100000000", "330199999999")),
        ("330106000000", ("330106000000", "330106999999")),
        ("330106002000", ("330106002000", "330106002999")),
        ("330106002001", ("330106002001", "330106002001")),
    ],
)
def test_subtree_bounds(code, bounds):
    assert regions.subtree_bounds(code) == bounds
    low, high = bounds
    assert low <= code <= high


def test_in_subtree():
    assert regions.in_subtree("330106002001", "330106000000")  # a village in its county
    assert regions.in_subtree("330106002001", "330000000000")
    assert regions.in_subtree("330106000000", "330106000000")  # a place is in its own subtree
    assert not regions.in_subtree("330201000000", "330100000000")  # 3301 does not hold 3302
    assert not regions.in_subtree("330100000000", "330106000000")  # nor a child its parent
    assert not regions.in_subtree("330106002001", "330106002002")  # nor a village its sibling
    assert not regions.in_subtree("340106000000", "330000000000")
    # Prefixes compare by level, not by trailing zeros: 3301 holds 330100…, 330101…, 330199…
    assert regions.in_subtree("330199001000", "330100000000")
    with pytest.raises(RegionCodeError):
        regions.in_subtree("3301", "330000000000")


def test_subtree_bounds_agree_with_in_subtree():
    codes = [
        "330000000000",
        "330100000000",
        "330106000000",
        "330106002000",
        "330106002001",
        "330106002200",
        "330106109000",
        "330201000000",
        "331123200201",
        "340000000000",
    ]
    for root in codes:
        low, high = regions.subtree_bounds(root)
        for code in codes:
            assert (low <= code <= high) == regions.in_subtree(code, root), (root, code)


def test_parent_and_ancestors():
    assert regions.parent_of("330000000000") is None
    assert regions.parent_of("330100000000") == "330000000000"
    assert regions.parent_of("330106002001") == "330106002000"
    assert regions.ancestors("330000000000") == []
    assert regions.ancestors("330106000000") == ["330000000000", "330100000000"]
    assert regions.ancestors("330106002001") == [
        "330000000000",
        "330100000000",
        "330106000000",
        "330106002000",
    ]
    for code in ("330106002001", "330106002000", "330100000000"):
        assert regions.ancestors(code)[-1] == regions.parent_of(code)


def test_is_child_level():
    assert regions.is_child_level("province", "city")
    assert regions.is_child_level("township", "village")
    assert not regions.is_child_level("city", "township")
    assert not regions.is_child_level("county", "city")
    assert regions.is_child_level("330106000000", "330106002000")
    assert regions.is_child_level("county", "330106002000")
    assert not regions.is_child_level("330100000000", "330106002000")
    assert not regions.is_child_level("village", "330106002001")
    with pytest.raises(RegionCodeError):
        regions.is_child_level("borough", "village")


# --- generated villages -----------------------------------------------------------------------

TOWNSHIPS = [
    PlaceRow("330106002000", "北山街道", "township", "sub_district", "330106000000"),
    PlaceRow("330106109000", "三墩镇", "township", "town", "330106000000"),
    PlaceRow("331123200000", "三仁畲族乡", "township", "township", "331123000000"),
    PlaceRow("120113501000", "曙光农场", "township", "township_like", "120113000000"),
]


def test_generate_villages_is_deterministic():
    first = regions.generate_villages(TOWNSHIPS, seed=2012)
    assert first == regions.generate_villages(TOWNSHIPS, seed=2012)
    assert first != regions.generate_villages(TOWNSHIPS, seed=2013)
    # Each township has its own generator: the others do not change its villages.
    alone = regions.generate_villages(TOWNSHIPS[1:2], seed=2012)
    assert alone == [row for row in first if row.parent_code == "330106109000"]


def test_generated_villages_parse_with_their_kind_and_parent():
    rows = regions.generate_villages(TOWNSHIPS, seed=7, per_township=(20, 40))
    assert len({row.code for row in rows}) == len(rows)
    assert [row.code for row in rows] == sorted(row.code for row in rows)
    by_parent = collections.defaultdict(list)
    for row in rows:
        place = regions.parse(row.code)
        assert (row.level, row.kind, row.parent_code) == ("village", place.kind, place.parent)
        assert row.name.endswith(
            {"community": "社区", "village": "村", "village_like": "生活区"}[row.kind]
        )
        by_parent[row.parent_code].append(row)
    assert set(by_parent) == {township.code for township in TOWNSHIPS}
    for villages in by_parent.values():
        assert 20 <= len(villages) <= 40
        assert len({row.name for row in villages}) == len(villages)  # names unique per township
        for kind, first in (("community", "001"), ("village", "200"), ("village_like", "400")):
            numbers = [int(row.code[9:]) for row in villages if row.kind == kind]
            if numbers:  # numbered from the start of the kind's range, without gaps
                assert numbers == list(range(int(first), int(first) + len(numbers))), kind
    kinds = collections.Counter(row.kind for row in by_parent["330106002000"])
    assert kinds["community"] > kinds["village"]  # sub-districts are mostly communities
    kinds = collections.Counter(row.kind for row in by_parent["331123200000"])
    assert kinds["village"] > kinds["community"]


def test_generate_villages_rejects_bad_input():
    with pytest.raises(ValueError, match="is a county, not a township"):
        regions.generate_villages(
            [PlaceRow("330106000000", "西湖区", "county", "county", "330100000000")], seed=1
        )
    with pytest.raises(ValueError, match="per_township"):
        regions.generate_villages(TOWNSHIPS, seed=1, per_township=(10, 200))
    with pytest.raises(ValueError, match="per_township"):
        regions.generate_villages(TOWNSHIPS, seed=1, per_township=(9, 8))


# --- the repo's place CSV files ---------------------------------------------------------------

HEADER = "code,name,level,kind,parent_code\n"
GOOD_LINES = [
    "330000000000,浙江省,province,province,\n",
    "330100000000,杭州市,city,city,330000000000\n",
    "330106000000,西湖区,county,county,330100000000\n",
    "330106002000,北山街道,township,sub_district,330106000000\n",
    '330106002001,"青山,社区",village,community,330106002000\n',
]


def test_places_csv_round_trip(tmp_path):
    path = tmp_path / "places.csv"
    path.write_text(HEADER + "".join(GOOD_LINES), encoding="utf-8")
    rows = regions.read_places_csv(path)
    assert rows[0] == PlaceRow("330000000000", "浙江省", "province", "province", None)
    assert rows[-1].name == "青山,社区"
    again = tmp_path / "again.csv"
    regions.write_places_csv(rows, again)
    assert again.read_bytes() == path.read_bytes()


def test_places_csv_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "places.csv"
    path.write_text("\ufeff" + HEADER + GOOD_LINES[0], encoding="utf-8")
    assert len(regions.read_places_csv(path)) == 1


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        (["code,name,level,kind\n"], 1, "header must be code,name,level,kind,parent_code"),
        ([HEADER, "33,浙江省,province,province,\n"], 2, "33 is not a 12-digit place code"),
        ([HEADER, "330000000000,浙江省,province,province\n"], 2, "expected 5 fields, found 4"),
        ([HEADER, "330000000000,,province,province,\n"], 2, "empty or space-padded name"),
        ([HEADER, "330000000000,浙江省,city,city,\n"], 2, "is a province/province, not a city"),
        (
            [HEADER, *GOOD_LINES[:3], "330106002000,北山街道,township,town,330106000000\n"],
            5,
            "is a township/sub_district, not a township/town",
        ),
        (
            [HEADER, *GOOD_LINES[:2], "330106000000,西湖区,county,county,330000000000\n"],
            4,
            "has parent_code 330000000000, expected 330100000000",
        ),
        (
            [HEADER, *GOOD_LINES[:2], "330106000000,西湖区,county,county,\n"],
            4,
            r"has parent_code \(empty\), expected 330100000000",
        ),
        ([HEADER, GOOD_LINES[0], GOOD_LINES[2]], 3, "parent 330100000000 is not on an earlier"),
        ([HEADER, GOOD_LINES[0], GOOD_LINES[0]], 3, "appears twice"),
        (
            [HEADER, "330000001000,x,township,sub_district,330000000000\n"],
            2,
            "township block 001 follows an empty city block",
        ),
    ],
)
def test_read_places_csv_names_the_bad_line(tmp_path, lines, line, message):
    path = tmp_path / "bad.csv"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(regions.PlaceFileError, match=message) as caught:
        regions.read_places_csv(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_write_places_csv_refuses_an_inconsistent_row(tmp_path):
    bad = PlaceRow("330106002000", "北山街道", "township", "town", "330106000000")
    with pytest.raises(regions.PlaceFileError, match="not a township/town"):
        regions.write_places_csv([bad], tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    province = PlaceRow("330000000000", "浙江省", "province", "province", None)
    city = PlaceRow("330100000000", "杭州市", "city", "city", "330000000000")
    with pytest.raises(regions.PlaceFileError, match=":2: 330100000000's parent 330000000000"):
        regions.write_places_csv([city, province], tmp_path / "out.csv")
    with pytest.raises(regions.PlaceFileError, match=":3: 330000000000 appears twice"):
        regions.write_places_csv([province, province], tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


# --- the shipped sample -----------------------------------------------------------------------


def test_shipped_sample_reads_back_valid():
    rows = regions.read_places_csv(SAMPLE)
    assert collections.Counter(row.level for row in rows) == {
        "province": 1,
        "city": 11,
        "county": 90,
        "township": 1387,
        "village": 534,
    }
    assert [row.code for row in rows] == sorted(row.code for row in rows)
    names = {row.code: row.name for row in rows}
    assert names["330000000000"] == "浙江省"
    assert names["330106000000"] == "西湖区"
    assert names["331123000000"] == "遂昌县"
    villages = [row for row in rows if row.level == "village"]
    assert {row.code[:6] for row in villages} == {"330106", "331123"}
    # Every township of the two counties got villages, and no other township did.
    townships = {
        row.code for row in rows if row.level == "township" and row.code[:6] in {"330106", "331123"}
    }
    assert {row.parent_code for row in villages} == townships


def test_shipped_sample_villages_match_the_generator():
    # Needs no national data: the generator only looks at the townships, which the file holds.
    make_sample = _make_sample_module()
    rows = regions.read_places_csv(SAMPLE)
    townships = [
        row
        for row in rows
        if row.level == "township" and row.code[:6] in make_sample.VILLAGE_COUNTIES
    ]
    expected = regions.generate_villages(townships, seed=make_sample.SEED)
    assert [row for row in rows if row.level == "village"] == expected


@needs_national
def test_shipped_sample_is_the_generator_output_byte_for_byte(tmp_path):
    make_sample = _make_sample_module()
    fresh = tmp_path / "places.csv"
    assert make_sample.main(["--regions-dir", str(REGIONS_DIR), "--output", str(fresh)]) == 0
    assert fresh.read_bytes() == SAMPLE.read_bytes()
    assert (
        make_sample.main(["--regions-dir", str(REGIONS_DIR), "--output", str(SAMPLE), "--check"])
        == 0
    )


# --- the national data set --------------------------------------------------------------------


@needs_national
def test_load_national_zhejiang():
    skipped: list[regions.SkippedRow] = []
    rows = regions.load_national(REGIONS_DIR, "33", skipped=skipped)
    assert skipped == []
    assert collections.Counter(row.level for row in rows) == {
        "province": 1,
        "city": 11,
        "county": 90,
        "township": 1387,
    }
    assert regions.load_national(REGIONS_DIR, "330000000000") == rows
    seen: set[str] = set()
    for row in rows:  # parent before child, every parent present, consistent with the code
        assert row.parent_code is None or row.parent_code in seen
        place = regions.parse(row.code)
        assert (row.level, row.kind, row.parent_code) == (place.level, place.kind, place.parent)
        seen.add(row.code)
    by_code = {row.code: row for row in rows}
    assert by_code["330106000000"].name == "西湖区"
    assert by_code["331123200000"] == PlaceRow(
        "331123200000", "三仁畲族乡", "township", "township", "331123000000"
    )
    kinds = collections.Counter(row.kind for row in rows if row.level == "township")
    assert set(kinds) == {"sub_district", "town", "township", "township_like"}


@needs_national
def test_load_national_keeps_the_special_city_rows_and_reports_misfits():
    rows = regions.load_national(REGIONS_DIR, "11")
    assert rows[1] == PlaceRow("110100000000", "市辖区", "city", "city", "110000000000")
    skipped: list[regions.SkippedRow] = []
    rows = regions.load_national(REGIONS_DIR, "44", skipped=skipped)
    codes = {row.code for row in rows}
    assert "441900000000" in codes  # 东莞市, a city without counties
    # Its county row pads to the city's own code, its towns sit under an empty county block.
    reasons = {row.code: row.reason for row in skipped}
    assert "a city code, in the county file" in reasons["441900"]
    assert "follows an empty county block" in reasons["441900003"]
    assert all(row.code.startswith(("4419", "4420")) for row in skipped)
    assert not any(code.startswith("441900") and code != "441900000000" for code in codes)
    # 省直辖县级行政区划 (4290) is a real city-level code with counties under it.
    rows = regions.load_national(REGIONS_DIR, "42")
    assert any(row.parent_code == "429000000000" for row in rows)


def test_load_national_on_a_small_set(tmp_path):
    # Runs without the national data: the quirks, on a hand-made copy of them.
    (tmp_path / "provinces.csv").write_text(
        'code,name\n33,"浙江省"\n44,"广东省"\n', encoding="utf-8"
    )
    (tmp_path / "cities.csv").write_text(
        'code,name,provinceCode\n3301,"杭州市",33\n3390,"省直辖县级行政区划",33\n'
        '4419,"东莞市",44\n',
        encoding="utf-8",
    )
    (tmp_path / "counties.csv").write_text(
        "code,name,cityCode,provinceCode\n"
        '330106,"西湖区",3301,33\n339001,"某市",3390,33\n330200,"坏行",3302,33\n'
        '330107,"错市",3390,33\n',
        encoding="utf-8",
    )
    (tmp_path / "townships.csv").write_text(
        "code,name,areaCode,provinceCode,cityCode\n"
        '330106002,"北山街道",330106,33,3301\n'
        '330106000,"占位",330106,33,3301\n'
        '330107001,"孤儿街道",330107,33,3301\n'
        '330106700,"超范围",330106,33,3301\n'
        '441900003,"东城街道",441900,44,4419\n',
        encoding="utf-8",
    )
    skipped: list[regions.SkippedRow] = []
    rows = regions.load_national(tmp_path, "33", skipped=skipped)
    assert [row.code for row in rows] == [
        "330000000000",
        "330100000000",
        "330106000000",
        "330106002000",
        "339000000000",
        "339001000000",
    ]
    assert {(row.file, row.line, row.code): row.reason for row in skipped} == {
        ("counties.csv", 4, "330200"): "pads to 330200000000, a city code, in the county file",
        (
            "counties.csv",
            5,
            "330107",
        ): "its stated parent 3390 is not the code's parent 330100000000",
        (
            "townships.csv",
            3,
            "330106000",
        ): "pads to 330106000000, a county code, in the township file",
        ("townships.csv", 4, "330107001"): "its parent 330107000000 is not in the data",
        (
            "townships.csv",
            5,
            "330106700",
        ): "330106700000 is not a valid place code: township block 700 is not 001–599",
    }
    with pytest.raises(ValueError, match="province 34 is not in"):
        regions.load_national(tmp_path, "34")
    with pytest.raises(RegionCodeError, match="is not a province code"):
        regions.load_national(tmp_path, "3301")

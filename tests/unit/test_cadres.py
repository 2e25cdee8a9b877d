"""Pure rules of the cadres service: identity numbers (GB 11643), sealing personal data,
reserve quotas and order, placements, the talent pool's township target, the roster."""

import datetime as dt

import pytest
from cryptography.exceptions import InvalidTag

from services.cadres import domain
from shared import identity_number, personal_data
from shared.contracts import cadres as contract
from shared.entrypoints import _fingerprint
from shared.errors import Conflict, ValidationError

# The standard's own example (GB 11643-1999, appendix): 11010519491231002X.
STANDARD_EXAMPLE = "11010519491231002X"


# -- identity numbers -----------------------------------------------------------------------
def test_the_standards_example_is_valid_and_its_check_character_recomputed():
    assert identity_number.problem(STANDARD_EXAMPLE) is None
    assert identity_number.check_character(STANDARD_EXAMPLE[:17]) == "X"
    assert identity_number.birth_date(STANDARD_EXAMPLE) == dt.date(1949, 12, 31)
    assert identity_number.sex(STANDARD_EXAMPLE) == "female"  # sequence 002: even
    assert identity_number.normalize(" 11010519491231002x ") == STANDARD_EXAMPLE


@pytest.mark.parametrize("number, says", [
    ("11010519491231002", "18位"),
    ("11010519491231002XX", "18位"),
    ("1101051949123100AX", "格式"),
    ("110105194912310021", "校验码"),
    (identity_number.with_check_character("11010519490230002"), "出生日期"),
    (identity_number.with_check_character("11010518991231002"), "出生日期"),
    (identity_number.with_check_character("00010519491231002"), "地址码"),
])
def test_invalid_numbers_say_why_without_repeating_the_number(number, says):
    problem = identity_number.problem(number)
    assert says in problem
    assert number not in problem and number[6:14] not in problem


def test_a_number_born_tomorrow_is_impossible():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    number = identity_number.with_check_character(f"330102{tomorrow:%Y%m%d}001")
    assert "出生日期" in identity_number.problem(number)
    assert identity_number.problem(number, today=tomorrow) is None


def test_the_mask_keeps_three_and_four():
    assert identity_number.mask(STANDARD_EXAMPLE) == "110***********002X"


def test_the_contract_checks_sex_and_birth_date_against_the_number():
    values = {"name": "张三", "sex": "male", "ethnicity": "汉族", "education": "bachelor",
              "political_status": "party_member", "place_code": "331123102201",
              "identity_number": STANDARD_EXAMPLE, "birth_date": "1950-01-01"}
    with pytest.raises(Exception) as refused:
        contract.RegisterPerson().load(values)
    assert set(refused.value.messages) == {"sex", "birth_date"}
    loaded = contract.RegisterPerson().load({**values, "sex": "female", "birth_date": None})
    assert loaded["post_category"] == "other" and loaded["cv"] == []


def test_a_request_fingerprint_does_not_carry_the_number():
    one = {"name": "张三", "identity_number": STANDARD_EXAMPLE}
    other = {"name": "张三", "identity_number": "330102199001011237"}
    assert _fingerprint(one, ("identity_number",)) == _fingerprint(other, ("identity_number",))
    assert _fingerprint(one) != _fingerprint(other)


# -- sealing -------------------------------------------------------------------------------
def test_sealed_data_opens_with_its_key_and_purpose_only():
    key, other = personal_data.new_key(), personal_data.new_key()
    protector = personal_data.Protector((key,))
    sealed = protector.seal(STANDARD_EXAMPLE, purpose=b"people.id_number")
    assert STANDARD_EXAMPLE.encode() not in sealed
    assert sealed != protector.seal(STANDARD_EXAMPLE, purpose=b"people.id_number")  # nonce
    assert protector.open(sealed, purpose=b"people.id_number") == STANDARD_EXAMPLE
    with pytest.raises(InvalidTag):
        protector.open(sealed, purpose=b"another.column")
    with pytest.raises(LookupError):
        personal_data.Protector((other,)).open(sealed, purpose=b"people.id_number")


def test_a_rotated_key_still_opens_and_indexes_what_the_old_one_sealed():
    old, new = personal_data.new_key(), personal_data.new_key()
    before = personal_data.Protector((old,))
    after = personal_data.Protector((new, old))
    sealed = before.seal(STANDARD_EXAMPLE, purpose=b"p")
    assert after.open(sealed, purpose=b"p") == STANDARD_EXAMPLE
    assert not after.sealed_with_current_key(sealed)
    assert before.index(STANDARD_EXAMPLE) in after.indexes(STANDARD_EXAMPLE)
    assert after.index(STANDARD_EXAMPLE) != before.index(STANDARD_EXAMPLE)


@pytest.mark.parametrize("keys", [(), ("short",), ("!" * 44,)])
def test_a_missing_or_malformed_key_stops_the_service(keys):
    with pytest.raises(ValueError):
        personal_data.Protector(keys)


# -- reserve cadres --------------------------------------------------------------------------
RULES = domain.Rules()


@pytest.mark.parametrize("count, status", [(0, "short"), (1, "short"), (2, "within"),
                                           (3, "within"), (4, "over")])
def test_quota_status(count, status):
    assert domain.quota_status(count, RULES) == status


def test_rules_from_config_refuse_nonsense():
    assert domain.Rules.from_config({"reserve_min": 1, "reserve_max": 5}).reserve_max == 5
    for bad in ({"reserve_min": 4, "reserve_max": 3}, {"reserve_mni": 2},
                {"reserve_min_assessment": "great"}):
        with pytest.raises(ValueError):
            domain.Rules.from_config(bad)


def test_only_villages_keep_reserves_by_default():
    assert domain.keeps_reserves("331123102201", RULES)
    assert not domain.keeps_reserves("331123001001", RULES)  # a community
    assert not domain.keeps_reserves("331123102000", RULES)  # a township
    with_communities = domain.Rules.from_config({"reserve_place_kinds": ["village", "community"]})
    assert domain.keeps_reserves("331123001001", with_communities)


def reserve(id_, status="reserve", graduate=False, best=None, recommended="2026-03-01"):
    return {"id": id_, "status": status, "college_graduate_official": graduate,
            "best_assessment": best, "recommended_on": dt.date.fromisoformat(recommended)}


def test_recommendation_order_prefers_confirmed_then_graduates_then_the_best_assessed():
    rows = [reserve(1, best="excellent"), reserve(2, graduate=True, best="competent"),
            reserve(3, status="candidate", graduate=True, best="excellent"),
            reserve(4, best="excellent", recommended="2026-01-01")]
    assert [r["id"] for r in sorted(rows, key=domain.recommendation_order)] == [2, 4, 1, 3]


def test_confirmation_needs_a_good_enough_assessment():
    candidate = reserve(1, status="candidate")
    on = dt.date(2026, 4, 1)
    domain.check_confirmation(candidate, ["incompetent", "basically_competent"], on, RULES)
    for results in ([], ["incompetent"]):
        with pytest.raises(Conflict):
            domain.check_confirmation(candidate, results, on, RULES)
    with pytest.raises(Conflict):
        domain.check_confirmation(reserve(1), ["excellent"], on, RULES)
    with pytest.raises(ValidationError):
        domain.check_confirmation(candidate, ["excellent"], dt.date(2026, 2, 1), RULES)


# -- placements and the pool -----------------------------------------------------------------
def placement(**overrides):
    values = {"kind": "party_secretary", "place_code": "331123102201", "organization_id": 7,
              "post": None, "person_id": 1, "placed_on": dt.date(2026, 1, 1), "position": None}
    values.update(overrides)
    return values


def test_a_party_placement_names_the_organization_and_a_post_of_its_kind():
    assert domain.placement(placement())["post"] == "secretary"
    assert domain.placement(placement())["status"] == "pending"
    assert domain.placement(placement(kind="party_committee_member",
                                      post="deputy_secretary"))["status"] == "pending"
    for bad, field in ((placement(organization_id=None), "organization_id"),
                       (placement(kind="party_committee_member"), "post"),
                       (placement(kind="party_committee_member", post="secretary"), "post"),
                       (placement(kind="village_director"), "organization_id"),
                       (placement(kind="township_leadership", organization_id=None),
                        "place_code"),
                       (placement(place_code="331123102000"), "place_code")):
        with pytest.raises(ValidationError) as refused:
            domain.placement(bad)
        assert field in refused.value.details
    assert domain.placement(placement(kind="township_leadership", organization_id=None,
                                      place_code="331123102000"))["status"] == "recorded"


def test_the_township_target_counts_each_person_once_and_skips_refusals():
    townships = {"331123102000": "新路湾镇", "331123103000": "北界镇"}
    members = [{"person_id": 1, "place_code": "331123102201"},
               {"person_id": 2, "place_code": "331123103201"}]
    placed = [
        {"person_id": 1, "kind": "party_committee_member", "place_code": "331123102201",
         "status": "applied"},
        {"person_id": 1, "kind": "party_secretary", "place_code": "331123102201",
         "status": "applied"},
        {"person_id": 1, "kind": "township_leadership", "place_code": "331123102000",
         "status": "recorded"},
        {"person_id": 2, "kind": "party_secretary", "place_code": "331123103201",
         "status": "refused"},
        {"person_id": 3, "kind": "township_leadership", "place_code": "331123103000",
         "status": "recorded"},  # not in the pool
    ]
    rows = {r["place_code"]: r for r in domain.pool_townships(townships, members, placed)}
    assert (rows["331123102000"]["entered_two_committees"], rows["331123102000"]["chief_posts"],
            rows["331123102000"]["target_met"]) == (1, 1, True)
    assert (rows["331123103000"]["in_pool"], rows["331123103000"]["entered_two_committees"],
            rows["331123103000"]["target_met"]) == (1, 0, False)


def test_a_roster_row_is_in_chinese():
    row = domain.roster_row(3, {
        "place_code": "331123102201", "name": "李二", "sex": "female", "ethnicity": "畲族",
        "birth_date": dt.date(1995, 7, 9), "native_place": "浙江遂昌", "education": "bachelor",
        "school": None, "political_status": "party_member",
        "work_started_on": dt.date(2017, 8, 1), "current_post": None,
        "college_graduate_official": True, "recommended_by": "村党组织",
        "best_assessment": "competent", "status": "reserve",
        "identity_number": "331***********1234"}, "梅坞村", dt.date(2026, 7, 8))
    assert [row[key] for key, _ in domain.ROSTER_COLUMNS] == [
        "3", "梅坞村", "李二", "女", "畲族", "1995.07", "30", "浙江遂昌", "大学本科", "",
        "中共党员", "2017.08", "", "是", "村党组织", "称职", "后备干部", "331***********1234"]

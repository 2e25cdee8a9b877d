"""Pure rules of the cadres service: identity numbers (GB 11643), sealing personal data,
reserve quotas and order, placements, the talent pool's township target, the roster."""

import datetime as dt

import pytest
from cryptography.exceptions import InvalidTag

from services.cadres import domain
from shared.contracts import cadres as contract
from shared.errors import Conflict, ValidationError
from shared.national import identity_number
from shared.platform import personal_data
from shared.platform.entrypoints import _fingerprint

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


def test_the_mask_keeps_neither_the_place_nor_the_sequence():
    # Birth date and place are shown beside it anyway: with the sequence digits too,
    # one or two numbers would be left to guess.
    assert identity_number.mask(STANDARD_EXAMPLE) == "11***************X"


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


@pytest.mark.parametrize("kinds", [["village"], ["village", "community"], ["village_like"]])
def test_the_reports_village_blocks_are_the_villages_that_keep_reserves(kinds):
    """reserve_shortfall filters villages in SQL by these blocks; keeps_reserves decides."""
    rules = domain.Rules.from_config({"reserve_place_kinds": kinds})
    blocks = domain.reserve_village_blocks(rules)
    for block in range(1, 600):
        village = f"331123102{block:03d}"
        assert domain.keeps_reserves(village, rules) == \
            any(low <= block <= high for low, high in blocks), village


def reserve(id_, status="reserve", graduate=False, best=None, recommended="2026-03-01"):
    return {"id": id_, "status": status, "college_graduate_official": graduate,
            "best_assessment": best, "recommended_on": dt.date.fromisoformat(recommended)}


def test_recommendation_order_prefers_confirmed_then_graduates_then_the_best_assessed():
    rows = [reserve(1, best="excellent"), reserve(2, graduate=True, best="competent"),
            reserve(3, status="candidate", graduate=True, best="excellent"),
            reserve(4, best="excellent", recommended="2026-01-01")]
    assert [r["id"] for r in sorted(rows, key=domain.recommendation_order)] == [2, 4, 1, 3]


def assessed(result, on="2026-03-15"):
    return {"result": result, "assessed_on": dt.date.fromisoformat(on)}


def test_confirmation_needs_a_good_enough_assessment_made_before_it():
    candidate = reserve(1, status="candidate")
    on = dt.date(2026, 4, 1)
    domain.check_confirmation(candidate, [assessed("incompetent"),
                                          assessed("basically_competent")], on, RULES)
    for assessments in ([], [assessed("incompetent")]):
        with pytest.raises(Conflict):
            domain.check_confirmation(candidate, assessments, on, RULES)
    with pytest.raises(Conflict):
        domain.check_confirmation(reserve(1), [assessed("excellent")], on, RULES)
    with pytest.raises(ValidationError):  # before the assessment that allows it
        domain.check_confirmation(candidate, [assessed("excellent", "2026-04-02")], on, RULES)


def test_a_withdrawal_comes_after_the_start():
    confirmed = {**reserve(1), "confirmed_on": dt.date(2026, 4, 1)}
    domain.check_withdrawal(confirmed, dt.date(2026, 4, 1))
    with pytest.raises(ValidationError):
        domain.check_withdrawal(confirmed, dt.date(2026, 3, 31))
    with pytest.raises(Conflict):
        domain.check_withdrawal({**confirmed, "status": "withdrawn"}, dt.date(2026, 5, 1))


def test_the_pool_is_for_well_assessed_college_graduate_officials():
    graduate = {"id": 1, "college_graduate_official": True}
    domain.check_pool_selection(graduate, "competent", RULES)
    with pytest.raises(ValidationError) as refused:
        domain.check_pool_selection({**graduate, "college_graduate_official": False},
                                    "basically_competent", RULES)
    assert set(refused.value.details) == {"person_id", "assessment"}


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


def test_the_township_target_counts_each_member_once_while_in_the_pool():
    townships = {"331123102000": "新路湾镇", "331123103000": "北界镇"}
    jan, jun = dt.date(2026, 1, 1), dt.date(2026, 6, 1)
    members = [  # 1 left the pool after entering township leadership; 2 is in it
        {"person_id": 1, "place_code": "331123102201", "status": "left",
         "selected_on": jan, "left_on": jun},
        {"person_id": 2, "place_code": "331123103201", "status": "in_pool",
         "selected_on": jan, "left_on": None}]

    def placed(person, kind, place, status="applied", on=dt.date(2026, 3, 1)):
        return {"person_id": person, "kind": kind, "place_code": place, "status": status,
                "placed_on": on}

    placements = [
        placed(1, "party_committee_member", "331123102201"),
        placed(1, "party_secretary", "331123102201"),
        placed(1, "township_leadership", "331123102000", "recorded"),
        placed(2, "party_secretary", "331123103201", "refused"),
        placed(2, "village_director", "331123103201", on=dt.date(2025, 12, 1)),  # held (S§18)
        placed(3, "township_leadership", "331123103000", "recorded"),  # never in the pool
    ]
    rows = {r["place_code"]: r for r in domain.pool_townships(townships, members, placements)}
    assert (rows["331123102000"]["in_pool"], rows["331123102000"]["entered_two_committees"],
            rows["331123102000"]["chief_posts"], rows["331123102000"]["target_met"]) == \
        (0, 1, 1, True)
    assert (rows["331123103000"]["in_pool"], rows["331123103000"]["entered_two_committees"],
            rows["331123103000"]["chief_posts"], rows["331123103000"]["target_met"]) == \
        (1, 1, 1, False)


def test_a_roster_row_is_in_chinese():
    row = domain.roster_row(3, {
        "place_code": "331123102201", "name": "李二", "sex": "female", "ethnicity": "畲族",
        "birth_date": dt.date(1995, 7, 9), "native_place": "浙江遂昌", "education": "bachelor",
        "school": None, "political_status": "party_member",
        "work_started_on": dt.date(2017, 8, 1), "current_post": None,
        "college_graduate_official": True, "recommended_by": "村党组织",
        "best_assessment": "competent", "status": "reserve",
        "identity_number": "33***************4"}, "梅坞村", dt.date(2026, 7, 8))
    assert [row[key] for key, _ in domain.ROSTER_COLUMNS] == [
        "3", "梅坞村", "李二", "女", "畲族", "1995.07", "30", "浙江遂昌", "大学本科", "",
        "中共党员", "2017.08", "", "是", "村党组织", "称职", "后备干部", "33***************4"]


def test_logging_never_lets_nameko_rpc_write_replies():
    """nameko's proxy logs each reply whole at DEBUG: personal data, in a service that
    calls another."""
    import logging

    from shared.platform import logs

    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("nameko.rpc").level
    try:
        logs.configure("cadres", logging.DEBUG)
        assert not logging.getLogger("nameko.rpc").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("nameko.containers").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("nameko.rpc").setLevel(saved[2])

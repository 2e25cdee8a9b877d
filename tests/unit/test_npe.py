"""Credit codes (GB 32100) and the coverage rules of domain.md §6, as pure logic."""

import random
from decimal import Decimal

import pytest

from services.npe import domain
from shared.contracts.npe import COVERAGE
from shared.errors import Conflict, ValidationError
from shared.national import credit_code

RULES = domain.Rules()


@pytest.mark.parametrize("code", ["91110000600037341L", "91350100M000100Y43",
                                  "91330106MA2CXXXXXW"])
def test_valid_codes(code):
    assert credit_code.problem(code) is None


@pytest.mark.parametrize("code, says", [
    ("91350100M000100Y44", "check character is 3"),
    ("91350100M000100Y4", "18 characters"),
    ("91350100M000100Y433", "18 characters"),
    ("91350100m000100y43", "capitals"),
    ("9135010OM000100Y43", "character set"),
    ("91AB0100M000100Y43", "division code"),
])
def test_invalid_codes_say_why(code, says):
    assert says in credit_code.problem(code)


def test_every_code_with_its_check_character_is_valid_and_every_other_is_not():
    rng = random.Random(6)
    for _ in range(200):
        first17 = "91" + f"{rng.randrange(10**6):06d}" + "".join(
            rng.choice(credit_code.CHARSET) for _ in range(9))
        code = credit_code.with_check_character(first17)
        assert credit_code.problem(code) is None
        for wrong in set(credit_code.CHARSET) - {code[17]}:
            assert credit_code.problem(first17 + wrong) is not None


def test_the_coverage_precedence_names_every_organizational_kind():
    assert domain.COVERAGE_ORDER == ["own", "joint", "regional", "industry"]
    assert set(COVERAGE) == {*domain.COVERAGE_ORDER, "work", "none"}


def test_joint_units_stay_unique_when_names_repeat():
    twins = [{"name": "同名公司", "credit_code": "A"}, {"name": "同名公司", "credit_code": "B"}]
    assert len(set(domain.unit_names(twins))) == 2


def enterprise(code="A", members=5, status="operating", coverage="none"):
    return {"credit_code": code, "full_members": members, "operating_status": status,
            "coverage": coverage}


def test_establishment_rules():
    domain.check_establishment("own", "631", [enterprise()], 5, RULES)
    with pytest.raises(ValidationError) as caught:
        domain.check_establishment("own", "631", [enterprise(members=2)], 3, RULES)
    assert "credit_codes" in caught.value.details
    with pytest.raises(ValidationError):
        domain.check_establishment("joint", "632", [enterprise()], 5, RULES)
    with pytest.raises(ValidationError):
        domain.check_establishment("joint", "632", [enterprise(c) for c in "ABCDEF"], 9, RULES)
    with pytest.raises(ValidationError):
        domain.check_establishment("regional", "631", [enterprise(status="closed")], 9, RULES)
    with pytest.raises(ValidationError):
        domain.check_establishment("regional", "611", [enterprise()], 4, RULES)
    with pytest.raises(Conflict):
        domain.check_establishment("joint", "632", [enterprise("A", coverage="own"),
                                                    enterprise("B")], 6, RULES)
    domain.check_establishment("regional", "631", [enterprise(coverage="own")], 3, RULES)


def test_rates_are_shares_of_operating_enterprises():
    row = domain.rates({"operating": 8, "own": 2, "joint": 1, "regional": 1, "industry": 0,
                        "work": 2, "uncovered": 2})
    assert row["organizational"] == 4 and row["organizational_rate"] == Decimal("0.5000")
    assert row["own_rate"] == Decimal("0.2500") and row["work_rate"] == Decimal("0.2500")
    assert row["total_rate"] == Decimal("0.7500")
    assert domain.rates({"operating": 0, "own": 0, "joint": 0, "regional": 0, "industry": 0,
                         "work": 0})["own_rate"] is None


def test_double_strong_goes_step_by_step():
    domain.check_double_strong_step("applied", "cultivating")
    domain.check_double_strong_step("cultivating", "recognized")
    for current, new in [("applied", "recognized"), ("recognized", "rejected"),
                         ("rejected", "cultivating")]:
        with pytest.raises(Conflict):
            domain.check_double_strong_step(current, new)


def test_standardization_completion_over_the_configured_items():
    items, completion = domain.standardization(
        {"team": {"met": True, "checked_on": None}, "venue": {"met": False, "checked_on": None},
         "systems": {"met": True, "checked_on": None}}, RULES)
    assert [i["item"] for i in items] == list(RULES.standard_items)
    assert completion == Decimal("0.3333")


def test_a_record_is_withdrawn_only_with_nothing_active_on_it():
    domain.check_withdrawal("91350100M000100Y43", {})
    domain.check_withdrawal("91350100M000100Y43", {"establishments": [], "work_assignments": []})
    with pytest.raises(Conflict) as refused:
        domain.check_withdrawal("91350100M000100Y43", {"establishments": [12, 15],
                                                       "double_strong_applications": [4]})
    assert refused.value.details == {"credit_code": "91350100M000100Y43",
                                     "establishments": [12, 15],
                                     "double_strong_applications": [4]}
    message = refused.value.message
    assert "12, 15: leave_organization" in message and "4: advance_double_strong" in message
    assert "end_work_coverage" not in message and "不能撤回登记" in message
    assert set(domain.DOUBLE_STRONG_OPEN) == {"applied", "cultivating"}


def test_a_clash_names_each_record_and_where_to_resolve_it():
    from services.npe import store

    records = [{"id": 7, "place_code": "331123102201", "place_name": "梅坞村"},
               {"id": 9, "place_code": "330106002001", "place_name": None}]
    one = store.credit_code_clash({"91350100M000100Y43": records})
    assert isinstance(one, Conflict) and one.details == {
        "credit_code": "91350100M000100Y43",
        "records": [{"id": 7, "place_code": "331123102201"},
                    {"id": 9, "place_code": "330106002001"}]}
    assert "at 梅坞村 (331123102201), 330106002001;" in one.message
    assert "credit_code_clashes" in one.message and "重复登记" in one.message
    batch = store.credit_code_clash({"B": records[:1], "A": records}, batch=True)
    assert batch.details["credit_codes"] == ["A", "B"] and list(batch.details["records"]) == [
        "A", "B"]

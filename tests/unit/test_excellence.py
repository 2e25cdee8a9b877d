"""Pure rules of creating excellence and publicity."""

import datetime as dt
from decimal import Decimal

import pytest

from services.organizations import excellence
from shared.contracts.excellence import MakeCommitment, RecordAwareness
from shared.errors import Conflict, ValidationError

DAY = dt.date(2026, 5, 1)


def deed(status, displayed_on=None):
    return {"id": 1, "status": status, "happened_on": dt.date(2026, 4, 1),
            "displayed_on": displayed_on}


def test_a_deed_is_displayed_then_rated_once():
    excellence.check_display(deed("submitted"), DAY)
    excellence.check_rating(deed("displayed", DAY), DAY)
    for status in ("submitted", "rated"):
        with pytest.raises(Conflict):
            excellence.check_rating(deed(status, DAY), DAY)
    with pytest.raises(Conflict):
        excellence.check_display(deed("displayed", DAY), DAY)
    with pytest.raises(ValidationError):
        excellence.check_display(deed("submitted"), dt.date(2026, 3, 31))
    with pytest.raises(ValidationError):
        excellence.check_rating(deed("displayed", DAY), dt.date(2026, 4, 30))


def test_rates_are_cut_to_four_decimals_and_none_without_a_denominator():
    assert excellence.rate(2, 3) == Decimal("0.6666")
    assert excellence.rate(1, 8) == Decimal("0.1250")
    assert excellence.rate(1, 20000) == Decimal("0.0000")  # 0.00005: never rounded up
    assert excellence.rate(0, 0) is None


def test_publicity_rows_add_up_the_three_tallies():
    rows = excellence.publicity_rows({
        "cards": [{"place_code": "A", "cards": 10}],
        "campaigns": [{"place_code": "A", "kind": "quiz", "campaigns": 2},
                      {"place_code": "B", "kind": "slogan", "campaigns": 1}],
        "awareness": [{"place_code": "B", "surveyed": 40, "aware": 30, "participating": 10}],
    })
    assert rows["A"]["campaigns_by_kind"] == {"知识问答": 2} and rows["A"]["surveyed"] == 0
    total = excellence.total_of(list(rows.values()), "P")
    assert (total["cards"], total["campaigns"], total["awareness_rate"],
            total["participation_rate"]) == (10, 3, Decimal("0.7500"), Decimal("0.2500"))
    assert excellence.with_rates(rows["A"])["awareness_rate"] is None


@pytest.mark.parametrize("values, field", [
    ({"committer": "member"}, "member_name"),
    ({"committer": "organization", "member_name": "张三"}, "member_name"),
])
def test_a_member_commitment_and_only_it_names_the_member(values, field):
    base = {"organization_id": 1, "sentence": "一句话", "year": 2026, "made_on": "2026-01-01"}
    with pytest.raises(Exception) as refused:
        MakeCommitment().load({**base, **values})
    assert field in refused.value.messages


def test_awareness_counts_cannot_exceed_those_surveyed():
    base = {"place_code": "331123000000", "year": 2026, "surveyed_on": "2026-01-01",
            "surveyed": 10, "aware": 10, "participating": 0}
    RecordAwareness().load(base)
    with pytest.raises(Exception) as refused:
        RecordAwareness().load({**base, "aware": 11, "participating": 12})
    assert set(refused.value.messages) == {"aware", "participating"}

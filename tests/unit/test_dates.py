"""shared.domain.dates: the "not before" rule every service's sequences share."""

import datetime as dt

import pytest

from shared.domain.dates import not_before
from shared.errors import ValidationError


def test_the_same_day_and_later_pass():
    not_before(dt.date(2026, 3, 1), dt.date(2026, 3, 1), "ended_on", "ended before it began")
    not_before(dt.date(2026, 3, 2), dt.date(2026, 3, 1), "ended_on", "ended before it began")


def test_a_day_before_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as caught:
        not_before(dt.date(2026, 2, 28), dt.date(2026, 3, 1), "ended_on", "ended before it began")
    assert caught.value.message == "ended before it began"
    assert caught.value.fields == {"ended_on": ["before 2026-03-01"]}


def test_the_field_message_can_be_given():
    with pytest.raises(ValidationError) as caught:
        not_before(dt.date(2025, 12, 31), dt.date(2026, 1, 1), "paid_on", "paid too early",
                   "not before 2026-01-01 (不能早于分配年度)")
    assert caught.value.fields == {"paid_on": ["not before 2026-01-01 (不能早于分配年度)"]}

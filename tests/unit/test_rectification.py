"""Rectification cases (domain.md §3), as pure rules."""

import datetime as dt

import pytest

from services.organizations import rectification
from shared.errors import Conflict

TODAY = dt.date(2026, 11, 29)


def case(**overrides):
    values = {"organization_id": 7, "grade": "poor", "grade_round_id": 1, "listed": True,
              "opened_on": TODAY, "id": 3}
    values.update(overrides)
    return rectification.Case(**values)


def test_average_and_poor_open_a_case_and_poor_is_listed():
    assert rectification.open_case(1, "poor", 9, TODAY).listed is True
    assert rectification.open_case(1, "average", 9, TODAY).listed is False
    assert rectification.open_case(1, "fairly_good", 9, TODAY) is None
    assert rectification.open_case(1, "good", 9, TODAY) is None


def test_a_correction_of_the_opening_grade_decides_the_case():
    listed = case(status="in_progress")
    corrected, outcome = rectification.regrade(listed, "average", 1, True)
    assert outcome == "corrected" and corrected.grade == "average" and not corrected.listed
    withdrawn, outcome = rectification.regrade(listed, "fairly_good", 1, True)
    assert outcome == "withdrawn" and withdrawn.status == "withdrawn"
    assert rectification.regrade(listed, "poor", 1, True) == (listed, "unchanged")


def test_a_later_poor_lists_the_case_and_a_later_better_grade_leaves_it():
    unlisted = case(grade="average", listed=False)
    listed, outcome = rectification.regrade(unlisted, "poor", 2, True)
    assert outcome == "listed" and listed.listed and listed.grade == "poor"
    assert rectification.regrade(unlisted, "poor", 2, False) == (unlisted, "unchanged")
    assert rectification.regrade(unlisted, "good", 2, True) == (unlisted, "unchanged")


def test_the_plan_starts_the_work_and_the_last_task_submits():
    planned = rectification.set_plan(case(), " 班子软弱 ", ["调整班子", "建立制度"])
    assert planned.status == "in_progress" and planned.main_problems == "班子软弱"
    assert rectification.after_task_done(planned, 2, TODAY, "330106002201") is planned
    submitted = rectification.after_task_done(planned, 0, TODAY, "330106002201")
    assert submitted.status == "submitted" and submitted.submitted_on == TODAY
    assert submitted.events[0].type == "rectification_submitted"
    assert submitted.events[0].data["round"] == 1
    with pytest.raises(Conflict):
        rectification.set_plan(submitted, "x", ["y"])


def test_a_failed_survey_starts_a_new_round_and_a_passed_one_crosses_off():
    submitted = case(status="submitted", submitted_on=TODAY)
    again, outcome = rectification.after_survey(submitted, 1, False, TODAY, "330106002201")
    assert (outcome, again.status, again.round, again.submitted_on) == \
        ("new_round", "planning", 2, None)
    accepted, outcome = rectification.after_survey(case(status="submitted", round=2), 2, True,
                                                   TODAY, "330106002201")
    assert outcome == "accepted" and accepted.crossed_off_on == TODAY
    assert accepted.events[0].data == {
        "case_id": 3, "organization_id": 7, "place_code": "330106002201", "grade": "poor",
        "rounds": 2, "listed": True, "accepted_on": TODAY}
    unlisted, _ = rectification.after_survey(case(status="submitted", grade="average",
                                                  listed=False), 1, True, TODAY, "x")
    assert unlisted.accepted_on == TODAY and unlisted.crossed_off_on is None


def test_a_survey_that_is_not_of_the_open_round_is_ignored():
    assert rectification.after_survey(case(status="accepted"), 1, True, TODAY, "x") == \
        (None, "late")
    assert rectification.after_survey(case(status="submitted", round=2), 1, False, TODAY, "x") == \
        (None, "not_this_round")
    assert rectification.after_survey(case(status="in_progress"), 1, True, TODAY, "x") == \
        (None, "not_this_round")


def test_overdue_tasks():
    assert rectification.overdue({"status": "open", "deadline": TODAY - dt.timedelta(1)}, TODAY)
    assert not rectification.overdue({"status": "done", "deadline": TODAY - dt.timedelta(1)}, TODAY)
    assert not rectification.overdue({"status": "open", "deadline": TODAY}, TODAY)


def test_the_notice_is_chinese_printable_and_escaped():
    planned = rectification.set_plan(case(), "阵地<script>建设</script>薄弱", ["新建活动场所"])
    title, html = rectification.render_notice(
        planned, {"name": "梅坞村党支部"}, ["浙江省", "丽水市", "遂昌县"],
        [{"content": "建成活动室", "responsible": "张三", "deadline": dt.date(2027, 3, 1)}],
        [{"kind": "work_team", "person": "李四", "unit": "县委组织部"}], TODAY)
    assert title == "梅坞村党支部分类定级及整改情况公示"
    assert "“较差”" in html and "挂牌整顿" in html and "2027年03月01日" in html
    assert "派驻工作组：李四（县委组织部）" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert rectification.can_post_notice("village") and not rectification.can_post_notice("county")

"""The short memory of province and city dashboards' reports: kept half a minute, used
again only for a member of the same place and roles, bounded in size."""

from __future__ import annotations

from types import SimpleNamespace

from services.gateway.console.recent import RecentAnswers
from services.gateway.console.views import dashboard


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_an_answer_is_kept_for_a_while_then_asked_again():
    clock = Clock()
    recent = RecentAnswers(keep_s=30, clock=clock, wall=lambda: 1_700_000_000.0)
    recent.put("k", {"figure": 1})
    clock.now += 29
    assert recent.get("k") == (1_700_000_000.0, {"figure": 1})
    clock.now += 2
    assert recent.get("k") is None


def test_the_oldest_answers_go_first_beyond_the_bound():
    recent = RecentAnswers(max_answers=2)
    for key in ("a", "b", "c"):
        recent.put(key, key)
    assert recent.get("a") is None and recent.get("b") and recent.get("c")


class View:
    """What dashboard._answers uses of a View: the member, the console, ask_parts."""

    def __init__(self, console, place, roles):
        self.console = console
        self.principal = SimpleNamespace(place_code=place, roles=frozenset(roles))
        self.asked: list[str] = []

    def ask_parts(self, questions):
        self.asked += list(questions)
        return {name: {"asked": name} for name in questions}, []


QUESTIONS = {"moving_up": ("evaluation", "moving_up_report", {"place_code": "330000000000"}),
             "path": ("organizations", "place_path", {"place_code": "330000000000"})}


def test_a_province_dashboard_uses_recent_answers_only_for_the_same_place_and_roles():
    console = SimpleNamespace(recent_answers=RecentAnswers())
    first = View(console, "330000000000", {"evaluation.read", "organizations.read"})
    parts, _, as_of = dashboard._answers(first, QUESTIONS, kept=True)
    assert first.asked == ["moving_up", "path"] and as_of is None
    again = View(console, "330000000000", {"evaluation.read", "organizations.read"})
    parts, _, as_of = dashboard._answers(again, QUESTIONS, kept=True)
    assert again.asked == [] and parts["moving_up"] == {"asked": "moving_up"} and as_of
    for other in (View(console, "330000000000", {"evaluation.read"}),      # other roles
                  View(console, "330100000000", {"evaluation.read", "organizations.read"})):
        dashboard._answers(other, QUESTIONS, kept=True)
        assert other.asked == ["moving_up", "path"]


def test_a_county_dashboard_asks_every_time():
    console = SimpleNamespace(recent_answers=RecentAnswers())
    for _ in range(2):
        view = View(console, "331123000000", {"evaluation.read"})
        dashboard._answers(view, QUESTIONS, kept=False)
        assert view.asked == ["moving_up", "path"]

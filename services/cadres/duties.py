"""What is asked of cadres in post, as pure rules: who attends a class, commitments kept
or broken, 双述双评 of village party secretaries, problems followed up until closed
(domain.md §1; entrypoints: duties_service.py)."""

from __future__ import annotations

import datetime as dt

from shared.domain.dates import not_before
from shared.errors import Conflict, ValidationError
from shared.national import regions


def check_attendance(person: dict, class_place_code: str, attended: bool,
                     absence_reason: str | None) -> None:
    """A class's attendance lists cadres managed within its place (it shows who came to
    whoever holds the class); an absence gives its reason."""
    if not regions.in_subtree(person["place_code"], class_place_code):
        raise ValidationError("not a cadre of the class's place", {"person_id": [
            f"person {person['id']} is managed outside {class_place_code}"]})
    if not attended and not absence_reason:
        raise ValidationError("an absence gives its reason", {
            "absence_reason": ["required when attended is false (请假或缺席原因)"]})


def check_settling(commitment: dict, settled_on: dt.date) -> None:
    """A commitment is settled once, not before it was signed."""
    if commitment["status"] != "signed":
        raise Conflict(f"commitment {commitment['id']} was settled on "
                       f"{commitment['settled_on']} ({commitment['status']})", {})
    not_before(settled_on, commitment["signed_on"], "settled_on", "settled before signed")


def check_dual_review(person: dict, year: int, held_on: dt.date) -> None:
    """双述双评 is held for village party secretaries, in the year it reviews."""
    if person["post_category"] != "village_party_secretary":
        raise ValidationError("双述双评 is held for village party secretaries", {
            "person_id": ["not a village party secretary (非村党组织书记)"]})
    if held_on.year != year:
        raise ValidationError("held in another year", {"held_on": [f"not in {year}"]})


def check_follow_up(problem: dict, taken_on: dt.date) -> None:
    """A problem is followed up while open, not before it was found."""
    if problem["status"] != "open":
        raise Conflict(f"problem {problem['id']} was closed on {problem['closed_on']}", {})
    not_before(taken_on, problem["found_on"], "taken_on", "before the problem was found")

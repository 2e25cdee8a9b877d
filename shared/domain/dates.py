"""The one date rule the plan's sequences share: a step is not dated before the step it
follows (a post ends after it began, a deed is shown after it happened, money is paid
in the allocation's year). Written once, so every refusal has the same shape."""

from __future__ import annotations

import datetime as dt

from shared.errors import ValidationError


def not_before(day: dt.date, earliest: dt.date, field: str, message: str,
               detail: str | None = None) -> None:
    """Refuse `day` before `earliest`: ValidationError(message) naming `field`, whose
    message is `detail` or "before <earliest>"."""
    if day < earliest:
        raise ValidationError(message, {field: [detail or f"before {earliest}"]})

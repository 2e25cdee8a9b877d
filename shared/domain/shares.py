"""Shares and rates as people read them: four decimals (80.00 %), cut, never rounded up.

A rate is shown beside a threshold or a target and a verdict taken on the exact ratio
(passed, met). Rounded half-up, 15 999 satisfied of 20 000 (79.995 %) would read
"0.8000" beside a threshold of "0.80" and "not passed". Cut to four decimals, a shown
rate is at or above a threshold exactly when the ratio is — for every threshold of at
most four decimals, which is why rules refuse longer ones (`check_threshold`). The
rule is stated in docs/contract.md ("Rates")."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

PLACES = Decimal("0.0001")


def share(part: int, whole: int) -> Decimal | None:
    """part / whole cut to four decimals; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(PLACES, ROUND_DOWN)


def check_threshold(name: str, value) -> Decimal:
    """A threshold or target a share is compared with: 0 to 1, at most four decimals."""
    number = Decimal(str(value))
    if not 0 <= number <= 1 or number != number.quantize(PLACES):
        raise ValueError(f"{name} must be between 0 and 1 with at most four decimals, "
                         f"not {value}")
    return number

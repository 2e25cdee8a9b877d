"""The citizen identity number (公民身份号码, GB 11643-1999) of a resident identity card.

18 characters: the address code of the place of registration (6 digits, GB/T 2260), the
birth date (8 digits, YYYYMMDD), a sequence number (3 digits; odd for men, even for
women) and a check character computed from the first 17 digits with the weights
2^(17-i) mod 11 (ISO 7064 MOD 11-2), "X" standing for 10. The old 15-digit numbers were
replaced in 2013 and are refused.

Personal data: nothing here puts a number in an error message, and `mask` is the only
form of it that may leave the cadres service to a caller without the right to see it.
"""

from __future__ import annotations

import datetime as dt
import re

WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, …
CHECK = "10X98765432"
# The provinces' codes (GB/T 2260): a number registered elsewhere does not exist.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83"})
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
EARLIEST_BIRTH = dt.date(1900, 1, 1)


def normalize(number: str) -> str:
    """The form stored and compared: no surrounding spaces, a capital X."""
    return number.strip().upper() if isinstance(number, str) else number


def check_character(first17: str) -> str:
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def problem(number: str, today: dt.date | None = None) -> str | None:
    """Why `number` (normalized) is not a valid identity number, or None when it is.
    The message never repeats the number or any part of it."""
    if not isinstance(number, str) or len(number) != 18:
        length = len(number) if isinstance(number, str) else "?"
        return f"an identity number has 18 characters, not {length} (身份证号码应为18位)"
    if not _SHAPE.fullmatch(number):
        return "an identity number is 17 digits and a digit or X (身份证号码格式错误)"
    if number[:2] not in PROVINCES:
        return "the first two digits are not a province's code (地址码错误)"
    born = birth_date(number)
    if born is None:
        return "characters 7–14 are not a calendar date (出生日期码错误)"
    if not EARLIEST_BIRTH <= born <= (today or dt.date.today()):
        return "the birth date it carries is impossible (出生日期码错误)"
    if number[17] != check_character(number[:17]):
        return "the check character does not match (校验码错误)"
    return None


def birth_date(number: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(number[6:14], "%Y%m%d").date()
    except ValueError:
        return None


def sex(number: str) -> str:
    """"male" or "female", from the parity of the sequence number."""
    return "male" if int(number[16]) % 2 else "female"


def mask(number: str) -> str:
    """What a caller without the personal-data role sees: the province and the check
    character. Not the common "first 6, last 4": beside the birth date and the place a
    record shows anyway, the sequence digits would leave one or two numbers to guess."""
    return number[:2] + "*" * 15 + number[-1:]


def with_check_character(first17: str) -> str:
    """The full number for its first 17 digits (for sample data and tests)."""
    return first17 + check_character(first17)

"""The unified social credit code (统一社会信用代码, GB 32100-2015) of an enterprise.

18 characters from the 31 of the standard's character set (digits and capital letters
without I, O, S, V, Z): registration authority (1), organization category (1), the
registering office's division code (6 digits), the organization's identifier (9), and
a check character computed from the first 17 with the weights 3^i mod 31.
"""

from __future__ import annotations

import re

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {char: index for index, char in enumerate(CHARSET)}
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, …
_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")


def check_character(first17: str) -> str:
    total = sum(VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Why `code` is not a valid credit code, or None when it is."""
    if not isinstance(code, str) or len(code) != 18:
        return f"a credit code has 18 characters, not {len(code) if isinstance(code, str) else '?'}"
    if any(char.islower() for char in code):
        return "letters in a credit code are capitals (统一社会信用代码字母须大写)"
    if not _SHAPE.fullmatch(code):
        bad = sorted({c for c in code if c not in CHARSET})
        return f"not in the credit code's character set: {' '.join(bad)} (I, O, S, V, Z are not used)"
    if not code[2:8].isdigit():
        return "characters 3–8 are the registering office's division code: digits"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"the check character is {expected}, not {code[17]} (校验码错误)"
    return None


def with_check_character(first17: str) -> str:
    """The full code for its first 17 characters (for sample data and tests)."""
    return first17 + check_character(first17)

"""The words a page shows: notices after a redirect, and the Chinese of a service's
messages (the services say "English (中文)"; a person is shown the Chinese)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from werkzeug.wrappers import Request

NOTICES = {
    ("signed_out", "1"): "您已退出登录。",
    ("session", "ended"): "登录已失效（已退出、已过期或账号有变动），请重新登录。",
    ("password", "changed"): "密码已修改。您在其他地方的登录已全部退出。",
    ("password", "chosen"): "密码已修改，请用新密码重新登录。",
    ("first", "1"): "您的密码是账号管理员设置的，请先改为只有您自己知道的密码，"
                    "改好后重新登录即可使用各项功能。",
}


def notice(request: Request) -> str | None:
    for (name, value), text in NOTICES.items():
        if request.args.get(name) == value:
            return text
    return None


_CJK = re.compile(r"[\u3400-\u9fff]")
_PARENTHESIZED = re.compile(r"[（(]([^（）()]*[\u3400-\u9fff][^（）()]*)[）)]")


def chinese_all(messages) -> list[str]:
    """The Chinese of a service's messages ("English (中文)", or Chinese alone), each
    once, in order: what a person is shown of them."""
    if isinstance(messages, dict):
        messages = list(messages.values())
    if not isinstance(messages, list | tuple):
        messages = [messages]
    found: list[str] = []
    for message in messages:
        if isinstance(message, list | tuple | dict):
            texts = chinese_all(message)
        elif isinstance(message, str) and _CJK.search(message):
            texts = _PARENTHESIZED.findall(message) or (
                [message] if not re.search(r"[A-Za-z]{3}", message) else [])
        else:
            texts = []
        found += [text for text in texts if text not in found]
    return found


def chinese(messages) -> str | None:
    texts = chinese_all(messages)
    return "；".join(texts) if texts else None


def percent(value) -> str:
    """A rate (a number or the contract's decimal string) as 12.5%; — when there is none."""
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value) * 100:.1f}%"
    except (TypeError, ValueError):
        return "—"


# marshmallow's own messages (the contract's field rules say no Chinese of their own), as
# a person is told them; `list_field`: the field is a list (its length is its items'),
# `choices`: the Chinese of the values a "one of" field takes.
_STANDARD: list[tuple[re.Pattern, Callable[..., str]]] = [
    (re.compile(r"Missing data for required field"), lambda m, lf, ch: "必填"),
    (re.compile(r"Field may not be null"), lambda m, lf, ch: "必填"),
    (re.compile(r"Not a valid date"), lambda m, lf, ch: "日期格式不对，应为 年-月-日（如 2026-03-01）"),
    (re.compile(r"Not a valid integer"), lambda m, lf, ch: "请填写整数"),
    (re.compile(r"Not a valid (number|decimal)"), lambda m, lf, ch: "请填写数字"),
    (re.compile(r"Not a valid boolean"), lambda m, lf, ch: "请填写“是”或“否”"),
    (re.compile(r"must not be blank|Shorter than minimum length 1\b"),
     lambda m, lf, ch: "不能为空"),
    (re.compile(r"Longer than maximum length (\d+)"),
     lambda m, lf, ch: f"不能超过 {m[1]} 个字符"),
    (re.compile(r"Length must be between (\d+) and (\d+)"),
     lambda m, lf, ch: (f"应填写 {m[1]} 至 {m[2]} 项" if lf
                        else f"不能为空，最多 {m[2]} 个字符" if m[1] == "1"
                        else f"应为 {m[1]} 至 {m[2]} 个字符")),
    (re.compile(r"Must be one of|must be one of"),
     lambda m, lf, ch: "应为以下之一：" + "、".join(ch) if ch else "请从列表中选择"),
    (re.compile(r"greater than or equal to (\S+?) and less than or equal to (\S+?)\.?\s"),
     lambda m, lf, ch: f"应在 {m[1]} 至 {m[2]} 之间"),
    (re.compile(r"greater than or equal to (\S+?)\.?\s"), lambda m, lf, ch: f"不能小于 {m[1]}"),
    (re.compile(r"less than or equal to (\S+?)\.?\s"), lambda m, lf, ch: f"不能大于 {m[1]}"),
    (re.compile(r"greater than (\S+?)\.?\s"), lambda m, lf, ch: f"应大于 {m[1]}"),
    (re.compile(r"less than (\S+?)\.?\s"), lambda m, lf, ch: f"应小于 {m[1]}"),
    (re.compile(r"Not a valid string"), lambda m, lf, ch: "请填写文字"),
    (re.compile(r"Not a valid list"), lambda m, lf, ch: "格式不对，应为多项"),
    (re.compile(r"Invalid value"), lambda m, lf, ch: "填写的内容不符合要求"),
    (re.compile(r"Invalid input type"), lambda m, lf, ch: "格式不对"),
    (re.compile(r"(?:not a decimal number|must be) from (\S+) to (\S+?)[ .]"),
     lambda m, lf, ch: f"应为 {m[1]} 至 {m[2]} 之间的数"),
    (re.compile(r"Unknown field"), lambda m, lf, ch: "不接受的内容"),
]


def standard_message(message: str, *, list_field: bool = False,
                     choices: Iterable[str] = ()) -> str | None:
    """One of marshmallow's standard messages in Chinese; None for any other."""
    for pattern, say in _STANDARD:
        match = pattern.search(message + " ")
        if match:
            return say(match, list_field, list(choices))
    return None

"""The words a page shows: notices after a redirect, and the Chinese of a service's
messages (the services say "English (中文)"; a person is shown the Chinese)."""

from __future__ import annotations

import re

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

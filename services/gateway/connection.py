"""The connection a request came on, as gunicorn holds it: what lets the application end
a connection whose request body it refused to read.

gunicorn reads (drains) an unread request body to reuse the connection for the next
request — in Python, some 15 ms of CPU per MB: 200 ms for a 13 MB body sent with a bad
token — and ignores a Connection header set by the application. Its own request object
closes the connection after the answer when `must_close` is set; gunicorn_conf.py's
pre_request hook puts that object here, per thread (gthread runs a request's
application call on the thread that parsed it), and `close_after_answer` sets it.
"""

from __future__ import annotations

import threading

_current = threading.local()


def remember(request) -> None:
    _current.request = request


def close_after_answer() -> None:
    request = getattr(_current, "request", None)
    if request is not None:
        request.must_close = True

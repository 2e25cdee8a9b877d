"""The HTTP door under hostile input, against a real gunicorn, RabbitMQ and PostgreSQL:
nothing of a request is read before its token is verified; every input is bounded while
it is read; strange input is a 4xx, never a 500; idempotency keys belong to their
caller; a write's 503 says how to finish it; a restarted gateway binds at once."""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time
import uuid
from pathlib import Path

import jwt
import openpyxl
import pytest

from services.gateway import spreadsheets
from services.gateway.spreadsheet_routes import XLSX
from shared.errors import TooLarge
from tests.support import (
    SUICHANG,
    XIHU,
    Gateway,
    port_answers,
    rpc,
    sample_places,
    services_running,
    token,
)

# Small limits for this gateway, so that files crossing them stay small here.
SHEET_LIMITS = {"JINWEI_SHEET_MAX_ROWS": "50", "JINWEI_SHEET_MAX_COLUMNS": "30",
                "JINWEI_SHEET_MAX_CELL_CHARS": "200", "JINWEI_SHEET_MAX_SHARED_STRINGS": "500",
                "JINWEI_GATEWAY_MAX_JSON_VALUES": "10000"}


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret, tmp_path_factory):
    with services_running(databases, base_settings, "door", "organizations") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(XIHU, SUICHANG))
        with Gateway(running.settings, tmp_path_factory.mktemp("door"), rpc_timeout=3,
                     extra_env=SHEET_LIMITS) as gateway:
            running.gateway = gateway
            yield running


@pytest.fixture(scope="module")
def gw(stack):
    return stack.gateway


def township(gw, bearer, index=0):
    return gw.get(f"/v1/organizations/list_children?place_code={SUICHANG}",
                  token=bearer)[2]["items"][index]["code"]


def gateway_pids(gw) -> list[int]:
    """gunicorn's master and workers."""
    master = gw.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def cpu_seconds(pids) -> float:
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def rss_mb(pids) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def send_raw(port: int, head: bytes, body_chunks, timeout: float = 10) -> bytes:
    """Send a request as given and read what comes back, whatever the server does with
    the rest of the body (it may close the connection before reading it)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(head)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed: what it said is in the buffer
        data = b""
        try:
            while True:
                piece = sock.recv(65536)
                if not piece:
                    break
                data += piece
                if b"\r\n\r\n" in data and _complete(data):
                    break
        except OSError:
            pass
        return data
    finally:
        sock.close()


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


MILLION_KEYS = b"{" + b",".join(b'"k%07d":1' % i for i in range(1_000_000)) + b"}"  # ~13 MB


def test_a_bad_token_costs_nothing_whatever_the_body(gw):
    for _ in range(4):  # each worker's first refusal imports and compiles what it uses
        assert gw.get("/v1/organizations/list_children?place_code=1", token="x")[0] == 401
    pids = gateway_pids(gw)
    before, rss_before = cpu_seconds(pids), rss_mb(pids)
    for bearer in (None, "x", "a.b.c"):
        head = (b"POST /v1/organizations/register_organization HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(MILLION_KEYS)
                + (b"Authorization: Bearer %s\r\n" % bearer.encode() if bearer else b"")
                + b"\r\n")
        response = send_raw(gw.port, head, [MILLION_KEYS[i:i + 65536]
                                            for i in range(0, len(MILLION_KEYS), 65536)])
        assert status_of(response) == 401, response[:300]
        assert b"connection: close" in response.lower()  # not left for gunicorn to drain
        assert b"WWW-Authenticate: Bearer" in response
    spent = cpu_seconds(pids) - before
    print(f"\nthree 13 MB bodies with bad tokens: {1000 * spent:.0f} ms of the gateway's CPU")
    # /proc counts in clock ticks (10 ms): under a tick or two for three refusals
    assert spent < 0.05, f"the gateway spent {spent:.2f} s of CPU refusing three bad tokens"
    assert rss_mb(pids) - rss_before < 20


def test_six_floods_of_bad_tokens_leave_a_normal_client_served(gw, stack, token_secret):
    """6 clients send 13 MB bodies with bad tokens for 6 s; a normal client's p99 stays
    within twice its idle p99 (and a few ms), the gateway's memory within a bound."""
    bearer = token(token_secret)
    path = f"/v1/organizations/list_children?place_code={SUICHANG}"

    def latencies(seconds: float) -> list[float]:
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
        out, until = [], time.monotonic() + seconds
        while time.monotonic() < until:
            started = time.monotonic()
            conn.request("GET", path, headers={"Authorization": f"Bearer {bearer}"})
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            out.append(time.monotonic() - started)
        conn.close()
        return out

    latencies(1)  # warm
    idle = latencies(4)
    pids = gateway_pids(gw)
    cpu_before, rss_before = cpu_seconds(pids), rss_mb(pids)
    stop, sent = threading.Event(), [0]
    head = (b"POST /v1/organizations/register_organization HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nAuthorization: Bearer x\r\n"
            b"Content-Length: %d\r\n\r\n" % len(MILLION_KEYS))
    chunks = [MILLION_KEYS[i:i + (1 << 20)] for i in range(0, len(MILLION_KEYS), 1 << 20)]

    def flood():
        # Ten bodies a second from each client: 130 MB/s in all, more than a client on a
        # gigabit link sends. Unthrottled, six loops on loopback measure this machine's
        # two cores (connections accepted per second), not what a body costs the gateway.
        while not stop.is_set():
            started = time.monotonic()
            assert status_of(send_raw(gw.port, head, chunks)) == 401
            sent[0] += 1
            stop.wait(max(0.0, 0.1 - (time.monotonic() - started)))

    floods = [threading.Thread(target=flood) for _ in range(6)]
    for thread in floods:
        thread.start()
    try:
        under = latencies(6)
    finally:
        stop.set()
        for thread in floods:
            thread.join()
    cpu = cpu_seconds(pids) - cpu_before
    grew = rss_mb(pids) - rss_before
    p99_idle, p99_under = _p99(idle), _p99(under)
    print(f"\nidle p99 {1000 * p99_idle:.1f} ms, under {sent[0]} bad-token 13 MB bodies "
          f"from 6 clients p99 {1000 * p99_under:.1f} ms; gateway CPU {cpu:.2f} s in 6 s, "
          f"memory {grew:+.1f} MB")
    assert sent[0] >= 6
    assert p99_under <= 2 * p99_idle + 0.005
    assert grew < 30


def _p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * (len(ordered) - 1)))]


def test_bodies_are_bounded_as_they_are_read(gw, token_secret):
    bearer = token(token_secret)
    auth = b"Authorization: Bearer %s\r\n" % bearer.encode()
    # chunked, past 16 MiB: refused at the limit, never read whole
    head = (b"POST /v1/organizations/register_organization HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n" + auth
            + b"\r\n")
    piece = b" " * (1 << 20)
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    response = send_raw(gw.port, head, [chunk] * 40 + [b"0\r\n\r\n"], timeout=30)
    assert status_of(response) == 413, response[:300]
    assert b"too_large" in response
    # too many values, too deep: refused with the limit named
    status, _, body = gw.post("/v1/organizations/register_organization", token=bearer,
                              data=json.dumps({f"k{i}": 1 for i in range(20_000)}).encode(),
                              headers={"Content-Type": "application/json"})
    assert status == 413 and "10000" in json.dumps(body)
    deep = "[" * 40 + "]" * 40
    status, _, body = gw.post("/v1/organizations/register_organization", token=bearer,
                              data=json.dumps({"name": json.loads(deep)}).encode(),
                              headers={"Content-Type": "application/json"})
    assert status == 400 and "nested" in body["detail"]
    # the request line and headers: gunicorn's limits, before the application
    assert status_of(send_raw(gw.port, b"GET /health/live?" + b"a" * 9000
                              + b" HTTP/1.1\r\nHost: x\r\n\r\n", [])) in (400, 414)
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    assert status_of(send_raw(gw.port, b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + many
                              + b"\r\n", [])) in (400, 431)
    # too many query parameters
    status, _, _ = gw.get("/v1/organizations/list_children?" + "&".join(
        f"p{i}=1" for i in range(150)), token=bearer)
    assert status == 413


def _workbook(rows: int = 3, columns: int = 0, cell: str = "") -> bytes:
    """An organizations import file, bent past one limit at a time."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "党组织"
    headings = ["组织名称", "组织类别", "所属领域", "所在地区代码", "正式党员数", "成立日期"]
    sheet.append(headings + [f"备注{i}" for i in range(columns)])
    for n in range(rows):
        sheet.append([f"支部{n}{cell}", "党支部", "农村", SUICHANG, 5, "2020-01-01"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_shared_strings(data: bytes, count: int) -> bytes:
    """The workbook with a shared-string table of `count` strings (openpyxl writes its
    strings inline; Excel and WPS write such a table)."""
    import zipfile

    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    table = (f'<sst xmlns="{ns}" count="{count}" uniqueCount="{count}">'
             + "".join(f"<si><t>s{n}</t></si>" for n in range(count)) + "</sst>").encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "[Content_Types].xml":
                body = body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" '
                                    b'ContentType="application/vnd.openxmlformats-officedocument'
                                    b'.spreadsheetml.sharedStrings+xml"/></Types>')
            book.writestr(item, body)
        book.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()


@pytest.mark.parametrize("workbook, named", [
    (lambda: _workbook(rows=60), "data rows"),
    (lambda: _workbook(columns=40), "columns"),
    (lambda: _workbook(cell="长" * 300), "characters in a cell"),
    (lambda: _with_shared_strings(_workbook(), 800), "shared strings"),
])
def test_a_spreadsheet_stops_at_the_first_limit_it_crosses(gw, token_secret, workbook, named):
    status, _, body = gw.post("/v1/imports/organizations?dry_run=true", data=workbook(),
                              token=token(token_secret), headers={"Content-Type": XLSX})
    assert status == 413, body
    assert named in body["detail"]


def test_a_zip_bomb_is_refused_by_its_declared_size():
    """A part declaring more than the limit is never inflated (the reader, directly)."""
    import zipfile

    data = _workbook()
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"</sheetData>", b" " * (70 << 20) + b"</sheetData>")
            bomb.writestr(item, body)
    assert len(out.getvalue()) < 1 << 20
    with pytest.raises(TooLarge, match="uncompressed"):
        spreadsheets.parse("organizations", out.getvalue())


def signed(secret: str, **claims) -> str:
    now = int(time.time())
    base = {"iss": "jinwei", "sub": "s", "dept": "d", "sys": "t", "place": SUICHANG,
            "roles": ["organizations.read"], "iat": now, "exp": now + 600, "jti": "j"}
    return jwt.encode({**base, **claims}, secret, algorithm="HS256")


def test_strange_tokens_and_text_are_4xx_never_500(gw, token_secret):
    path = f"/v1/organizations/list_children?place_code={SUICHANG}"
    for claims in ({"exp": str(int(time.time()) + 600)}, {"place": "not-a-place"},
                   {"roles": "organizations.read"}, {"sub": ["a"]},
                   {"exp": int(time.time()) + 40 * 24 * 3600},  # lives past the maximum
                   {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}):
        bad = signed(token_secret, **claims)
        for _ in range(2):  # the second time too (no cached half-checked token)
            status, headers, body = gw.get(path, token=bad)
            assert status == 401, (claims, body)
            assert body["code"] == "unauthenticated"
    assert gw.get(path, token=signed(token_secret))[0] == 200
    bearer = token(token_secret)
    status, _, body = gw.post("/v1/organizations/register_organization", token=bearer,
                              data=b'{"name": "\\ud800", "kind": "631"}',
                              headers={"Content-Type": "application/json"})
    assert status == 400 and body["code"] == "validation_error"
    status, _, body = gw.get("/v1/organizations/list_children?place_code=%ED%A0%80", token=bearer)
    assert status == 400


def test_request_ids_are_bounded_before_they_reach_a_log(gw):
    for given in ("x" * 8000, "bad id with spaces", "a\u00e9b", "id\u0085next"):
        status, headers, _ = gw.get("/health/live", headers={"X-Request-Id": given})
        assert status == 200 and headers["X-Request-Id"] != given
        assert len(headers["X-Request-Id"]) <= 64
    assert gw.get("/health/live", headers={"X-Request-Id": "abc-123.4"})[1][
        "X-Request-Id"] == "abc-123.4"


def test_an_idempotency_key_belongs_to_its_caller(gw, token_secret):
    """The same key from another principal (same subject's name, another county) is
    another request: it gets its own result, not the first caller's."""
    key = f"shared-key-{uuid.uuid4().hex[:8]}"
    results = []
    for place in (SUICHANG, XIHU):
        bearer = token(token_secret, place=place, subject="同名科员")
        village = gw.get(f"/v1/organizations/list_children?place_code={place}",
                         token=bearer)[2]["items"][0]["code"]
        status, headers, body = gw.post(
            "/v1/organizations/register_organization", token=bearer,
            body={"name": f"幂等{place[:6]}", "kind": "631", "sector": "rural_village",
                  "place_code": village, "full_members": 5, "founded_on": "2020-01-01"},
            headers={"Idempotency-Key": key})
        assert status == 200, body
        assert headers["Idempotency-Key"] == key
        results.append(body)
    assert results[0]["id"] != results[1]["id"]
    assert results[0]["place_code"].startswith("331123")
    assert results[1]["place_code"].startswith("330106")


def test_a_writes_503_names_the_key_to_finish_it_with(gw, token_secret):
    """evaluation is not running behind this gateway: a write to it is a 503 that says
    which key makes a retry safe (made by the gateway when the caller gave none)."""
    status, headers, body = gw.post("/v1/evaluation/open_round", token=token(token_secret),
                                    body={"place_code": SUICHANG, "year": 2026, "name": "x"})
    assert status == 503
    key = body["details"]["idempotency_key"]
    assert key.startswith("gw-") and key in body["detail"]
    status, _, body = gw.post("/v1/evaluation/open_round", token=token(token_secret),
                              body={"place_code": SUICHANG, "year": 2026, "name": "x"},
                              headers={"Idempotency-Key": "mine-key-1"})
    assert status == 503 and body["details"]["idempotency_key"] == "mine-key-1"


def test_a_restarted_gateway_binds_at_once(stack, tmp_path):
    """A second master on the port of a first (what a restart is while the old workers
    still serve) binds at once (SO_REUSEPORT), and serves when the first is gone."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with Gateway(stack.settings, tmp_path / "a") as first:
        with Gateway(stack.settings, tmp_path / "b", port=first.port) as second:
            time.sleep(2)
            assert second.process.poll() is None, (tmp_path / "b" / "gateway.log").read_text()
            assert "Listening at" in (tmp_path / "b" / "gateway.log").read_text()
            first.stop()
            assert {second.get("/health/live")[0] for _ in range(20)} == {200}
    assert not port_answers(first.port)


def test_limits_are_documented():
    text = (Path(__file__).resolve().parents[2] / "docs" / "gateway.md").read_text()
    for name in ("JINWEI_GATEWAY_MAX_JSON_BYTES", "JINWEI_GATEWAY_MAX_UPLOAD_BYTES",
                 "JINWEI_GATEWAY_MAX_JSON_VALUES", "JINWEI_GATEWAY_MAX_JSON_DEPTH",
                 "JINWEI_SHEET_MAX_ROWS", "JINWEI_SHEET_MAX_SHARED_STRINGS",
                 "JINWEI_SHEET_MAX_CELL_CHARS", "JINWEI_TOKEN_MAX_TTL_SECONDS"):
        assert name in text, name

"""A province on the real place codes, generated from a seed and loaded through the
services' own bulk paths (issue 9: province-scale data).

    .venv/bin/python bench/province.py                  # Zhejiang at full scale
    .venv/bin/python bench/province.py --scale 0.1      # everything a tenth, for a quick run
    .venv/bin/python bench/province.py --keep           # keep it: bench/out/province-env.json

What it makes (full scale, Zhejiang 33; every count times --scale, townships too):

- places: the real cities, counties and townships of ../shared/data/regions (11, 90,
  1 387), and about 25 000 villages and communities generated under the townships
  (`regions.generate_villages`, 8–28 each: 12-digit codes, township[:9] + 3 digits);
- 150 000 party organizations: a 党委 in every township (机关), a branch in every
  village (农村) and community (社区) under it — a 党总支 where 50+ members —, and the
  rest in enterprises, social organizations, agencies, institutions, state enterprises
  and schools, over the townships and villages; members, committees and joint branches'
  units as the party rules the register path checks want them (3+ full members, a
  committee of 3–5 from 7 members, none below, a joint branch over 2–5 units); every
  organization below a township has the township's 党委 as its parent;
- 200 000 non-public enterprises with valid unified social credit codes (GB 32100:
  "91" + the county's division code + 9 digits + the check character), 88 % operating,
  a regional party organization in each township over 20–80 of its operating ones
  (`npe.establish_organization`, so the coverage report has coverage to count);
- 75 000 reserve cadres in the villages (村, which keep reserves; not communities) with
  valid GB 11643 identity numbers (the village's county code, a birth date 1970–2002,
  the sequence's parity matching the sex, the check character), each a person and a
  recommendation (candidate).

Loaded as a caller would: `organizations.import_places` (≤ 5 000 places a call), then
bulk import jobs (`<service>.start_import`, ≤ 20 000 rows a job, all or nothing, polled
with `get_import`) of organizations, enterprises and reserve cadres; the other services
learn places and organizations from the events. Prints rows/s per kind and writes
bench/out/province-load.json.

The same seed gives the same province (`generate`); the services run as their own
processes (`python -m shared.platform.runner <service>`) on a vhost and databases of this run,
removed afterwards unless --keep. `bench/province_bench.py` builds on this module.
"""

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this tree's code, whatever the venv's editable install points at

from common import BenchBroker, wait_ready  # noqa: E402

from shared.contracts.imports import MAX_ROWS  # noqa: E402
from shared.national import credit_code, identity_number, regions  # noqa: E402
from shared.platform import auth, config, personal_data  # noqa: E402
from shared.platform.containers import service_class  # noqa: E402
from shared.platform.migrate import migrate  # noqa: E402
from shared.platform.rpc_client import rpc_proxy  # noqa: E402
from tools.launcher import provision  # noqa: E402

OUT = ROOT / "bench" / "out"
REGIONS = ROOT.parent / "shared" / "data" / "regions"
ENV_FILE = OUT / "province-env.json"
PORTS = {"organizations": 18301, "evaluation": 18302, "npe": 18303, "cadres": 18304,
         "resources": 18305, "accounts": 18306}
REPORT_SERVICES = ("organizations", "evaluation", "npe", "cadres")  # province_bench's four
FULL = {"organizations": 150_000, "enterprises": 200_000, "reserve_cadres": 75_000}
VILLAGES_PER_TOWNSHIP = (8, 28)  # ~18 on average: ~25 000 under Zhejiang's 1 387 townships
PLACES_PER_CALL = 5000
TODAY = dt.date(2026, 6, 30)  # dates are drawn before it, so a seed gives the same rows


# -- the province, generated ------------------------------------------------------------
@dataclass
class Province:
    code: str
    seed: int
    scale: float
    places: list  # regions.PlaceRow, parents first
    committees: list = field(default_factory=list)  # township 党委 rows (values)
    organizations: list = field(default_factory=list)  # the rest; "parent_township" to resolve
    enterprises: list = field(default_factory=list)
    reserves: list = field(default_factory=list)

    @property
    def root(self) -> str:
        return self.code.ljust(12, "0")

    def level(self, level):
        return [p for p in self.places if p.level == level]

    def counts(self) -> dict:
        return {"places": len(self.places), "townships": len(self.level("township")),
                "villages": len(self.level("village")),
                "organizations": len(self.committees) + len(self.organizations),
                "enterprises": len(self.enterprises), "reserve_cadres": len(self.reserves)}


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红飞鹏晓斌宇浩凯俊帆峰琳雪梅兰玲婷健波辉"
_FIRMS = "恒信华远鼎盛金泰宏达永康瑞丰天成嘉和新锐创联通达博远东升德润中联万邦"
_TRADES = {"A": "农业", "B": "矿业", "C": "制造", "D": "能源", "E": "建设", "F": "贸易",
           "G": "物流", "H": "餐饮", "I": "科技", "L": "商务", "M": "技术"}
_UNITS = "商贸五金服饰电子包装机械印务建材家具食品"
_ORG_SECTORS = {  # organizations other than townships' and villages', by share
    "non_public_enterprise": 45, "public_institution": 15, "government_agency": 12,
    "school": 12, "social_organization": 10, "state_owned_enterprise": 6}
_SECTOR_WORDS = {
    "non_public_enterprise": "有限公司", "public_institution": "中心", "government_agency": "办公室",
    "school": "学校", "social_organization": "协会", "state_owned_enterprise": "集团公司"}


def _date(rng, first: int, last: int) -> str:
    start = dt.date(first, 1, 1)
    days = (min(dt.date(last, 12, 31), TODAY) - start).days
    return (start + dt.timedelta(days=rng.randrange(days))).isoformat()


def _branch(rng, full_members: int) -> tuple[str, int]:
    """(kind, committee_size) for an organization with this many full members, as the
    party rules want it: a branch; a committee of 3–5 from 7 members; a 总支 from 50."""
    if full_members >= 50:
        return "621", rng.randint(5, 7)
    if full_members >= 7:
        return "631", rng.randint(3, 5)
    return "631", 0


def _organization(rng, name, sector, place, full_members, township, kind=None, units=()):
    branch_kind, committee = _branch(rng, min(full_members, 49) if kind else full_members)
    founded = _date(rng, 1980, 2024)
    return {"name": name, "kind": kind or branch_kind, "sector": sector, "place_code": place,
            "full_members": full_members, "probationary_members": rng.choice([0, 0, 0, 1, 2]),
            "committee_size": committee, "units": list(units),
            "founded_on": founded, "parent_township": township}


def generate(province: str = "33", seed: int = 2012, scale: float = 1.0,
             regions_dir: Path = REGIONS) -> Province:
    """The province, the same for the same (province, seed, scale)."""
    rng = random.Random(f"province:{province}:{seed}:{scale}")
    national = regions.load_national(regions_dir, province)
    townships = [r for r in national if r.level == "township"]
    if scale < 1:  # the real cities and counties; a share of the townships
        townships = sorted(rng.sample(townships, max(1, round(len(townships) * scale))),
                           key=lambda r: r.code)
    kept = {t.code for t in townships}
    upper = [r for r in national if r.level in ("province", "city", "county")]
    villages = regions.generate_villages(townships, seed, VILLAGES_PER_TOWNSHIP)
    places = sorted(upper + townships + villages, key=lambda r: r.code)
    assert kept, "no townships"
    p = Province(province, seed, scale, places)
    names = {r.code: r.name for r in places}

    # Organizations: a 党委 per township, a branch per village, then the rest.
    total = round(FULL["organizations"] * scale)
    for t in townships:
        members = rng.randint(60, 400)
        p.committees.append({
            "name": f"中共{t.name}委员会", "kind": "611", "sector": "government_agency",
            "place_code": t.code, "full_members": members, "probationary_members": rng.randint(0, 8),
            "committee_size": rng.choice([7, 7, 9, 9, 11]), "units": [],
            "founded_on": _date(rng, 1950, 1995)})
    for v in villages:
        community = v.kind == "community"
        members = rng.randint(8, 45) if community else int(rng.triangular(12, 160, 45))
        p.organizations.append(_organization(
            rng, f"中共{v.name}{'委员会' if members >= 50 else '支部委员会'}",
            "urban_community" if community else "rural_village", v.code, members,
            v.code[:9] + "000"))
    spots = [v.code for v in villages] + [t.code for t in townships]
    sectors, weights = list(_ORG_SECTORS), list(_ORG_SECTORS.values())
    for index in range(max(0, total - len(p.committees) - len(p.organizations))):
        place = rng.choice(spots)
        sector = rng.choices(sectors, weights)[0]
        local = names[place[:9] + "000"]
        if sector == "non_public_enterprise" and rng.random() < 0.25:  # a joint branch
            units = [f"{local}{rng.choice(_FIRMS)}{rng.choice(_UNITS)}{index}-{u}号店"
                     for u in range(rng.randint(2, 5))]
            p.organizations.append(_organization(
                rng, f"中共{local}个体工商户第{index}联合支部委员会", sector, place,
                rng.randint(3, 12), place[:9] + "000", kind="632", units=units))
            continue
        members = rng.choices([rng.randint(3, 6), rng.randint(7, 30), rng.randint(31, 80)],
                              [50, 42, 8])[0]
        unit = f"{local}{rng.choice(_FIRMS)}{rng.choice(_FIRMS)}{index}{_SECTOR_WORDS[sector]}"
        p.organizations.append(_organization(rng, f"中共{unit}支部委员会", sector, place,
                                             members, place[:9] + "000"))

    # Enterprises: 91 + the county's division code + 9 digits, spread over the townships
    # and their villages.
    for index in range(round(FULL["enterprises"] * scale)):
        place = rng.choice(spots)
        industry = rng.choices("CFIEHLMGAD", [30, 22, 10, 8, 8, 8, 6, 4, 3, 1])[0]
        first17 = "91" + place[:6] + f"{index:09d}"
        p.enterprises.append({
            "credit_code": credit_code.with_check_character(first17),
            "name": f"{names[place[:9] + '000']}{rng.choice(_FIRMS)}{rng.choice(_FIRMS)}"
                    f"{_TRADES[industry]}{index}有限公司",
            "place_code": place, "industry": industry,
            "size": rng.choices(["micro", "small", "medium", "large"], [55, 32, 11, 2])[0],
            "operating_status": rng.choices(["operating", "suspended", "closed"], [88, 8, 4])[0],
            "employees": int(rng.paretovariate(1.2) * 5),
            "full_members": rng.choices([0, 1, 2, 3, 5, 12], [35, 20, 15, 12, 10, 8])[0],
            "migrant_share": f"{rng.random() * 0.6:.4f}",
            "dual_managed": rng.random() < 0.02})

    # Reserve cadres: villages (村) only; a few villages get none, most 1–6.
    rural = [v for v in villages if v.kind == "village"]
    numbers: set[str] = set()
    for _ in range(round(FULL["reserve_cadres"] * scale)):
        village = rng.choice(rural)
        sex = rng.choice(["male", "male", "female"])
        while True:
            born = dt.date(1970, 1, 1) + dt.timedelta(days=rng.randrange(33 * 365))
            sequence = rng.randrange(0, 500) * 2 + (1 if sex == "male" else 0)
            first17 = f"{village.code[:6]}{born:%Y%m%d}{sequence:03d}"
            number = identity_number.with_check_character(first17)
            if number not in numbers:
                numbers.add(number)
                break
        graduate = rng.random() < 0.08
        education = ("bachelor" if graduate else rng.choices(
            ["postgraduate", "bachelor", "junior_college", "secondary_vocational", "high_school",
             "junior_high_or_below"], [2, 25, 30, 15, 18, 10])[0])
        method = rng.choices(["democratic", "organization", "masses", "self", "open_selection"],
                             [45, 30, 12, 5, 8])[0]
        p.reserves.append({
            "name": rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.choice([1, 2]))),
            "sex": sex, "ethnicity": "汉族" if rng.random() < 0.97 else "畲族",
            "birth_date": None, "native_place": f"浙江{names[village.code[:6] + '000000']}",
            "education": education,
            "school": "浙江农林大学" if education in ("bachelor", "postgraduate") else None,
            "political_status": rng.choices(["party_member", "probationary_member",
                                             "league_member", "masses"], [62, 8, 15, 15])[0],
            "work_started_on": _date(rng, max(born.year + 18, 1990), 2024),
            "current_post": rng.choice(["村委会委员", "村务监督委员", "村民小组长", "致富带头人",
                                        "村文书", None]),
            "current_unit": village.name,
            "post_category": rng.choice(["two_committees_member", "other", "other"]),
            "place_code": village.code, "identity_number": number,
            "college_graduate_official": graduate,
            "recommended_by": f"{names[village.code[:9] + '000']}党委", "method": method,
            "recommended_on": _date(rng, 2023, 2026),
            "votes": rng.randint(20, 400) if method == "democratic" else None, "remarks": None})
    return p


# -- the services, each its own process ---------------------------------------------------
class Stack:
    """A vhost, a database per service, the services as subprocesses, a token. `start()`
    creates (or, from an env file, reuses) them; `stop()` ends the processes and, unless
    kept, drops what it created. `gateway`: a broker account for an HTTP gateway too
    (`gateway_env`); `keep_file`: where --keep writes what --reuse reads."""

    def __init__(self, services=REPORT_SERVICES, env_file: Path | None = None,
                 keep: bool = False, log_name: str = "province-services.log",
                 gateway: bool = False, keep_file: Path = ENV_FILE):
        self.services = list(services)
        self.gateway = gateway
        self.keep_file = keep_file
        self.gateway_env: dict | None = None
        self.base = config.load()
        self.keep = keep
        self.reused = env_file is not None
        self.log_path = OUT / log_name
        self.processes: dict[str, subprocess.Popen] = {}
        self.broker: BenchBroker | None = None
        if env_file is not None:
            saved = json.loads(Path(env_file).read_text())
            self.urls, self.service_env = saved["urls"], saved["service_env"]
            self.operator_uri, self.admin_uri = saved["operator_uri"], saved["admin_uri"]
            self.prefix = saved["prefix"]
            self.secret, self.key = saved["secret"], saved["personal_data_key"]
            self.gateway_env = saved.get("gateway_env")
            self.keep = True  # what was kept stays kept
            return
        run_id = f"province{os.getpid()}"
        self.run_id = run_id
        pg = urlsplit(self.base.postgres_admin_url)
        owner = f"postgresql://{run_id}:{secrets.token_hex(8)}@{pg.hostname}:{pg.port or 5432}"
        self.urls = {s: f"{owner}/{run_id}_{s}" for s in self.services}
        self.secret = secrets.token_urlsafe(48)
        self.key = personal_data.new_key()

    def start(self) -> None:
        if not self.reused:
            # Each service on its own least-privilege account, as make run provisions.
            self.broker = BenchBroker(self.run_id, [service_class(s) for s in self.services],
                                      gateway=self.gateway)
            self.broker.__enter__()
            self.service_env = {s: self.broker.env(s) for s in self.services}
            if self.gateway:
                self.gateway_env = self.broker.env("gateway")
            self.operator_uri, self.admin_uri = self.broker.operator_uri, self.broker.admin_uri
            self.prefix = self.broker.prefix
            for service, url in self.urls.items():
                provision.ensure_database(self.base.postgres_admin_url, url)
                migrate(service, url)
        env = {**os.environ, "JINWEI_TOKEN_SECRET": self.secret,
               "JINWEI_PERSONAL_DATA_KEY": self.key, "PYTHONWARNINGS": "ignore",
               **{f"{s.upper()}_DATABASE_URL": u for s, u in self.urls.items()},
               **{f"{s.upper()}_HTTP_PORT": str(PORTS[s]) for s in self.services}}
        log = open(self.log_path, "a")  # noqa: SIM115 - closed with the processes
        for service in self.services:
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", "shared.platform.runner", service],
                env={**env, **self.service_env[service]}, cwd=ROOT, stdout=log, stderr=log)
        for service in self.services:
            wait_ready(PORTS[service])
        if self.keep:
            self.keep_file.write_text(json.dumps({
                "service_env": self.service_env, "operator_uri": self.operator_uri,
                "admin_uri": self.admin_uri, "prefix": self.prefix, "urls": self.urls,
                "secret": self.secret, "personal_data_key": self.key,
                **({"gateway_env": self.gateway_env} if self.gateway_env else {})}, indent=2))

    def token(self, ttl_seconds: int = 4 * 3600) -> str:
        return auth.issue_token(self.secret, subject="bench", department="bench",
                                place_code="330000000000", roles=list(auth.ROLES),
                                system="bench", ttl_seconds=ttl_seconds)

    def proxy(self, timeout: float = 600) -> rpc_proxy:
        """Our caller, on the operator's account (direct reply-to)."""
        return rpc_proxy(self.operator_uri, self.token(), timeout=timeout)

    def sql(self, service: str, query: str, params=None, *, autocommit: bool = True):
        import psycopg2

        conn = psycopg2.connect(self.urls[service])
        conn.autocommit = autocommit
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.keep:
            print(f"kept the vhost and databases: {self.keep_file}")
            return
        if self.broker is not None:
            self.broker.__exit__(None, None, None)
        else:  # a kept province, dropped now
            provision.delete_vhost(self.admin_uri, delete_user=True)
            provision.delete_accounts_with_prefix(self.admin_uri, self.prefix)
        for index, url in enumerate(self.urls.values()):
            provision.drop_database(self.base.postgres_admin_url, url,
                                    drop_role=index == len(self.urls) - 1)

    def drop(self) -> None:
        """Remove a kept province (after a run with --keep)."""
        self.keep = False
        self.stop()
        self.keep_file.unlink(missing_ok=True)




def wait_for(what: str, check, timeout: float = 1800, every: float = 1.0) -> float:
    """Seconds until check() is true."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(every)
    return time.monotonic() - started


# -- loading ----------------------------------------------------------------------------
def run_import(proxy, service: str, kind: str, values: list[dict], label: str) -> float:
    """`values` through `service.start_import` in jobs of ≤ MAX_ROWS; seconds taken."""
    started = time.monotonic()
    for start in range(0, len(values), MAX_ROWS):
        chunk = values[start:start + MAX_ROWS]
        rows = [{"row": i + 2, "values": v} for i, v in enumerate(chunk)]
        job = getattr(proxy, service).start_import(kind=kind, rows=rows, dry_run=False)
        while job["status"] == "running":
            time.sleep(0.2)
            job = getattr(proxy, service).get_import(job_id=job["id"])
        if job["status"] != "applied":
            raise SystemExit(f"{label}: job {job['id']} ended {job['status']}: "
                             f"{job['errors_total']} errors, first {job['errors'][:3]}")
        done = start + len(chunk)
        seconds = time.monotonic() - started
        print(f"  {label}: {done}/{len(values)} in {seconds:.1f} s "
              f"({done / seconds:.0f}/s)", flush=True)
    return time.monotonic() - started


def load(stack: Stack, p: Province, enterprise_path: str = "jobs") -> dict:
    """Load `p` through the services' bulk paths; {kind: {rows, seconds, per_second}}.
    `enterprise_path`: "jobs" (start_import, register_enterprise's path per row) or
    "batch" (npe.import_enterprises, 5 000 a call: an upsert without the per-row path)."""
    figures = {}

    def note(kind, rows, seconds):
        figures[kind] = {"rows": rows, "seconds": round(seconds, 2),
                         "per_second": round(rows / seconds, 1) if seconds else None}
        print(f"{kind}: {rows} in {seconds:.1f} s = {rows / seconds:.0f}/s", flush=True)

    with stack.proxy() as proxy:
        started = time.monotonic()
        for start in range(0, len(p.places), PLACES_PER_CALL):
            proxy.organizations.import_places(places=[
                {"code": r.code, "name": r.name} for r in p.places[start:start + PLACES_PER_CALL]])
        note("places", len(p.places), time.monotonic() - started)
        for service in ("evaluation", "npe", "cadres"):
            if service in stack.urls:
                seconds = wait_for(f"{service} to learn the places", lambda s=service: stack.sql(
                    s, "SELECT count(*) FROM places")[0][0] >= len(p.places))
                print(f"  {service} knew every place {seconds:.1f} s after", flush=True)

        # Township committees first: the others name them as their parent.
        started = time.monotonic()
        run_import(proxy, "organizations", "organizations", p.committees, "township committees")
        parents, after = {}, None
        while True:
            page = proxy.organizations.list_organizations(place_code=p.root, kind="611",
                                                          limit=500, after=after)
            parents.update({o["place_code"]: o["id"] for o in page["items"]})
            after = page["next_cursor"]
            if after is None:
                break
        rows = []
        for values in p.organizations:
            values = dict(values)
            values["parent_id"] = parents[values.pop("parent_township")]
            rows.append(values)
        run_import(proxy, "organizations", "organizations", rows, "organizations")
        note("organizations", len(p.committees) + len(rows), time.monotonic() - started)

        started = time.monotonic()
        if enterprise_path == "batch":
            for start in range(0, len(p.enterprises), 5000):
                proxy.npe.import_enterprises(enterprises=p.enterprises[start:start + 5000])
        else:
            run_import(proxy, "npe", "enterprises", p.enterprises, "enterprises")
        note("enterprises", len(p.enterprises), time.monotonic() - started)
        figures["enterprises"]["path"] = enterprise_path

        started = time.monotonic()
        run_import(proxy, "cadres", "reserve_cadres", p.reserves, "reserve cadres")
        note("reserve_cadres", len(p.reserves), time.monotonic() - started)

        # A regional party organization in each township over 20–80 of its operating
        # enterprises (npe's own path; the registry registers each one from its event).
        rng = random.Random(f"coverage:{p.seed}:{p.scale}")
        by_township: dict[str, list[str]] = {}
        for e in p.enterprises:
            if e["operating_status"] == "operating":
                by_township.setdefault(e["place_code"][:9] + "000", []).append(e["credit_code"])
        started, covered = time.monotonic(), 0
        for township, codes in sorted(by_township.items()):
            members = codes[:rng.randint(20, 80)]
            proxy.npe.establish_organization(kind="regional", name="区域性党组织",
                                             place_code=township, credit_codes=members,
                                             full_members=30, founded_on="2024-01-01")
            covered += len(members)
        note("regional_organizations", len(by_township), time.monotonic() - started)
        figures["regional_organizations"]["enterprises_covered"] = covered

    expected = len(p.committees) + len(p.organizations)
    if "evaluation" in stack.urls:
        seconds = wait_for("evaluation to learn the organizations", lambda: stack.sql(
            "evaluation", "SELECT count(*) FROM organizations")[0][0] >= expected)
        print(f"  evaluation knew every organization {seconds:.1f} s after", flush=True)
        figures["evaluation_caught_up_seconds"] = round(seconds, 1)
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--province", default="33", help="2-digit province code (default 33 浙江)")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink everything (e.g. 0.1)")
    parser.add_argument("--seed", type=int, default=2012)
    parser.add_argument("--keep", action="store_true",
                        help=f"keep the vhost and databases ({ENV_FILE.relative_to(ROOT)})")
    parser.add_argument("--enterprise-path", choices=("jobs", "batch"), default="jobs",
                        help="jobs: start_import (default); batch: npe.import_enterprises")
    parser.add_argument("--generate-only", action="store_true", help="generate and count")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    p = generate(args.province, args.seed, args.scale)
    print(f"generated in {time.monotonic() - started:.1f} s: {p.counts()}", flush=True)
    if args.generate_only:
        return
    stack = Stack(keep=args.keep)
    try:
        stack.start()
        figures = load(stack, p, args.enterprise_path)
    finally:
        stack.stop()
    result = {"province": args.province, "seed": args.seed, "scale": args.scale,
              "counts": p.counts(), "load": figures}
    (OUT / "province-load.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print("\n| kind | rows | seconds | rows/s |\n|---|---:|---:|---:|")
    for kind, f in figures.items():
        if isinstance(f, dict):
            print(f"| {kind} | {f['rows']} | {f['seconds']:.1f} | {f['per_second']:.0f} |")


if __name__ == "__main__":
    main()

"""list_organizations' `name` (the console's search box) on the real service and database:
a substring of the name, compared after NFKC without white space as names are; % and _
plain characters; bounded by the place's subtree and the other filters; paged; and the
trigram index of migration 0008 (pg_trgm, created by the service's own role) the one the
query can use."""

import uuid

import psycopg2
import pytest

from services.organizations import domain, store
from shared.errors import Forbidden, ValidationError
from tests.support import SUICHANG, rpc, sample_places, services_running, sql_value, token

TOWN, OTHER_TOWN = "331123001000", "331123002000"  # 妙高街道, 云峰街道 (遂昌县)
VILLAGE = "331123001001"  # 和桥社区, under 妙高街道


@pytest.fixture(scope="module")
def stack(databases, base_settings, token_secret):
    with services_running(databases, base_settings, "name_search", "organizations") as running:
        with rpc(running.settings, token(token_secret)) as proxy:
            proxy.organizations.import_places(places=sample_places(SUICHANG))
        running.tag = uuid.uuid4().hex[:6]  # names of this run only
        yield running


@pytest.fixture
def proxy(stack, token_secret):
    with rpc(stack.settings, token(token_secret)) as proxy:
        yield proxy.organizations


@pytest.fixture(scope="module")
def registered(stack, token_secret):
    """name → id of the organizations the tests look for."""
    tag = stack.tag
    names = {
        "percent": (f"达标率100%党支部{tag}", VILLAGE),
        "hundreds": (f"达标率1000党支部{tag}", VILLAGE),
        "underscore": (f"甲_乙联合党支部{tag}", VILLAGE),
        "no_underscore": (f"甲丙乙联合党支部{tag}", VILLAGE),
        "brackets": (f"城关社区党支部（一）{tag}", TOWN),
        "full_width": (f"ＡＢＣ科技党支部{tag}", TOWN),
        "backslash": (f"反斜\\杠党支部{tag}", TOWN),
        "other_town": (f"云峰城关社区党支部{tag}", OTHER_TOWN),
    }
    ids = {}
    with rpc(stack.settings, token(stack.settings.token_secrets[0])) as proxy:
        for key, (name, place) in names.items():
            ids[key] = proxy.organizations.register_organization(
                name=name, kind="631", sector="urban_community", place_code=place,
                full_members=5, founded_on="2024-01-01")["id"]
    return ids


def found(proxy, text: str, place: str = SUICHANG, **filters) -> set[int]:
    page = proxy.list_organizations(place_code=place, name=text, limit=500, **filters)
    assert page["next_cursor"] is None
    return {org["id"] for org in page["items"]}


def test_a_name_is_found_by_any_part_of_it(proxy, registered, stack):
    assert found(proxy, f"城关社区党支部（一）{stack.tag}") == {registered["brackets"]}
    assert found(proxy, "关社区党支部（一") == {registered["brackets"]}
    both = {registered["brackets"], registered["other_town"]}
    assert found(proxy, "城关社区") >= both  # 3+ characters: the trigram index
    assert found(proxy, "城关") >= both  # 1–2 characters: the subtree's rows
    assert registered["brackets"] in found(proxy, "关")
    assert found(proxy, f"不存在的名称{stack.tag}") == set()


def test_percent_and_underscore_are_plain_characters(proxy, registered, stack):
    assert found(proxy, "率100%党") == {registered["percent"]}  # not 1000
    assert found(proxy, "100%") == {registered["percent"]}
    assert found(proxy, "%") == {registered["percent"]}
    assert found(proxy, "甲_乙") == {registered["underscore"]}  # not 甲丙乙
    assert found(proxy, "_") == {registered["underscore"]}
    assert found(proxy, "反斜\\杠") == {registered["backslash"]}
    assert found(proxy, "\\") == {registered["backslash"]}


def test_names_are_compared_after_nfkc_without_white_space(proxy, registered, stack):
    assert found(proxy, "党支部(一)") == {registered["brackets"]}  # half-width brackets
    assert found(proxy, "ABC科技") == {registered["full_width"]}  # ＡＢＣ
    assert found(proxy, "ＡＢＣ科技") == {registered["full_width"]}
    assert found(proxy, "城关 社区\u3000党支部（一）") == {registered["brackets"]}
    assert found(proxy, "城关\u200b社区党支部(一)") == {registered["brackets"]}


def test_the_search_keeps_to_the_subtree_and_the_other_filters(proxy, registered, stack,
                                                                token_secret):
    assert found(proxy, "城关社区", place=TOWN) == {registered["brackets"]}
    assert found(proxy, "城关社区", place=OTHER_TOWN) == {registered["other_town"]}
    assert found(proxy, "100%", place=OTHER_TOWN) == set()
    assert found(proxy, "党支部", place=VILLAGE) == {
        registered[k] for k in ("percent", "hundreds", "underscore", "no_underscore")}
    assert found(proxy, "城关社区", kind="611") == set()
    assert found(proxy, "城关社区", status="dissolved") == set()
    with rpc(stack.settings, token(token_secret, place=TOWN)) as township:
        assert found(township.organizations, "城关社区", place=TOWN) == {registered["brackets"]}
        with pytest.raises(Forbidden):
            township.organizations.list_organizations(place_code=OTHER_TOWN, name="城关")


def test_a_search_is_paged(proxy, registered, stack):
    seen, cursor = [], None
    while True:
        page = proxy.list_organizations(place_code=SUICHANG, name=stack.tag, limit=3,
                                        after=cursor)
        seen += [org["id"] for org in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(registered.values()) and len(seen) == len(set(seen))


@pytest.mark.parametrize("text", ["", " ", "\u3000", "\u200b", "党" * 51])
def test_a_text_with_nothing_to_look_for_or_too_long_is_refused(proxy, text):
    with pytest.raises(ValidationError) as refused:
        proxy.list_organizations(place_code=SUICHANG, name=text)
    assert "name" in refused.value.details


def test_the_trigram_index_is_the_one_the_query_can_use(stack, registered):
    """pg_trgm was created by the migration (as the database's owner), and the query's
    expression is the index's: with sequential scans off, the plan uses it."""
    assert sql_value(stack.url, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'") == 1
    conn = psycopg2.connect(stack.url)
    try:
        with conn.cursor() as cur:
            cur.execute("SET enable_seqscan = off")
            cur.execute(
                "EXPLAIN SELECT o.id FROM organizations o"
                f" WHERE {store.NAME_KEY.format('o.name')} LIKE %s ESCAPE '\\'",
                (store.like_pattern(domain.name_search("城关社区")),))
            plan = "\n".join(row[0] for row in cur.fetchall())
    finally:
        conn.close()
    assert "organizations_name_trgm" in plan, plan


def test_a_text_of_one_or_two_characters_has_an_index_too(stack, registered):
    """Too short for trigrams: the index of every name's one- and two-character
    substrings (migration 0009) answers it, and name_grams gives exactly those."""
    assert sorted(sql_value(stack.url, "SELECT name_grams('城关社')")) == sorted(
        ["城", "关", "社", "城关", "关社"])
    assert sql_value(stack.url, "SELECT name_grams('')") == []
    conn = psycopg2.connect(stack.url)
    try:
        with conn.cursor() as cur:
            cur.execute("SET enable_seqscan = off")
            cur.execute(
                "EXPLAIN SELECT o.id FROM organizations o"
                f" WHERE name_grams({store.NAME_KEY.format('o.name')}) @> ARRAY[%s]", ("城关",))
            plan = "\n".join(row[0] for row in cur.fetchall())
    finally:
        conn.close()
    assert "organizations_name_grams" in plan, plan

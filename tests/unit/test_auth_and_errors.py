"""Tokens, principals and the typed errors, as pure logic."""

import time

import jwt
import pytest
from nameko.exceptions import RemoteError, deserialize, serialize

from shared.errors import Conflict, Forbidden, Unauthenticated, ValidationError, outcome_of
from shared.platform import (
    auth,
    rpc_client,  # noqa: F401 - registers the typed errors with nameko
)

SECRET = "x" * 48
OLD_SECRET = "y" * 48


def issue(**overrides):
    values = {"subject": "u", "department": "遂昌县委组织部", "place_code": "331123000000",
              "roles": ["organizations.read"], "system": "civil-affairs"}
    values.update(overrides)
    return auth.issue_token(SECRET, **values)


def test_a_token_names_the_principal():
    principal = auth.TokenVerifier((SECRET,)).verify(issue())
    assert principal.subject == "u" and principal.department == "遂昌县委组织部"
    assert principal.system == "civil-affairs" and principal.roles == {"organizations.read"}


def test_jurisdiction_is_the_subtree_of_the_principal_place():
    principal = auth.TokenVerifier((SECRET,)).verify(issue())
    principal.require_place("331123102201")
    principal.require_place("331123000000")
    for outside in ("331100000000", "331124000000", "330106002000"):
        with pytest.raises(Forbidden):
            principal.require_place(outside)


def test_a_missing_role_is_forbidden():
    principal = auth.TokenVerifier((SECRET,)).verify(issue())
    with pytest.raises(Forbidden) as caught:
        principal.require_role("organizations.write")
    assert caught.value.details == {"role": "organizations.write"}


@pytest.mark.parametrize("bad", [None, "", "not-a-jwt", issue() + "x",
                                 auth.issue_token("z" * 48, subject="u", department="d",
                                                  place_code="330000000000", roles=[])])
def test_no_or_bad_token_is_unauthenticated(bad):
    with pytest.raises(Unauthenticated):
        auth.TokenVerifier((SECRET,)).verify(bad)


def test_an_expired_token_is_unauthenticated():
    old = issue(ttl_seconds=60, now=time.time() - 3600)
    with pytest.raises(Unauthenticated, match="expired"):
        auth.TokenVerifier((SECRET,)).verify(old)


def test_a_token_without_our_claims_is_unauthenticated():
    bare = jwt.encode({"sub": "u", "iss": "jinwei", "iat": int(time.time()),
                       "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="missing claims"):
        auth.TokenVerifier((SECRET,)).verify(bare)


def test_rotation_accepts_the_previous_secret():
    previous = auth.issue_token(OLD_SECRET, subject="u", department="d",
                                place_code="330000000000", roles=[])
    assert auth.TokenVerifier((SECRET, OLD_SECRET)).verify(previous).subject == "u"
    with pytest.raises(Unauthenticated):
        auth.TokenVerifier((SECRET,)).verify(previous)


def test_issuing_refuses_unknown_roles_and_bad_places():
    with pytest.raises(ValueError):
        issue(roles=["organizations.everything"])
    with pytest.raises(ValueError):
        issue(place_code="3311")


@pytest.mark.parametrize("error", [
    ValidationError("bad input", {"full_members": ["at least 3"]}),
    Conflict("stale", {"current_version": 3}),
    Unauthenticated("no token"),
])
def test_typed_errors_cross_rpc_as_the_same_type(error):
    again = deserialize(serialize(error))
    assert type(again) is type(error) and again.message == error.message
    assert set(again.details) == set(error.details)


def test_an_unknown_error_type_arrives_as_remote_error():
    again = deserialize({"exc_path": "elsewhere.Boom", "exc_type": "Boom", "value": "x"})
    assert isinstance(again, RemoteError) and again.exc_type == "Boom"


def test_outcome_labels():
    assert outcome_of(None) == "success"
    assert outcome_of(ValidationError("x")) == "validation_error"
    assert outcome_of(KeyError("x")) == "error"

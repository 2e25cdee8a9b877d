"""Read-your-writes across services: a place or an organization another service has
not heard of yet is asked of its owner, the organizations service, over RPC.

The other services keep copies of places and organizations from the organizations
service's events (shared.platform.place_copies). An event takes a moment to arrive, and a caller who
has just been told "registered" must not then hear "not known" from a service whose
copy is behind. So where a service would answer NotFound or "unknown place" for want
of the copy, it asks first:

    class EvaluationService(...):
        owner = OwnerLookup()

        org = store.organization(call.tx, organization_id) or (
            self.owner.organization(call, organization_id)
            and store.organization(call.tx, organization_id))

- the question is asked as the caller's jurisdiction: the lookup's token (signed by
  this service, role organizations.read, valid for minutes) names the caller's place,
  so the owner answers NotFound for a record the caller may not see, just as this
  service would, and nothing outside the caller's subtree is learnt;
- what the owner answers is written into this service's copy in the call's own
  transaction, as the event would write it, but only where nothing is held yet
  (places.insert_missing, places.insert_organization_if_absent: no row already held is
  locked or changed by a lookup), so the event, when it comes, changes nothing or
  brings a newer version;
- the owner not answering within `owner_lookup_timeout_s` (3 s), or not running, is
  ServiceUnavailable: "try again", never NotFound or ValidationError;
- what a service does when an organization first becomes known to it
  (`organization_registered`: creations that arrived first) is left to the event, as
  it runs in the event's transaction whichever comes first.

The service's broker account may publish exactly these requests (CALLS; its grant is
read off the class by shared.platform.broker.topology)."""

from __future__ import annotations

import logging
import threading
import time

from nameko.extensions import DependencyProvider

from shared.errors import (
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    ValidationError,
)
from shared.platform import place_copies as places
from shared.platform.auth import issue_token
from shared.platform.rpc_client import PooledRpcClient

log = logging.getLogger(__name__)

OWNER = "organizations"
CALLS: dict[str, tuple[str, ...]] = {OWNER: ("get_organization", "place_path")}
TOKEN_TTL_S = 300
MAX_PLACES_ASKED = 200


class OwnerLookup(DependencyProvider):
    """`self.owner.organization(call, id)` and `self.owner.places(call, codes)`."""

    calls = CALLS

    def __init__(self, asks: tuple[str, ...] = CALLS[OWNER], **kwargs):
        # What this service asks, no more: its broker grant is read off `calls`.
        super().__init__(**kwargs)
        self.calls = {OWNER: tuple(asks)}

    def setup(self):
        settings = self.container.config["JINWEI"]
        self.service = self.container.service_name
        self.secret = settings.token_secrets[0]
        self.ttl = min(TOKEN_TTL_S, settings.token_max_ttl_seconds)
        self.client = PooledRpcClient(self.container.config["AMQP_URI"],
                                      self.container.config.get("AMQP_SSL"),
                                      settings.owner_lookup_timeout_s)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def stop(self):
        self.client.close()

    def kill(self):
        self.client.close()

    def get_dependency(self, worker_ctx):
        return Lookup(self)

    def token(self, place_code: str) -> str:
        """A token of this service within `place_code`, kept while it has a minute left
        (the owner's verifier caches it, and signing one per question would not)."""
        now = time.time()
        with self._lock:
            token, expires = self._tokens.get(place_code, (None, 0.0))
            if token is None or expires - now < 60:
                token = issue_token(self.secret, subject=f"service:{self.service}",
                                    department="jinwei", place_code=place_code,
                                    roles=("organizations.read",), system=self.service,
                                    ttl_seconds=self.ttl, now=now)
                self._tokens[place_code] = (token, now + self.ttl)
            return token

    def ask(self, place_code: str, method: str, params: dict):
        """The owner's answer to `method(**params)` asked within `place_code`; None where
        it has no such record (or none the jurisdiction sees)."""
        try:
            return self.client.call(OWNER, method, params, token=self.token(place_code))
        except NotFound:
            return None
        except (Forbidden, Unauthenticated, ValidationError) as exc:
            # This service's account, token or question is not what the owner takes (a
            # deployment half done, a secret rotated on one side): not the caller's
            # fault, and not an answer — "try again", with the reason in the log.
            log.warning("%s could not ask %s.%s: %s", self.service, OWNER, method, exc)
            raise ServiceUnavailable(f"{self.service} could not ask {OWNER}: {exc}",
                                     {"service": OWNER}) from None


class Lookup:
    """What `self.owner` is in a worker: the questions, asked with the caller's reach."""

    __slots__ = ("provider",)

    def __init__(self, provider: OwnerLookup):
        self.provider = provider

    def organization(self, call, organization_id: int) -> bool:
        """Whether the owner knows the organization (within the caller's jurisdiction);
        if it does, it is now in this service's copy too."""
        org = self.provider.ask(call.principal.place_code, "get_organization",
                                {"organization_id": organization_id})
        if org is None:
            return False
        places.insert_organization_if_absent(call.tx, {key: org[key] for key in (
            "id", "name", "kind", "sector", "place_code", "status", "version")})
        return True

    def place(self, call, code: str) -> bool:
        return code in self.places(call, [code])

    def place_names(self, call, codes) -> dict[str, str]:
        """places.names of `codes`, those missing here asked of the owner first."""
        codes = set(codes)
        names = places.names(call.tx, codes)
        if len(names) < len(codes) and self.places(call, codes - names.keys()):
            names = places.names(call.tx, codes)
        return names

    def registered_name(self, call, code: str) -> str | None:
        """The owner's name of a place, asked now, within the caller's reach: for a
        service that keeps no copy of the place tree."""
        path = self._path(call, code)
        return path[-1]["name"] if path else None

    def _path(self, call, code: str) -> list[dict] | None:
        """The place and those above it, as the owner has them; None if it has not."""
        path = self.provider.ask(call.principal.place_code, "place_path", {"place_code": code})
        items = (path or {}).get("items") or []
        return items if items and items[-1]["code"] == code else None

    def places(self, call, codes) -> set[str]:
        """Those of `codes` the owner knows, each now in this service's copy with the
        places above it (places.insert_missing). Asked one code at a time, at most
        MAX_PLACES_ASKED per call: only codes missing here are asked, and in real use
        they are few (places imported a moment ago); a file full of codes that exist
        nowhere must not turn into thousands of questions."""
        known = set()
        for code in sorted(set(codes))[:MAX_PLACES_ASKED]:
            path = self._path(call, code)
            if path:
                places.insert_missing(call.tx, path)
                known.add(code)
        return known

"""An account's API keys (R3): made, listed and deleted by its users; a key is shown once, when it is made."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib import clock, errors, ids, security
from chalicelib.models import credentials as store
from chalicelib.models.base import Page
from chalicelib.models.credentials import Credential
from chalicelib.services.accounts import accounts, audit, auth
from chalicelib.services.accounts.audit import Action, Origin
from chalicelib.services.accounts.auth import (
    API_KEY_PREFIX,
    Kind,
    Principal,
    credential_key,
    plausible_id,
    scopes_from,
)

MAX_API_KEYS = 50


@dataclass(frozen=True)
class NewApiKey:
    credential: Credential
    key: str          # shown once, never stored


def create(principal: Principal, name: str, scopes: list[str] | None, origin: Origin) -> NewApiKey:
    """A new API key for the caller's account (R3), limited to `scopes` (default: all the caller may do; never
    more); the whole key is returned only here. At each use it may do what its scopes and its user's role then
    allow (auth.key_permissions)."""
    name = name.strip()
    if not name:
        raise errors.Invalid("name must not be empty.", code="invalid_field")
    chosen = scopes_from(scopes, principal.permissions)
    accounts.ensure_open(principal.account_id)
    if store.count_of_kind(principal.account_id, Kind.API_KEY.value) >= MAX_API_KEYS:
        raise errors.LimitReached(f"An account may have at most {MAX_API_KEYS} API keys; delete one first.")
    key_id = ids.new_id("key")
    key = f"{API_KEY_PREFIX}.{principal.account_id}.{key_id}.{security.new_secret()}"
    item = Credential(
        principal.account_id,
        credential_key(Kind.API_KEY, key_id),
        user_id=principal.user_id,
        role=principal.role,
        name=name,
        scopes=chosen,
        secret_digest=security.digest(key),
        created_at=clock.now(),
    )
    store.put(item)
    audit.record(principal.account_id, Action.API_KEY_CREATED, origin, auth.actor_of(principal),
                 details={"key_id": key_id, "scopes": chosen})
    return NewApiKey(item, key)


def id_of(item: Credential) -> str:
    """The id of a stored API key, as the API shows it."""
    return item.credential_key.split("#", 1)[1]


def page(account_id: str, limit: int, start: dict | None) -> Page[Credential]:
    """The account's API keys (never their secrets), oldest first."""
    return store.page_of_kind(account_id, Kind.API_KEY.value, limit, start)


def delete(principal: Principal, key_id: str, origin: Origin) -> None:
    """Delete one of the account's API keys; it stops working at once."""
    if not plausible_id(key_id) or not store.delete(principal.account_id, credential_key(Kind.API_KEY, key_id)):
        raise errors.NotFound("API key")
    audit.record(principal.account_id, Action.API_KEY_DELETED, origin, auth.actor_of(principal),
                 details={"key_id": key_id})

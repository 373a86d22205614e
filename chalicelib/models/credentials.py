"""Stored credentials of an account: sessions, API keys and one-time link tokens (by digest only)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pynamodb.attributes import (
    ListAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.models.base import BaseModel, Page, is_live, take_page, written


class Credential(BaseModel):
    class Meta:
        logical_name = "credentials"

    account_id = UnicodeAttribute(hash_key=True)
    credential_key = UnicodeAttribute(range_key=True)   # "<kind>#<digest or key id>"
    user_id = UnicodeAttribute()
    role = UnicodeAttribute(null=True)                   # the user's role when it was made (calls read it anew)
    name = UnicodeAttribute(null=True)                   # API keys: the customer's label
    secret_digest = UnicodeAttribute(null=True)          # API keys: sha256 of the whole key
    scopes = ListAttribute(of=UnicodeAttribute, null=True)   # API keys: the permissions it may use (None: all)
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


def get_live(account_id: str, credential_key: str) -> Credential | None:
    """The credential, or None when it is missing or past its expiry (TTL may lag)."""
    try:
        item = Credential.get(account_id, credential_key)
    except Credential.DoesNotExist:
        return None
    return item if is_live(item.expires_at) else None


def page_of_kind(account_id: str, kind: str, limit: int, start: dict | None) -> Page[Credential]:
    results = Credential.query(
        account_id,
        Credential.credential_key.startswith(f"{kind}#"),
        limit=limit,
        last_evaluated_key=start,
    )
    return take_page(results, limit)


def all_of_kind(account_id: str, kind: str) -> Iterator[Credential]:
    return Credential.query(account_id, Credential.credential_key.startswith(f"{kind}#"))


def count_of_kind(account_id: str, kind: str) -> int:
    return Credential.count(account_id, Credential.credential_key.startswith(f"{kind}#"))


def put(item: Credential) -> None:
    item.save(condition=Credential.credential_key.does_not_exist())


def delete(account_id: str, credential_key: str) -> bool:
    """Delete the credential; False when there was none."""
    return written(lambda: Credential(account_id, credential_key).delete(condition=Credential.credential_key.exists()))


def consume(item: Credential, now: datetime) -> bool:
    """Delete a one-time credential if it is still there and live: True for exactly one caller."""
    condition = Credential.credential_key.exists() & (
        Credential.expires_at.does_not_exist() | (Credential.expires_at > now)
    )
    return written(lambda: item.delete(condition=condition))


def mark_used(item: Credential, now: datetime) -> None:
    """Record when an API key was last used (never resurrecting a key deleted meanwhile)."""
    written(lambda: item.update(actions=[Credential.last_used_at.set(now)],
                                condition=Credential.credential_key.exists()))


def of_user(account_id: str, user_id: str) -> Iterator[Credential]:
    """Every credential of one user of the account: sessions, API keys and link tokens."""
    return Credential.query(account_id, filter_condition=Credential.user_id == user_id, consistent_read=True)

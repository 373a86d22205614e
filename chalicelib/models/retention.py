"""What the retention rules read and delete across tables: resumable scans with a saved cursor, an
account's items table by table, and expired items (the backstop to DynamoDB's TTL)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.pagination import ResultIterator
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.models.accounts import Account
from chalicelib.models.base import BaseModel, transact, written
from chalicelib.models.credentials import Credential
from chalicelib.models.lists import ContactList
from chalicelib.models.subscribers import (
    Subscriber,
    SubscribersByStatus,
    SubscriberStatus,
    status_key,
)
from chalicelib.models.users import User

M = TypeVar("M", bound=BaseModel)
MAX_TRANSACTION_ITEMS = 100


class JobCursor(BaseModel):
    """Where an unfinished pass of a scheduled job stopped; no item means no pass is under way."""

    class Meta:
        logical_name = "jobs"

    job = UnicodeAttribute(hash_key=True)            # e.g. "inactive_accounts", "expired#events"
    cursor = UnicodeAttribute(null=True)             # JSON of the key to go on after; None: from the start
    started_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


def unfinished_jobs() -> list[str]:
    """The jobs whose last pass stopped before the end."""
    return [item.job for item in JobCursor.scan()]


def sweep(job: str, model: type[M], results: Callable[[dict | None], ResultIterator[M]],
          handle: Callable[[list[M]], int], keep_going: Callable[[], bool]) -> bool:
    """Hand every item of a scan or query to `handle`, page by page, from where the last pass of `job` stopped.

    `results(start)` runs the scan or query from `start`; `handle(items)` returns how many of them it
    finished (fewer than all: stop). True when the pass reached the end (the cursor is cleared); False when it
    stopped early, with the cursor saved at the last finished item so the next pass goes on from there.
    """
    saved = JobCursor.find(job)
    start = json.loads(saved.cursor) if saved and saved.cursor else None
    started_at = saved.started_at if saved else clock.now()
    pages = results(start).page_iter
    resume = start
    for page in pages:
        raw_items = page.get("Items", [])
        handled = handle([model.from_raw_data(raw) for raw in raw_items])
        if handled < len(raw_items):
            if handled:
                resume = {name: raw_items[handled - 1][name] for name in pages.key_names}
            _save(job, resume, started_at)
            return False
        resume = pages.last_evaluated_key
        if resume is not None and not keep_going():
            _save(job, resume, started_at)
            return False
    JobCursor(job).delete()
    return True


def _save(job: str, key: dict | None, started_at: datetime) -> None:
    JobCursor(job, cursor=json.dumps(key) if key is not None else None, started_at=started_at,
              updated_at=clock.now()).save()


# --- what the rules look at ------------------------------------------------------------------------

def accounts_in(status: str) -> Iterator[Account]:
    """Every account in `status` (the by_status index)."""
    return Account.by_status.query(status)


def accounts_where(condition, page_size: int) -> Callable[[dict | None], ResultIterator[Account]]:
    """A scan of the accounts that match `condition`, from a start key."""
    return lambda start: Account.scan(condition, page_size=page_size, last_evaluated_key=start)


def every_list(page_size: int) -> Callable[[dict | None], ResultIterator[ContactList]]:
    """A scan of every contact list (keys only), from a start key."""
    return lambda start: ContactList.scan(page_size=page_size, last_evaluated_key=start,
                                          attributes_to_get=key_names(ContactList))


def unconfirmed(list_key: str, before: datetime) -> Iterator[Subscriber]:
    """The list's members still waiting to confirm (double opt-in) who were added, and last asked, before `before`."""
    asked_before = Subscriber.confirmation_sent_at.does_not_exist() | (Subscriber.confirmation_sent_at <= before)
    return Subscriber.by_status.query(status_key(list_key, SubscriberStatus.PENDING),
                                      SubscribersByStatus.created_at <= clock.iso(before),
                                      filter_condition=asked_before)


# --- an account's items, table by table -----------------------------------------------------------

def hash_key_name(model: type[BaseModel]) -> str:
    return model._hash_key_attribute().attr_name


def key_names(model: type[BaseModel]) -> list[str]:
    names = [hash_key_name(model)]
    range_key = model._range_key_attribute()
    if range_key is not None:
        names.append(range_key.attr_name)
    return names


def first_items(model: type[M], hash_key: str, limit: int | None) -> list[M]:
    """Up to `limit` items (None: all) under one hash key, keys only (read consistently: just-deleted items are not
    seen again)."""
    return list(model.query(hash_key, limit=limit, consistent_read=True, attributes_to_get=key_names(model)))


def delete_many(items: Iterable[BaseModel]) -> int:
    """Delete items (25 per request); how many."""
    items = list(items)
    if not items:
        return 0
    with type(items[0]).batch_write() as batch:
        for item in items:
            batch.delete(item)
    return len(items)


def delete_if(item: BaseModel, condition) -> bool:
    """Delete one item if `condition` holds; False if it does not (or the item is gone)."""
    return written(lambda: item.delete(condition=condition))


def begin_purge(account: Account, actions: list, condition, users: list[User],
                api_keys: list[Credential]) -> bool:
    """Apply `actions` (status -> purging) if `condition` holds and no user signed in, and no API key was
    used, since they were read; False otherwise (nothing written)."""

    def write(tx: TransactWrite) -> None:
        tx.update(account, actions=actions, condition=Account.account_id.exists() & condition)
        for user in users[:MAX_TRANSACTION_ITEMS // 2 - 1]:
            seen = User.last_login_at.does_not_exist() if user.last_login_at is None else (
                User.last_login_at == user.last_login_at)
            tx.condition_check(User, user.account_id, user.user_id, condition=seen)
        for key in api_keys[:MAX_TRANSACTION_ITEMS // 2]:
            seen = Credential.last_used_at.does_not_exist() if key.last_used_at is None else (
                Credential.last_used_at == key.last_used_at)
            tx.condition_check(Credential, key.account_id, key.credential_key, condition=seen)

    return not any(transact(write, 1 + len(users) + len(api_keys)))


# --- expired items: the backstop to TTL ----------------------------------------------------------

def ttl_attribute(model: type[BaseModel]) -> TTLAttribute | None:
    """The model's TTL attribute, if it has one."""
    return next((a for a in model.get_attributes().values() if isinstance(a, TTLAttribute)), None)


def expired_scan(model: type[M], now: datetime, page_size: int) -> Callable[[dict | None], ResultIterator[M]]:
    """A scan of the model's items whose TTL has passed (keys only), from a start key."""
    ttl = ttl_attribute(model)
    assert ttl is not None, f"{model.Meta.logical_name} has no TTL attribute"

    def results(start: dict[str, Any] | None) -> ResultIterator[M]:
        return model.scan(ttl < now, page_size=page_size, last_evaluated_key=start,
                          attributes_to_get=key_names(model))

    return results

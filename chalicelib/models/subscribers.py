"""Subscribers: one item per (list, address), keyed so that a duplicate add is a failed conditional put."""
from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from chalicelib.models.accounts import Account, Growth, grow
from chalicelib.models.base import BaseModel, Page, string_list, take_page, transact, written
from chalicelib.models.lists import ContactList


class SubscriberStatus(str, Enum):
    PENDING = "pending"             # double opt-in, not yet confirmed by the owner (R13)
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"             # set by bounce feedback
    # No "complained": a complaint unsubscribes (R23: a visible status would name the complainers).


class SubscribersByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    list_status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class SubscribersByEmail(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_email"
        projection = AllProjection()

    email_key = UnicodeAttribute(hash_key=True)
    list_key = UnicodeAttribute(range_key=True)


class Subscriber(BaseModel):
    class Meta:
        logical_name = "subscribers"

    list_key = UnicodeAttribute(hash_key=True)          # "<account_id>#<list_id>"
    subscriber_id = UnicodeAttribute(range_key=True)    # deterministic per (account, list, address)
    account_id = UnicodeAttribute()
    list_id = UnicodeAttribute()
    email = UnicodeAttribute()
    email_key = UnicodeAttribute()                      # keyed hash of the address, account independent
    status = UnicodeAttribute()                         # SubscriberStatus
    list_status = UnicodeAttribute()                    # "<list_key>#<status>"
    fields: MapAttribute[str, Any] = MapAttribute(default=dict)
    consent: MapAttribute[str, Any] = MapAttribute(default=dict)  # source, ip, at; confirmed_ip, confirmed_at
    created_at = UnicodeAttribute()                     # ISO 8601 UTC; the by_status index sorts on it
    updated_at = UTCDateTimeAttribute()
    confirmed_at = UTCDateTimeAttribute(null=True)
    unsubscribed_at = UTCDateTimeAttribute(null=True)
    confirmation_sent_at = UTCDateTimeAttribute(null=True)
    received = NumberAttribute(null=True)               # R26: campaign emails delivered to the address
    opened = NumberAttribute(null=True)                 # campaigns a reader (never a machine) opened
    clicked = NumberAttribute(null=True)                # campaigns a reader clicked in
    last_activity_at = UTCDateTimeAttribute(null=True)  # the latest of those first opens and clicks
    last_opened_at = UTCDateTimeAttribute(null=True)    # the latest of those first opens
    last_clicked_at = UTCDateTimeAttribute(null=True)   # the latest of those first clicks
    soft_bounces = NumberAttribute(null=True)           # soft bounces in a row, since the last delivery (feedback)
    feedback_marks = string_list(null=True)  # SES events counted lately (models/feedback_counts.py)
    import_id = UnicodeAttribute(null=True)             # the last CSV import that added or updated the member
    import_line = NumberAttribute(null=True)            # ... and the line of its file (a re-run page knows its own)

    by_status = SubscribersByStatus()
    by_email = SubscribersByEmail()

    def set_status(self, status: SubscriberStatus) -> None:
        self.status = status.value
        self.list_status = status_key(self.list_key, status)


def list_key(account_id: str, list_id: str) -> str:
    return f"{account_id}#{list_id}"


def status_key(key: str, status: SubscriberStatus) -> str:
    return f"{key}#{status.value}"


def get(account_id: str, list_id: str, subscriber_id: str) -> Subscriber | None:
    return Subscriber.find(list_key(account_id, list_id), subscriber_id)


def read_now(account_id: str, list_id: str, subscriber_id: str) -> Subscriber | None:
    """The subscriber as it is now (a consistent read: a counter just moved must be seen)."""
    try:
        return Subscriber.get(list_key(account_id, list_id), subscriber_id, consistent_read=True)
    except Subscriber.DoesNotExist:
        return None


def page(account_id: str, list_id: str, limit: int, start: dict | None) -> Page[Subscriber]:
    results = Subscriber.query(list_key(account_id, list_id), limit=limit, last_evaluated_key=start)
    return take_page(results, limit)


def page_by_status(
    account_id: str, list_id: str, status: SubscriberStatus, limit: int, start: dict | None
) -> Page[Subscriber]:
    key = status_key(list_key(account_id, list_id), status)
    results = Subscriber.by_status.query(key, limit=limit, last_evaluated_key=start)
    return take_page(results, limit)


def all_in_list(account_id: str, list_id: str) -> Iterator[Subscriber]:
    return Subscriber.query(list_key(account_id, list_id))


def all_for_address(account_id: str, email_key: str) -> Iterator[Subscriber]:
    """Every list membership of one address within one account."""
    return Subscriber.by_email.query(email_key, Subscriber.list_key.startswith(f"{account_id}#"))


def everywhere_for_address(email_key: str) -> Iterator[Subscriber]:
    """Every list membership of one address, in every account (erasure and access requests, R28)."""
    return Subscriber.by_email.query(email_key)


# --- writes that keep Account.subscriber_count exact (R9, R10) ---------------------------------
# pynamodb sends a transaction's items as: condition checks, deletes, puts, updates; DynamoDB's
# cancellation reasons come back in that order, one per item.

class Duplicate(Exception):
    """The address is already in the list."""


class AccountFull(Exception):
    """The account holds as many subscribers as its plan allows."""


class Gone(Exception):
    """The subscriber (or its list, or account) no longer exists."""


MAX_TRANSACTION_ITEMS = 100
DELETE_CHUNK = MAX_TRANSACTION_ITEMS - 1   # one transaction: the deletes plus the account's counter


def insert_counted(subscriber: Subscriber, growth: Growth) -> None:
    """Put a new subscriber and count it on its account, both or neither; never past the growth's limit, and
    ending a trial that it takes past the free limit (R8) in the same transaction."""
    def attempt(actions: list, room: Any) -> bool:
        def write(tx: TransactWrite) -> None:
            tx.condition_check(ContactList, subscriber.account_id, subscriber.list_id,
                               condition=ContactList.list_id.exists())
            tx.save(subscriber, condition=Subscriber.subscriber_id.does_not_exist())
            tx.update(Account(subscriber.account_id), actions=actions, condition=room)

        list_gone, duplicate, full = transact(write, 3)
        if list_gone:
            raise Gone()
        if duplicate:
            raise Duplicate()
        return not full

    if not grow(growth, attempt):
        raise AccountFull()


def delete_counted(subscribers: list[Subscriber], only_in: SubscriberStatus | None = None) -> None:
    """Delete subscribers of one account (each still in status `only_in`, if given) and give their places back,
    both or neither."""
    if not subscribers:
        return
    assert len(subscribers) < MAX_TRANSACTION_ITEMS and len({s.account_id for s in subscribers}) == 1
    condition = Subscriber.subscriber_id.exists()
    if only_in is not None:
        condition &= Subscriber.status == only_in.value

    def write(tx: TransactWrite) -> None:
        for subscriber in subscribers:
            tx.delete(subscriber, condition=condition)
        tx.update(Account(subscribers[0].account_id), actions=[Account.subscriber_count.add(-len(subscribers))],
                  condition=Account.account_id.exists())

    if any(transact(write, len(subscribers) + 1)):
        raise Gone()


def delete_each_counted(subscribers: list[Subscriber], only_in: SubscriberStatus | None = None) -> int:
    """Delete as `delete_counted` does, passing over any member deleted (or moved out of `only_in`) meanwhile;
    how many were deleted."""
    try:
        delete_counted(subscribers, only_in)
        return len(subscribers)
    except Gone:
        # One of them went meanwhile: nothing was written; go one by one.
        deleted = 0
        for subscriber in subscribers:
            try:
                delete_counted([subscriber], only_in)
                deleted += 1
            except Gone:
                pass
        return deleted


def delete_all_in_list(account_id: str, list_id: str) -> None:
    """Delete every member of a list, keeping the account's subscriber count exact."""
    chunk: list[Subscriber] = []
    for subscriber in all_in_list(account_id, list_id):
        chunk.append(subscriber)
        if len(chunk) == DELETE_CHUNK:
            delete_each_counted(chunk)
            chunk = []
    delete_each_counted(chunk)


def update_if(subscriber: Subscriber, actions: list, allowed: set[SubscriberStatus] | None = None) -> bool:
    """Apply `actions` if the subscriber still exists (and is in one of `allowed` statuses); False if not."""
    condition = Subscriber.subscriber_id.exists()
    if allowed is not None:
        condition &= Subscriber.status.is_in(*(s.value for s in allowed))
    return written(lambda: subscriber.update(actions=actions, condition=condition))


def change_by_id(account_id: str, list_id: str, subscriber_id: str, actions: list) -> bool:
    """Apply `actions` to a subscriber known only by its ids (one UpdateItem); False if it does not exist."""
    item = Subscriber(list_key(account_id, list_id), subscriber_id)
    return written(lambda: item.update(actions=actions, condition=Subscriber.subscriber_id.exists()))


def many(account_id: str, list_id: str, subscriber_ids: list[str]) -> dict[str, Subscriber]:
    """The list's members with these ids that exist, by id (BatchGet; PynamoDB pages the keys)."""
    key = list_key(account_id, list_id)
    return {item.subscriber_id: item for item in Subscriber.batch_get([(key, sid) for sid in set(subscriber_ids)])}


def put_batch(subscribers: list[Subscriber]) -> None:
    """Write members in BatchWriteItem calls of 25 (PynamoDB sends unprocessed items again). Unconditional and
    uncounted: the caller (a CSV import) has counted them on the account and knows none of them exists."""
    with Subscriber.batch_write() as batch:
        for subscriber in subscribers:
            batch.save(subscriber)

"""Subscribe and unsubscribe notices waiting for their list's digest (R29).

One table, hash key "<account_id>#<list_id>", holding three kinds of item:
- a notice per event, "n#<ulid>" (time-ordered), with the address, until a digest has carried it;
- the list's queue marker, "queued", while notices wait: it alone carries `queue`, so the sparse by_queue
  index lists the lists with something to send, spread over QUEUE_SHARDS partitions; `seq` moves with
  every notice, so the marker is taken off the queue only if nothing arrived while the digest was made;
- the digest in flight, "digest": the notice keys it carries and whether SES took it, so a run that
  stops half-way is finished by the next without mailing them twice.
Notices carry `email_key`, so erasure (R28) finds them in every account through the by_email index.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from enum import Enum
from functools import partial

from pynamodb.attributes import (
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib import clock, ids
from chalicelib.models.base import BaseModel, is_live, string_list, written

NOTICE_PREFIX = "n#"
MARKER_KEY = "queued"
DIGEST_KEY = "digest"
QUEUE_PREFIX = "queue#"
QUEUE_SHARDS = 8
RETENTION = timedelta(days=30)   # a notice no digest could carry in a month is dropped


class NoticeKind(str, Enum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class DigestState(str, Enum):
    CLAIMED = "claimed"   # about to call SES (if it stays so, SES may or may not have taken it)
    SENT = "sent"         # SES took it: its notices are to be deleted, never mailed again


class NoticesByQueue(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    queued_at = UnicodeAttribute(range_key=True)


class NoticesByEmail(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_email"
        projection = AllProjection()

    email_key = UnicodeAttribute(hash_key=True)
    list_key = UnicodeAttribute(range_key=True)


class Notice(BaseModel):
    class Meta:
        logical_name = "notices"

    list_key = UnicodeAttribute(hash_key=True)        # "<account_id>#<list_id>"
    notice_key = UnicodeAttribute(range_key=True)     # "n#<ulid>", MARKER_KEY or DIGEST_KEY
    account_id = UnicodeAttribute()
    list_id = UnicodeAttribute()
    # a notice
    kind = UnicodeAttribute(null=True)                # NoticeKind
    subscriber_id = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    email_key = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute(null=True)
    # the queue marker
    queue = UnicodeAttribute(null=True)               # "queue#<shard>"
    queued_at = UnicodeAttribute(null=True)           # ISO 8601: when the oldest waiting notice came
    seq = NumberAttribute(null=True)
    # the digest in flight
    state = UnicodeAttribute(null=True)               # DigestState
    notice_keys = string_list(null=True)
    claimed_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_queue = NoticesByQueue()
    by_email = NoticesByEmail()


def list_key(account_id: str, list_id: str) -> str:
    return f"{account_id}#{list_id}"


def _shard(key: str) -> str:
    return f"{QUEUE_PREFIX}{zlib.crc32(key.encode()) % QUEUE_SHARDS}"


def record(account_id: str, list_id: str, kind: NoticeKind, subscriber_id: str, email: str, email_key: str,
           at: datetime) -> None:
    """Store one notice, then put its list on the queue (the notice first: a digest that reads the marker
    before it sees the notice then finds `seq` moved, and leaves the list queued)."""
    key = list_key(account_id, list_id)
    Notice(key, f"{NOTICE_PREFIX}{ids.new_id('ntc')}", account_id=account_id, list_id=list_id, kind=kind.value,
           subscriber_id=subscriber_id, email=email, email_key=email_key, at=at,
           expires_at=at + RETENTION).save()
    Notice(key, MARKER_KEY).update(actions=[
        Notice.account_id.set(account_id),
        Notice.list_id.set(list_id),
        Notice.queue.set(_shard(key)),
        Notice.queued_at.set(Notice.queued_at | clock.iso(at)),
        Notice.seq.add(1),
    ])


def queued() -> Iterator[Notice]:
    """The queue markers of every list with notices waiting, oldest first within each shard."""
    for shard in range(QUEUE_SHARDS):
        yield from Notice.by_queue.query(f"{QUEUE_PREFIX}{shard}")


def marker(key: str) -> Notice | None:
    """The list's queue marker as it is now."""
    try:
        return Notice.get(key, MARKER_KEY, consistent_read=True)
    except Notice.DoesNotExist:
        return None


def unqueue(key: str, seq: int) -> bool:
    """Take the list off the queue unless a notice arrived since `seq` was read; True if taken off."""
    return written(lambda: Notice(key, MARKER_KEY).delete(condition=Notice.seq == seq))


def waiting(key: str, limit: int) -> list[Notice]:
    """Up to `limit` live notices of the list, oldest first: expired ones (TTL lags) are read past, so fewer
    than `limit` means there are no more."""
    live: list[Notice] = []
    for item in Notice.query(key, Notice.notice_key.startswith(NOTICE_PREFIX), consistent_read=True):
        if is_live(item.expires_at):
            live.append(item)
            if len(live) == limit:
                break
    return live


def digest(key: str) -> Notice | None:
    """The list's digest in flight, if any."""
    try:
        return Notice.get(key, DIGEST_KEY, consistent_read=True)
    except Notice.DoesNotExist:
        return None


def claim_digest(account_id: str, list_id: str, notice_keys: list[str], at: datetime) -> bool:
    """Claim the notices for one digest before calling SES; False if another digest of the list is in flight."""
    item = Notice(list_key(account_id, list_id), DIGEST_KEY, account_id=account_id, list_id=list_id,
                  state=DigestState.CLAIMED.value, notice_keys=notice_keys, claimed_at=at,
                  expires_at=at + RETENTION)
    return written(lambda: item.save(condition=Notice.notice_key.does_not_exist()))


def digest_sent(key: str) -> None:
    """SES took the digest: from now on its notices are only to be deleted."""
    Notice(key, DIGEST_KEY).update(actions=[Notice.state.set(DigestState.SENT.value)],
                                   condition=Notice.notice_key.exists())


def release_digest(key: str) -> None:
    """Give the claim back when SES certainly did not take the digest: its notices wait for the next run."""
    written(lambda: Notice(key, DIGEST_KEY).delete(condition=Notice.state == DigestState.CLAIMED.value))


def finish_digest(key: str, notice_keys: list[str]) -> None:
    """Delete the notices a digest carried (or dropped), then the digest itself."""
    with Notice.batch_write() as batch:
        for notice_key in notice_keys:
            batch.delete(Notice(key, notice_key))
    Notice(key, DIGEST_KEY).delete()


def delete_for_address(email_key: str, account_id: str | None = None) -> int:
    """Delete every notice naming this address, in every account or only in `account_id` (erasure, R28); how
    many were deleted."""
    within = Notice.list_key.startswith(f"{account_id}#") if account_id else None
    deleted = 0
    for item in Notice.by_email.query(email_key, within):
        if written(partial(item.delete, condition=Notice.notice_key.exists())):
            deleted += 1
    return deleted

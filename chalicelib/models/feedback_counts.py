"""SES feedback counted exactly once, with one transaction per batch of events and no per-event counter writes.

An event is counted once on three stores: its campaign's counters (a tally item, models/deliveries.py), its
account's reputation day (a shard of it, models/reputation.py), and its subscriber (what it moves there: emails
received, soft bounces in a row). What makes it once is a mark on the subscriber: a short hash of the event's key
in the subscriber's `feedback_marks`, written in the same update that moves the subscriber, conditional on the marks
being as read. `commit` writes a batch's subscribers so, with one tally item per campaign and one day shard per
account holding the sums of the events it marks, in one transaction: all of it lands or none, so a crash leaves
nothing half-counted and a redelivered batch finds its marks and counts nothing. Two consumers applying
overlapping batches at once: one transaction wins; the other's conditions fail on the subscribers they share, and
it is read again and finds the marks.

A mark is kept MARK_DAYS days (at most MAX_MARKS of them per subscriber, the newest): far longer than SQS keeps a
message (14 days at most), so any redelivery still finds it, while a subscriber item stays small.
"""
from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pynamodb.transactions import TransactWrite

from chalicelib.models import deliveries, reputation
from chalicelib.models.base import transact
from chalicelib.models.reputation import Counts
from chalicelib.models.subscribers import Subscriber

MARK_DAYS = 30
MAX_MARKS = 32
HASH_CHARS = 8          # 48 bits of the event key's SHA-256: no two of a subscriber's marks collide in practice
MAX_ITEMS = 100         # DynamoDB's limit on one transaction


@dataclass
class Change:
    """What a batch does to one subscriber: its events' marks added, and their updates."""

    subscriber: Subscriber
    keys: list[str] = field(default_factory=list)   # the events' keys (their marks are added)
    actions: list = field(default_factory=list)


def mark(event_key: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(event_key.encode()).digest()).decode()[:HASH_CHARS]


def marked(subscriber: Subscriber, event_key: str) -> bool:
    """True if the event was counted on this subscriber (within MARK_DAYS)."""
    wanted = mark(event_key)
    return any(entry[:HASH_CHARS] == wanted for entry in subscriber.feedback_marks or [])


def _day(moment: datetime) -> int:
    return (moment.date() - datetime(1970, 1, 1).date()).days


def _marks_after(subscriber: Subscriber, keys: Sequence[str], now: datetime) -> list[str]:
    """The subscriber's marks with these events' added, those older than MARK_DAYS and beyond MAX_MARKS dropped."""
    today = _day(now)
    kept = [entry for entry in subscriber.feedback_marks or []
            if entry[HASH_CHARS:].isdigit() and today - int(entry[HASH_CHARS:]) < MARK_DAYS]
    return (kept + [f"{mark(key)}{today}" for key in keys])[-MAX_MARKS:]


def commit(changes: Sequence[Change], campaigns: Mapping[tuple[str, str], Mapping[str, int]],
           days: Mapping[tuple[str, str], Counts], now: datetime) -> list[bool]:
    """One transaction: each change's subscriber updated and marked, if it exists and its marks are as read; each
    (account, campaign)'s counts added to one of its tally items, each (day, account)'s to one of its day's shards.
    For each change, whether its condition failed (then nothing at all was written). At most MAX_ITEMS items."""
    if len(changes) + len(campaigns) + len(days) > MAX_ITEMS:
        raise ValueError("a feedback transaction holds at most 100 items")
    tallies = [deliveries.add_to_tally(account_id, campaign_id, counts)
               for (account_id, campaign_id), counts in campaigns.items() if any(counts.values())]
    shards = [reputation.add_to_day(day, account_id, random.randrange(reputation.SHARDS), counts)
              for (day, account_id), counts in days.items() if counts != Counts()]

    def write(tx: TransactWrite) -> None:
        for change in changes:
            subscriber = change.subscriber
            old = subscriber.feedback_marks
            unchanged = (Subscriber.feedback_marks.does_not_exist() if not old
                         else Subscriber.feedback_marks == list(old))
            tx.update(Subscriber(subscriber.list_key, subscriber.subscriber_id),
                      actions=[*change.actions, Subscriber.feedback_marks.set(_marks_after(subscriber, change.keys,
                                                                                            now))],
                      condition=Subscriber.subscriber_id.exists() & unchanged)
        for item, actions in (*tallies, *shards):
            tx.update(item, actions=actions)

    return transact(write, len(changes) + len(tallies) + len(shards))[:len(changes)]

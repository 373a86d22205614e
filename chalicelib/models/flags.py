"""Accounts flagged for staff review by a pattern of use (R16 one-time mailings), with the evidence.

One item per account and pattern (`pattern_key`, e.g. "one_time#<campaign_id>"), written with a condition
so that a pattern is flagged once however often it is seen again. Open flags carry `queue` = "open" and
are found across accounts through the sparse by_queue index; dismissing one removes it from the index.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.attributes import MapAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.models.base import BaseModel, Page, Update, take_page, written
from chalicelib.models.campaigns import Campaign
from chalicelib.models.subscribers import Subscriber, list_key

OPEN = "open"


class FlagsByQueue(GlobalSecondaryIndex):
    """Sparse: only flags waiting for staff carry `queue`."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)         # "open"
    flagged_at = UnicodeAttribute(range_key=True)   # ISO 8601


class Flag(BaseModel):
    class Meta:
        logical_name = "flags"

    account_id = UnicodeAttribute(hash_key=True)
    pattern_key = UnicodeAttribute(range_key=True)  # "<kind>#<what it is about>": one flag per pattern
    flag_id = UnicodeAttribute()                    # what staff routes name
    kind = UnicodeAttribute()                       # "one_time_mailing" (R16)
    evidence: MapAttribute[str, Any] = MapAttribute(default=dict)  # ids, times and counts; never an address
    queue = UnicodeAttribute(null=True)             # OPEN while waiting for staff
    flagged_at = UnicodeAttribute()
    dismissed_at = UTCDateTimeAttribute(null=True)
    dismissed_by = UnicodeAttribute(null=True)      # staff user id
    dismissal_note = UnicodeAttribute(null=True)

    by_queue = FlagsByQueue()


def add_once(flag: Flag) -> bool:
    """Record the flag unless its pattern was flagged before (open or dismissed); whether it was recorded."""
    return written(lambda: flag.save(condition=Flag.pattern_key.does_not_exist()))


def open_page(limit: int, start: dict | None) -> Page[Flag]:
    """Flags waiting for staff, oldest first."""
    return take_page(Flag.by_queue.query(OPEN, limit=limit, last_evaluated_key=start), limit)


def find_open(flag_id: str) -> Flag | None:
    return next(iter(Flag.by_queue.query(OPEN, filter_condition=Flag.flag_id == flag_id)), None)


def dismiss(flag: Flag, staff_user_id: str, note: str | None, at: datetime) -> bool:
    """Take the flag out of the queue; False if it was dismissed meanwhile."""
    actions: list[Update] = [Flag.queue.remove(), Flag.dismissed_at.set(at), Flag.dismissed_by.set(staff_user_id)]
    if note:
        actions.append(Flag.dismissal_note.set(note))
    return written(lambda: flag.update(actions=actions, condition=Flag.queue == OPEN))


# --- what the R16 detector reads ---------------------------------------------------------------

def campaigns_started_since(account_id: str, since: datetime) -> Iterator[Campaign]:
    """The account's campaigns that began sending at or after `since` (one query on the account's key)."""
    return Campaign.query(account_id, filter_condition=Campaign.started_at >= since)


def member_count(account_id: str, list_id: str) -> int:
    """How many members the list holds now, in any status (DynamoDB counts; no item comes back)."""
    return Subscriber.count(list_key(account_id, list_id))

"""Accounts: one customer (tenant), its profile, plan and counters."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib import clock
from chalicelib.models.base import BaseModel, Page, take_page, written


class AccountsByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class Account(BaseModel):
    class Meta:
        logical_name = "accounts"

    account_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()            # services.accounts.plans.AccountStatus
    created_at = UnicodeAttribute()        # ISO 8601 UTC; the by_status index sorts on it
    updated_at = UTCDateTimeAttribute()
    profile: MapAttribute[str, Any] = MapAttribute()  # R1 fields the customer may edit (R7)
    registration: MapAttribute[str, Any] = MapAttribute()  # ip, user_agent, at, terms_version: fixed at signup (R1)
    owner_user_id = UnicodeAttribute()
    plan = UnicodeAttribute()              # services.accounts.plans.Plan
    trial_ends_at = UTCDateTimeAttribute(null=True)
    subscriber_level = NumberAttribute(null=True)   # monthly plan: purchased level (R10)
    monthly_since = UTCDateTimeAttribute(null=True)  # monthly plan: its start; the terms run month by month from it
    credits = NumberAttribute(default=0)            # pay-as-you-go credits (R11)
    credits_purchased_at = UTCDateTimeAttribute(null=True)
    pro = BooleanAttribute(default=False)           # PRO: no "Email marketing by" footer (R12)
    subscriber_count = NumberAttribute(default=0)   # stored subscribers, kept atomically
    status_reason = UnicodeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    purge_after = UTCDateTimeAttribute(null=True)
    inactivity_warned_at = UTCDateTimeAttribute(null=True)   # R30: the users were told of the coming purge
    trial_expired_at = UTCDateTimeAttribute(null=True)       # R8: the trial ended; its waiting campaigns went back
    trial_limit_passed_at = UTCDateTimeAttribute(null=True)  # R8: its subscribers passed the free limit: trial over
    # The reputation guard (services/feedback/reputation.py, models/reputation.py): the hold that pauses its
    # sending, with the figures that tripped it; and, after staff released one, where its counts start again.
    # {"rate", "value", "limit", "reported", "at", "notified_at"?, ...}
    reputation_hold: MapAttribute[str, Any] = MapAttribute(null=True)
    # {"at", "day", and that day's counts at the release}
    reputation_since: MapAttribute[str, Any] = MapAttribute(null=True)

    by_status = AccountsByStatus()


def get(account_id: str) -> Account | None:
    return Account.find(account_id)


def read_now(account_id: str) -> Account | None:
    """The account as it is now (a consistent read: a hold or a suspension just written is seen)."""
    try:
        return Account.get(account_id, consistent_read=True)
    except Account.DoesNotExist:
        return None


def change(account: Account, actions: list, condition=None) -> bool:
    """Apply update actions atomically (counters kept by others stay intact); False if the condition fails."""
    full_condition = Account.account_id.exists() if condition is None else Account.account_id.exists() & condition
    return written(lambda: account.update(actions=actions, condition=full_condition))


def page_by_status(status: str | None, limit: int, start: dict | None) -> Page[Account]:
    """Accounts in `status` newest first (by_status index), or every account when status is None."""
    if status is None:
        return take_page(Account.scan(limit=limit, last_evaluated_key=start), limit)
    results = Account.by_status.query(status, scan_index_forward=False, limit=limit, last_evaluated_key=start)
    return take_page(results, limit)


TRIAL = "trial"   # services.accounts.plans.Plan.TRIAL


@dataclass(frozen=True)
class Growth:
    """`amount` more subscribers on an account's count (R9, R10): never past `limit`; and on a trial, the write
    that takes the count past `trial_limit` (R8: the free limit) ends the trial, for good, in the same write."""

    amount: int
    limit: int | None = None
    trial_limit: int | None = None


def growth_writes(growth: Growth, now: datetime) -> list[tuple[list, Any]]:
    """The account's update for `growth` as alternatives (actions, condition), at most one of which applies to the
    account as it is: within the trial's limit; past it while the trial runs (it ends now, marked); past it when
    the trial has ended already. Without a trial limit, the one update."""
    def at_most(n: int) -> Any:   # a missing count is 0
        return Account.subscriber_count.does_not_exist() | (Account.subscriber_count <= n) if n >= 0 \
            else Account.subscriber_count <= n

    add = [Account.subscriber_count.add(growth.amount)]
    room = Account.account_id.exists()
    if growth.limit is not None:
        room &= at_most(growth.limit - growth.amount)
    if growth.trial_limit is None:
        return [(add, room)]
    edge = growth.trial_limit - growth.amount
    running = (Account.plan == TRIAL) & (Account.trial_ends_at > now)
    ends = [Account.trial_ends_at.set(now), Account.trial_limit_passed_at.set(now), Account.updated_at.set(now)]
    return [(add, room & at_most(edge)), (add + ends, room & ~at_most(edge) & running),
            (add, room & ~at_most(edge) & ~running)]


GROWTH_ATTEMPTS = 3   # rounds of a growth's alternative writes, should the count move between them


def grow(growth: Growth, attempt: Callable[[list, Any], bool]) -> bool:
    """Apply `growth` through `attempt(actions, condition)`: the caller's transaction with this update of the
    account, True when it was written, False when the account's condition failed (the caller raises for its own
    items). False when the account has no room."""
    for _ in range(GROWTH_ATTEMPTS):
        for actions, room in growth_writes(growth, clock.now()):
            if attempt(actions, room):
                return True
        if growth.trial_limit is None:
            return False
    return False

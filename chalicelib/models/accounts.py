"""Accounts: one customer (tenant), its profile, plan and counters."""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

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
    credits = NumberAttribute(default=0)            # pay-as-you-go credits (R11)
    credits_purchased_at = UTCDateTimeAttribute(null=True)
    pro = BooleanAttribute(default=False)           # PRO: no "Email marketing by" footer (R12)
    subscriber_count = NumberAttribute(default=0)   # stored subscribers, kept atomically
    status_reason = UnicodeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    purge_after = UTCDateTimeAttribute(null=True)
    inactivity_warned_at = UTCDateTimeAttribute(null=True)   # R30: the users were told of the coming purge
    trial_expired_at = UTCDateTimeAttribute(null=True)       # R8: the trial ended; its waiting campaigns went back
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

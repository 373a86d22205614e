"""Plans, account states and the limits they set (R5, R8–R11, R34). Pure policy: no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum


class AccountStatus(str, Enum):
    PENDING_REVIEW = "pending_review"   # new, waiting for staff (R5)
    ACTIVE = "active"                   # approved
    SUSPENDED = "suspended"             # by staff (R34)
    CLOSED = "closed"                   # by the customer (R33)
    PURGING = "purging"                 # its data is being deleted (R30): closed past its grace, or inactive


class Plan(str, Enum):
    TRIAL = "trial"
    FREE = "free"
    MONTHLY = "monthly"
    PAYG = "payg"


TRIAL_DAYS = 30
TRIAL_EMAILS = 100
FREE_SUBSCRIBERS = 5_000
MONTHLY_EMAILS_PER_LEVEL = 109
CREDIT_VALIDITY_DAYS = 365


def trial_end(accepted_at: datetime) -> datetime:
    """R8: the trial runs 30 days from acceptance."""
    return accepted_at + timedelta(days=TRIAL_DAYS)


def subscriber_limit(plan: Plan | str, subscriber_level: int | None) -> int | None:
    """How many subscribers the account may store; None means no limit from the plan."""
    plan = Plan(plan)
    if plan in (Plan.TRIAL, Plan.FREE):
        return FREE_SUBSCRIBERS
    if plan is Plan.MONTHLY:
        return int(subscriber_level or 0)
    return None


def monthly_email_cap(plan: Plan | str, subscriber_level: int | None) -> int | None:
    """R10: 109 × the purchased level per month on the monthly plan; R8: 100 in the trial."""
    plan = Plan(plan)
    if plan is Plan.MONTHLY:
        return MONTHLY_EMAILS_PER_LEVEL * int(subscriber_level or 0)
    if plan is Plan.TRIAL:
        return TRIAL_EMAILS
    return None


def limits(plan: Plan | str, subscriber_level: int | None) -> dict:
    return {
        "subscribers": subscriber_limit(plan, subscriber_level),
        "emails_per_month": monthly_email_cap(plan, subscriber_level),
    }

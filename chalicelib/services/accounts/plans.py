"""Plans, account states and the limits they set (R5, R8–R11, R34). Pure policy: no I/O."""
from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from enum import Enum

from chalicelib.models.accounts import Growth


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


def months_after(start: datetime, months: int) -> datetime:
    """The same day of the month `months` later, or the closest one that month has (Jan 31 → Feb 28 or 29): the
    terms' Pay Dates (002 Payments 1)."""
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def term_start(monthly_since: datetime, now: datetime) -> datetime:
    """When the monthly term running at `now` began: the last Pay Date, counted from the plan's start."""
    months = _months_between(monthly_since, now)
    while months > 0 and months_after(monthly_since, months) > now:
        months -= 1
    return months_after(monthly_since, max(months, 0))


def lower_level_possible_from(monthly_since: datetime | None, now: datetime) -> datetime | None:
    """R10: the level may be raised at any time and lowered only at the end of a term, i.e. on a Pay Date (the
    day a term begins, the plan's first day included, so that a level set by mistake can be put right). None when
    lowering is possible now (or no term is known), else when the next term begins."""
    if monthly_since is None:
        return None
    start = term_start(monthly_since, now)
    if now < start + timedelta(days=1):
        return None
    return months_after(monthly_since, _months_between(monthly_since, start) + 1)


def _months_between(earlier: datetime, later: datetime) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def subscriber_limit(plan: Plan | str, subscriber_level: float | None) -> int | None:
    """How many subscribers the account may store; None means no limit from the plan."""
    plan = Plan(plan)
    if plan in (Plan.TRIAL, Plan.FREE):
        return FREE_SUBSCRIBERS
    if plan is Plan.MONTHLY:
        return int(subscriber_level or 0)
    return None


def growth(plan: Plan | str, subscriber_level: float | None, amount: int) -> Growth:
    """`amount` more subscribers as the plan lets them in: never past its limit, except that a trial may pass the
    free limit, which ends the trial for good (R8, 002 Payments 2: "even if Customer manually removes names")."""
    if Plan(plan) is Plan.TRIAL:
        return Growth(amount, None, FREE_SUBSCRIBERS)
    return Growth(amount, subscriber_limit(plan, subscriber_level))


def monthly_email_cap(plan: Plan | str, subscriber_level: float | None) -> int | None:
    """R10: 109 × the purchased level per month on the monthly plan; R8: 100 in the trial."""
    plan = Plan(plan)
    if plan is Plan.MONTHLY:
        return MONTHLY_EMAILS_PER_LEVEL * int(subscriber_level or 0)
    if plan is Plan.TRIAL:
        return TRIAL_EMAILS
    return None


def credits_expire_at(purchased_at: datetime | None) -> datetime | None:
    """R11: credits expire 12 months after the last purchase (None: none were bought)."""
    return purchased_at + timedelta(days=CREDIT_VALIDITY_DAYS) if purchased_at is not None else None


def limits(plan: Plan | str, subscriber_level: int | None, used: int, credits: int,
           credits_purchased_at: datetime | None, now: datetime) -> dict:
    """What the plan allows, each limit named for what it is: the trial's emails are in all (R8), the monthly
    plan's per calendar month (R10), pay-as-you-go's are the credits (R11); the free plan caps subscribers only.
    `used` is what the trial or this month has used so far."""
    plan = Plan(plan)
    shown: dict = {"subscribers": subscriber_limit(plan, subscriber_level)}
    if plan is Plan.TRIAL:
        shown.update(trial_emails=TRIAL_EMAILS, trial_emails_left=max(TRIAL_EMAILS - used, 0))
    elif plan is Plan.MONTHLY:
        cap = monthly_email_cap(plan, subscriber_level) or 0
        shown.update(emails_per_month=cap, emails_left_this_month=max(cap - used, 0))
    elif plan is Plan.PAYG:
        expires = credits_expire_at(credits_purchased_at)
        shown.update(credits=credits if expires is not None and now <= expires else 0, credits_expire_at=expires)
    return shown

"""How much of its plan's allowance an account has used, and its limits as its users see them (R8, R10, R11)."""
from __future__ import annotations

from datetime import datetime

from chalicelib import clock
from chalicelib.models import usage as store
from chalicelib.models.accounts import Account
from chalicelib.services.accounts import plans
from chalicelib.services.accounts.plans import Plan


def period_for(plan: Plan | str, now: datetime) -> str | None:
    """The usage period a send on `plan` is counted in, if any: the trial's in all, or this calendar month."""
    plan = Plan(plan)
    if plan is Plan.TRIAL:
        return store.TRIAL_PERIOD
    if plan is Plan.MONTHLY:
        return store.month_of(now)
    return None


def used(account: Account, now: datetime) -> int:
    """Emails already counted against the account's current allowance (trial in all, or this month)."""
    period = period_for(account.plan, now)
    return store.used(account.account_id, period) if period else 0


def limits(account: Account, now: datetime | None = None) -> dict:
    """The account's limits, each named for what it is, with what is left of them."""
    now = now or clock.now()
    level = int(account.subscriber_level) if account.subscriber_level is not None else None
    shown = plans.limits(account.plan, level, used(account, now), int(account.credits or 0),
                         account.credits_purchased_at, now)
    if "credits_expire_at" in shown:
        shown["credits_expire_at"] = clock.iso(shown["credits_expire_at"])
    return shown

"""Emails reserved per account and period: "YYYY-MM" for the monthly cap (R10), "trial" for the trial's 100 (R8)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.models import base
from chalicelib.models.base import BaseModel

if TYPE_CHECKING:
    from chalicelib.models.campaigns import Campaign

TRIAL_PERIOD = "trial"


class Usage(BaseModel):
    class Meta:
        logical_name = "usage"

    account_id = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)     # "YYYY-MM" (UTC) or "trial"
    emails = NumberAttribute(default=0)           # reserved at send, less what was given back
    updated_at = UTCDateTimeAttribute(null=True)


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def used(account_id: str, period: str) -> int:
    """Emails counted against the account in `period` (0 when nothing was sent)."""
    item = Usage.find(account_id, period)
    return int(item.emails) if item is not None else 0


def transact(write: Callable[[TransactWrite], None]) -> bool:
    """Run one TransactWrite built by `write`: True if applied, False if a condition failed (nothing written)."""
    return not any(base.transact(write))


# --- reservations: the quota and the campaign's status move together ----------------------------

@dataclass(frozen=True)
class Charge:
    """What a send takes from the account: `amount` emails from `source`, within the terms the gate saw."""

    source: str | None          # "trial" | "monthly" | "credits" | None (nothing is counted)
    period: str | None          # the Usage period for trial and monthly
    amount: int
    cap: int | None = None      # trial and monthly: usage may not pass it
    plan: str = ""
    subscriber_limit: int | None = None
    trial_ends_after: datetime | None = None
    credits_bought_after: datetime | None = None


def reserve(campaign: Campaign, from_statuses: list[str], campaign_actions: list, charge: Charge,
            active_status: str) -> bool:
    """Charge the account and apply `campaign_actions` to the campaign, both or neither.

    False when the campaign left `from_statuses`, or the account's state, plan or balance no longer allows
    the charge (the caller reads them again to say which).
    """
    from chalicelib.models.campaigns import Campaign

    def write(tx: TransactWrite) -> None:
        tx.update(campaign, actions=campaign_actions,
                  condition=Campaign.campaign_id.exists() & Campaign.status.is_in(*from_statuses))
        _take(tx, campaign.account_id, charge, [active_status])

    return transact(write)


def take(account_id: str, charge: Charge, account_statuses: list[str]) -> bool:
    """Charge the account alone (test copies), on the terms a send is charged on; False when its state, plan or
    balance does not allow it (nothing is taken)."""
    return transact(lambda tx: _take(tx, account_id, charge, account_statuses))


def give(account_id: str, source: str | None, period: str | None, amount: int) -> None:
    """Return `amount` taken by `take` to where it came from."""
    if amount > 0 and source:
        transact(lambda tx: _give(tx, account_id, source, period, amount))


def _take(tx: TransactWrite, account_id: str, charge: Charge, account_statuses: list[str]) -> None:
    from chalicelib.models.accounts import Account

    terms = Account.status.is_in(*account_statuses) & (Account.plan == charge.plan)
    if charge.subscriber_limit is not None:
        terms &= Account.subscriber_count.does_not_exist() | (Account.subscriber_count <= charge.subscriber_limit)
    if charge.trial_ends_after is not None:
        terms &= Account.trial_ends_at > charge.trial_ends_after
    if charge.credits_bought_after is not None:
        terms &= Account.credits_purchased_at >= charge.credits_bought_after
    if charge.source == "credits":
        tx.update(Account(account_id), actions=[Account.credits.add(-charge.amount)],
                  condition=terms & (Account.credits >= charge.amount))
        return
    tx.condition_check(Account, account_id, condition=terms)
    if charge.source in ("trial", "monthly"):
        assert charge.cap is not None, "a trial or monthly charge carries its cap (quota.charge_for)"
        room = Usage.emails.does_not_exist() | (Usage.emails <= charge.cap - charge.amount)
        tx.update(Usage(account_id, charge.period),
                  actions=[Usage.emails.add(charge.amount), Usage.updated_at.set(clock.now())], condition=room)


def _give(tx: TransactWrite, account_id: str, source: str, period: str | None, amount: int) -> None:
    from chalicelib.models.accounts import Account

    if source == "credits":
        tx.update(Account(account_id), actions=[Account.credits.add(amount)], condition=Account.account_id.exists())
    else:
        tx.update(Usage(account_id, period), actions=[Usage.emails.add(-amount), Usage.updated_at.set(clock.now())])


def give_back(campaign: Campaign, amount: int, campaign_actions: list, campaign_condition) -> bool:
    """Return `amount` to where the campaign's reservation came from and apply `campaign_actions`, both or neither."""
    from chalicelib.models.campaigns import Campaign

    def write(tx: TransactWrite) -> None:
        tx.update(campaign, actions=campaign_actions, condition=Campaign.campaign_id.exists() & campaign_condition)
        if amount > 0 and campaign.reserved_from:
            _give(tx, campaign.account_id, campaign.reserved_from, campaign.reserved_period, amount)

    return transact(write)

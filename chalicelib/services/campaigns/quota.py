"""Reserving emails from the plan's allowance at send, and giving back what was not sent (R8, R10, R11).

Every change is a conditional, atomic DynamoDB transaction that moves the campaign too: two sends
against a quota that fits one can never both pass, and a give-back happens exactly once.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import Enum

from chalicelib import clock, errors
from chalicelib.log import logger
from chalicelib.models import accounts as account_store
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import usage as store
from chalicelib.models.accounts import Account
from chalicelib.models.campaigns import Campaign, CampaignStatus
from chalicelib.models.usage import Charge
from chalicelib.services.accounts import allowance
from chalicelib.services.accounts.plans import AccountStatus, Plan, monthly_email_cap, subscriber_limit
from chalicelib.services.campaigns import gate

RELEASE_RETRIES = 5


class Source(str, Enum):
    TRIAL = "trial"
    MONTHLY = "monthly"
    CREDITS = "credits"


def charge_for(account: Account, amount: int, now: datetime) -> Charge:
    """What sending `amount` emails takes from the account, and the terms under which it may."""
    plan = Plan(account.plan)
    limit = subscriber_limit(plan, account.subscriber_level)
    common = Charge(None, None, amount=amount, plan=plan.value, subscriber_limit=limit)
    if plan is Plan.TRIAL:
        return replace(common, source=Source.TRIAL.value, period=store.TRIAL_PERIOD,
                       cap=monthly_email_cap(plan, None), trial_ends_after=now)
    if plan is Plan.MONTHLY:
        return replace(common, source=Source.MONTHLY.value, period=store.month_of(now),
                       cap=monthly_email_cap(plan, account.subscriber_level))
    if plan is Plan.PAYG:
        return replace(common, source=Source.CREDITS.value, credits_bought_after=gate.credits_valid_after(now))
    return common


def take(account: Account, amount: int, now: datetime) -> Charge:
    """Take `amount` emails sent outside a campaign (test copies) from the account's allowance, atomically, on
    the terms a send is charged on, an unapproved account's too; Invalid (422, the code a send gets) when the
    plan cannot take them, Conflict when it changed meanwhile."""
    charge = charge_for(account, amount, now)
    statuses = [AccountStatus.ACTIVE.value, AccountStatus.PENDING_REVIEW.value]
    if store.take(account.account_id, charge, statuses):
        return charge
    fresh = account_store.get(account.account_id) or account
    refusal = gate.account_refusal(fresh.status, allow_pending=True) or gate.plan_refusal(gate.Facts(
        account_status=fresh.status, plan=fresh.plan, now=now, recipients=amount, used=allowance.used(fresh, now),
        trial_ends_at=fresh.trial_ends_at, trial_limit_passed_at=fresh.trial_limit_passed_at,
        subscriber_level=int(fresh.subscriber_level) if fresh.subscriber_level is not None else None,
        subscriber_count=int(fresh.subscriber_count or 0), credits=int(fresh.credits or 0),
        credits_purchased_at=fresh.credits_purchased_at))
    if refusal is not None:
        raise errors.Invalid(refusal.message or "The plan cannot take these emails now.", code=refusal.code)
    raise errors.Conflict("The account's allowance changed meanwhile; try again.", code="allowance_changed")


def give(account_id: str, charge: Charge, amount: int) -> None:
    """Give back `amount` of a charge made by `take` (emails that were never handed over for sending)."""
    store.give(account_id, charge.source, charge.period, min(amount, charge.amount))


def reserve_and_start(campaign: Campaign, account: Account, recipients: int, from_statuses: list[CampaignStatus],
                      extra_actions: list, now: datetime | None = None) -> bool:
    """Reserve `recipients` emails and move the campaign to sending, both or neither; False if either is refused."""
    now = now or clock.now()
    charge = charge_for(account, recipients, now)
    actions = [
        Campaign.status.set(CampaignStatus.SENDING.value),
        Campaign.started_at.set(now),
        Campaign.updated_at.set(now),
        Campaign.recipients.set(recipients),
        Campaign.reserved.set(recipients),
        Campaign.released.set(False),
        Campaign.queue.remove(),
        Campaign.due_at.remove(),
        Campaign.status_reason.remove(),
        *extra_actions,
    ]
    actions.append(Campaign.reserved_from.set(charge.source) if charge.source else Campaign.reserved_from.remove())
    actions.append(Campaign.reserved_period.set(charge.period) if charge.period else Campaign.reserved_period.remove())
    done = store.reserve(campaign, [s.value for s in from_statuses], actions, charge, AccountStatus.ACTIVE.value)
    if done:
        logger.info("campaign reserved and started", extra={
            "account_id": campaign.account_id, "campaign_id": campaign.campaign_id, "recipients": recipients,
            "source": charge.source})
    return done


def release_unsent(campaign: Campaign) -> int:
    """Give back what the campaign reserved but did not send or fail, exactly once; the number given back.

    R11: failed emails stay charged, and so do uncertain ones (SES may have sent them). Called when a campaign
    is sent (the sender) or cancelled. The give-back is conditional on the counters it was computed from, so
    a chunk that lands meanwhile is counted first.
    """
    for _ in range(RELEASE_RETRIES):
        fresh = campaign_store.get(campaign.account_id, campaign.campaign_id)
        if fresh is None or fresh.released:
            return 0
        charged = int(fresh.sent_count or 0) + int(fresh.failed_count or 0) + int(fresh.uncertain_count or 0)
        amount = max(int(fresh.reserved or 0) - charged, 0)
        condition = ((Campaign.released.does_not_exist() | (Campaign.released == False))  # noqa: E712 - a condition
                     & (Campaign.sent_count == fresh.sent_count) & (Campaign.failed_count == fresh.failed_count)
                     & _uncertain_is(int(fresh.uncertain_count or 0)))
        actions = [Campaign.released.set(True), Campaign.updated_at.set(clock.now())]
        if store.give_back(fresh, amount, actions, condition):
            logger.info("campaign reservation released", extra={
                "account_id": fresh.account_id, "campaign_id": fresh.campaign_id, "given_back": amount,
                "source": fresh.reserved_from})
            return amount
    logger.warning("campaign reservation not released: counters kept moving",
                   extra={"account_id": campaign.account_id, "campaign_id": campaign.campaign_id})
    return 0


def undo_start(campaign: Campaign, reason: str) -> bool:
    """Put a campaign that was moved to sending but could not be queued back to draft, with everything it
    reserved given back; False if its sending has begun meanwhile."""
    fresh = campaign_store.get(campaign.account_id, campaign.campaign_id)
    if fresh is None:
        return False
    now = clock.now()
    actions = [
        Campaign.status.set(CampaignStatus.DRAFT.value), Campaign.status_reason.set(reason),
        Campaign.released.set(True), Campaign.updated_at.set(now), Campaign.started_at.remove(),
    ]
    condition = ((Campaign.status == CampaignStatus.SENDING.value) & (Campaign.generation == fresh.generation)
                 & (Campaign.sent_count == 0) & (Campaign.failed_count == 0) & _uncertain_is(0))
    return store.give_back(fresh, int(fresh.reserved or 0), actions, condition)


def _uncertain_is(count: int):
    """A condition on the uncertain counter (campaigns older than it may not have it, which reads as 0)."""
    same = Campaign.uncertain_count == count
    return (Campaign.uncertain_count.does_not_exist() | same) if count == 0 else same

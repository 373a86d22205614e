"""What expires on a schedule: pay-as-you-go credits (R11), trials (R8), unconfirmed opt-ins (R13), and items
past their TTL, which DynamoDB may delete up to 48 hours late."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from chalicelib import clock
from chalicelib.models import accounts as account_store
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import retention as store
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.accounts import Account
from chalicelib.models.base import BaseModel, all_models
from chalicelib.models.campaigns import CampaignStatus
from chalicelib.models.lists import ContactList
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.services.accounts import audit
from chalicelib.services.accounts.audit import Action, Origin
from chalicelib.services.accounts.plans import Plan
from chalicelib.services.campaigns import gate
from chalicelib.services.retention.rules import ACTOR, PAGE, Budget, Outcome, per_account

SUBSCRIBER_CHUNK = 25                       # unconfirmed members deleted (and uncounted) per transaction
UNCONFIRMED_AFTER = timedelta(days=30)      # R13: a double opt-in nobody confirmed


# --- pay-as-you-go credits 12 months after the last purchase (R11) --------------------------------

def expire_credits(remaining_ms: Callable[[], int], now: datetime | None = None) -> Outcome:
    """Set to 0 the credits of every account whose last purchase is more than 12 months old."""
    now = now or clock.now()
    budget = Budget(remaining_ms)
    outcome = Outcome("expire_credits")
    cutoff = gate.credits_valid_after(now)
    stale = (Account.credits > 0) & (Account.credits_purchased_at.does_not_exist()
                                     | (Account.credits_purchased_at < cutoff))

    handle = per_account(outcome, budget, _expire_credits, now, outcome)
    outcome.done = store.sweep("expired_credits", Account, store.accounts_where(stale, PAGE), handle, budget.left)
    return outcome


def _expire_credits(account: Account, now: datetime, outcome: Outcome) -> None:
    credits = int(account.credits or 0)
    purchased_at = account.credits_purchased_at
    unchanged = (Account.credits == credits) & (
        Account.credits_purchased_at.does_not_exist() if purchased_at is None
        else Account.credits_purchased_at == purchased_at)
    # A purchase or a send in between changes the balance: it wins, and the next run looks again.
    if not account_store.change(account, [Account.credits.set(0), Account.updated_at.set(now)], unchanged):
        outcome.counts["changed_meanwhile"] += 1
        return
    audit.record(account.account_id, Action.CREDITS_EXPIRED, Origin(route="schedule"), ACTOR,
                 details={"credits": credits, "purchased_at": clock.iso(purchased_at)})
    outcome.counts["accounts"] += 1
    outcome.counts["credits"] += credits


# --- trials past 30 days (R8) ---------------------------------------------------------------------

def expire_trials(remaining_ms: Callable[[], int], now: datetime | None = None) -> Outcome:
    """Mark ended trials, and send their scheduled and held campaigns back to draft with the reason.

    Sending is refused by the gate from the trial's end on; lists and subscribers stay manageable.
    """
    now = now or clock.now()
    budget = Budget(remaining_ms)
    outcome = Outcome("expire_trials")
    ended = ((Account.plan == Plan.TRIAL.value) & (Account.trial_ends_at <= now)
             & Account.trial_expired_at.does_not_exist())

    handle = per_account(outcome, budget, _expire_trial, now, outcome)
    outcome.done = store.sweep("expired_trials", Account, store.accounts_where(ended, PAGE), handle, budget.left)
    return outcome


def _expire_trial(account: Account, now: datetime, outcome: Outcome) -> None:
    from chalicelib.services.campaigns import campaigns

    reason = gate.trial_expired(account.trial_limit_passed_at).message or ""
    waiting = [CampaignStatus.SCHEDULED, CampaignStatus.IN_REVIEW]
    for campaign in campaign_store.in_status(account.account_id, waiting):
        if campaigns.back_to_draft(campaign, [CampaignStatus(campaign.status)], reason):
            outcome.counts["campaigns_to_draft"] += 1
    # Marked last: a run cut short above finds the account again.
    if account_store.change(account, [Account.trial_expired_at.set(now), Account.updated_at.set(now)],
                            (Account.plan == Plan.TRIAL.value) & (Account.trial_ends_at == account.trial_ends_at)
                            & Account.trial_expired_at.does_not_exist()):
        outcome.counts["trials"] += 1


# --- double opt-in members nobody confirmed within 30 days (R13) ----------------------------------

def purge_unconfirmed_subscribers(remaining_ms: Callable[[], int], now: datetime | None = None) -> Outcome:
    """Delete members still pending 30 days after they were added (and last asked), keeping counts exact."""
    now = now or clock.now()
    budget = Budget(remaining_ms)
    outcome = Outcome("purge_unconfirmed_subscribers")
    before = now - UNCONFIRMED_AFTER

    def handle(lists: list[ContactList]) -> int:
        for n, contact_list in enumerate(lists):
            if not budget.left() or not _purge_unconfirmed(contact_list, before, budget, outcome):
                return n
        return len(lists)

    outcome.done = store.sweep("unconfirmed_subscribers", ContactList, store.every_list(PAGE), handle, budget.left)
    return outcome


def _purge_unconfirmed(contact_list: ContactList, before: datetime, budget: Budget, outcome: Outcome) -> bool:
    key = subscriber_store.list_key(contact_list.account_id, contact_list.list_id)
    chunk: list[Subscriber] = []
    for subscriber in store.unconfirmed(key, before):
        chunk.append(subscriber)
        if len(chunk) == SUBSCRIBER_CHUNK:
            outcome.counts["subscribers"] += _delete_pending(chunk)
            chunk = []
            if not budget.left():
                return False
    outcome.counts["subscribers"] += _delete_pending(chunk)
    return True


def _delete_pending(chunk: list[Subscriber]) -> int:
    """Delete members that are still pending (a confirmation meanwhile wins); how many went."""
    return subscriber_store.delete_each_counted(chunk, only_in=SubscriberStatus.PENDING)


# --- expired items: the backstop to DynamoDB's TTL, which may lag by up to 48 hours ----------------

def ttl_tables() -> list[type[BaseModel]]:
    """Every model with a TTL attribute whose expired items this module deletes."""
    return [model for model in all_models() if store.ttl_attribute(model) is not None]


def purge_expired_items(remaining_ms: Callable[[], int], now: datetime | None = None) -> Outcome:
    """Delete items whose TTL has passed (events, the delivery ledger, …), table by table."""
    now = now or clock.now()
    budget = Budget(remaining_ms)
    outcome = Outcome("purge_expired_items")
    for model in ttl_tables():
        name = model.Meta.logical_name

        def handle(items: list[BaseModel], name: str = name) -> int:
            if not budget.left():
                return 0
            outcome.counts[name] += store.delete_many(items)
            return len(items)

        if not store.sweep(f"expired#{name}", model, store.expired_scan(model, now, PAGE), handle, budget.left):
            outcome.done = False
            break
    return outcome

"""Purging an account (R30, R33): every item of every table, its SES identities and its export files.

A closed account is purged once its grace period is over; an inactive one by services/retention/inactivity.py.
The account is marked `purging` first, then each table is emptied in an order that keeps every item reachable
until its step is done, so a purge cut short is finished by the next run.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib import clock
from chalicelib.log import logger
from chalicelib.models import accounts as account_store
from chalicelib.models import domains as domain_store
from chalicelib.models import reputation as reputation_store
from chalicelib.models import retention as store
from chalicelib.models import users as user_store
from chalicelib.models.accounts import Account
from chalicelib.models.base import BaseModel, all_models
from chalicelib.models.campaigns import Campaign
from chalicelib.models.credentials import Credential
from chalicelib.models.domains import Domain
from chalicelib.models.lists import ContactList
from chalicelib.models.users import Login
from chalicelib.services.accounts.plans import AccountStatus
from chalicelib.services.retention.rules import Budget, Outcome, apply_to

DELETE_BATCH = 100                          # items deleted per round (BatchWriteItem sends 25 at a time)
CLOSED_GRACE = timedelta(days=89)           # R30: at most 3 months; used when a closed account names no purge_after

# How the purge reaches a table's items of one account, by the name of the table's hash key.
ACCOUNT_KEYED = "account_id"       # the account id itself
LIST_KEYED = "list_key"            # "<account_id>#<list_id>": one hash key per list of the account
CAMPAIGN_KEYED = "campaign_key"    # "<account_id>#<campaign_id>": one per campaign
# Tables keyed by something else, each with its own step below.
REACHED_THROUGH = {
    "logins": "an email address -> its user: found through the account's users",
    "domain_claims": "a domain -> the account that owns it: found through the account's domains",
    "reputation": "a day -> each account's SES report counts that day, and the holds: found by the account's "
                  "id under each day since it was created, and under the holds",
}
NOT_ACCOUNT_DATA = {
    "throttles": "keyed by a keyed hash of an address or IP, never by an account; expires by TTL within hours",
    "jobs": "where the retention jobs stopped: no customer data",
}


class Identities(Protocol):
    """The mail service's sending identities (chalicelib.identities)."""

    def delete_domain(self, domain: str) -> None: ...


class ExportFiles(Protocol):
    """The files of account exports (chalicelib.storage.ExportFiles)."""

    def delete_under(self, prefix: str) -> int: ...


@dataclass(frozen=True)
class Outside:
    """Where an account's data lives besides DynamoDB."""

    identities: Identities
    files: ExportFiles


def outside() -> Outside:
    """The real ones: SES identities and the exports bucket."""
    from chalicelib import identities, storage

    return Outside(identities, storage.ExportFiles())


# --- purging an account: all of its data ---------------------------------------------------------

def reach(model: type[BaseModel]) -> str | None:
    """How a purge finds the account's items in the model's table, or None if it cannot."""
    name = model.Meta.logical_name
    if name in REACHED_THROUGH or name in NOT_ACCOUNT_DATA:
        return name
    key = store.hash_key_name(model)
    return key if key in (ACCOUNT_KEYED, LIST_KEYED, CAMPAIGN_KEYED) else None


def _keyed(how: str) -> list[type[BaseModel]]:
    return [model for model in all_models() if reach(model) == how]


def purge(account_id: str, budget: Budget, elsewhere: Outside, outcome: Outcome, reason: str) -> None:
    account = account_store.get(account_id)
    if account is None:
        return
    if account.status != AccountStatus.PURGING.value:
        account_store.change(account, mark_purging(reason))
    counts: Counter = Counter()
    done = _delete_account_data(account, budget, elsewhere, counts)
    if done:
        done = store.delete_if(Account(account_id), Account.status == AccountStatus.PURGING.value)
        counts["accounts"] += int(done)
    outcome.counts.update(counts)
    outcome.counts["accounts_purged" if done else "accounts_unfinished"] += 1
    logger.info("account purge " + ("finished" if done else "cut short"),
                extra={"account_id": account_id, "reason": account.status_reason or reason, **counts})
    outcome.done = outcome.done and done


def mark_purging(reason: str) -> list:
    return [Account.status.set(AccountStatus.PURGING.value), Account.status_reason.set(reason),
            Account.updated_at.set(clock.now())]


def _delete_account_data(account: Account, budget: Budget, elsewhere: Outside, counts: Counter) -> bool:
    """Every step until one runs out of time; the order keeps each item reachable until its step is done."""
    account_id = account.account_id
    account_tables = [m for m in _keyed(ACCOUNT_KEYED) if m.Meta.logical_name not in ("accounts", "audit")]
    steps: list[Callable[[], bool]] = [
        lambda: _delete_under(Credential, account_id, budget, counts),   # first: no one gets in any more
        lambda: _delete_logins(account_id, budget, counts),
        lambda: _delete_export_files(account_id, budget, elsewhere, counts),
        lambda: _delete_domains(account_id, budget, elsewhere, counts),
        lambda: _delete_children(ContactList, LIST_KEYED, account_id, budget, counts),
        lambda: _delete_children(Campaign, CAMPAIGN_KEYED, account_id, budget, counts),
        *[lambda model=model: _delete_under(model, account_id, budget, counts) for model in account_tables],
        lambda: _delete_reputation(account, counts),
        # R4: the audit trail is kept until the account's data is deleted.
        lambda: _delete_under(_model("audit"), account_id, budget, counts),
    ]
    return all(step() for step in steps)


def _model(logical_name: str) -> type[BaseModel]:
    return next(model for model in all_models() if model.Meta.logical_name == logical_name)


def _delete_under(model: type[BaseModel], hash_key: str, budget: Budget, counts: Counter) -> bool:
    while budget.left():
        items = store.first_items(model, hash_key, DELETE_BATCH)
        if not items:
            return True
        counts[model.Meta.logical_name] += store.delete_many(items)
    return False


def _delete_export_files(account_id: str, budget: Budget, elsewhere: Outside, counts: Counter) -> bool:
    while budget.left():
        deleted = elsewhere.files.delete_under(f"{account_id}/")
        if not deleted:
            return True
        counts["export_files"] += deleted
    return False


def _delete_logins(account_id: str, budget: Budget, counts: Counter) -> bool:
    for user in user_store.of_account(account_id):
        if not budget.left():
            return False
        counts["logins"] += store.delete_if(Login(user.email), Login.account_id == account_id)
    return True


def _delete_reputation(account: Account, counts: Counter) -> bool:
    created = datetime.fromisoformat(account.created_at.replace("Z", "+00:00"))
    counts["reputation"] += reputation_store.forget(account.account_id, created, clock.now())
    return True


def _delete_domains(account_id: str, budget: Budget, elsewhere: Outside, counts: Counter) -> bool:
    for domain in Domain.query(account_id, consistent_read=True):
        if not budget.left():
            return False
        elsewhere.identities.delete_domain(domain.name)
        counts["ses_identities"] += 1
        if domain_store.release(account_id, domain.name):
            counts["domains"] += 1
            counts["domain_claims"] += 1
    return True


def _delete_children(parent: type[BaseModel], how: str, account_id: str, budget: Budget, counts: Counter) -> bool:
    """Delete the items of every table keyed "<account_id>#<parent id>", parent by parent."""
    children = _keyed(how)
    parent_id = store.key_names(parent)[1]
    for item in store.first_items(parent, account_id, limit=None):
        child_key = f"{account_id}#{getattr(item, parent_id)}"
        for model in children:
            if not _delete_under(model, child_key, budget, counts):
                return False
    return True


def finish_purges(budget: Budget, elsewhere: Outside, outcome: Outcome) -> None:
    for account in store.accounts_in(AccountStatus.PURGING.value):
        if not budget.left():
            outcome.done = False
            return
        apply_to(outcome, account.account_id, purge, account.account_id, budget, elsewhere, outcome,
              account.status_reason or "")


# --- closed accounts past their grace period (R30, R33) -------------------------------------------

def purge_closed_accounts(remaining_ms: Callable[[], int], elsewhere: Outside | None = None,
                          now: datetime | None = None) -> Outcome:
    """Purge every closed account whose grace period is over (and finish purges cut short)."""
    elsewhere = elsewhere or outside()
    now = now or clock.now()
    budget = Budget(remaining_ms)
    outcome = Outcome("purge_closed_accounts")
    finish_purges(budget, elsewhere, outcome)
    for account in store.accounts_in(AccountStatus.CLOSED.value):
        if not outcome.done or not budget.left():
            outcome.done = False
            break
        if not grace_over(account, now):
            outcome.counts["closed_in_grace"] += 1
            continue
        if account_store.change(account, mark_purging("closed"), Account.status == AccountStatus.CLOSED.value):
            apply_to(outcome, account.account_id, purge, account.account_id, budget, elsewhere, outcome, "closed")
    return outcome


def grace_over(account: Account, now: datetime) -> bool:
    """Whether a closed account's data is due for deletion (R30: at most 3 months after closing)."""
    if account.purge_after is not None:
        return account.purge_after <= now
    closed_at = account.closed_at or account.updated_at
    return closed_at + CLOSED_GRACE <= now

"""Retention (R4, R8, R11, R13, R30): the scheduled purges and expiries.

Every rule is idempotent, works within the invocation's time budget, and resumes where it stopped: the
state lives in the data (an account marked `purging`, items already deleted) or in a saved cursor
(models/retention.py). Each run reports counts per table or outcome, never an address.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from chalicelib import clock, errors
from chalicelib.log import logger, publish_counts
from chalicelib.models import accounts as account_store
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import credentials as credential_store
from chalicelib.models import domains as domain_store
from chalicelib.models import retention as store
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models import users as user_store
from chalicelib.models.accounts import Account
from chalicelib.models.base import BaseModel, all_models
from chalicelib.models.campaigns import Campaign, CampaignStatus
from chalicelib.models.credentials import Credential
from chalicelib.models.domains import Domain
from chalicelib.models.lists import ContactList
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.models.users import Login, User
from chalicelib.outbound import Mailer
from chalicelib.services.accounts import account_mail, audit
from chalicelib.services.accounts.audit import Action, Actor, Origin
from chalicelib.services.accounts.auth import Kind
from chalicelib.services.accounts.plans import AccountStatus, Plan
from chalicelib.services.campaigns import gate

RESERVE_MS = 2_000                          # stop this long before the invocation's end
PAGE = 100                                  # items read per page of a scan
DELETE_BATCH = 100                          # items deleted per round (BatchWriteItem sends 25 at a time)
SUBSCRIBER_CHUNK = 25                       # unconfirmed members deleted (and uncounted) per transaction
INACTIVITY_LIMIT = timedelta(days=730)      # R30: no login by any user for 2 years
INACTIVITY_NOTICE = timedelta(days=30)      # the warning goes out this long before
UNCONFIRMED_AFTER = timedelta(days=30)      # R13: a double opt-in nobody confirmed
CLOSED_GRACE = timedelta(days=89)           # R30: at most 3 months; used when a closed account names no purge_after
ACTOR = Actor(None, "system")

# How the purge reaches a table's items of one account, by the name of the table's hash key.
ACCOUNT_KEYED = "account_id"       # the account id itself
LIST_KEYED = "list_key"            # "<account_id>#<list_id>": one hash key per list of the account
CAMPAIGN_KEYED = "campaign_key"    # "<account_id>#<campaign_id>": one per campaign
# Tables keyed by something else, each with its own step below.
REACHED_THROUGH = {
    "logins": "an email address -> its user: found through the account's users",
    "domain_claims": "a domain -> the account that owns it: found through the account's domains",
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


class Budget:
    """The time left in this invocation; rules stop cleanly before it runs out."""

    def __init__(self, remaining_ms: Callable[[], int], reserve_ms: int = RESERVE_MS) -> None:
        self._remaining_ms = remaining_ms
        self._reserve_ms = reserve_ms

    def left(self) -> bool:
        return self._remaining_ms() > self._reserve_ms


@dataclass
class Outcome:
    """What one run of a rule did: counts by table or by what happened, and whether it reached the end."""

    rule: str
    counts: Counter = field(default_factory=Counter)
    done: bool = True

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "done": self.done, **dict(sorted(self.counts.items()))}


def report(outcome: Outcome) -> dict[str, object]:
    """Log and publish a run's counts as metrics (never an address), and return them."""
    summary = outcome.as_dict()
    logger.info("retention rule ran", extra=summary)
    publish_counts(f"retention.{outcome.rule}", {**outcome.counts, "unfinished": int(not outcome.done)})
    return summary


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


def _purge(account_id: str, budget: Budget, elsewhere: Outside, outcome: Outcome, reason: str) -> None:
    account = account_store.get(account_id)
    if account is None:
        return
    if account.status != AccountStatus.PURGING.value:
        account_store.change(account, _purging(reason))
    counts: Counter = Counter()
    done = _delete_account_data(account_id, budget, elsewhere, counts)
    if done:
        done = store.delete_if(Account(account_id), Account.status == AccountStatus.PURGING.value)
        counts["accounts"] += int(done)
    outcome.counts.update(counts)
    outcome.counts["accounts_purged" if done else "accounts_unfinished"] += 1
    logger.info("account purge " + ("finished" if done else "cut short"),
                extra={"account_id": account_id, "reason": account.status_reason or reason, **counts})
    outcome.done = outcome.done and done


def _purging(reason: str) -> list:
    return [Account.status.set(AccountStatus.PURGING.value), Account.status_reason.set(reason),
            Account.updated_at.set(clock.now())]


def _delete_account_data(account_id: str, budget: Budget, elsewhere: Outside, counts: Counter) -> bool:
    """Every step until one runs out of time; the order keeps each item reachable until its step is done."""
    account_tables = [m for m in _keyed(ACCOUNT_KEYED) if m.Meta.logical_name not in ("accounts", "audit")]
    steps: list[Callable[[], bool]] = [
        lambda: _delete_under(Credential, account_id, budget, counts),   # first: no one gets in any more
        lambda: _delete_logins(account_id, budget, counts),
        lambda: _delete_export_files(account_id, budget, elsewhere, counts),
        lambda: _delete_domains(account_id, budget, elsewhere, counts),
        lambda: _delete_children(ContactList, LIST_KEYED, account_id, budget, counts),
        lambda: _delete_children(Campaign, CAMPAIGN_KEYED, account_id, budget, counts),
        *[lambda model=model: _delete_under(model, account_id, budget, counts) for model in account_tables],
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


def _finish_purges(budget: Budget, elsewhere: Outside, outcome: Outcome) -> None:
    for account in store.accounts_in(AccountStatus.PURGING.value):
        if not budget.left():
            outcome.done = False
            return
        _each(outcome, account.account_id, _purge, account.account_id, budget, elsewhere, outcome,
              account.status_reason or "")


# --- closed accounts past their grace period (R30, R33) -------------------------------------------

def purge_closed_accounts(remaining_ms: Callable[[], int], elsewhere: Outside | None = None,
                          now: datetime | None = None) -> Outcome:
    """Purge every closed account whose grace period is over (and finish purges cut short)."""
    elsewhere = elsewhere or outside()
    now = now or clock.now()
    budget = Budget(remaining_ms)
    outcome = Outcome("purge_closed_accounts")
    _finish_purges(budget, elsewhere, outcome)
    for account in store.accounts_in(AccountStatus.CLOSED.value):
        if not outcome.done or not budget.left():
            outcome.done = False
            break
        if not grace_over(account, now):
            outcome.counts["closed_in_grace"] += 1
            continue
        if account_store.change(account, _purging("closed"), Account.status == AccountStatus.CLOSED.value):
            _each(outcome, account.account_id, _purge, account.account_id, budget, elsewhere, outcome, "closed")
    return outcome


def grace_over(account: Account, now: datetime) -> bool:
    """Whether a closed account's data is due for deletion (R30: at most 3 months after closing)."""
    if account.purge_after is not None:
        return account.purge_after <= now
    closed_at = account.closed_at or account.updated_at
    return closed_at + CLOSED_GRACE <= now


# --- accounts nobody signed in to for 2 years (R30) -------------------------------------------------

class Step(str, Enum):
    NONE = "none"        # active recently enough
    WARN = "warn"        # tell the users: the purge comes in 30 days unless someone signs in
    WAIT = "wait"        # warned; the 30 days (or the 2 years) are not over
    PURGE = "purge"      # 2 years without a login, and warned at least 30 days ago


def inactivity_step(last_active: datetime, warned_at: datetime | None, now: datetime) -> Step:
    """What R30 asks for an account last used at `last_active` (a warning older than that no longer counts)."""
    if warned_at is not None and warned_at <= last_active:
        warned_at = None
    purge_due = last_active + INACTIVITY_LIMIT
    if warned_at is None:
        return Step.WARN if now >= purge_due - INACTIVITY_NOTICE else Step.NONE
    if now >= purge_due and now >= warned_at + INACTIVITY_NOTICE:
        return Step.PURGE
    return Step.WAIT


def last_active(account: Account, users: list[User], api_keys: list[Credential]) -> datetime:
    """The latest sign-in of any user or use of an API key, or the account's creation."""
    moments = [datetime.fromisoformat(account.created_at)]
    moments += [user.last_login_at for user in users if user.last_login_at is not None]
    moments += [key.last_used_at for key in api_keys if key.last_used_at is not None]
    return max(moments)


def purge_inactive_accounts(remaining_ms: Callable[[], int], mailer: Mailer,
                            elsewhere: Outside | None = None, now: datetime | None = None) -> Outcome:
    """Warn the users of accounts unused for 2 years less 30 days; purge those unused for 2 years and warned."""
    elsewhere = elsewhere or outside()
    now = now or clock.now()
    budget = Budget(remaining_ms)
    outcome = Outcome("purge_inactive_accounts")
    skip = [AccountStatus.CLOSED.value, AccountStatus.PURGING.value]
    candidates = store.accounts_where(
        ~Account.status.is_in(*skip) & (Account.created_at <= clock.iso(now - INACTIVITY_LIMIT + INACTIVITY_NOTICE)),
        PAGE)

    handle = _per_account(outcome, budget, _inactivity, now, mailer, budget, elsewhere, outcome)
    outcome.done = store.sweep("inactive_accounts", Account, candidates, handle, budget.left) and outcome.done
    return outcome


def _inactivity(account: Account, now: datetime, mailer: Mailer, budget: Budget, elsewhere: Outside,
                outcome: Outcome) -> None:
    users = user_store.of_account(account.account_id)
    api_keys = list(credential_store.all_of_kind(account.account_id, Kind.API_KEY.value))
    active = last_active(account, users, api_keys)
    warned_at = account.inactivity_warned_at
    if warned_at is not None and warned_at <= active:
        # Someone signed in after the warning: it no longer holds.
        if account_store.change(account, [Account.inactivity_warned_at.remove()],
                                Account.inactivity_warned_at == warned_at):
            outcome.counts["warnings_withdrawn"] += 1
        warned_at = None
    step = inactivity_step(active, warned_at, now)
    if step is Step.WARN:
        _warn(account, users, active, now, mailer, outcome)
    elif step is Step.PURGE:
        unchanged = (Account.status == account.status) & (Account.inactivity_warned_at == warned_at)
        if store.begin_purge(account, _purging("inactive"), unchanged, users, api_keys):
            _purge(account.account_id, budget, elsewhere, outcome, reason="inactive")
        else:
            outcome.counts["purges_called_off"] += 1
    elif step is Step.WAIT:
        outcome.counts["warned_waiting"] += 1


def _warn(account: Account, users: list[User], active: datetime, now: datetime, mailer: Mailer,
          outcome: Outcome) -> None:
    """Warn every user once: the warning is recorded first (so no second run sends it again), and taken
    back if none of the emails could be sent (the next run tries again)."""
    if not account_store.change(account, [Account.inactivity_warned_at.set(now)],
                                Account.inactivity_warned_at.does_not_exist()):
        return
    purge_on = max(active + INACTIVITY_LIMIT, now + INACTIVITY_NOTICE)
    sent = 0
    for user in users:
        try:
            mailer.send(account_mail.inactivity_warning(user.email, account.account_id, purge_on.strftime("%d %B %Y")))
            sent += 1
        except errors.UpstreamError:
            logger.error("inactivity warning not sent", extra={"account_id": account.account_id,
                                                                "user_id": user.user_id})
    if users and not sent:
        account_store.change(account, [Account.inactivity_warned_at.remove()], Account.inactivity_warned_at == now)
        outcome.counts["warnings_failed"] += 1
        return
    audit.record(account.account_id, Action.INACTIVITY_WARNING_SENT, Origin(route="schedule"), ACTOR,
                 details={"users": sent, "purge_on": clock.iso(purge_on)})
    outcome.counts["warnings_sent"] += 1


# --- pay-as-you-go credits 12 months after the last purchase (R11) --------------------------------

def expire_credits(remaining_ms: Callable[[], int], now: datetime | None = None) -> Outcome:
    """Set to 0 the credits of every account whose last purchase is more than 12 months old."""
    now = now or clock.now()
    budget = Budget(remaining_ms)
    outcome = Outcome("expire_credits")
    cutoff = gate.credits_valid_after(now)
    stale = (Account.credits > 0) & (Account.credits_purchased_at.does_not_exist()
                                     | (Account.credits_purchased_at < cutoff))

    handle = _per_account(outcome, budget, _expire_credits, now, outcome)
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

    handle = _per_account(outcome, budget, _expire_trial, now, outcome)
    outcome.done = store.sweep("expired_trials", Account, store.accounts_where(ended, PAGE), handle, budget.left)
    return outcome


def _expire_trial(account: Account, now: datetime, outcome: Outcome) -> None:
    from chalicelib.services.campaigns import campaigns

    reason = gate.trial_expired().message or ""
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


# --- the hourly catch-up -------------------------------------------------------------------------

def resume_unfinished(remaining_ms: Callable[[], int], mailer: Mailer, elsewhere: Outside | None = None,
                      now: datetime | None = None) -> Outcome:
    """Finish purges cut short, then go on with every daily pass that stopped before its end."""
    elsewhere = elsewhere or outside()
    budget = Budget(remaining_ms)
    outcome = Outcome("resume_unfinished")
    _finish_purges(budget, elsewhere, outcome)
    passes: dict[str, Callable[[], Outcome]] = {
        "inactive_accounts": lambda: purge_inactive_accounts(remaining_ms, mailer, elsewhere, now),
        "expired_credits": lambda: expire_credits(remaining_ms, now),
        "expired_trials": lambda: expire_trials(remaining_ms, now),
        "unconfirmed_subscribers": lambda: purge_unconfirmed_subscribers(remaining_ms, now),
    }
    for job in store.unfinished_jobs():
        if job not in passes:
            continue
        if not budget.left():
            outcome.done = False
            break
        resumed = passes[job]()
        outcome.counts.update({f"{job}.{name}": value for name, value in resumed.counts.items()})
        outcome.done = outcome.done and resumed.done
    return outcome


def _per_account(outcome: Outcome, budget: Budget, work: Callable[..., None], *args: Any
                 ) -> Callable[[list[Account]], int]:
    """A sweep's page handler: `work(account, *args)` for each account while the budget lasts; how many it did."""
    def handle(accounts: list[Account]) -> int:
        for n, account in enumerate(accounts):
            if not budget.left():
                return n
            _each(outcome, account.account_id, work, account, *args)
        return len(accounts)

    return handle


def _each(outcome: Outcome, account_id: str, work: Callable[..., object], *args: object) -> None:
    """Apply a rule to one account; a failure is logged and counted, and the next pass tries it again."""
    try:
        work(*args)
    except Exception as exc:  # noqa: BLE001 - one account's failure must not stop the rule for every other one
        logger.exception("retention rule failed for an account", extra={
            "rule": outcome.rule, "account_id": account_id, "error": type(exc).__name__})
        outcome.counts["failed"] += 1

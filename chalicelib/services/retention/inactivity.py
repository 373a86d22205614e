"""Accounts nobody used for two years (R30): their users are warned 30 days before, then the account is purged.

A sign-in or an API key's use in between withdraws the warning.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum

from chalicelib import clock, errors
from chalicelib.log import logger
from chalicelib.models import accounts as account_store
from chalicelib.models import credentials as credential_store
from chalicelib.models import retention as store
from chalicelib.models import users as user_store
from chalicelib.models.accounts import Account
from chalicelib.models.credentials import Credential
from chalicelib.models.users import User
from chalicelib.outbound import Mailer
from chalicelib.services.accounts import account_mail, audit
from chalicelib.services.accounts.audit import Action, Origin
from chalicelib.services.accounts.auth import Kind
from chalicelib.services.accounts.plans import AccountStatus
from chalicelib.services.retention.account_purge import Outside, mark_purging, outside, purge
from chalicelib.services.retention.rules import ACTOR, PAGE, Budget, Outcome, per_account

INACTIVITY_LIMIT = timedelta(days=730)      # R30: no login by any user for 2 years
INACTIVITY_NOTICE = timedelta(days=30)      # the warning goes out this long before


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

    handle = per_account(outcome, budget, _inactivity, now, mailer, budget, elsewhere, outcome)
    outcome.done = store.sweep("inactive_accounts", Account, candidates, handle, budget.left) and outcome.done
    return outcome


def _inactivity(account: Account, now: datetime, mailer: Mailer, budget: Budget, elsewhere: Outside,
                outcome: Outcome) -> None:
    users = user_store.of_account(account.account_id)
    api_keys = list(credential_store.all_of_kind(account.account_id, Kind.API_KEY.value))
    active = last_active(account, users, api_keys)
    warned_at: datetime | None = account.inactivity_warned_at
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
        if store.begin_purge(account, mark_purging("inactive"), unchanged, users, api_keys):
            purge(account.account_id, budget, elsewhere, outcome, reason="inactive")
        else:
            outcome.counts["purges_called_off"] += 1
    elif step is Step.WAIT:
        outcome.counts["warned_waiting"] += 1


def _warn(account: Account, users: list[User], active: datetime, now: datetime, mailer: Mailer,
          outcome: Outcome) -> None:
    """Warn every user once (not those merely invited: they never joined): the warning is recorded first (so no
    second run sends it again), and taken back if none of the emails could be sent (the next run tries again)."""
    users = [user for user in users if user.is_active]
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

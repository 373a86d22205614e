"""Closing an account (R33): sending stops at once; the data stays readable, correctable and exportable for a
grace period (settings: closed_account_grace_days), after which the scheduled purge deletes it (R30).

While closed, nothing new is made or sent (services/accounts/accounts.ensure_open, and the send gate's account_closed).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import clock, errors
from chalicelib.config import get_settings
from chalicelib.log import logger
from chalicelib.models import accounts as store
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import users
from chalicelib.models.accounts import Account
from chalicelib.models.campaigns import CampaignStatus
from chalicelib.outbound import Mailer
from chalicelib.services.accounts import account_mail, accounts, audit, auth
from chalicelib.services.accounts.audit import Action, Origin
from chalicelib.services.accounts.auth import Principal
from chalicelib.services.accounts.plans import AccountStatus
from chalicelib.services.campaigns import campaigns

# Every campaign that could still send: closing cancels it, which gives its unsent reservation back.
UNFINISHED = (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.STOPPED, CampaignStatus.SCHEDULED,
              CampaignStatus.IN_REVIEW)


def close(principal: Principal, origin: Origin, mailer: Mailer) -> Account:
    """Close the caller's account (the route needs `account:close`, the owner's alone: handlers/access.py):
    nothing new is made or sent, unfinished campaigns are cancelled, the owner is emailed the purge date.
    Closing a closed account changes nothing but finishes the cancellations of a close that was interrupted."""
    account = accounts.get(principal.account_id)
    now = clock.now()
    purge_after = now + timedelta(days=get_settings().closed_account_grace_days)
    newly_closed = account.status not in accounts.CLOSED_STATUSES and store.change(account, [
        Account.status.set(AccountStatus.CLOSED.value), Account.closed_at.set(now),
        Account.purge_after.set(purge_after), Account.updated_at.set(now), Account.status_reason.remove(),
    ], ~Account.status.is_in(*accounts.CLOSED_STATUSES))
    if account.status == AccountStatus.PURGING.value:
        return account
    cancelled = stop_sending(account.account_id)
    if newly_closed:
        audit.record(account.account_id, Action.ACCOUNT_CLOSED, origin, auth.actor_of(principal),
                     details={"purge_after": clock.iso(purge_after), "campaigns_cancelled": cancelled})
        logger.info("account closed", extra={"account_id": account.account_id, "campaigns_cancelled": cancelled})
        _confirm(account, purge_after, mailer)
    return accounts.get(account.account_id)


def stop_sending(account_id: str) -> int:
    """Cancel every unfinished campaign of the account (the sender drops their next chunk); how many."""
    cancelled = 0
    for campaign in campaign_store.of_account_in(account_id, UNFINISHED):
        try:
            campaigns.cancel(account_id, campaign.campaign_id)
        except errors.Conflict:   # it finished (or was cancelled) meanwhile
            continue
        cancelled += 1
    return cancelled


def _confirm(account: Account, purge_after: datetime, mailer: Mailer) -> None:
    owner = users.get(account.account_id, account.owner_user_id)
    if owner is None:
        return
    purge_on = f"{purge_after.day} {purge_after:%B %Y}"
    try:
        mailer.send(account_mail.account_closed(owner.email, account.account_id, purge_on,
                                                get_settings().link("/v1/account/export")))
    except errors.UpstreamError:
        # The account is closed either way, and its answer names the purge date.
        logger.error("account closed email not sent", extra={"account_id": account.account_id})

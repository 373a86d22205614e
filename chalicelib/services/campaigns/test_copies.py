"""What a campaign's test copies must pass before they go (R5, R8, R10, R11, R21, R34).

A test copy is a real email from the customer's sender, so it is held to what a send is held to: until staff
approve the account it goes only to the account's own users, at their verified addresses; content the
prohibited-content screen matches is not sent (staff approval of the campaign lifts that); the copies are
counted against the trial's 100 emails and the plan like any email sent; and an account sends at most
`TEST_COPIES_PER_DAY` of them per UTC day. A suspended or closed account sends none (the gate's account refusal).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib import errors
from chalicelib.models import users
from chalicelib.models.accounts import Account
from chalicelib.models.usage import Charge
from chalicelib.services.accounts import throttle
from chalicelib.services.accounts.plans import AccountStatus
from chalicelib.services.campaigns import quota

if TYPE_CHECKING:   # the screen loads with the first campaign it reads, not with the module
    from chalicelib.services.campaigns.screening import Match

TEST_COPIES_PER_DAY = throttle.Limit(
    "test-copies", 50, timedelta(days=1), code="test_copy_limit",
    refusal="An account can send at most 50 test copies per day (UTC), and this request would pass that limit; "
            "nothing was sent. Try again with fewer addresses, or after midnight UTC.")


def check_recipients(account: Account, recipients: list[str]) -> None:
    """Until staff approve the account (R5), test copies go only to its users' verified addresses (422)."""
    if account.status != AccountStatus.PENDING_REVIEW.value:
        return
    own = {user.email: user for user in users.of_account(account.account_id)}
    strangers = [address for address in recipients if address not in own]
    if strangers:
        raise errors.Invalid(f"Until our staff approve the account, test copies go only to the addresses of its "
                             f"users, and these are not: {', '.join(strangers)}.", code="test_recipient_not_allowed")
    unverified = [address for address in recipients if own[address].email_verified_at is None]
    if unverified:
        raise errors.Invalid(f"Until our staff approve the account, test copies go only to its users' verified "
                             f"addresses; verify {', '.join(unverified)} first with the link we emailed "
                             "(POST /v1/account/verification-email sends a new one).",
                             code="test_recipient_not_allowed")


def check_content(matches: list[Match]) -> None:
    """Content the R21 screen matches is not sent as a test copy (422 naming what matched)."""
    if matches:
        found = "; ".join(f'"{m.term}" ({m.category.replace("_", " ")}) in the {m.where}' for m in matches)
        raise errors.Invalid(f"The campaign matches the prohibited-content screen, so no test copy is sent: {found}. "
                             "Change it, or send the campaign to have our staff review it.", code="prohibited_content")


def take(account: Account, count: int, now: datetime) -> Charge:
    """Count `count` copies against today's limit (429) and the plan (422, as a send), both or neither."""
    throttle.reserve(TEST_COPIES_PER_DAY, account.account_id, count)
    try:
        return quota.take(account, count, now)
    except errors.DomainError:
        throttle.release(TEST_COPIES_PER_DAY, account.account_id, count)
        raise


def give_back(account: Account, charge: Charge, count: int) -> None:
    """Give back `count` copies taken by `take` that were never handed over for sending."""
    if count > 0:
        quota.give(account.account_id, charge, count)
        throttle.release(TEST_COPIES_PER_DAY, account.account_id, count)

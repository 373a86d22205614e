"""What keeps a hosted signup form (R18) from being used to mail strangers: the honeypot, a signed minimum
fill time, limits on confirmation emails per IP, per list and per unapproved account, and no signups for a
suspended or closed account.

The hosted page hands each visitor a signed stamp of the time it was shown; a post sooner than `MIN_FILL_TIME`
after it, or with a stamp older than `PAGE_STAMP_MAX_AGE`, missing, forged or of another list, is taken for a
bot: nothing is stored or sent, and the visitor sees the page a person would (a bot learns nothing). The
embeddable copy in the list's `form_html` is static HTML in the customer's own site, so it cannot time a
visitor: it carries the list's fixed embed stamp (forged or another list's still fail), and the honeypot and
the hourly limits guard it.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from chalicelib import clock, errors
from chalicelib.models import accounts as account_store
from chalicelib.models.lists import ContactList
from chalicelib.rendering import signup_form
from chalicelib.services.accounts import throttle
from chalicelib.services.accounts.plans import AccountStatus
from chalicelib.services.audience import confirmation, links

MIN_FILL_TIME = timedelta(seconds=3)
PAGE_STAMP_MAX_AGE = timedelta(hours=24)
# Only confirmation emails count: a single opt-in signup mails nobody. Over either limit the visitor is asked
# to come back later (429); a script could still hold up a list's form for the rest of an hour, never mail
# more than this.
CONFIRMATIONS_PER_IP = throttle.Limit("form-confirm-ip", 10, timedelta(hours=1))
CONFIRMATIONS_PER_LIST = throttle.Limit("form-confirm-list", 200, timedelta(hours=1))
NOT_ACCEPTING = frozenset({AccountStatus.SUSPENDED.value, AccountStatus.CLOSED.value, AccountStatus.PURGING.value})


class NotAccepting(errors.Forbidden):
    """The list's account is suspended (R34) or closed (R33): its forms take no signups."""


def accepts_signups(account_id: str) -> bool:
    """False while the account is suspended or closed."""
    account = account_store.get(account_id)
    return account is not None and account.status not in NOT_ACCEPTING


def check_accepting(contact_list: ContactList) -> None:
    """Raise NotAccepting when the list's account may not collect signups now."""
    if not accepts_signups(contact_list.account_id):
        raise _not_accepting(contact_list)


def _not_accepting(contact_list: ContactList) -> NotAccepting:
    return NotAccepting(f"{contact_list.from_name} is not accepting new subscribers through this form.")


def page_stamp(contact_list: ContactList) -> str:
    """The stamp the hosted page hands one visitor."""
    return links.form_stamp(contact_list.account_id, contact_list.list_id, clock.now())


def filled_by_a_person(contact_list: ContactList, form: Mapping[str, str]) -> bool:
    """False when the post looks like a bot's: the honeypot filled, or a stamp that is missing, forged, of
    another list, or a hosted page's too fresh or too old."""
    if form.get(signup_form.HONEYPOT):
        return False
    stamp, ids = form.get(signup_form.STAMP, ""), (contact_list.account_id, contact_list.list_id)
    if links.is_embed_stamp(stamp, *ids):
        return True
    shown_at = links.read_form_stamp(stamp, *ids)
    return shown_at is not None and MIN_FILL_TIME <= clock.now() - shown_at <= PAGE_STAMP_MAX_AGE


def reserve_confirmation(contact_list: ContactList, ip: str | None) -> None:
    """Count one confirmation email against the visitor's IP, the list and the account (an unapproved one's day),
    or raise RateLimited (429); NotAccepting when the account was suspended or closed since the form opened."""
    throttle.reserve(CONFIRMATIONS_PER_IP, ip)
    throttle.reserve(CONFIRMATIONS_PER_LIST, f"{contact_list.account_id}/{contact_list.list_id}")
    try:
        confirmation.reserve(contact_list.account_id)
    except errors.Invalid:
        raise _not_accepting(contact_list) from None

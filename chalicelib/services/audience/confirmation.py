"""The double opt-in confirmation email (R13): the request to confirm, and nothing else; and who may send it.

A suspended account (R34) sends none: an add that would send one is refused. An account waiting for approval
(R5) sends at most `CONFIRMATIONS_BEFORE_APPROVAL` a UTC day, counted before anything is stored, so a refused
add leaves no member behind. Confirmations a member asks for again from the preference centre are the
member's own doing and are not counted.
"""
from __future__ import annotations

from datetime import timedelta
from html import escape

from chalicelib import errors
from chalicelib.models.lists import ContactList
from chalicelib.models.subscribers import Subscriber
from chalicelib.outbound import Mailer, OutgoingEmail
from chalicelib.services.accounts import accounts, throttle
from chalicelib.services.accounts.plans import AccountStatus
from chalicelib.services.audience import links

CONFIRMATIONS_BEFORE_APPROVAL = throttle.Limit(
    "confirm-unapproved", 50, timedelta(days=1), code="confirmation_limit",
    refusal="Until our staff approve the account, it can send at most 50 confirmation emails per day (UTC), and "
            "today's are used up; the address was not added. Add it again after midnight UTC or once the account "
            "is approved, or add it to a single opt-in list.")


def reserve(account_id: str) -> None:
    """Count one confirmation email before anything is stored: 422 account_suspended or account_closed when the
    account may send none, 429 confirmation_limit past an unapproved account's day."""
    account = accounts.check_open(accounts.get(account_id))
    if account.status == AccountStatus.SUSPENDED.value:
        raise errors.Invalid("This account is suspended by staff: no confirmation emails can be sent until it is "
                             "reinstated, so addresses can be added only to single opt-in lists.",
                             code="account_suspended")
    if account.status == AccountStatus.PENDING_REVIEW.value:
        throttle.reserve(CONFIRMATIONS_BEFORE_APPROVAL, account_id)


def release(account_id: str) -> None:
    """Give back a confirmation counted by `reserve` that was not sent (the add failed)."""
    throttle.release(CONFIRMATIONS_BEFORE_APPROVAL, account_id)


def compose(contact_list: ContactList, subscriber: Subscriber) -> OutgoingEmail:
    """The confirmation request for one pending subscriber of a list."""
    url = links.confirm_url(subscriber.account_id, subscriber.list_id, subscriber.subscriber_id)
    name = contact_list.name
    text = (
        f"Please confirm that you want to subscribe to {name}:\n\n"
        f"{url}\n\n"
        "If you did not ask to subscribe, ignore this email: you will not be added.\n"
    )
    html = (
        f"<p>Please confirm that you want to subscribe to {escape(name)}:</p>"
        f'<p><a href="{escape(url)}">Confirm my subscription</a></p>'
        "<p>If you did not ask to subscribe, ignore this email: you will not be added.</p>"
    )
    return OutgoingEmail(
        to=subscriber.email,
        subject=f"Confirm your subscription to {name}",
        text=text,
        html=html,
        sender_name=name,
        reply_to=contact_list.reply_to or contact_list.from_email,
        tags={"account": subscriber.account_id, "list": subscriber.list_id,
              "subscriber": subscriber.subscriber_id, "purpose": "confirmation"},
    )


def send(mailer: Mailer, contact_list: ContactList, subscriber: Subscriber) -> str:
    """Send the confirmation request; the provider's message id."""
    return mailer.send(compose(contact_list, subscriber))

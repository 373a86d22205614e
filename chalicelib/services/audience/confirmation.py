"""The double opt-in confirmation email (R13): the request to confirm, and nothing else."""
from __future__ import annotations

from html import escape

from chalicelib.models.lists import ContactList
from chalicelib.models.subscribers import Subscriber
from chalicelib.outbound import Mailer, OutgoingEmail
from chalicelib.services.audience import links


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

"""Read the mail the app sent under moto, as a recipient would see it."""
from __future__ import annotations

import email
import re
from email.message import EmailMessage
from email.policy import default

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

LINK = re.compile(r"https?://[^\s\"'<>]+")


def messages_to(address: str) -> list[EmailMessage]:
    """Every message sent to `address` in this moto session, oldest first."""
    found = []
    for sent in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages:
        raw = getattr(sent, "raw_data", None)
        if raw is None:
            continue
        message = email.message_from_string(raw, policy=default)
        if address.lower() in str(message["To"]).lower():
            found.append(message)
    return found


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def links_in(message: EmailMessage, containing: str = "") -> list[str]:
    """The links in the plain-text part that contain `containing`."""
    return [link for link in LINK.findall(text_of(message)) if containing in link]


def last_link_to(address: str, containing: str) -> str:
    """The newest link containing `containing` sent to `address`."""
    links = [link for message in messages_to(address) for link in links_in(message, containing)]
    assert links, f"no email with a {containing!r} link was sent"
    return links[-1]

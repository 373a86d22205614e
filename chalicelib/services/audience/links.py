"""The signed links of the public pages: unsubscribe, opt-in confirmation, hosted signup forms (with the signed
time a form was handed out) and the preference centre.

Tokens carry ids only, never an address or a URL; a forged or altered token reads as None.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib import security
from chalicelib.config import get_settings

CONFIRM_MAX_AGE_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class SubscriberRef:
    account_id: str
    list_id: str
    subscriber_id: str
    campaign_id: str | None = None   # an unsubscribe link in a campaign's email names the campaign


@dataclass(frozen=True)
class ListRef:
    account_id: str
    list_id: str


def unsubscribe_token(account_id: str, list_id: str, subscriber_id: str) -> str:
    """Never expires: an unsubscribe link must work for as long as the email exists (R19)."""
    return security.link_signer("unsubscribe").sign((account_id, list_id, subscriber_id))


def unsubscribe_url(account_id: str, list_id: str, subscriber_id: str) -> str:
    """The one-click unsubscribe URL for a subscriber (also the List-Unsubscribe header's target)."""
    return get_settings().link(f"/unsubscribe/{unsubscribe_token(account_id, list_id, subscriber_id)}")


def read_unsubscribe(token: str) -> SubscriberRef | None:
    """Whom an unsubscribe token names, and the campaign if a campaign's email carried it; None if forged
    or altered."""
    return _campaign_ref(security.read_link("unsubscribe", token))


def confirm_url(account_id: str, list_id: str, subscriber_id: str) -> str:
    """The double opt-in confirmation URL; valid for 30 days."""
    token = security.sign("confirm", [account_id, list_id, subscriber_id])
    return get_settings().link(f"/confirm/{token}")


def read_confirm(token: str) -> SubscriberRef | None:
    """Whom a confirmation token names; None if forged, altered or older than 30 days."""
    return _subscriber_ref(security.unsign("confirm", token, max_age_seconds=CONFIRM_MAX_AGE_SECONDS))


def form_url(account_id: str, list_id: str) -> str:
    """The hosted signup form of a list (R18): the same URL every time it is asked for."""
    return get_settings().link(f"/f/{security.sign_fixed('form', [account_id, list_id])}")


def read_form(token: str) -> ListRef | None:
    """The list a signup form token names; None if forged or altered."""
    payload = security.unsign_fixed("form", token)
    if payload is not None and _ids(payload, 2):
        return ListRef(*payload)
    return None


def form_stamp(account_id: str, list_id: str, issued_at: datetime) -> str:
    """The signed time the hosted form was shown to one visitor, carried back by its POST."""
    return security.sign("form-stamp", [account_id, list_id, int(issued_at.timestamp())])


def embed_stamp(account_id: str, list_id: str) -> str:
    """The stamp of the list's embeddable form: the same for as long as the list exists, so the copy a customer
    pasted into their site keeps working."""
    return "embed-" + security.keyed_hash("form-embed", account_id, list_id)


def is_embed_stamp(token: str, account_id: str, list_id: str) -> bool:
    """True for the stamp of this list's embeddable form."""
    return hmac.compare_digest(token.encode(), embed_stamp(account_id, list_id).encode())


def read_form_stamp(token: str, account_id: str, list_id: str) -> datetime | None:
    """When this list's hosted form was shown to the visitor; None for a missing or forged stamp or another
    list's."""
    payload = security.unsign("form-stamp", token) if token else None
    if (isinstance(payload, list) and len(payload) == 3 and payload[:2] == [account_id, list_id]
            and type(payload[2]) is int and payload[2] > 0):
        return datetime.fromtimestamp(payload[2], UTC)
    return None


def read_preferences(token: str) -> SubscriberRef | None:
    """Whose preference centre a token opens, and the campaign whose email carried it; None if forged or altered."""
    return _campaign_ref(security.read_link("preferences", token))


def _campaign_ref(payload: object) -> SubscriberRef | None:
    if _ids(payload, 4):
        return SubscriberRef(*payload)  # type: ignore[misc]
    return _subscriber_ref(payload)


def _subscriber_ref(payload: object) -> SubscriberRef | None:
    if _ids(payload, 3):
        return SubscriberRef(*payload)  # type: ignore[misc]
    return None


def _ids(payload: object, count: int) -> bool:
    return (isinstance(payload, list) and len(payload) == count
            and all(isinstance(part, str) and part for part in payload))

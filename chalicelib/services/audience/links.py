"""The signed links of the public pages: unsubscribe, opt-in confirmation and hosted signup forms.

Tokens carry ids only, never an address or a URL; a forged or altered token reads as None.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    return security.sign("unsubscribe", [account_id, list_id, subscriber_id])


def unsubscribe_url(account_id: str, list_id: str, subscriber_id: str) -> str:
    """The one-click unsubscribe URL for a subscriber (also the List-Unsubscribe header's target)."""
    return get_settings().link(f"/unsubscribe/{unsubscribe_token(account_id, list_id, subscriber_id)}")


def read_unsubscribe(token: str) -> SubscriberRef | None:
    """Whom an unsubscribe token names, and the campaign if a campaign's email carried it; None if forged
    or altered."""
    payload = security.unsign("unsubscribe", token)
    if _ids(payload, 4):
        return SubscriberRef(*payload)  # type: ignore[misc]
    return _subscriber_ref(payload)


def confirm_url(account_id: str, list_id: str, subscriber_id: str) -> str:
    """The double opt-in confirmation URL; valid for 30 days."""
    token = security.sign("confirm", [account_id, list_id, subscriber_id])
    return get_settings().link(f"/confirm/{token}")


def read_confirm(token: str) -> SubscriberRef | None:
    """Whom a confirmation token names; None if forged, altered or older than 30 days."""
    return _subscriber_ref(security.unsign("confirm", token, max_age_seconds=CONFIRM_MAX_AGE_SECONDS))


def form_url(account_id: str, list_id: str) -> str:
    """The hosted signup form of a list (R18)."""
    return get_settings().link(f"/f/{security.sign('form', [account_id, list_id])}")


def read_form(token: str) -> ListRef | None:
    """The list a signup form token names; None if forged or altered."""
    payload = security.unsign("form", token)
    if _ids(payload, 2):
        return ListRef(*payload)
    return None


def _subscriber_ref(payload: object) -> SubscriberRef | None:
    if _ids(payload, 3):
        return SubscriberRef(*payload)  # type: ignore[misc]
    return None


def _ids(payload: object, count: int) -> bool:
    return (isinstance(payload, list) and len(payload) == count
            and all(isinstance(part, str) and part for part in payload))

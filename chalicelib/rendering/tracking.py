"""Signed tracking and unsubscribe links in campaign emails (R19, R20). Tokens carry ids, never a URL."""
from __future__ import annotations

from chalicelib import security
from chalicelib.config import get_settings

TEST_SUBSCRIBER_ID = "test"   # test sends use it: their opens and clicks must not be counted


def is_test(subscriber_id: str) -> bool:
    """True for the subscriber id of a test send (its events are not counted)."""
    return subscriber_id == TEST_SUBSCRIBER_ID


def unsubscribe_url(account_id: str, list_id: str, subscriber_id: str, campaign_id: str | None = None) -> str:
    """The one-click unsubscribe URL; the same token format as services.audience.links (the /unsubscribe route).
    A campaign's copy names the campaign, so the unsubscribe is counted on it."""
    ids = [account_id, list_id, subscriber_id] + ([campaign_id] if campaign_id else [])
    token = security.sign("unsubscribe", ids)
    return get_settings().link(f"/unsubscribe/{token}")


def preferences_url(account_id: str, list_id: str, subscriber_id: str, campaign_id: str | None = None) -> str:
    """The preference centre of the subscriber's address in its account; like the unsubscribe link, it never
    expires and names the campaign whose email carried it."""
    ids = [account_id, list_id, subscriber_id] + ([campaign_id] if campaign_id else [])
    return get_settings().link(f"/preferences/{security.sign('preferences', ids)}")


def open_url(account_id: str, campaign_id: str, subscriber_id: str) -> str:
    """The open-pixel URL of one recipient's copy of a campaign."""
    token = security.sign("open", [account_id, campaign_id, subscriber_id])
    return get_settings().link(f"/o/{token}.gif")


def click_url(account_id: str, campaign_id: str, subscriber_id: str, link_index: int) -> str:
    """The click URL of link `link_index` in the campaign's stored link table."""
    token = security.sign("click", [account_id, campaign_id, subscriber_id, link_index])
    return get_settings().link(f"/c/{token}")


def verify_click(token: str) -> tuple[str, str, str, int] | None:
    """(account_id, campaign_id, subscriber_id, link_index) of a click token, or None if not genuine."""
    payload = security.unsign("click", token)
    if (isinstance(payload, list) and len(payload) == 4 and all(isinstance(p, str) and p for p in payload[:3])
            and type(payload[3]) is int and payload[3] >= 0):
        return payload[0], payload[1], payload[2], payload[3]
    return None


def verify_open(token: str) -> tuple[str, str, str] | None:
    """(account_id, campaign_id, subscriber_id) of an open token (".gif" suffix allowed), or None."""
    payload = security.unsign("open", token.removesuffix(".gif"))
    if isinstance(payload, list) and len(payload) == 3 and all(isinstance(p, str) and p for p in payload):
        return payload[0], payload[1], payload[2]
    return None


class ClickUrls:
    """One recipient's click URLs, signed only for the links their copy actually contains."""

    __slots__ = ("_ids", "_urls")

    def __init__(self, account_id: str, campaign_id: str, subscriber_id: str):
        self._ids = (account_id, campaign_id, subscriber_id)
        self._urls: dict[int, str] = {}

    def __getitem__(self, index: int) -> str:
        url = self._urls.get(index)
        if url is None:
            url = self._urls[index] = click_url(*self._ids, index)
        return url

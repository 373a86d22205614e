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
    return get_settings().link(f"/unsubscribe/{security.link_signer('unsubscribe').sign(ids)}")


def preferences_url(account_id: str, list_id: str, subscriber_id: str, campaign_id: str | None = None) -> str:
    """The preference centre of the subscriber's address in its account; like the unsubscribe link, it never
    expires and names the campaign whose email carried it."""
    ids = [account_id, list_id, subscriber_id] + ([campaign_id] if campaign_id else [])
    return get_settings().link(f"/preferences/{security.link_signer('preferences').sign(ids)}")


def open_url(account_id: str, campaign_id: str, subscriber_id: str) -> str:
    """The open-pixel URL of one recipient's copy of a campaign."""
    token = security.link_signer("open").sign((account_id, campaign_id, subscriber_id))
    return get_settings().link(f"/o/{token}.gif")


def click_url(account_id: str, campaign_id: str, subscriber_id: str, link_index: int) -> str:
    """The click URL of link `link_index` in the campaign's stored link table."""
    return ClickUrls(account_id, campaign_id, subscriber_id)[link_index]


def verify_click(token: str) -> tuple[str, str, str, int] | None:
    """(account_id, campaign_id, subscriber_id, link_index) of a click token, or None if not genuine."""
    ids = security.read_link("click", token)
    if ids is not None and len(ids) == 4 and all(ids) and ids[3].isascii() and ids[3].isdigit():
        return ids[0], ids[1], ids[2], int(ids[3])
    return None


def verify_open(token: str) -> tuple[str, str, str] | None:
    """(account_id, campaign_id, subscriber_id) of an open token (".gif" suffix allowed), or None."""
    ids = security.read_link("open", token.removesuffix(".gif"))
    if ids is not None and len(ids) == 3 and all(ids):
        return ids[0], ids[1], ids[2]
    return None


class ClickUrls:
    """One recipient's click URLs, signed only for the links their copy actually contains: the signer and the
    URL's start are found once for the recipient, and each link costs one short HMAC."""

    __slots__ = ("_ids", "_signer", "_start", "_urls")

    def __init__(self, account_id: str, campaign_id: str, subscriber_id: str):
        self._ids = (account_id, campaign_id, subscriber_id)
        self._signer = security.link_signer("click")
        self._start = get_settings().link("/c/")
        self._urls: dict[int, str] = {}

    def __getitem__(self, index: int) -> str:
        url = self._urls.get(index)
        if url is None:
            url = self._urls[index] = self._start + self._signer.sign((*self._ids, str(index)))
        return url

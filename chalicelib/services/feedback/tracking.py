"""Opens and clicks of campaign emails (R20, R25): verify the signed token, redirect only to the stored
link, and record who came (time, IP, device, browser, country) and the campaign's counts.

Machines are counted apart and never as readers: privacy prefetchers and bots that fetch the pixel go
to `machine_opens`, link scanners (and clicks within seconds of delivery) to `scanner_clicks`. An open
fetched through a mail provider's image proxy (Gmail, Yahoo) is a reader's open and is counted as one,
but the proxy's device and location are not recorded as the reader's. A counted click also counts as
an open when that recipient has no open yet (the reader's client blocked images): common ESP practice.
A reader's first open and first click of a campaign also count on the subscriber's activity (R26).

Recording never breaks the pixel or the redirect: a failure is logged (ids only) and the answer stands.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import clock, errors, ids
from chalicelib.log import logger
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import events
from chalicelib.models.campaigns import Campaign
from chalicelib.models.events import Counted, EventKind
from chalicelib.rendering.tracking import is_test, verify_click, verify_open
from chalicelib.services.audience import activity
from chalicelib.services.countries import ISO_3166_ALPHA2
from chalicelib.services.feedback import useragents

UNKNOWN = "unknown"
RETENTION = timedelta(days=396)   # 13 months, then DynamoDB's TTL removes events and markers
MAX_IP = 64


@dataclass(frozen=True)
class Visitor:
    """Who fetched the pixel or followed the link, as the HTTP edge saw them."""

    ip: str | None
    user_agent: str | None
    country: str | None   # CloudFront-Viewer-Country, as sent


def open_pixel(token: str, visitor: Visitor) -> None:
    """Record an open of the pixel `token` if the token is genuine and not a test send's; never raises."""
    found = None
    try:
        found = verify_open(token)
        if found is not None and not is_test(found[2]):
            _record_open(*found, visitor)
    except Exception:  # noqa: BLE001 - logged with its trace; the reader still gets the pixel
        account_id, campaign_id, subscriber_id = found or (None, None, None)
        logger.exception("open not recorded", extra={"account_id": account_id, "campaign_id": campaign_id,
                                                     "subscriber_id": subscriber_id})


def follow_click(token: str, visitor: Visitor) -> str:
    """The stored URL a click token leads to (NotFound for anything else), with the click recorded."""
    found = verify_click(token)
    if found is None:
        raise errors.NotFound("link")
    account_id, campaign_id, subscriber_id, link_index = found
    campaign = campaign_store.get(account_id, campaign_id)
    if campaign is None or link_index >= len(campaign.links or []):
        raise errors.NotFound("link")
    url = campaign.links[link_index]
    if not is_test(subscriber_id):
        try:
            _record_click(campaign, subscriber_id, link_index, visitor)
        except Exception:  # noqa: BLE001 - logged with its trace; the reader still reaches the link
            logger.exception("click not recorded", extra={"account_id": account_id, "campaign_id": campaign_id,
                                                          "subscriber_id": subscriber_id})
    return url


def _record_open(account_id: str, campaign_id: str, subscriber_id: str, visitor: Visitor) -> None:
    now = clock.now()
    machine = not useragents.counts_as_open(visitor.user_agent, visitor.ip)
    proxied = not machine and useragents.is_machine_open(visitor.user_agent, visitor.ip)
    counted = None
    if machine:
        if not events.add(account_id, campaign_id, {"machine_opens": 1}):
            return
    else:
        counted = _count_first(account_id, campaign_id, subscriber_id, EventKind.OPEN, now,
                               first={"opens_total": 1, "opens_unique": 1}, again={"opens_total": 1},
                               reader=_reader(visitor, EventKind.OPEN, proxied))
        if counted is Counted.NO_CAMPAIGN:
            return
    events.put(_event(account_id, campaign_id, subscriber_id, EventKind.OPEN, now, visitor,
                      machine=machine, proxied=proxied))
    if counted is Counted.FIRST:
        campaign = campaign_store.get(account_id, campaign_id)
        if campaign is not None:
            activity.engaged(account_id, campaign.list_id, subscriber_id, now, opened=True, clicked=False)


def _record_click(campaign: Campaign, subscriber_id: str, link_index: int, visitor: Visitor) -> None:
    account_id, campaign_id = campaign.account_id, campaign.campaign_id
    now = clock.now()
    delivered_at = events.delivered_at(account_id, campaign_id, subscriber_id) or campaign.started_at
    since = (now - delivered_at).total_seconds() if delivered_at else None
    machine = useragents.is_scanner_click(visitor.user_agent, since, visitor.ip)
    proxied = not machine and useragents.identify_machine(visitor.user_agent, visitor.ip, useragents.CLICK) is not None
    counted, first_open = None, None
    if machine:
        if not events.add(account_id, campaign_id, {"scanner_clicks": 1}):
            return
    else:
        counted = _count_first(account_id, campaign_id, subscriber_id, EventKind.CLICK, now,
                               first={"clicks_total": 1, "clicks_unique": 1}, again={"clicks_total": 1},
                               link_index=link_index)
        if counted is Counted.NO_CAMPAIGN:
            return
        if counted is Counted.FIRST:   # a reader who clicked has opened, even if images were blocked
            first_open = events.add_if_first(events.marker(account_id, campaign_id, EventKind.OPEN, subscriber_id,
                                                           now, now + RETENTION),
                                             account_id, campaign_id, {"opens_total": 1, "opens_unique": 1},
                                             reader=_reader(visitor, EventKind.CLICK, proxied))
    events.put(_event(account_id, campaign_id, subscriber_id, EventKind.CLICK, now, visitor,
                      machine=machine, proxied=proxied, link_index=link_index))
    if counted is Counted.FIRST:
        activity.engaged(account_id, campaign.list_id, subscriber_id, now,
                         opened=first_open is Counted.FIRST, clicked=True)


def _count_first(account_id: str, campaign_id: str, subscriber_id: str, kind: EventKind, now: datetime,
                 first: dict[str, int], again: dict[str, int], link_index: int | None = None,
                 reader: dict[str, str] | None = None) -> Counted:
    """Count a reader's open or click: with the unique count (and the reader's breakdown) if it is their
    first, else the total only."""
    marker = events.marker(account_id, campaign_id, kind, subscriber_id, now, now + RETENTION)
    counted = events.add_if_first(marker, account_id, campaign_id, first, link_index, reader)
    if counted is Counted.AGAIN and not events.add(account_id, campaign_id, again, link_index):
        return Counted.NO_CAMPAIGN
    return counted


def _reader(visitor: Visitor, kind: EventKind, proxied: bool) -> dict[str, str]:
    """What a new reader counts under in the report's breakdowns: the device, browser and country of their first
    open (or of the click that stands for it). Through an image proxy, only the proxy's name: its device and
    place are not the reader's."""
    agent = useragents.classify(visitor.user_agent, kind.value)
    return {"device": agent["device"] or UNKNOWN, "browser": agent["browser"] or UNKNOWN,
            "country": (None if proxied else country_code(visitor.country)) or UNKNOWN}


def _event(account_id: str, campaign_id: str, subscriber_id: str, kind: EventKind, now: datetime,
           visitor: Visitor, *, machine: bool, proxied: bool, link_index: int | None = None) -> events.Event:
    """The event item: a machine's or proxy's device and location are not the reader's, so only its name is kept."""
    agent = useragents.classify(visitor.user_agent, kind.value)
    reader = not machine and not proxied
    return events.Event(
        events.campaign_key(account_id, campaign_id),
        f"{clock.iso(now)}#{ids.new_id('ev')}",
        kind=kind.value,
        subscriber_id=subscriber_id,
        at=now,
        ip=(visitor.ip or "")[:MAX_IP] or None,
        device=agent["device"],
        browser=agent["browser"],
        os=agent["os"],
        country=country_code(visitor.country) if reader else None,
        link_index=link_index,
        machine=machine,
        proxied=proxied,
        expires_at=now + RETENTION,
    )


def country_code(header: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code CloudFront sent in CloudFront-Viewer-Country, or None."""
    code = (header or "").strip().upper()
    return code if code in ISO_3166_ALPHA2 else None

"""Tracking events of a campaign (opens and clicks, R20, R25), the first-open/first-click marker of each
recipient, and the campaign counters they move.

One table, hash key "<account_id>#<campaign_id>": events sort by time under "<iso ts>#<ulid>", and
markers live under "first#<kind>#<subscriber_id>" ("f" sorts after every digit, so a query below
MARKER_PREFIX reads events only). Both expire 13 months after they are written.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from enum import Enum

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.models import deliveries
from chalicelib.models.base import BaseModel, is_live, transaction_connection
from chalicelib.models.campaigns import Campaign
from chalicelib.models.deliveries import Delivery

MARKER_PREFIX = "first#"

# The Campaign counters tracking may move (each by an atomic ADD).
COUNTERS = frozenset({"opens_total", "opens_unique", "machine_opens", "clicks_total", "clicks_unique",
                      "scanner_clicks"})


class EventKind(str, Enum):
    OPEN = "open"
    CLICK = "click"


class Counted(str, Enum):
    FIRST = "first"        # the marker was new: the first-time counts were added
    AGAIN = "again"        # the marker was there already: nothing was written
    NO_CAMPAIGN = "gone"   # the campaign does not exist (deleted): nothing was written


class Event(BaseModel):
    class Meta:
        logical_name = "events"

    campaign_key = UnicodeAttribute(hash_key=True)   # "<account_id>#<campaign_id>"
    event_key = UnicodeAttribute(range_key=True)     # "<iso ts>#<ulid>", or a marker's "first#<kind>#<subscriber>"
    kind = UnicodeAttribute()                        # EventKind
    subscriber_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    ip = UnicodeAttribute(null=True)
    device = UnicodeAttribute(null=True)
    browser = UnicodeAttribute(null=True)
    os = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)            # ISO 3166-1 alpha-2, from CloudFront-Viewer-Country
    link_index = NumberAttribute(null=True)          # clicks: the index into Campaign.links
    machine = BooleanAttribute(default=False)        # a prefetcher, scanner or bot: not a reader
    proxied = BooleanAttribute(default=False)        # a reader's open fetched through an image proxy
    expires_at = TTLAttribute()


def campaign_key(account_id: str, campaign_id: str) -> str:
    return f"{account_id}#{campaign_id}"


def marker_key(kind: EventKind, subscriber_id: str) -> str:
    return f"{MARKER_PREFIX}{kind.value}#{subscriber_id}"


def put(event: Event) -> None:
    event.save()


def marker(account_id: str, campaign_id: str, kind: EventKind, subscriber_id: str, at: datetime,
           expires_at: datetime) -> Event:
    """The item saying `subscriber_id` has opened (or clicked) the campaign."""
    return Event(campaign_key(account_id, campaign_id), marker_key(kind, subscriber_id), kind=kind.value,
                 subscriber_id=subscriber_id, at=at, expires_at=expires_at)


def first_times(account_id: str, subscriber_id: str, campaign_ids: list[str]) -> dict[tuple[str, EventKind], datetime]:
    """When the subscriber first opened and first clicked each of these campaigns, from the live markers:
    {(campaign_id, kind): at} (BatchGet; PynamoDB pages the keys)."""
    keys = [(campaign_key(account_id, cid), marker_key(kind, subscriber_id))
            for cid in set(campaign_ids) for kind in EventKind]
    return {(item.campaign_key.partition("#")[2], EventKind(item.kind)): item.at
            for item in Event.batch_get(keys) if is_live(item.expires_at)}


def delivered_at(account_id: str, campaign_id: str, subscriber_id: str) -> datetime | None:
    """When the campaign's email reached this subscriber, from the delivery ledger: SES's delivery report,
    else when SES accepted it."""
    try:
        item = Delivery.get(deliveries.campaign_key(account_id, campaign_id), subscriber_id)
    except Delivery.DoesNotExist:
        return None
    return item.delivered_at or item.sent_at


def add(account_id: str, campaign_id: str, counts: Mapping[str, int], link_index: int | None = None) -> bool:
    """Add `counts` (and one click of link `link_index`) to the campaign's counters; False if it is gone."""
    try:
        Campaign(account_id, campaign_id).update(actions=_actions(counts, link_index),
                                                 condition=Campaign.campaign_id.exists())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


# A reader's breakdown (services/feedback/tracking.py) -> the campaign map each part is counted in.
BREAKDOWNS = {"device": "readers_by_device", "browser": "readers_by_browser", "country": "readers_by_country"}


def add_if_first(first: Event, account_id: str, campaign_id: str, counts: Mapping[str, int],
                 link_index: int | None = None, reader: Mapping[str, str] | None = None) -> Counted:
    """Write the marker `first` and add `counts` (and one `reader` to each of its breakdowns) to the campaign
    in one transaction, only if the marker is new."""
    try:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.save(first, condition=Event.event_key.does_not_exist())
            transaction.update(Campaign(account_id, campaign_id), actions=_actions(counts, link_index, reader),
                               condition=Campaign.campaign_id.exists())
    except TransactWriteError as exc:
        failed = [bool(reason and reason.code == "ConditionalCheckFailed") for reason in exc.cancellation_reasons or []]
        if len(failed) == 2 and failed[1]:
            return Counted.NO_CAMPAIGN
        if len(failed) == 2 and failed[0]:
            return Counted.AGAIN
        raise
    return Counted.FIRST


def _actions(counts: Mapping[str, int], link_index: int | None, reader: Mapping[str, str] | None = None) -> list:
    """ADD to each counter; link clicks and breakdowns are maps, and DynamoDB's ADD works on top-level
    attributes only."""
    unknown = set(counts) - COUNTERS
    if unknown:
        raise ValueError(f"not a tracking counter: {sorted(unknown)}")
    actions = [getattr(Campaign, name).add(value) for name, value in counts.items() if value]
    if link_index is not None:
        path = Campaign.link_clicks[str(link_index)]
        actions.append(path.set((path | 0) + 1))
    for part, value in (reader or {}).items():
        path = getattr(Campaign, BREAKDOWNS[part])[value]
        actions.append(path.set((path | 0) + 1))
    return actions


# --- one recipient's events (access and erasure requests, R28) -----------------------------------

def of_subscriber(account_id: str, campaign_id: str, subscriber_id: str) -> Iterator[Event]:
    """Every event of one recipient in the campaign, expired ones too (markers excluded)."""
    return Event.query(campaign_key(account_id, campaign_id), Event.event_key < MARKER_PREFIX,
                       filter_condition=Event.subscriber_id == subscriber_id)


def live_of_subscriber(account_id: str, campaign_id: str, subscriber_id: str) -> list[Event]:
    """The recipient's events in the campaign that have not expired (TTL may lag: they can still be stored)."""
    return [e for e in of_subscriber(account_id, campaign_id, subscriber_id) if is_live(e.expires_at)]


def forget_subscriber(account_id: str, campaign_id: str, subscriber_id: str) -> int:
    """Delete one recipient's events and first-open/click markers in the campaign; how many events there were."""
    doomed = list(of_subscriber(account_id, campaign_id, subscriber_id))
    markers = [Event(campaign_key(account_id, campaign_id), marker_key(kind, subscriber_id)) for kind in EventKind]
    with Event.batch_write() as batch:
        for item in doomed + markers:
            batch.delete(item)
    return len(doomed)

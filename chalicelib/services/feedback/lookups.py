"""Support look-ups (R27): why a recipient did, or did not, get a campaign's email.

One subscriber's standing (status, suppression) and, newest first, every campaign email the sender's
ledger holds for them with what became of it: accepted by SES, delivered, bounced, opened, clicked.
A complaint reads as an unsubscribe, in the standing as everywhere else (R23); the ledger never holds one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.models import campaigns as campaign_store
from chalicelib.models import deliveries, events
from chalicelib.models import suppressions as suppression_store
from chalicelib.models.base import Page, is_live
from chalicelib.models.deliveries import Delivery
from chalicelib.models.events import EventKind
from chalicelib.models.subscribers import SubscriberStatus
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.services.audience import subscribers


@dataclass(frozen=True)
class Standing:
    """Whether the next campaign of the list would be sent to the subscriber, and why not."""

    subscriber_id: str
    list_id: str
    status: str                       # SubscriberStatus (a complaint unsubscribes)
    suppression: str | None           # SuppressionReason of the account-wide suppression; a complaint reads
                                      # as "unsubscribed" (R23)
    suppressed_since: datetime | None

    @property
    def mailable(self) -> bool:
        return self.status == SubscriberStatus.SUBSCRIBED.value and self.suppression is None


@dataclass(frozen=True)
class Bounce:
    type: str            # "hard" or "soft"
    reason: str | None   # the receiving server's diagnostic
    at: datetime | None


@dataclass(frozen=True)
class CampaignEmail:
    """One campaign's email to the subscriber, as far as it got."""

    campaign_id: str
    campaign_name: str | None         # None once the campaign is deleted
    state: str                        # DeliveryState: claimed (SES's answer never came), sent or failed
    message_id: str | None
    claimed_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    bounce: Bounce | None
    opened_at: datetime | None        # the reader's first open (machines never count)
    clicked_at: datetime | None


@dataclass(frozen=True)
class Lookup:
    standing: Standing
    emails: Page[CampaignEmail]


def look_up(account_id: str, list_id: str, subscriber_id: str, limit: int, start: dict | None) -> Lookup:
    """The subscriber's standing and a page of their campaign emails, newest first; 404 for a missing
    subscriber or another tenant's."""
    subscriber = subscribers.get(account_id, list_id, subscriber_id)
    subscribers.check_cursor(start, "subscriber_key", deliveries.subscriber_key(account_id, subscriber_id))
    suppression = suppression_store.get(account_id, subscriber.email_key)
    standing = Standing(
        subscriber_id=subscriber_id,
        list_id=list_id,
        status=subscriber.status,
        suppression=None if suppression is None else _shown_reason(suppression.reason),
        suppressed_since=None if suppression is None else suppression.created_at,
    )
    return Lookup(standing, _campaign_emails(account_id, subscriber_id, limit, start))


def _campaign_emails(account_id: str, subscriber_id: str, limit: int, start: dict | None) -> Page[CampaignEmail]:
    page = deliveries.of_subscriber(account_id, subscriber_id, limit, start)
    items = [item for item in page.items if is_live(item.expires_at)]
    campaign_ids = [_campaign_id(item) for item in items]
    campaigns = campaign_store.many(account_id, campaign_ids)
    firsts = events.first_times(account_id, subscriber_id, campaign_ids)
    emails = []
    for item in items:
        campaign_id = _campaign_id(item)
        campaign = campaigns.get(campaign_id)
        emails.append(CampaignEmail(
            campaign_id=campaign_id,
            campaign_name=campaign.name if campaign is not None else None,
            state=item.state,
            message_id=item.message_id,
            claimed_at=item.claimed_at,
            sent_at=item.sent_at,
            delivered_at=item.delivered_at,
            bounce=Bounce(item.bounce_type, item.bounce_reason, item.bounced_at) if item.bounce_type else None,
            opened_at=firsts.get((campaign_id, EventKind.OPEN)),
            clicked_at=firsts.get((campaign_id, EventKind.CLICK)),
        ))
    return Page(emails, page.last_key)


def _campaign_id(item: Delivery) -> str:
    return item.campaign_key.partition("#")[2]


def _shown_reason(reason: str) -> str:
    """A suppression's reason as the customer may see it: a complaint is an unsubscribe (R23)."""
    return SuppressionReason.UNSUBSCRIBED.value if reason == SuppressionReason.COMPLAINED.value else reason

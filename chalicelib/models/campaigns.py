"""Campaigns: content, sender, status, delivery progress and counters."""
from __future__ import annotations

from enum import Enum

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.models.base import BaseModel, Page, take_page


class CampaignStatus(str, Enum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    IN_REVIEW = "in_review"
    SENDING = "sending"
    PAUSED = "paused"
    STOPPED = "stopped"      # auto-stop (R22)
    CANCELLED = "cancelled"
    SENT = "sent"


EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


class CampaignsByQueue(GlobalSecondaryIndex):
    """Sparse: only campaigns waiting for something (a time, or staff) carry `queue`."""

    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)      # "scheduled" | "in_review"
    due_at = UnicodeAttribute(range_key=True)    # ISO 8601: scheduled_at, or when review was asked


class Campaign(BaseModel):
    class Meta:
        logical_name = "campaigns"

    account_id = UnicodeAttribute(hash_key=True)
    campaign_id = UnicodeAttribute(range_key=True)
    list_id = UnicodeAttribute()
    name = UnicodeAttribute()
    subject = UnicodeAttribute()
    html = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    from_name = UnicodeAttribute(null=True)
    from_email = UnicodeAttribute(null=True)
    reply_to = UnicodeAttribute(null=True)
    links = ListAttribute(of=UnicodeAttribute, default=list)   # the click table: /c/ tokens index it
    status = UnicodeAttribute()
    scheduled_at = UTCDateTimeAttribute(null=True)
    queue = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    review = MapAttribute(null=True)             # why it is held, and the screen's matches (R8, R21)
    status_reason = UnicodeAttribute(null=True)
    reserved = NumberAttribute(default=0)        # emails reserved from the quota or credits at send
    recipients = NumberAttribute(default=0)      # counted at send
    fanout_done = BooleanAttribute(default=False)
    chunks_total = NumberAttribute(null=True)
    chunks_done = NumberAttribute(default=0)
    generation = NumberAttribute(default=0)      # bumps on resume: a fresh fan-out pass
    # Counters, each changed only by atomic ADD updates:
    sent_count = NumberAttribute(default=0)      # accepted by SES
    failed_count = NumberAttribute(default=0)    # given up on (SES refused the recipient)
    skipped_count = NumberAttribute(default=0)   # suppressed or no longer subscribed at send time
    opens_total = NumberAttribute(default=0)
    opens_unique = NumberAttribute(default=0)
    machine_opens = NumberAttribute(default=0)   # privacy proxies and prefetchers, counted apart
    clicks_total = NumberAttribute(default=0)
    clicks_unique = NumberAttribute(default=0)
    scanner_clicks = NumberAttribute(default=0)  # link scanners, counted apart
    link_clicks = MapAttribute(default=dict)     # link index (str) -> clicks
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)

    by_queue = CampaignsByQueue()


def get(account_id: str, campaign_id: str) -> Campaign | None:
    try:
        return Campaign.get(account_id, campaign_id)
    except Campaign.DoesNotExist:
        return None


def page(account_id: str, limit: int, start: dict | None) -> Page[Campaign]:
    return take_page(Campaign.query(account_id, limit=limit, last_evaluated_key=start, scan_index_forward=False),
                     limit)

"""Campaigns: content, sender, status, delivery progress and counters."""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from typing import Any

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.constants import BINARY, STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib import clock
from chalicelib.models.base import BaseModel, Page, string_list, take_page, written


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


class PauseReason(str, Enum):
    """Why the service (not the campaign's owner) paused a sending campaign."""

    ACCOUNT_SUSPENDED = "account_suspended"   # staff suspended the account (R34)
    REPUTATION_HOLD = "reputation_hold"       # the account's bounce or complaint rate (services/feedback/reputation.py)


SUSPENDED_SENTENCE = ("Paused: our staff suspended this account. The campaign can be resumed once the account is "
                      "reinstated.")


class CompressedText(Attribute[str]):
    """Text kept zlib-compressed in a binary attribute. DynamoDB bills every write of an item by its size (a unit a
    KB), and a campaign is written by every chunk it sends and read by every look at its progress: its HTML, 30 KB
    for a newsletter, is most of it, and a few KB compressed. Text stored before as a plain string reads as it was."""

    attr_type = BINARY

    def serialize(self, value: str) -> bytes:
        return zlib.compress(value.encode("utf-8"), 9)

    def deserialize(self, value: bytes | str) -> str:
        return value if isinstance(value, str) else zlib.decompress(value).decode("utf-8")

    def get_value(self, value: dict[str, Any]) -> Any:
        return value[STRING] if STRING in value else super().get_value(value)


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
    html = CompressedText()
    text = UnicodeAttribute(null=True)
    from_name = UnicodeAttribute(null=True)
    from_email = UnicodeAttribute(null=True)
    reply_to = UnicodeAttribute(null=True)
    links = string_list(default=list)   # the click table: /c/ tokens index it
    status = UnicodeAttribute()
    scheduled_at = UTCDateTimeAttribute(null=True)
    queue = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    review: MapAttribute[str, Any] = MapAttribute(null=True)  # why it is held, and the screen's matches (R8, R21)
    status_reason = UnicodeAttribute(null=True)
    paused_reason = UnicodeAttribute(null=True)  # PauseReason when the service paused it; None when its owner did
    reserved = NumberAttribute(default=0)        # emails reserved from the quota or credits at send
    recipients = NumberAttribute(default=0)      # counted at send
    fanout_done = BooleanAttribute(default=False)
    chunks_total = NumberAttribute(null=True)
    chunks_done = NumberAttribute(default=0)
    generation = NumberAttribute(default=0)      # bumps on resume: a fresh fan-out pass
    # Fan-out progress of the current generation (services/campaigns/fanout.py):
    fanout_generation = NumberAttribute(null=True)   # the generation the fields below belong to
    fanout_cursor = UnicodeAttribute(null=True)      # JSON: where the next page of the list starts
    fanout_page = NumberAttribute(default=0)         # pages fanned out so far
    fanout_chunks = NumberAttribute(default=0)       # chunks enqueued so far
    # Counters, each changed only by atomic ADD updates:
    sent_count = NumberAttribute(default=0)      # accepted by SES
    failed_count = NumberAttribute(default=0)    # given up on (SES refused the recipient)
    skipped_count = NumberAttribute(default=0)   # suppressed or no longer subscribed at send time
    uncertain_count = NumberAttribute(default=0)  # SES may or may not have taken it (never sent again)
    opens_total = NumberAttribute(default=0)
    opens_unique = NumberAttribute(default=0)
    machine_opens = NumberAttribute(default=0)   # privacy proxies and prefetchers, counted apart
    clicks_total = NumberAttribute(default=0)
    clicks_unique = NumberAttribute(default=0)
    scanner_clicks = NumberAttribute(default=0)  # link scanners, counted apart
    link_clicks: MapAttribute[str, Any] = MapAttribute(default=dict)  # link index (str) -> clicks
    # Readers (recipients with a human open, or a click standing for one) by what their first one came from:
    readers_by_device: MapAttribute[str, Any] = MapAttribute(default=dict)  # device -> readers
    readers_by_browser: MapAttribute[str, Any] = MapAttribute(default=dict)  # browser (or image proxy) -> readers
    # ISO 3166-1 alpha-2 (or "unknown") -> readers
    readers_by_country: MapAttribute[str, Any] = MapAttribute(default=dict)
    # SES feedback and one-click unsubscribes, each counted once per event: what was counted here before the
    # counters moved to the campaign's tally items (models/deliveries.py); a reader adds those (with_tallies).
    delivered_count = NumberAttribute(default=0)
    hard_bounce_count = NumberAttribute(default=0)
    soft_bounce_count = NumberAttribute(default=0)
    complaint_count = NumberAttribute(default=0)
    rejected_count = NumberAttribute(default=0)
    unsubscribe_count = NumberAttribute(default=0)   # one-click unsubscribes from this campaign's emails
    # Auto-stop (R22): what stopped it, and the counters when it was last resumed after a stop, so that
    # its rates are judged on what was sent and happened since.
    stop: MapAttribute[str, Any] = MapAttribute(null=True)  # {"rate", "value", "threshold", "at", "notified_at"?}
    baseline_sent = NumberAttribute(null=True)
    baseline_hard_bounces = NumberAttribute(null=True)
    baseline_complaints = NumberAttribute(null=True)
    baseline_unsubscribes = NumberAttribute(null=True)
    baseline_delivered = NumberAttribute(null=True)
    baseline_soft_bounces = NumberAttribute(null=True)
    baseline_rejected = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    # The reservation (services/campaigns/quota.py): where `reserved` came from, and whether what was not sent
    # went back.
    reserved_from = UnicodeAttribute(null=True)  # "trial" | "monthly" | "credits"; None: nothing to count
    reserved_period = UnicodeAttribute(null=True)  # the usage period charged ("YYYY-MM" or "trial")
    released = BooleanAttribute(default=False)   # set once, with the give-back, by quota.release_unsent
    approved_at = UTCDateTimeAttribute(null=True)  # staff approved this content (R8, R21); cleared by an edit
    segment_id = UnicodeAttribute(null=True)     # only the list's members in this segment (audience/segments.py)
    segment = UnicodeAttribute(null=True)        # the segment's definition (JSON), copied when the send starts

    by_queue = CampaignsByQueue()


def get(account_id: str, campaign_id: str) -> Campaign | None:
    try:
        return Campaign.get(account_id, campaign_id)
    except Campaign.DoesNotExist:
        return None


def many(account_id: str, campaign_ids: list[str]) -> dict[str, Campaign]:
    """The account's campaigns with these ids that exist, by id (BatchGet; PynamoDB pages the keys)."""
    return {item.campaign_id: item for item in Campaign.batch_get([(account_id, cid) for cid in set(campaign_ids)])}


def page(account_id: str, limit: int, start: dict | None) -> Page[Campaign]:
    return take_page(Campaign.query(account_id, limit=limit, last_evaluated_key=start, scan_index_forward=False),
                     limit)


def outlines(account_id: str) -> Iterator[Campaign]:
    """Every campaign of the account with only its ids, list, name and start (not its content)."""
    return Campaign.query(account_id, attributes_to_get=["account_id", "campaign_id", "list_id", "name",
                                                         "started_at"])


# --- sending, review and schedule queries (campaigns API) ---------------------------------------

def in_status(account_id: str, statuses: list[CampaignStatus]) -> Iterator[Campaign]:
    """The account's campaigns that are in one of `statuses`."""
    return Campaign.query(account_id, filter_condition=Campaign.status.is_in(*(s.value for s in statuses)))


def change(campaign: Campaign, actions: list, condition=None) -> bool:
    """Apply update actions atomically if the campaign exists (and `condition` holds); False if not."""
    full = Campaign.campaign_id.exists() if condition is None else Campaign.campaign_id.exists() & condition
    return written(lambda: campaign.update(actions=actions, condition=full))


BASELINES = {"sent_count": Campaign.baseline_sent, "hard_bounce_count": Campaign.baseline_hard_bounces,
             "complaint_count": Campaign.baseline_complaints, "unsubscribe_count": Campaign.baseline_unsubscribes,
             "delivered_count": Campaign.baseline_delivered, "soft_bounce_count": Campaign.baseline_soft_bounces,
             "rejected_count": Campaign.baseline_rejected}


def baseline_actions(tallied: Mapping[str, int]) -> list:
    """Update actions setting the baseline of the counters the auto-stop rates use (R22) to what they are now: the
    campaign's own (copied atomically) plus `tallied`, what its tally items held when read (models/deliveries.py)."""
    return [baseline.set((getattr(Campaign, counter) | 0) + int(tallied.get(counter, 0)))
            for counter, baseline in BASELINES.items()]


def remove_if(campaign: Campaign, condition) -> bool:
    """Delete the campaign if `condition` holds; False if it does not (or the campaign is gone)."""
    return written(lambda: campaign.delete(condition=Campaign.campaign_id.exists() & condition))


def due(queue: str, until: str) -> Iterator[Campaign]:
    """Campaigns waiting in `queue` ("scheduled", "in_review") whose due_at is at or before `until` (ISO)."""
    return Campaign.by_queue.query(queue, CampaignsByQueue.due_at <= until)


def queue_page(queue: str, limit: int, start: dict | None) -> Page[Campaign]:
    """Campaigns waiting in `queue`, oldest first."""
    return take_page(Campaign.by_queue.query(queue, limit=limit, last_evaluated_key=start), limit)


def find_in_queue(queue: str, campaign_id: str) -> Campaign | None:
    """The campaign with this id among those waiting in `queue` (staff routes name no account)."""
    return next(iter(Campaign.by_queue.query(queue, filter_condition=Campaign.campaign_id == campaign_id)), None)


def subscribed_count(account_id: str, list_id: str) -> int:
    """How many members of the list are subscribed now (the by_status index, counted by DynamoDB)."""
    from chalicelib.models.subscribers import Subscriber, SubscriberStatus, list_key, status_key

    return Subscriber.by_status.count(status_key(list_key(account_id, list_id), SubscriberStatus.SUBSCRIBED))


def of_account_in(account_id: str, statuses: Iterable[CampaignStatus]) -> Iterator[Campaign]:
    """The account's campaigns in one of `statuses` (one query on the account's key, filtered)."""
    return Campaign.query(account_id, filter_condition=Campaign.status.is_in(*(s.value for s in statuses)))


def pause_sending(campaign: Campaign, reason: PauseReason, sentence: str) -> bool:
    """sending → paused for `reason`, if the campaign is still sending the generation read; True if paused now."""
    return change(campaign, [
        Campaign.status.set(CampaignStatus.PAUSED.value), Campaign.paused_reason.set(reason.value),
        Campaign.status_reason.set(sentence), Campaign.updated_at.set(clock.now()),
    ], (Campaign.status == CampaignStatus.SENDING.value) & (Campaign.generation == int(campaign.generation or 0)))


def pause_all_sending(account_id: str, reason: PauseReason, sentence: str) -> list[str]:
    """Pause every campaign of the account that is sending; the ids of those paused now."""
    return [campaign.campaign_id for campaign in of_account_in(account_id, [CampaignStatus.SENDING])
            if pause_sending(campaign, reason, sentence)]

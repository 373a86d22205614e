"""The delivery ledger: one item per (campaign, subscriber) claimed before SES is called, and one marker
per finished chunk. Both are keyed by business keys, so a redelivered or redriven message finds them.

Under the same campaign key, the campaign's feedback counters (delivered, bounced, complained, rejected,
unsubscribed) in TALLY_SHARDS tally items: each write adds to one, picked at random, so a campaign reported on
thousands of times a second writes no item more than a few dozen times a second; a reader sums them (one Query)
and adds what the campaign item itself counted before they existed (`with_tallies`)."""
from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import timedelta
from enum import Enum

from pynamodb.attributes import (
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.models.base import (
    BaseModel,
    Page,
    Update,
    take_page,
    transact,
    transaction_connection,
    written,
)
from chalicelib.models.campaigns import Campaign

CHUNK_PREFIX = "chunk#"
TALLY_PREFIX = "tally#"
TALLY_SHARDS = 20
RETENTION = timedelta(days=400)   # long past any resume; the ledger holds ids only


class DeliveryState(str, Enum):
    CLAIMED = "claimed"   # about to call SES (if it stays so, SES may or may not have taken it)
    SENT = "sent"         # SES accepted it
    FAILED = "failed"     # SES refused this recipient for good
    UNCERTAIN = "uncertain"  # SES's answer left it unknown whether it took the email: never sent again
    DONE = "done"         # a chunk marker: the chunk's counts are on the campaign
    FEEDBACK = "feedback"  # a feedback marker: the one-click unsubscribe is counted on the campaign
    TALLY = "tally"       # one of the campaign's tally items: a share of its feedback counters


class DeliveriesBySubscriber(GlobalSecondaryIndex):
    """Sparse: only a recipient's ledger item carries `subscriber_key`, so support can list what one
    subscriber was sent (R27), newest first."""

    class Meta:
        index_name = "by_subscriber"
        projection = AllProjection()

    subscriber_key = UnicodeAttribute(hash_key=True)
    claimed_at = UTCDateTimeAttribute(range_key=True)


class Delivery(BaseModel):
    class Meta:
        logical_name = "deliveries"

    campaign_key = UnicodeAttribute(hash_key=True)     # "<account_id>#<campaign_id>"
    delivery_key = UnicodeAttribute(range_key=True)    # a subscriber id, or "chunk#<generation>#<page>#<n>"
    state = UnicodeAttribute()                         # DeliveryState
    chunk = UnicodeAttribute(null=True)                # the chunk that claimed the recipient
    message_id = UnicodeAttribute(null=True)           # SES message id
    claimed_at = UTCDateTimeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    sent = NumberAttribute(null=True)                  # on a chunk marker: what the chunk counted
    failed = NumberAttribute(null=True)
    skipped = NumberAttribute(null=True)
    uncertain = NumberAttribute(null=True)
    subscriber_key = UnicodeAttribute(null=True)       # "<account_id>#<subscriber_id>", recipients only
    delivered_at = UTCDateTimeAttribute(null=True)     # SES feedback: the receiving server took it
    bounce_type = UnicodeAttribute(null=True)          # SES feedback: "hard" or "soft" (never a complaint: R23)
    bounce_reason = UnicodeAttribute(null=True)        # the SMTP diagnostic
    bounced_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    # on a tally item: its share of the campaign's feedback counters (named as on the campaign)
    delivered_count = NumberAttribute(null=True)
    hard_bounce_count = NumberAttribute(null=True)
    soft_bounce_count = NumberAttribute(null=True)
    complaint_count = NumberAttribute(null=True)
    rejected_count = NumberAttribute(null=True)
    unsubscribe_count = NumberAttribute(null=True)

    by_subscriber = DeliveriesBySubscriber()


def campaign_key(account_id: str, campaign_id: str) -> str:
    return f"{account_id}#{campaign_id}"


def chunk_key(chunk_id: str) -> str:
    return f"{CHUNK_PREFIX}{chunk_id}"


def subscriber_key(account_id: str, subscriber_id: str) -> str:
    return f"{account_id}#{subscriber_id}"


def _recipient_key(key: str, subscriber_id: str) -> str:
    """The by_subscriber key of a recipient of the campaign whose ledger key is `key`."""
    return subscriber_key(key.partition("#")[0], subscriber_id)


def claim(key: str, subscriber_id: str, chunk_id: str) -> bool:
    """Claim one recipient before calling SES; False when any delivery already claimed it."""
    now = clock.now()
    item = Delivery(key, subscriber_id, state=DeliveryState.CLAIMED.value, chunk=chunk_id, claimed_at=now,
                    subscriber_key=_recipient_key(key, subscriber_id), expires_at=now + RETENTION)
    try:
        item.save(condition=Delivery.delivery_key.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def record(key: str, subscriber_id: str, state: DeliveryState, message_id: str | None) -> None:
    """Write SES's answer (sent with its message id, or failed) onto a claim.

    An update, not a put: SES's feedback about the email may already be on the item. A claim whose outcome
    never got written (the sender died first) stays claimed: it is not sent again."""
    actions: list[Update] = [Delivery.state.set(state.value)]
    if message_id:
        actions.append(Delivery.message_id.set(message_id))
    if state is DeliveryState.SENT:
        actions.append(Delivery.sent_at.set(clock.now()))
    Delivery(key, subscriber_id).update(actions=actions)


def release(key: str, subscriber_id: str) -> None:
    """Give a claim back when SES certainly did not take the email, so a redelivery sends it."""
    try:
        Delivery(key, subscriber_id).delete(condition=Delivery.state == DeliveryState.CLAIMED.value)
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def many(key: str, delivery_keys: Iterable[str]) -> dict[str, Delivery]:
    """The ledger items of these keys that exist, by key (BatchGet; PynamoDB pages the keys)."""
    return {item.delivery_key: item for item in Delivery.batch_get([(key, k) for k in set(delivery_keys)])}


def of_subscriber(account_id: str, subscriber_id: str, limit: int, start: dict | None) -> Page[Delivery]:
    """A page of the ledger items of one recipient, across the account's campaigns, newest claim first."""
    results = Delivery.by_subscriber.query(subscriber_key(account_id, subscriber_id), scan_index_forward=False,
                                           limit=limit, last_evaluated_key=start)
    return take_page(results, limit)


def campaigns_of_recipient(account_id: str, subscriber_id: str) -> set[str]:
    """The ids of every campaign of the account that claimed this recipient (its ledger index, all of it)."""
    found = Delivery.by_subscriber.query(subscriber_key(account_id, subscriber_id), attributes_to_get=["campaign_key"])
    return {item.campaign_key.partition("#")[2] for item in found}


# --- feedback: the campaign's tally items, and one-click unsubscribes counted once by a marker ---------------

FEEDBACK_PREFIX = "feedback#"
FEEDBACK_COUNTERS = ("delivered_count", "hard_bounce_count", "soft_bounce_count", "complaint_count",
                     "rejected_count", "unsubscribe_count")


class Recorded(str, Enum):
    FIRST = "first"   # the marker was new: the counts were added
    AGAIN = "again"   # the marker was there already: nothing was written


def feedback_key(subscriber_id: str, *parts: str) -> str:
    """A feedback marker's key, led by the recipient so that erasure finds theirs with one query, e.g.
    "feedback#<subscriber>#unsubscribe"."""
    return FEEDBACK_PREFIX + "#".join((subscriber_id, *parts))


def add_to_tally(account_id: str, campaign_id: str, counts: Mapping[str, int]) -> tuple[Delivery, list]:
    """The item and the update actions adding `counts` to one of the campaign's tally items, picked at random
    (for a transaction: its other items make the counts land once)."""
    unknown = set(counts) - set(FEEDBACK_COUNTERS)
    if unknown:
        raise ValueError(f"not a feedback counter: {sorted(unknown)}")
    adds = [getattr(Delivery, name).add(value) for name, value in counts.items() if value]
    if not adds:
        raise ValueError("a tally write always moves a counter")
    item = Delivery(campaign_key(account_id, campaign_id), f"{TALLY_PREFIX}{random.randrange(TALLY_SHARDS):02d}")
    return item, [*adds, Delivery.state.set(DeliveryState.TALLY.value)]


def tallies(account_id: str, campaign_id: str) -> dict[str, int]:
    """The campaign's feedback counters summed over its tally items (one strongly consistent Query)."""
    total = dict.fromkeys(FEEDBACK_COUNTERS, 0)
    for item in Delivery.query(campaign_key(account_id, campaign_id), Delivery.delivery_key.startswith(TALLY_PREFIX),
                               consistent_read=True):
        for name in FEEDBACK_COUNTERS:
            total[name] += int(getattr(item, name) or 0)
    return total


def with_tallies(campaign: Campaign) -> Campaign:
    """The campaign with its tally items added to its feedback counters (in memory: never saved so)."""
    for name, value in tallies(campaign.account_id, campaign.campaign_id).items():
        setattr(campaign, name, int(getattr(campaign, name) or 0) + value)
    return campaign


def read_counted(account_id: str, campaign_id: str) -> Campaign | None:
    """The campaign as it is now, its feedback counters summed (read_campaign, with_tallies)."""
    campaign = read_campaign(account_id, campaign_id)
    return with_tallies(campaign) if campaign is not None else None


def record_feedback(account_id: str, campaign_id: str, marker_key: str, counts: Mapping[str, int]) -> Recorded:
    """Write the marker `marker_key` and add `counts` to the campaign's tally in one transaction, only if the
    marker is new."""
    now = clock.now()
    marker = Delivery(campaign_key(account_id, campaign_id), marker_key, state=DeliveryState.FEEDBACK.value,
                      sent_at=now, expires_at=now + RETENTION)
    tally, actions = add_to_tally(account_id, campaign_id, counts)

    def write(tx: TransactWrite) -> None:
        tx.save(marker, condition=Delivery.delivery_key.does_not_exist())
        tx.update(tally, actions=actions)

    return Recorded.AGAIN if transact(write, 2)[0] else Recorded.FIRST


def note_outcome(account_id: str, campaign_id: str, subscriber_id: str, actions: list) -> bool:
    """Write what became of a recipient's email onto its ledger item, if there is one; True if written."""
    item = Delivery(campaign_key(account_id, campaign_id), subscriber_id)
    return written(lambda: item.update(actions=actions, condition=Delivery.delivery_key.exists()))


def chunk_done(key: str, chunk_id: str) -> bool:
    """True when the chunk's counts are already on the campaign."""
    try:
        Delivery.get(key, chunk_key(chunk_id), consistent_read=True)
    except Delivery.DoesNotExist:
        return False
    return True


class ChunkOutcome(str, Enum):
    COUNTED = "counted"               # counts added and the chunk counted towards completion
    COUNTED_ONLY = "counted_only"     # counts added; the chunk belongs to an older generation
    ALREADY = "already"               # another delivery of this chunk finished it first


def finish_chunk(account_id: str, campaign_id: str, chunk_id: str, generation: int | None,
                 sent: int, failed: int, skipped: int, uncertain: int = 0) -> ChunkOutcome:
    """Atomically mark the chunk done and add its counts to the campaign, and count the chunk towards
    completion if `generation` is still the campaign's (None: counts only)."""
    key = campaign_key(account_id, campaign_id)
    now = clock.now()
    marker = Delivery(key, chunk_key(chunk_id), state=DeliveryState.DONE.value, sent=sent, failed=failed,
                      skipped=skipped, uncertain=uncertain, sent_at=now, expires_at=now + RETENTION)
    counters: list[Update] = [Campaign.sent_count.add(sent), Campaign.failed_count.add(failed),
                Campaign.skipped_count.add(skipped), Campaign.uncertain_count.add(uncertain)]
    for current in ((True, False) if generation is not None else (False,)):
        try:
            with TransactWrite(connection=transaction_connection()) as tx:
                tx.save(marker, condition=Delivery.delivery_key.does_not_exist())
                if current:
                    tx.update(Campaign(account_id, campaign_id), actions=[*counters, Campaign.chunks_done.add(1)],
                              condition=Campaign.generation == generation)
                else:
                    tx.update(Campaign(account_id, campaign_id), actions=counters,
                              condition=Campaign.campaign_id.exists())
            return ChunkOutcome.COUNTED if current else ChunkOutcome.COUNTED_ONLY
        except TransactWriteError as exc:
            codes = [reason.code if reason else None for reason in exc.cancellation_reasons or []]
            if "ConditionalCheckFailed" not in codes:
                raise
            if codes and codes[0] == "ConditionalCheckFailed":
                return ChunkOutcome.ALREADY
            if not current:
                raise
    raise AssertionError("unreachable")


# --- a campaign's delivery progress: the fan-out cursor and completion, each a conditional update ---------

def _conditional_update(campaign: Campaign, actions: list, condition) -> bool:
    return written(lambda: campaign.update(actions=actions, condition=condition))


def start_fanout(account_id: str, campaign_id: str, generation: int) -> bool:
    """Reset the fan-out progress for a new generation; False if it was already reset (or the campaign moved on)."""
    from chalicelib.models.campaigns import CampaignStatus

    return _conditional_update(
        Campaign(account_id, campaign_id),
        actions=[Campaign.fanout_generation.set(generation), Campaign.fanout_cursor.remove(),
                 Campaign.fanout_page.set(0), Campaign.fanout_chunks.set(0), Campaign.chunks_done.set(0),
                 Campaign.chunks_total.remove(), Campaign.fanout_done.set(False)],
        condition=(Campaign.status == CampaignStatus.SENDING.value) & (Campaign.generation == generation)
        & (Campaign.fanout_generation.does_not_exist() | (Campaign.fanout_generation != generation)),
    )


def save_fanout_page(campaign: Campaign, generation: int, page: int, chunks: int, cursor: str | None) -> bool:
    """Record that `page` was fanned out into `chunks` chunks; without a cursor, the fan-out is complete.

    Conditional on the page still being the next one, so a duplicate fan-out never counts a page twice.
    """
    actions = [Campaign.fanout_page.set(page + 1), Campaign.fanout_chunks.add(chunks)]
    if cursor is None:
        actions += [Campaign.fanout_cursor.remove(), Campaign.fanout_done.set(True),
                    Campaign.chunks_total.set(int(campaign.fanout_chunks or 0) + chunks)]
    else:
        actions.append(Campaign.fanout_cursor.set(cursor))
    return _conditional_update(
        Campaign(campaign.account_id, campaign.campaign_id), actions,
        condition=(Campaign.fanout_generation == generation) & (Campaign.fanout_page == page),
    )


def complete(account_id: str, campaign_id: str, generation: int) -> Campaign | None:
    """Move a campaign whose every chunk is done from sending to sent; the updated campaign, or None if not yet."""
    from chalicelib.models.campaigns import CampaignStatus

    campaign = Campaign(account_id, campaign_id)
    now = clock.now()
    done = _conditional_update(
        campaign,
        actions=[Campaign.status.set(CampaignStatus.SENT.value), Campaign.finished_at.set(now),
                 Campaign.updated_at.set(now)],
        condition=(Campaign.status == CampaignStatus.SENDING.value) & (Campaign.generation == generation)
        & (Campaign.fanout_done == True) & (Campaign.chunks_done >= Campaign.chunks_total),  # noqa: E712
    )
    return campaign if done else None


def read_campaign(account_id: str, campaign_id: str) -> Campaign | None:
    """The campaign as it is now (a consistent read: pause and cancel must be seen at once)."""
    try:
        return Campaign.get(account_id, campaign_id, consistent_read=True)
    except Campaign.DoesNotExist:
        return None


# --- one recipient's ledger (erasure, R28) ------------------------------------------------------------------

def forget_recipient(account_id: str, campaign_id: str, subscriber_id: str) -> int:
    """Delete a recipient's ledger item and feedback markers in one campaign; how many items went."""
    key = campaign_key(account_id, campaign_id)
    markers = Delivery.query(key, Delivery.delivery_key.startswith(feedback_key(subscriber_id, "")))
    doomed = [item.delivery_key for item in markers]
    if Delivery.find(key, subscriber_id) is not None:
        doomed.append(subscriber_id)
    with Delivery.batch_write() as batch:
        for delivery_key in doomed:
            batch.delete(Delivery(key, delivery_key))
    return len(doomed)

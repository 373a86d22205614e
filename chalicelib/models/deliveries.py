"""The delivery ledger: one item per (campaign, subscriber) claimed before SES is called, and one marker
per finished chunk. Both are keyed by business keys, so a redelivered or redriven message finds them."""
from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Iterable

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.models.base import BaseModel, transaction_connection
from chalicelib.models.campaigns import Campaign

CHUNK_PREFIX = "chunk#"
RETENTION = timedelta(days=400)   # long past any resume; the ledger holds ids only
BATCH_GET = 100                   # DynamoDB BatchGetItem takes at most 100 keys


class DeliveryState(str, Enum):
    CLAIMED = "claimed"   # about to call SES (if it stays so, SES may or may not have taken it)
    SENT = "sent"         # SES accepted it
    FAILED = "failed"     # SES refused this recipient for good
    DONE = "done"         # a chunk marker: the chunk's counts are on the campaign


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
    expires_at = TTLAttribute(null=True)


def campaign_key(account_id: str, campaign_id: str) -> str:
    return f"{account_id}#{campaign_id}"


def chunk_key(chunk_id: str) -> str:
    return f"{CHUNK_PREFIX}{chunk_id}"


def claim(key: str, subscriber_id: str, chunk_id: str) -> bool:
    """Claim one recipient before calling SES; False when any delivery already claimed it."""
    now = clock.now()
    item = Delivery(key, subscriber_id, state=DeliveryState.CLAIMED.value, chunk=chunk_id, claimed_at=now,
                    expires_at=now + RETENTION)
    try:
        item.save(condition=Delivery.delivery_key.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def record_many(key: str, chunk_id: str, outcomes: list[tuple[str, DeliveryState, str | None]]) -> None:
    """Write the outcomes (subscriber id, sent or failed, SES message id) of claimed recipients, 25 per request.

    A claim whose outcome never got written (the sender died first) stays claimed: it is not sent again."""
    if not outcomes:
        return
    now = clock.now()
    with Delivery.batch_write() as batch:
        for subscriber_id, state, message_id in outcomes:
            batch.save(Delivery(key, subscriber_id, state=state.value, chunk=chunk_id, message_id=message_id,
                                claimed_at=now, sent_at=now if state is DeliveryState.SENT else None,
                                expires_at=now + RETENTION))


def release(key: str, subscriber_id: str) -> None:
    """Give a claim back when SES certainly did not take the email, so a redelivery sends it."""
    try:
        Delivery(key, subscriber_id).delete(condition=Delivery.state == DeliveryState.CLAIMED.value)
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def many(key: str, delivery_keys: Iterable[str]) -> dict[str, Delivery]:
    """The ledger items of these keys that exist, by key."""
    wanted = list(dict.fromkeys(delivery_keys))
    found: dict[str, Delivery] = {}
    for start in range(0, len(wanted), BATCH_GET):
        for item in Delivery.batch_get([(key, k) for k in wanted[start:start + BATCH_GET]]):
            found[item.delivery_key] = item
    return found


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
                 sent: int, failed: int, skipped: int) -> ChunkOutcome:
    """Atomically mark the chunk done and add its counts to the campaign, and count the chunk towards
    completion if `generation` is still the campaign's (None: counts only)."""
    key = campaign_key(account_id, campaign_id)
    now = clock.now()
    marker = Delivery(key, chunk_key(chunk_id), state=DeliveryState.DONE.value, sent=sent, failed=failed,
                      skipped=skipped, sent_at=now, expires_at=now + RETENTION)
    counters = [Campaign.sent_count.add(sent), Campaign.failed_count.add(failed),
                Campaign.skipped_count.add(skipped)]
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
    from pynamodb.exceptions import UpdateError

    try:
        campaign.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


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

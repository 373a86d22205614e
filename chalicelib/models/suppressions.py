"""Suppressions: the addresses an account never mails again, one item per (account, address)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import Enum

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.models.base import BaseModel, Page, take_page, written


class SuppressionReason(str, Enum):
    UNSUBSCRIBED = "unsubscribed"   # the person asked (R19); lifted only by their own confirmed opt-in
    BOUNCED = "bounced"             # hard bounce; the customer may restore it (R27)
    COMPLAINED = "complained"       # never lifted; shown to the customer as "unsubscribed" (R23)
    MANUAL = "manual"               # added by the customer; the customer may remove it
    ERASED = "erased"               # its owner had their data erased (R28): only the keyed hash is kept, for ever


class SuppressionsByEmail(GlobalSecondaryIndex):
    """Every account's suppression of one address: erasure (R28) finds them all by the keyed hash."""

    class Meta:
        index_name = "by_email"
        projection = AllProjection()

    email_key = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute(range_key=True)


class Suppression(BaseModel):
    class Meta:
        logical_name = "suppressions"

    account_id = UnicodeAttribute(hash_key=True)
    email_key = UnicodeAttribute(range_key=True)    # keyed hash of the normalised address
    email = UnicodeAttribute(null=True)             # None once its owner had it erased (R28)
    reason = UnicodeAttribute()                     # SuppressionReason
    created_at = UTCDateTimeAttribute()
    source = UnicodeAttribute(null=True)            # the list (or campaign) it came from
    erasure_recorded_at = UTCDateTimeAttribute(null=True)   # erased: when the account was told and audited

    by_email = SuppressionsByEmail()


def get(account_id: str, email_key: str) -> Suppression | None:
    return Suppression.find(account_id, email_key)


def page(account_id: str, limit: int, start: dict | None) -> Page[Suppression]:
    return take_page(Suppression.query(account_id, limit=limit, last_evaluated_key=start), limit)


def put_unless(item: Suppression, keep: set[SuppressionReason]) -> bool:
    """Save `item` unless the address is already suppressed for one of the `keep` reasons; True if saved."""
    condition = Suppression.email_key.does_not_exist()
    if keep:
        condition |= ~Suppression.reason.is_in(*(r.value for r in keep))
    return written(lambda: item.save(condition=condition))


def delete_if(account_id: str, email_key: str, reasons: set[SuppressionReason]) -> bool:
    """Delete the suppression if its reason is one of `reasons`; True if it was deleted."""
    condition = Suppression.email_key.exists() & Suppression.reason.is_in(*(r.value for r in reasons))
    return written(lambda: Suppression(account_id, email_key).delete(condition=condition))


def suppressed_among(account_id: str, email_keys) -> set[str]:
    """Which of these email keys the account suppresses."""
    return set(reasons_among(account_id, email_keys))


def reasons_among(account_id: str, email_keys) -> dict[str, str]:
    """The suppression reason of each of these email keys that the account suppresses (BatchGet; PynamoDB
    pages the keys)."""
    return {item.email_key: item.reason for item in Suppression.batch_get([(account_id, k) for k in set(email_keys)])}


# --- erasure (R28) ------------------------------------------------------------------------------

def of_address(email_key: str) -> Iterator[Suppression]:
    """The suppressions of one address in every account."""
    return Suppression.by_email.query(email_key)


def mark_erased(account_id: str, email_key: str, at: datetime) -> bool:
    """Replace the account's suppression of the address by its keyed hash alone, reason erased (nothing else
    is kept: no address, no source); True if it changed, False if it was erased already."""
    item = Suppression(account_id, email_key, reason=SuppressionReason.ERASED.value, created_at=at)
    condition = Suppression.email_key.does_not_exist() | (Suppression.reason != SuppressionReason.ERASED.value)
    return written(lambda: item.save(condition=condition))


def claim_erasure_record(account_id: str, email_key: str, at: datetime) -> bool:
    """Note that the account is being told (and its audit trail written) of the erasure; False if it was already."""
    condition = (Suppression.reason == SuppressionReason.ERASED.value) \
        & Suppression.erasure_recorded_at.does_not_exist()
    return written(lambda: Suppression(account_id, email_key).update(
        actions=[Suppression.erasure_recorded_at.set(at)], condition=condition))


def release_erasure_record(account_id: str, email_key: str) -> None:
    """Undo `claim_erasure_record` when telling the account failed, so that running the erasure again tells it."""
    written(lambda: Suppression(account_id, email_key).update(
        actions=[Suppression.erasure_recorded_at.remove()], condition=Suppression.email_key.exists()))

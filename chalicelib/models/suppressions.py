"""Suppressions: the addresses an account never mails again, one item per (account, address)."""
from __future__ import annotations

from enum import Enum

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import BaseModel, Page, take_page, written


class SuppressionReason(str, Enum):
    UNSUBSCRIBED = "unsubscribed"   # the person asked (R19); lifted only by their own confirmed opt-in
    BOUNCED = "bounced"             # hard bounce; the customer may restore it (R27)
    COMPLAINED = "complained"       # never lifted, never shown by address (R23)
    MANUAL = "manual"               # added by the customer; the customer may remove it


class Suppression(BaseModel):
    class Meta:
        logical_name = "suppressions"

    account_id = UnicodeAttribute(hash_key=True)
    email_key = UnicodeAttribute(range_key=True)    # keyed hash of the normalised address
    email = UnicodeAttribute(null=True)             # None for complaints (R23)
    reason = UnicodeAttribute()                     # SuppressionReason
    created_at = UTCDateTimeAttribute()
    source = UnicodeAttribute(null=True)            # the list (or campaign) it came from


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


BATCH_GET = 100  # DynamoDB BatchGetItem takes at most 100 keys


def suppressed_among(account_id: str, email_keys) -> set[str]:
    """Which of these email keys the account suppresses (BatchGet, 100 keys per call)."""
    wanted = list(dict.fromkeys(email_keys))
    found: set[str] = set()
    for start in range(0, len(wanted), BATCH_GET):
        for item in Suppression.batch_get([(account_id, key) for key in wanted[start:start + BATCH_GET]]):
            found.add(item.email_key)
    return found

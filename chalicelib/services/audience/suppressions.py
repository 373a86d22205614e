"""The account's suppression list: addresses it never mails again (R14, R19, R23, R27)."""
from __future__ import annotations

from chalicelib import clock, errors, security
from chalicelib.log import logger
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models import suppressions as store
from chalicelib.models.base import Page
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.models.suppressions import Suppression, SuppressionReason
from chalicelib.services import addresses
from chalicelib.services.accounts import accounts

# A stronger reason is never replaced by a weaker one: an erasure outlives everything (R28), a complaint
# outlives an unsubscribe, which outlives a bounce, which outlives a manual entry.
STRENGTH = {
    SuppressionReason.MANUAL: 0,
    SuppressionReason.BOUNCED: 1,
    SuppressionReason.UNSUBSCRIBED: 2,
    SuppressionReason.COMPLAINED: 3,
    SuppressionReason.ERASED: 4,
}
CUSTOMER_REMOVABLE = {SuppressionReason.BOUNCED, SuppressionReason.MANUAL}


def email_key(address: str) -> str:
    """The account-independent key of a normalised address (erasure finds every copy by it)."""
    return security.keyed_hash("email", address)


def find(account_id: str, address: str) -> Suppression | None:
    """The account's suppression of a normalised address, if any."""
    return store.get(account_id, email_key(address))


def suppress(account_id: str, address: str, reason: SuppressionReason, source: str | None = None) -> Suppression:
    """Suppress an address for the whole account; an existing stronger reason is kept."""
    item = Suppression(
        account_id,
        email_key(address),
        email=address,
        reason=reason.value,
        created_at=clock.now(),
        source=source,
    )
    keep = {r for r in SuppressionReason if STRENGTH[r] >= STRENGTH[reason]}
    if store.put_unless(item, keep):
        return item
    return store.get(account_id, item.email_key) or item


def as_seen(item: Suppression) -> tuple[str | None, str]:
    """The address and reason the customer sees. A complaint reads as the unsubscribe it also is, in every
    list, export and look-up, so that comparing them can never single out who complained (R23)."""
    if item.reason == SuppressionReason.COMPLAINED.value:
        return item.email, SuppressionReason.UNSUBSCRIBED.value
    return item.email, item.reason


def add_manual(account_id: str, email: str) -> Suppression:
    """The customer suppresses an address by hand; 409 if it is already suppressed, 422 if the account is closed."""
    accounts.ensure_open(account_id)
    address = addresses.normalise(email)
    item = Suppression(account_id, email_key(address), email=address, reason=SuppressionReason.MANUAL.value,
                       created_at=clock.now())
    if not store.put_unless(item, set(SuppressionReason)):
        raise errors.Conflict("This address is already on the suppression list.", code="already_suppressed")
    return item


def remove(account_id: str, email: str) -> None:
    """The customer restores a bounced or manually suppressed address (R27): it is mailed again, and its
    members that bounced are subscribed again, so the next campaign reaches it."""
    try:
        key = email_key(addresses.normalise(email))
    except errors.Invalid:
        raise errors.NotFound("suppression") from None
    existing = store.get(account_id, key)
    if existing is None:
        raise errors.NotFound("suppression")
    if existing.reason == SuppressionReason.ERASED.value:
        raise _erased()
    if SuppressionReason(existing.reason) not in CUSTOMER_REMOVABLE:
        raise _permanent()
    # Members first: if what follows fails, the suppression is still there and a retry finishes the job.
    reactivated = _reactivate_bounced(account_id, key)
    if not store.delete_if(account_id, key, CUSTOMER_REMOVABLE) and store.get(account_id, key) is not None:
        raise _permanent()   # a complaint or unsubscribe replaced it meanwhile
    logger.info("suppression removed", extra={"account_id": account_id, "reason": existing.reason,
                                              "members_reactivated": reactivated})


def _reactivate_bounced(account_id: str, key: str) -> int:
    """Subscribe again every member of the address that is `bounced`, with its soft bounces forgotten."""
    count = 0
    for member in subscriber_store.all_for_address(account_id, key):
        if member.status != SubscriberStatus.BOUNCED.value:
            continue
        actions = [
            Subscriber.status.set(SubscriberStatus.SUBSCRIBED.value),
            Subscriber.list_status.set(subscriber_store.status_key(member.list_key, SubscriberStatus.SUBSCRIBED)),
            Subscriber.soft_bounces.set(0),
            Subscriber.updated_at.set(clock.now()),
        ]
        count += subscriber_store.update_if(member, actions, allowed={SubscriberStatus.BOUNCED})
    return count


def _permanent() -> errors.Invalid:
    """Why an unsubscribe (or a complaint, which reads the same: R23) cannot be removed by the customer."""
    return errors.Invalid(
        "This address unsubscribed. Only its owner can undo that, by subscribing again and confirming "
        "by email (for example through your list's signup form).",
        code="suppression_permanent",
    )


def _erased() -> errors.Invalid:
    """Why an erased address (R28) stays suppressed: its owner asked for it, and it is kept only as a keyed hash."""
    return errors.Invalid(
        "The owner of this address had their data erased at their request; it can never be added or mailed again.",
        code="suppression_permanent",
    )


def lift_unsubscribe(account_id: str, address: str) -> bool:
    """The person confirmed a new opt-in: their own unsubscribe no longer stands. True if one was lifted."""
    return store.delete_if(account_id, email_key(address), {SuppressionReason.UNSUBSCRIBED})


def page(account_id: str, limit: int, start: dict | None) -> Page[Suppression]:
    """The account's suppressions, a page at a time."""
    if start is not None and _key_account(start) != account_id:
        raise errors.Malformed("The cursor is not one this API gave out.", code="invalid_cursor")
    return store.page(account_id, limit, start)


def _key_account(start: dict) -> str | None:
    value = start.get("account_id")
    return value.get("S") if isinstance(value, dict) else None

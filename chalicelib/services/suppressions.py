"""The account's suppression list: addresses it never mails again (R14, R19, R23, R27)."""
from __future__ import annotations

from chalicelib import clock, errors, security
from chalicelib.models import suppressions as store
from chalicelib.models.base import Page
from chalicelib.models.suppressions import Suppression, SuppressionReason
from chalicelib.services import addresses

# A stronger reason is never replaced by a weaker one: a complaint outlives an unsubscribe, which
# outlives a bounce, which outlives a manual entry.
STRENGTH = {
    SuppressionReason.MANUAL: 0,
    SuppressionReason.BOUNCED: 1,
    SuppressionReason.UNSUBSCRIBED: 2,
    SuppressionReason.COMPLAINED: 3,
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
        email=None if reason is SuppressionReason.COMPLAINED else address,
        reason=reason.value,
        created_at=clock.now(),
        source=source,
    )
    keep = {r for r in SuppressionReason if STRENGTH[r] >= STRENGTH[reason]}
    if store.put_unless(item, keep):
        return item
    return store.get(account_id, item.email_key) or item


def add_manual(account_id: str, email: str) -> Suppression:
    """The customer suppresses an address by hand; 409 if it is already suppressed."""
    address = addresses.normalise(email)
    item = Suppression(account_id, email_key(address), email=address, reason=SuppressionReason.MANUAL.value,
                       created_at=clock.now())
    if not store.put_unless(item, set(SuppressionReason)):
        raise errors.Conflict("This address is already on the suppression list.", code="already_suppressed")
    return item


def remove(account_id: str, email: str) -> None:
    """The customer restores a bounced or manually suppressed address (R27)."""
    try:
        key = email_key(addresses.normalise(email))
    except errors.Invalid:
        raise errors.NotFound("suppression") from None
    if store.delete_if(account_id, key, CUSTOMER_REMOVABLE):
        return
    existing = store.get(account_id, key)
    if existing is None:
        raise errors.NotFound("suppression")
    if existing.reason == SuppressionReason.COMPLAINED.value:
        raise errors.Invalid(
            "This address complained about your email; it can never be mailed again.",
            code="suppression_permanent",
        )
    raise errors.Invalid(
        "This address unsubscribed. Only its owner can undo that, by subscribing again and confirming "
        "by email (for example through your list's signup form).",
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

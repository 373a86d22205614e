"""Erasure (R28): an address goes with everything tied to it (its list memberships, tracking events, delivery
ledger and feedback markers, pending notices), and each affected account keeps only the address's keyed hash
on its suppression list, reason erased, so that it can never be imported or added again (R14).

Each step is idempotent, and they run in an order that lets a run stopped half-way be finished by running it
again: the suppression becomes the bare hash first (from then on no path can add the address back), the
records that still hold the address go last (until then they are where a re-run finds it), and each account
is told and audited once, after its data went.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from chalicelib import clock, errors
from chalicelib.log import logger
from chalicelib.models import accounts as account_store
from chalicelib.models import deliveries as delivery_store
from chalicelib.models import events as event_store
from chalicelib.models import exports as export_store
from chalicelib.models import lists as list_store
from chalicelib.models import notices as notice_store
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models import suppressions as suppression_store
from chalicelib.models import users as user_store
from chalicelib.outbound import Mailer
from chalicelib.services.accounts import audit
from chalicelib.services.accounts.audit import Action, Actor, Origin
from chalicelib.services.audience import subscribers
from chalicelib.services.privacy import data_access, privacy_mail


class RequestedBy(str, Enum):
    DATA_SUBJECT = "data_subject"   # the address's owner, through a verified link
    CUSTOMER = "customer"           # the account, for one of its subscribers


# The data subject's own request: their IP or agent never goes into a customer's audit trail.
SUBJECT_ORIGIN = Origin(route="GET /privacy/requests/{token}")
SUBJECT_ACTOR = Actor(user_id=None, role=RequestedBy.DATA_SUBJECT.value)


@dataclass
class AccountErasure:
    """What one account lost: counts and list ids only."""

    account_id: str
    list_ids: list[str] = field(default_factory=list)
    subscribers: int = 0
    events: int = 0
    ledger_items: int = 0
    notices: int = 0


def erase_everywhere(email_key: str, mailer: Mailer) -> list[AccountErasure]:
    """The verified owner of an address asked for erasure: erase it from every account, and tell each one."""
    held = data_access.holdings(email_key)
    address = held.address
    done = [erase_in_account(account_id, email_key, address) for account_id in held.account_ids]
    notice_store.delete_for_address(email_key)   # also where no membership or suppression is left to find
    unrecorded = sum(not _record(result, email_key, RequestedBy.DATA_SUBJECT, SUBJECT_ORIGIN, SUBJECT_ACTOR, mailer)
                     for result in done)
    logger.info("address erased", extra={
        "requested_by": RequestedBy.DATA_SUBJECT.value, "accounts": len(done),
        "subscribers": sum(r.subscribers for r in done), "events": sum(r.events for r in done),
        "ledger_items": sum(r.ledger_items for r in done), "not_told": unrecorded})
    if unrecorded:
        raise errors.UpstreamError("Your data is erased, but we could not yet tell every company; please open the "
                                   "link again in a few minutes.")
    return done


def erase_subscriber(account_id: str, list_id: str, subscriber_id: str, actor: Actor,
                     origin: Origin) -> AccountErasure:
    """The customer erases a subscriber: the address goes from every list of the account as completely as for
    its owner's own request, and stays suppressed there as a keyed hash. 404 for a missing one or another tenant's."""
    subscriber = subscribers.get(account_id, list_id, subscriber_id)
    result = erase_in_account(account_id, subscriber.email_key, subscriber.email)
    _record(result, subscriber.email_key, RequestedBy.CUSTOMER, origin, actor, None)
    logger.info("subscriber erased", extra={
        "requested_by": RequestedBy.CUSTOMER.value, "account_id": account_id, "subscriber_id": subscriber_id,
        "lists": len(result.list_ids), "events": result.events, "ledger_items": result.ledger_items})
    return result


def erase_in_account(account_id: str, email_key: str, address: str | None) -> AccountErasure:
    """Erase the address from one account, leaving the bare keyed hash on its suppression list. `address` (when
    some record still holds it) also finds the events of memberships that were deleted earlier."""
    suppression_store.mark_erased(account_id, email_key, clock.now())
    memberships = list(subscriber_store.all_for_address(account_id, email_key))
    result = AccountErasure(account_id, list_ids=sorted({m.list_id for m in memberships}))
    # Only the campaigns the ledger says mailed one of the address's subscriber ids.
    for subscriber_id in sorted(data_access.recipient_ids(account_id, memberships, address)):
        for campaign_id in sorted(delivery_store.campaigns_of_recipient(account_id, subscriber_id)):
            result.events += event_store.forget_subscriber(account_id, campaign_id, subscriber_id)
            result.ledger_items += delivery_store.forget_recipient(account_id, campaign_id, subscriber_id)
    result.notices = notice_store.delete_for_address(email_key, account_id)
    _forget_exports(account_id)
    for member in memberships:   # last: until now they are where a re-run finds the address
        try:
            subscriber_store.delete_counted([member])
            result.subscribers += 1
        except subscriber_store.Gone:
            pass
    return result


def _forget_exports(account_id: str) -> None:
    """The account's export files hold every subscriber's address: they go, with their records (the customer
    can ask for a new one; what it would hold no longer names the erased address)."""
    from chalicelib.storage import ExportFiles

    files = ExportFiles()
    while files.delete_under(f"{account_id}/"):
        pass
    for item in export_store.of_account(account_id):
        export_store.remove(item)


def _record(result: AccountErasure, email_key: str, requested_by: RequestedBy, origin: Origin, actor: Actor,
            mailer: Mailer | None) -> bool:
    """Tell the account's owner (when `mailer` is given) and audit the erasure, once per account; False if the
    owner could not be told now (the next run tries again)."""
    account_id = result.account_id
    if not suppression_store.claim_erasure_record(account_id, email_key, clock.now()):
        return True
    account = account_store.get(account_id)
    if account is None:
        return True   # the account itself is gone (R30): nobody to tell
    if mailer is not None:
        owner = user_store.get(account_id, account.owner_user_id)
        if owner is not None:
            try:
                mailer.send(privacy_mail.erasure_notice(owner.email, _list_names(account_id, result.list_ids)))
            except errors.UpstreamError:
                suppression_store.release_erasure_record(account_id, email_key)
                logger.error("erasure notice not sent", extra={"account_id": account_id})
                return False
    audit.record(account_id, Action.SUBSCRIBER_ERASED, origin, actor, details={
        "requested_by": requested_by.value, "lists": result.list_ids, "subscribers": result.subscribers,
        "events": result.events, "ledger_items": result.ledger_items})
    return True


def _list_names(account_id: str, list_ids: list[str]) -> list[str]:
    names = []
    for list_id in list_ids:
        contact_list = list_store.get(account_id, list_id)
        if contact_list is not None:
            names.append(contact_list.name)
    return names

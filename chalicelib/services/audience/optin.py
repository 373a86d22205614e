"""What people do through the public pages: confirm an opt-in (R13), unsubscribe (R19), sign up (R18)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from chalicelib import clock, errors
from chalicelib.log import logger
from chalicelib.models import deliveries
from chalicelib.models import lists as list_store
from chalicelib.models import subscribers as store
from chalicelib.models.lists import ContactList
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.outbound import Mailer
from chalicelib.rendering.tracking import is_test
from chalicelib.services import addresses
from chalicelib.services.audience import form_guard, links, notices, subscriber_fields, subscribers, suppressions

# Someone may submit a form again and again with another person's address: resend at most this often.
RESEND_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Signup:
    """What became of a form submission; `needs_confirmation` tells which page to show."""

    contact_list: ContactList
    needs_confirmation: bool


def confirm(token: str, ip: str | None) -> ContactList:
    """The person confirms their opt-in: pending becomes subscribed; their own unsubscribe is lifted."""
    ref = links.read_confirm(token)
    subscriber = store.get(ref.account_id, ref.list_id, ref.subscriber_id) if ref else None
    contact_list = list_store.get(ref.account_id, ref.list_id) if ref else None
    if ref is None or subscriber is None or contact_list is None:
        raise errors.NotFound("confirmation link")
    if subscriber.status == SubscriberStatus.SUBSCRIBED.value:
        _lift_unsubscribe(subscriber)   # in case a first click stopped halfway
        return contact_list
    if subscriber.status != SubscriberStatus.PENDING.value:
        raise errors.NotFound("confirmation link")
    now = clock.now()
    consent = {**subscriber.consent.as_dict(), "confirmed_at": clock.iso(now)}
    if ip:
        consent["confirmed_ip"] = ip
    changed = store.update_if(subscriber, [
        Subscriber.status.set(SubscriberStatus.SUBSCRIBED.value),
        Subscriber.list_status.set(store.status_key(subscriber.list_key, SubscriberStatus.SUBSCRIBED)),
        Subscriber.confirmed_at.set(now),
        Subscriber.consent.set(consent),
        Subscriber.updated_at.set(now),
    ], allowed={SubscriberStatus.PENDING})
    if not changed:   # confirmed, unsubscribed or deleted meanwhile
        current = store.get(ref.account_id, ref.list_id, ref.subscriber_id)
        if current is None or _status(current) is not SubscriberStatus.SUBSCRIBED:
            raise errors.NotFound("confirmation link")
        return contact_list
    _lift_unsubscribe(subscriber)
    logger.info("opt-in confirmed", extra={"account_id": subscriber.account_id, "list_id": subscriber.list_id,
                                           "subscriber_id": subscriber.subscriber_id})
    notices.subscribed(contact_list, subscriber)
    return contact_list


def unsubscribe_target(token: str) -> ContactList | None:
    """Check an unsubscribe link without acting on it: the list it names (None if since deleted)."""
    ref = links.read_unsubscribe(token)
    if ref is None:
        raise errors.NotFound("unsubscribe link")
    return list_store.get(ref.account_id, ref.list_id)


def unsubscribe(token: str) -> ContactList | None:
    """One click (RFC 8058): the address gets no more mail from this account (R19). Idempotent."""
    ref = links.read_unsubscribe(token)
    if ref is None:
        raise errors.NotFound("unsubscribe link")
    return unsubscribe_everywhere(ref)


def unsubscribe_everywhere(ref: links.SubscriberRef) -> ContactList | None:
    """The person behind a signed link leaves every list of the account (R19), counted on the campaign whose
    email carried the link; the list the link names (None if since deleted). Idempotent."""
    subscriber = store.get(ref.account_id, ref.list_id, ref.subscriber_id)
    if subscriber is not None:
        if ref.campaign_id and _status(subscriber) in subscribers.UNSUBSCRIBABLE:
            count_on_campaign(ref.account_id, ref.campaign_id, subscriber.subscriber_id)
        subscribers.unsubscribe_on_request(subscriber)
    return list_store.get(ref.account_id, ref.list_id)


def count_on_campaign(account_id: str, campaign_id: str, subscriber_id: str) -> None:
    """Count the unsubscribe on the campaign whose email carried the link (R22, R26), once per subscriber and
    never for a test copy; a failure never stops the unsubscribe."""
    if is_test(subscriber_id):
        return
    try:
        deliveries.record_feedback(account_id, campaign_id, deliveries.feedback_key(subscriber_id, "unsubscribe"),
                                   {"unsubscribe_count": 1})
    except Exception:  # noqa: BLE001 - logged with its trace; the person's unsubscribe must still happen (R19)
        logger.exception("unsubscribe not counted on its campaign", extra={
            "account_id": account_id, "campaign_id": campaign_id, "subscriber_id": subscriber_id})


def form_list(token: str) -> ContactList:
    """The list behind a hosted signup form link (R18); NotAccepting when its account is suspended or closed."""
    ref = links.read_form(token)
    contact_list = list_store.get(ref.account_id, ref.list_id) if ref else None
    if contact_list is None:
        raise errors.NotFound("signup form")
    form_guard.check_accepting(contact_list)
    return contact_list


def sign_up(token: str, form: Mapping[str, str], ip: str | None, mailer: Mailer) -> Signup:
    """A signup through the hosted form (R18).

    Double opt-in when the list asks for it, and always when the address had unsubscribed or had
    left this list: confirming is the person's new opt-in that lifts their unsubscribe. A post that looks
    like a bot's (form_guard) changes nothing and reads as a person's would; a confirmation email past the
    hourly limits is RateLimited, before anything is stored.
    """
    contact_list = form_list(token)
    account_id, list_id = contact_list.account_id, contact_list.list_id
    if not form_guard.filled_by_a_person(contact_list, form):
        logger.info("form post looked automated: nothing done", extra={"account_id": account_id, "list_id": list_id})
        return Signup(contact_list, needs_confirmation=contact_list.double_opt_in)
    address = addresses.normalise_recipient(form.get("email", ""))
    values = subscriber_fields.from_form(contact_list.fields, form)
    consent = subscribers.Consent(source="form", ip=ip).record()
    suppression = suppressions.find(account_id, address)
    if suppression is not None and suppression.reason != SuppressionReason.UNSUBSCRIBED.value:
        raise errors.Invalid("This address cannot be subscribed to this list.", code="suppressed")
    needs_confirmation = contact_list.double_opt_in or suppression is not None
    existing = store.get(account_id, list_id, subscribers.subscriber_id_for(account_id, list_id, address))
    if existing is None:
        status = SubscriberStatus.PENDING if needs_confirmation else SubscriberStatus.SUBSCRIBED
        if needs_confirmation:
            form_guard.reserve_confirmation(contact_list, ip)
        try:
            subscribers.create(contact_list, address, values, consent, status, mailer)
            return Signup(contact_list, needs_confirmation)
        except errors.Conflict:   # the same address was submitted twice at once
            existing = store.get(account_id, list_id, subscribers.subscriber_id_for(account_id, list_id, address))
    if existing is None:
        raise errors.Conflict("The signup could not be completed; please try again.")
    return _sign_up_again(existing, contact_list, values, consent, needs_confirmation, mailer, ip)


def _sign_up_again(existing: Subscriber, contact_list: ContactList, values: dict, consent: dict,
                   needs_confirmation: bool, mailer: Mailer, ip: str | None) -> Signup:
    status = _status(existing)
    if status is SubscriberStatus.SUBSCRIBED and not needs_confirmation:
        return Signup(contact_list, needs_confirmation=False)
    if status is SubscriberStatus.SUBSCRIBED:
        # Already a member: the page reads the same as for a new address, and nothing is sent.
        return Signup(contact_list, needs_confirmation=True)
    # Pending, unsubscribed or bounced: a person who left this list confirms before rejoining.
    needs_confirmation = needs_confirmation or status is SubscriberStatus.UNSUBSCRIBED
    new_status = SubscriberStatus.PENDING if needs_confirmation else SubscriberStatus.SUBSCRIBED
    now = clock.now()
    actions = [
        Subscriber.status.set(new_status.value),
        Subscriber.list_status.set(store.status_key(existing.list_key, new_status)),
        Subscriber.fields.set(subscriber_fields.merge(existing.fields.as_dict(), values)),
        Subscriber.consent.set(consent),
        Subscriber.updated_at.set(now),
    ]
    if new_status is SubscriberStatus.SUBSCRIBED:
        actions.append(Subscriber.confirmed_at.set(now))
    recently_sent = (status is SubscriberStatus.PENDING and existing.confirmation_sent_at is not None
                     and now - existing.confirmation_sent_at < RESEND_AFTER)
    if needs_confirmation and not recently_sent:
        form_guard.reserve_confirmation(contact_list, ip)
    if not store.update_if(existing, actions, allowed={status}):
        raise errors.Conflict("The signup could not be completed; please try again.")
    if new_status is SubscriberStatus.SUBSCRIBED:
        notices.subscribed(contact_list, existing)
    if needs_confirmation and not recently_sent:
        subscribers.send_confirmation(mailer, contact_list, existing)
    return Signup(contact_list, needs_confirmation)


def _lift_unsubscribe(subscriber: Subscriber) -> None:
    """A confirmation given after the person unsubscribed is their new opt-in: the unsubscribe no longer stands."""
    suppression = suppressions.find(subscriber.account_id, subscriber.email)
    if (suppression is not None and suppression.reason == SuppressionReason.UNSUBSCRIBED.value
            and subscriber.confirmed_at is not None and suppression.created_at <= subscriber.confirmed_at):
        suppressions.lift_unsubscribe(subscriber.account_id, subscriber.email)


def _status(subscriber: Subscriber) -> SubscriberStatus:
    return SubscriberStatus(subscriber.status)

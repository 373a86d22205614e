"""Subscribers of a list (R9, R10, R13–R15, R17, R19): add, read, edit, unsubscribe, delete."""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import clock, errors, security
from chalicelib.log import logger
from chalicelib.models import subscribers as store
from chalicelib.models.accounts import Growth
from chalicelib.models.base import Page
from chalicelib.models.lists import ContactList
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.outbound import Mailer
from chalicelib.services import addresses
from chalicelib.services.accounts import accounts, audit, plans
from chalicelib.services.accounts.audit import Action, Actor, Origin
from chalicelib.services.audience import confirmation, lists, notices, subscriber_fields, suppressions

UNSUBSCRIBABLE = {SubscriberStatus.PENDING, SubscriberStatus.SUBSCRIBED}
CLOCK_SKEW = timedelta(minutes=5)   # a caller's clock may run a little ahead of ours


@dataclass(frozen=True)
class Consent:
    """How and when the person agreed: the form, import or page (`source`), their IP and the time."""

    source: str
    ip: str | None = None
    at: str | None = None

    def record(self) -> dict[str, str]:
        """The consent as stored: checked, with the time in ISO 8601 UTC (now, if not given)."""
        source = self.source.strip()
        if not source:
            raise errors.Invalid("consent.source must say where the person agreed.", code="invalid_consent")
        record = {"source": source, "at": _consent_time(self.at)}
        if self.ip:
            try:
                record["ip"] = str(ipaddress.ip_address(self.ip.strip()))
            except ValueError:
                raise errors.Invalid("consent.ip is not an IP address.", code="invalid_consent") from None
        return record


def subscriber_id_for(account_id: str, list_id: str, address: str) -> str:
    """The one id an address can have in a list, so a second add is a conflict, race-free."""
    return "sub_" + security.keyed_hash("subscriber", account_id, list_id, address)[:26]


def parse_status(raw: str) -> SubscriberStatus:
    """A status named in a request, or 422 listing the known ones."""
    try:
        return SubscriberStatus(raw)
    except ValueError:
        known = ", ".join(s.value for s in SubscriberStatus)
        raise errors.Invalid(f"status must be one of {known}.", code="invalid_status") from None


def add(account_id: str, list_id: str, email: str, fields: Mapping[str, Any], consent: Consent,
        mailer: Mailer) -> Subscriber:
    """Add an address to a list: pending with a confirmation email under double opt-in, else subscribed."""
    contact_list = lists.get(account_id, list_id)
    address = addresses.normalise_recipient(email)
    values = {k: v for k, v in subscriber_fields.check(contact_list.fields, fields).items() if v is not None}
    record = consent.record()
    if suppressions.find(account_id, address) is not None:
        raise errors.Invalid(
            "This address is on the account's suppression list (it unsubscribed, bounced or complained) "
            "and cannot be added.",
            code="suppressed",
        )
    if not contact_list.double_opt_in:
        return create(contact_list, address, values, record, SubscriberStatus.SUBSCRIBED, mailer)
    confirmation.reserve(account_id)
    try:
        return create(contact_list, address, values, record, SubscriberStatus.PENDING, mailer)
    except errors.DomainError:   # not added, or added and taken back: no confirmation went out
        confirmation.release(account_id)
        raise


def create(contact_list: ContactList, address: str, values: dict[str, Any], consent: dict[str, str],
           status: SubscriberStatus, mailer: Mailer) -> Subscriber:
    """Store a new member, counted against the plan's limit (R9, R10); a pending one is sent the request."""
    account_id, list_id = contact_list.account_id, contact_list.list_id
    now = clock.now()
    subscriber = Subscriber(
        store.list_key(account_id, list_id),
        subscriber_id_for(account_id, list_id, address),
        account_id=account_id,
        list_id=list_id,
        email=address,
        email_key=suppressions.email_key(address),
        fields=values,
        consent=consent,
        created_at=clock.iso(now),
        updated_at=now,
        confirmed_at=now if status is SubscriberStatus.SUBSCRIBED else None,
    )
    subscriber.set_status(status)
    growth = _growth(account_id)
    try:
        store.insert_counted(subscriber, growth)
    except store.Duplicate:
        raise errors.Conflict("This address is already in the list.", code="duplicate_subscriber") from None
    except store.AccountFull:
        raise errors.LimitReached(
            f"The account already holds {growth.limit} subscribers, the most its plan allows. Raise the "
            "subscriber level or change plan, or delete subscribers, to add more.",
        ) from None
    except store.Gone:
        raise errors.NotFound("list") from None
    if status is SubscriberStatus.PENDING:
        try:
            send_confirmation(mailer, contact_list, subscriber)
        except errors.UpstreamError:
            store.delete_each_counted([subscriber])   # a pending member nobody was asked to confirm is not kept
            raise
    logger.info("subscriber added", extra={"account_id": account_id, "list_id": list_id,
                                          "subscriber_id": subscriber.subscriber_id, "status": status.value})
    if status is SubscriberStatus.SUBSCRIBED:
        notices.subscribed(contact_list, subscriber)
    return subscriber


def send_confirmation(mailer: Mailer, contact_list: ContactList, subscriber: Subscriber) -> None:
    """Email the double opt-in request (R13) and note when it went out."""
    confirmation.send(mailer, contact_list, subscriber)
    store.update_if(subscriber, [Subscriber.confirmation_sent_at.set(clock.now())])


def get(account_id: str, list_id: str, subscriber_id: str) -> Subscriber:
    """One subscriber of the account's list; 404 for a missing one or another tenant's."""
    subscriber = store.get(account_id, list_id, subscriber_id)
    if subscriber is None:
        raise errors.NotFound("subscriber")
    return subscriber


def find(account_id: str, list_id: str, email: str) -> Subscriber | None:
    """The list's member with this address (normalised as on add), in one read when it is there; 404 for a
    missing or another tenant's list, 422 for something that is not an address."""
    address = addresses.normalise(email)   # a role address is never a member: simply not found
    member = store.get(account_id, list_id, subscriber_id_for(account_id, list_id, address))
    if member is None:
        lists.get(account_id, list_id)
    return member


def page(account_id: str, list_id: str, status: SubscriberStatus | None, limit: int,
         start: dict | None) -> Page[Subscriber]:
    """A page of a list's subscribers, all of them or those in one status."""
    lists.get(account_id, list_id)
    key = store.list_key(account_id, list_id)
    if status is None:
        check_cursor(start, "list_key", key)
        return store.page(account_id, list_id, limit, start)
    check_cursor(start, "list_status", store.status_key(key, status))
    return store.page_by_status(account_id, list_id, status, limit, start)


def update(account_id: str, list_id: str, subscriber_id: str, changes: Mapping[str, Any], *, actor: Actor,
           origin: Origin) -> Subscriber:
    """Edit a subscriber's custom fields (None removes one), or unsubscribe them; audited by field name (R28)."""
    if changes.get("email") is not None:
        raise errors.Invalid(
            "A subscriber's email address cannot be changed: delete the subscriber and add the new address.",
            code="email_immutable",
        )
    status = changes.get("status")
    if status is not None and status != SubscriberStatus.UNSUBSCRIBED.value:
        raise errors.Invalid('status can only be set to "unsubscribed".', code="invalid_status")
    subscriber = get(account_id, list_id, subscriber_id)
    if changes.get("fields") is not None:
        contact_list = lists.get(account_id, list_id)
        values = subscriber_fields.check(contact_list.fields, changes["fields"])
        merged = subscriber_fields.merge(subscriber.fields.as_dict(), values)
        if not store.update_if(subscriber, [Subscriber.fields.set(merged), Subscriber.updated_at.set(clock.now())]):
            raise errors.NotFound("subscriber")
    if status is not None:
        subscriber = unsubscribe_on_request(subscriber)
    changed = [f"fields.{name}" for name in sorted(changes.get("fields") or {})] + (["status"] if status else [])
    if changed:
        _audit(Action.SUBSCRIBER_UPDATED, subscriber, actor, origin, fields=changed)
    return subscriber


def unsubscribe(account_id: str, list_id: str, subscriber_id: str, *, actor: Actor, origin: Origin) -> Subscriber:
    """The customer unsubscribes a subscriber on their behalf (R27): as if they had clicked the link."""
    subscriber = unsubscribe_on_request(get(account_id, list_id, subscriber_id))
    _audit(Action.SUBSCRIBER_UNSUBSCRIBED, subscriber, actor, origin)
    return subscriber


def _audit(action: Action, subscriber: Subscriber, actor: Actor, origin: Origin, **details: Any) -> None:
    """A change to a subscriber on the account's audit trail: ids and field names, never an address or a value."""
    audit.record(subscriber.account_id, action, origin, actor,
                 details={"list_id": subscriber.list_id, "subscriber_id": subscriber.subscriber_id, **details})


def unsubscribe_on_request(subscriber: Subscriber) -> Subscriber:
    """The person (or the customer on their behalf) unsubscribes: everywhere at once (R19), and the lists
    that ask to be told are told (R29)."""
    leaving = _subscribed_memberships(subscriber)
    subscriber = unsubscribe_everywhere(subscriber)
    notices.unsubscribed(leaving)
    return subscriber


def unsubscribe_by_complaint(subscriber: Subscriber) -> None:
    """The address's owner complained about a campaign: it leaves every list and is suppressed for good, and
    the customer sees, and is told in the digests, exactly what an unsubscribe shows (R23)."""
    leaving = _subscribed_memberships(subscriber)
    unsubscribe_everywhere(subscriber, SuppressionReason.COMPLAINED)
    notices.unsubscribed(leaving)


def _subscribed_memberships(subscriber: Subscriber) -> list[Subscriber]:
    members = {m.subscriber_id: m for m in store.all_for_address(subscriber.account_id, subscriber.email_key)}
    members[subscriber.subscriber_id] = subscriber
    return [m for m in members.values() if m.status == SubscriberStatus.SUBSCRIBED.value]


def unsubscribe_everywhere(subscriber: Subscriber,
                           reason: SuppressionReason = SuppressionReason.UNSUBSCRIBED) -> Subscriber:
    """Exclude an address from all of its account's mailings at once (R19): suppress it, mark every list."""
    suppressions.suppress(subscriber.account_id, subscriber.email, reason, source=subscriber.list_id)
    lists_marked = mark_everywhere(subscriber, SubscriberStatus.UNSUBSCRIBED, UNSUBSCRIBABLE)
    logger.info("address unsubscribed", extra={"account_id": subscriber.account_id,
                                               "subscriber_id": subscriber.subscriber_id,
                                               "lists": lists_marked})
    return store.get(subscriber.account_id, subscriber.list_id, subscriber.subscriber_id) or subscriber


def mark_everywhere(subscriber: Subscriber, status: SubscriberStatus, allowed: set[SubscriberStatus]) -> int:
    """Move every membership of the subscriber's address in its account that is in one of `allowed` to
    `status` (unsubscribed also notes when); the number of memberships looked at."""
    now = clock.now()
    memberships = {m.subscriber_id: m for m in store.all_for_address(subscriber.account_id, subscriber.email_key)}
    memberships[subscriber.subscriber_id] = subscriber
    for membership in memberships.values():
        actions = [Subscriber.status.set(status.value),
                   Subscriber.list_status.set(store.status_key(membership.list_key, status)),
                   Subscriber.updated_at.set(now)]
        if status is SubscriberStatus.UNSUBSCRIBED:
            actions.append(Subscriber.unsubscribed_at.set(now))
        store.update_if(membership, actions, allowed=allowed)
    return len(memberships)


def delete(account_id: str, list_id: str, subscriber_id: str, *, actor: Actor, origin: Origin) -> None:
    """Delete a subscriber (R17) and give its place back to the plan. A suppression stays. Audited."""
    subscriber = get(account_id, list_id, subscriber_id)
    try:
        store.delete_counted([subscriber])
    except store.Gone:
        raise errors.NotFound("subscriber") from None
    _audit(Action.SUBSCRIBER_DELETED, subscriber, actor, origin)


def _growth(account_id: str) -> Growth:
    account = accounts.ensure_open(account_id)   # a closed account takes no new subscribers (R33)
    return plans.growth(account.plan, account.subscriber_level, 1)


def _consent_time(raw: str | None) -> str:
    if raw is None:
        return clock.iso(clock.now())
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise errors.Invalid("consent.at must be an ISO 8601 date and time.", code="invalid_consent") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > clock.now() + CLOCK_SKEW:
        raise errors.Invalid("consent.at cannot be in the future.", code="invalid_consent")
    return clock.iso(moment)


def check_cursor(start: dict | None, attribute: str, expected: str) -> None:
    """Refuse a cursor that was not given out for this query (another list's, status' or tenant's)."""
    if start is None:
        return
    value = start.get(attribute)
    if not isinstance(value, dict) or value.get("S") != expected:
        raise errors.Malformed("The cursor is not one this API gave out for this query.", code="invalid_cursor")

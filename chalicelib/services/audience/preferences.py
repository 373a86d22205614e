"""The preference centre (/preferences/{token}): the person an email went to sees the account's lists that
hold their address, each with its status, and the fields each list lets members edit; they change those,
leave or rejoin one list, or leave every list at once (R19).

- The token names the subscriber (account, list, member), never the address; it never expires, like the
  unsubscribe link beside it. Opening it changes nothing.
- Leaving one list marks that membership unsubscribed and tells the list's digest (R29); the address stays
  mailable by the account's other lists. "Unsubscribe from all" is the one-click unsubscribe (R19): every
  list, and the account's suppression list.
- Rejoining is the member's own choice, so it is offered only for a membership they left themselves and an
  address suppressed at most by their own unsubscribe (never bounced, complained, erased or suppressed by the
  customer), and only while the account takes signups. A double opt-in list asks for a confirmation first, as
  its owner chose; the confirmation then lifts the unsubscribe. A single opt-in list takes them back at once
  and lifts their unsubscribe.
- Field values are checked as the API checks them; one bad value saves nothing at all.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib import clock, errors
from chalicelib.log import logger
from chalicelib.models import lists as list_store
from chalicelib.models import subscribers as store
from chalicelib.models.lists import ContactList, FieldDef
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.outbound import Mailer
from chalicelib.services.audience import form_guard, links, notices, optin, subscriber_fields, subscribers, suppressions

CONSENT_SOURCE = "preference_centre"
# The form names a list's choice "<list_id>:status", its fields "<list_id>:<key>", and carries "<list_id>:.fields"
# wherever it shows the list's fields (an unticked checkbox is not posted at all).
STATUS_CHOICE = "status"
FIELDS_SHOWN = ".fields"


@dataclass(frozen=True)
class Membership:
    """One list that holds the address, as the centre shows it."""

    contact_list: ContactList
    member: Subscriber
    can_rejoin: bool

    @property
    def status(self) -> SubscriberStatus:
        return SubscriberStatus(self.member.status)

    @property
    def editable(self) -> list[FieldDef]:
        return [f for f in self.contact_list.fields if f.editable]


@dataclass(frozen=True)
class Centre:
    """The address's lists in one account, and who sends them."""

    ref: links.SubscriberRef
    email: str
    sender: str
    memberships: list[Membership]


@dataclass(frozen=True)
class Saved:
    centre: Centre
    to_confirm: list[str] = field(default_factory=list)   # names of lists that sent a confirmation request


class FieldProblems(errors.Invalid):
    """Values the member must correct, by list id; nothing was saved."""

    def __init__(self, centre: Centre, problems: dict[str, str]):
        super().__init__("Some values need correcting; nothing was saved.", code="invalid_field",
                         details={"lists": sorted(problems)})
        self.centre = centre
        self.problems = problems


def open_centre(token: str) -> Centre:
    """What the centre shows for a token; NotFound for a forged or altered token or a member since deleted."""
    ref = links.read_preferences(token)
    subscriber = store.read_now(ref.account_id, ref.list_id, ref.subscriber_id) if ref else None
    if ref is None or subscriber is None:
        raise errors.NotFound("preferences link")
    return _centre(ref, subscriber)


def save(token: str, form: Mapping[str, str], ip: str | None, mailer: Mailer) -> Saved:
    """Save the member's choices and field values, all checked first: FieldProblems saves nothing."""
    centre = open_centre(token)
    changes: list[tuple[Membership, dict[str, Any] | None, str | None]] = []
    problems: dict[str, str] = {}
    for membership in centre.memberships:
        posted = _posted(form, membership.contact_list.list_id)
        try:
            changes.append((membership, _field_changes(membership, posted), posted.get(STATUS_CHOICE)))
        except errors.Invalid as exc:
            problems[membership.contact_list.list_id] = exc.message
    if problems:
        raise FieldProblems(centre, problems)
    to_confirm = []
    for membership, values, choice in changes:
        if values is not None:
            _save_fields(membership, values)
        if choice == SubscriberStatus.UNSUBSCRIBED.value:
            _leave(centre.ref, membership)
        elif choice == SubscriberStatus.SUBSCRIBED.value and _rejoin(membership, ip, mailer):
            to_confirm.append(membership.contact_list.name)
    return Saved(open_centre(token), to_confirm)


def unsubscribe_all(token: str) -> Centre:
    """One click: the address leaves every list of the account and is suppressed (R19); idempotent."""
    ref = links.read_preferences(token)
    if ref is None:
        raise errors.NotFound("preferences link")
    optin.unsubscribe_everywhere(ref)
    return open_centre(token)


def _centre(ref: links.SubscriberRef, subscriber: Subscriber) -> Centre:
    suppression = suppressions.find(ref.account_id, subscriber.email)
    may_rejoin = ((suppression is None or suppression.reason == SuppressionReason.UNSUBSCRIBED.value)
                  and form_guard.accepts_signups(ref.account_id))
    found = {m.subscriber_id: m for m in store.all_for_address(ref.account_id, subscriber.email_key)}
    found.pop(subscriber.subscriber_id, None)   # the index may lag: the member itself is read as it is now
    memberships = []
    for member in [subscriber, *(store.read_now(ref.account_id, m.list_id, m.subscriber_id) for m in found.values())]:
        contact_list = list_store.get(ref.account_id, member.list_id) if member else None
        if member is None or contact_list is None:
            continue
        memberships.append(Membership(contact_list, member,
                                      may_rejoin and member.status == SubscriberStatus.UNSUBSCRIBED.value))
    memberships.sort(key=lambda m: (m.contact_list.name.lower(), m.contact_list.list_id))
    named = next((m.contact_list for m in memberships if m.contact_list.list_id == ref.list_id),
                 memberships[0].contact_list if memberships else None)
    return Centre(ref, subscriber.email, named.from_name if named else "this sender", memberships)


def _posted(form: Mapping[str, str], list_id: str) -> dict[str, str]:
    prefix = f"{list_id}:"
    return {name[len(prefix):]: value for name, value in form.items() if name.startswith(prefix)}


def _field_changes(membership: Membership, posted: Mapping[str, str]) -> dict[str, Any] | None:
    """The editable fields' new values (None removes a cleared one), or None when the form did not carry them."""
    editable = membership.editable
    if not editable or FIELDS_SHOWN not in posted:
        return None
    values: dict[str, Any] = dict.fromkeys((f.key for f in editable if f.type != "boolean"), None)
    values.update(subscriber_fields.from_form(editable, posted))
    return values


def _save_fields(membership: Membership, values: dict[str, Any]) -> None:
    member = membership.member
    current = member.fields.as_dict()
    merged = subscriber_fields.merge(current, values)
    if merged == current:
        return
    if not store.update_if(member, [Subscriber.fields.set(merged), Subscriber.updated_at.set(clock.now())]):
        raise errors.NotFound("preferences link")
    changed = sorted(key for key in set(current) | set(merged) if current.get(key) != merged.get(key))
    logger.info("member changed their fields", extra={
        "account_id": member.account_id, "list_id": member.list_id, "subscriber_id": member.subscriber_id,
        "fields": changed})


def _leave(ref: links.SubscriberRef, membership: Membership) -> None:
    """The member leaves this one list; counted on the campaign that brought the link when it is that list."""
    member, was = membership.member, membership.status
    if was not in subscribers.UNSUBSCRIBABLE:
        return
    now = clock.now()
    left = store.update_if(member, [
        Subscriber.status.set(SubscriberStatus.UNSUBSCRIBED.value),
        Subscriber.list_status.set(store.status_key(member.list_key, SubscriberStatus.UNSUBSCRIBED)),
        Subscriber.unsubscribed_at.set(now),
        Subscriber.updated_at.set(now),
    ], allowed=subscribers.UNSUBSCRIBABLE)
    if not left:
        return
    if ref.campaign_id and member.subscriber_id == ref.subscriber_id:
        optin.count_on_campaign(ref.account_id, ref.campaign_id, member.subscriber_id)
    if was is SubscriberStatus.SUBSCRIBED:
        notices.unsubscribed([member])
    logger.info("member left a list", extra={"account_id": member.account_id, "list_id": member.list_id,
                                             "subscriber_id": member.subscriber_id})


def _rejoin(membership: Membership, ip: str | None, mailer: Mailer) -> bool:
    """The member rejoins a list they left; True when they must confirm by email (double opt-in): a request goes
    out, unless one went out minutes ago (its link still confirms)."""
    if not membership.can_rejoin:
        return False
    member, contact_list = membership.member, membership.contact_list
    confirm = contact_list.double_opt_in
    status = SubscriberStatus.PENDING if confirm else SubscriberStatus.SUBSCRIBED
    now = clock.now()
    actions = [
        Subscriber.status.set(status.value),
        Subscriber.list_status.set(store.status_key(member.list_key, status)),
        Subscriber.consent.set(subscribers.Consent(source=CONSENT_SOURCE, ip=ip).record()),
        Subscriber.updated_at.set(now),
    ]
    if not confirm:
        actions.append(Subscriber.confirmed_at.set(now))
    if not store.update_if(member, actions, allowed={SubscriberStatus.UNSUBSCRIBED}):
        return False
    logger.info("member rejoined a list", extra={"account_id": member.account_id, "list_id": member.list_id,
                                                 "subscriber_id": member.subscriber_id, "status": status.value})
    sent_at = member.confirmation_sent_at
    if confirm and sent_at is not None and now - sent_at < optin.RESEND_AFTER:
        return True   # leaving and rejoining again and again mails the address at most this often
    if confirm:
        try:
            subscribers.send_confirmation(mailer, contact_list, member)
        except errors.UpstreamError:   # not asked to confirm: they stay as they were, and may try again
            store.update_if(member, [
                Subscriber.status.set(SubscriberStatus.UNSUBSCRIBED.value),
                Subscriber.list_status.set(store.status_key(member.list_key, SubscriberStatus.UNSUBSCRIBED)),
            ], allowed={SubscriberStatus.PENDING})
            raise
        return True
    suppressions.lift_unsubscribe(member.account_id, member.email)
    notices.subscribed(contact_list, member)
    return False

"""What the service holds about one address across every account, found by its keyed hash (R28): whether it
is known at all, which accounts hold it, and the copy of it that its verified owner may have (access)."""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib import clock
from chalicelib.log import logger
from chalicelib.models import accounts as account_store
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import deliveries as delivery_store
from chalicelib.models import events as event_store
from chalicelib.models import lists as list_store
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models import suppressions as suppression_store
from chalicelib.models.base import is_live
from chalicelib.models.campaigns import Campaign
from chalicelib.models.deliveries import DeliveryState
from chalicelib.models.events import EventKind
from chalicelib.models.subscribers import Subscriber
from chalicelib.models.suppressions import Suppression, SuppressionReason
from chalicelib.outbound import Mailer
from chalicelib.services.audience import subscribers
from chalicelib.services.privacy import privacy_mail

REPORT_FILE = "your-data.json"


@dataclass(frozen=True)
class Holdings:
    """The records that hold one address: its list memberships and suppressions, in every account."""

    email_key: str
    memberships: list[Subscriber]
    suppressions: list[Suppression]

    @property
    def known(self) -> bool:
        """True when some account holds more than the keyed hash an erasure leaves."""
        return bool(self.memberships) or any(s.reason != SuppressionReason.ERASED.value for s in self.suppressions)

    @property
    def account_ids(self) -> list[str]:
        """The accounts that hold the address (or its erased hash), each once, in a stable order."""
        return list(dict.fromkeys([m.account_id for m in self.memberships] +
                                  [s.account_id for s in self.suppressions]))

    @property
    def address(self) -> str | None:
        """The address itself, from a record that still holds it (a complaint's suppression does not)."""
        return next((m.email for m in self.memberships), None) or next(
            (s.email for s in self.suppressions if s.email), None)


def holdings(email_key: str) -> Holdings:
    """Every record that holds the address with this keyed hash."""
    return Holdings(email_key, list(subscriber_store.everywhere_for_address(email_key)),
                    list(suppression_store.of_address(email_key)))


def recipient_ids(account_id: str, memberships: Iterable[Subscriber], address: str | None) -> set[str]:
    """The subscriber ids the address has or had in the account, as its campaigns' ledger names recipients: its
    memberships', and (ids are derived from the address) those it had on the list of any campaign, which also
    finds the sends to memberships deleted since."""
    found = {m.subscriber_id for m in memberships}
    if address:
        found |= {subscribers.subscriber_id_for(account_id, list_id, address)
                  for list_id in {c.list_id for c in campaign_store.outlines(account_id)}}
    return found


def send_report(email_key: str, mailer: Mailer) -> bool:
    """Email the address a JSON copy of everything held about it, across accounts; False if nothing is held."""
    held = holdings(email_key)
    if not held.known or held.address is None:
        return False
    report = build_report(held)
    data = json.dumps(report, indent=2, ensure_ascii=False).encode()
    mailer.send(privacy_mail.access_report(held.address, len(report["organisations"]), REPORT_FILE, data))
    logger.info("access report sent", extra={"accounts": len(report["organisations"]),
                                             "memberships": len(held.memberships)})
    return True


def build_report(held: Holdings) -> dict[str, Any]:
    """The report: for each account (the company behind it), the lists, statuses, fields, consent, dates and
    activity of the address, and its suppression."""
    organisations = []
    for account_id in held.account_ids:
        account = account_store.get(account_id)
        memberships = [m for m in held.memberships if m.account_id == account_id]
        suppression = next((s for s in held.suppressions if s.account_id == account_id), None)
        campaigns = list(campaign_store.outlines(account_id)) if memberships else []
        organisations.append({
            "company": company(account),
            "lists": [_membership(m, [c for c in campaigns if c.list_id == m.list_id]) for m in memberships],
            "suppressed": _suppression(suppression),
        })
    return {
        "email": held.address,
        "generated_at": clock.iso(clock.now()),
        "about": (f"{privacy_mail.SERVICE_NAME} sends email for the companies below. This is everything they hold "
                  "about this address through us: each company is responsible for its own list."),
        "organisations": organisations,
    }


def _membership(member: Subscriber, campaigns: list[Campaign]) -> dict[str, Any]:
    contact_list = list_store.get(member.account_id, member.list_id)
    activity = [_campaign_activity(member, campaign) for campaign in campaigns]
    received = [a for a in activity if a["sent_at"]]
    return {
        "list": contact_list.name if contact_list else None,
        "sender": contact_list.from_name if contact_list else None,
        "status": member.status,
        "fields": _plain(member.fields),
        "consent": _plain(member.consent),
        "added_at": member.created_at,
        "confirmed_at": clock.iso(member.confirmed_at),
        "unsubscribed_at": clock.iso(member.unsubscribed_at),
        "updated_at": clock.iso(member.updated_at),
        "emails_received": len(received),
        "opens": sum(a["opens"] for a in activity),
        "clicks": sum(a["clicks"] for a in activity),
        "campaigns": [a for a in activity if a["sent_at"] or a["events"]],
    }


def _campaign_activity(member: Subscriber, campaign: Campaign) -> dict[str, Any]:
    key = delivery_store.campaign_key(member.account_id, campaign.campaign_id)
    delivery = delivery_store.many(key, [member.subscriber_id]).get(member.subscriber_id)
    sent = delivery if delivery is not None and is_live(delivery.expires_at) \
        and delivery.state == DeliveryState.SENT.value else None
    found = event_store.live_of_subscriber(member.account_id, campaign.campaign_id, member.subscriber_id)
    readers = [e for e in found if not e.machine]
    return {
        "campaign": campaign.name,
        "sent_at": clock.iso(sent.sent_at) if sent is not None else None,
        "opens": sum(1 for e in readers if e.kind == EventKind.OPEN.value),
        "clicks": sum(1 for e in readers if e.kind == EventKind.CLICK.value),
        "events": [{
            "kind": e.kind, "at": clock.iso(e.at), "ip": e.ip, "country": e.country, "device": e.device,
            "browser": e.browser, "os": e.os, "automated": bool(e.machine),
        } for e in found],
    }


def _suppression(item: Suppression | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {"reason": item.reason, "since": clock.iso(item.created_at)}


def company(account) -> str | None:
    """The company an account names in its profile, if any."""
    if account is None or account.profile is None:
        return None
    return _plain(account.profile).get("company")


def _plain(value) -> dict[str, Any]:
    return value.as_dict() if hasattr(value, "as_dict") else dict(value or {})

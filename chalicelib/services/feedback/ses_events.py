"""SES feedback (R22, R23, R26, R27): what happened to each campaign email after SES took it.

Every SQS record is one SNS notification (the envelope, or the SES record itself under raw delivery)
holding one SES event-publishing record; `parse` turns it into `Feedback`, one per recipient, in one
small shape whatever the event type (as listmonk's bounce package does). `apply` then:

- counts it once on the campaign: a marker item, keyed by the SES ids, the event type and the recipient,
  is written in the same transaction as the counters it moves, so a redelivered batch changes nothing;
- applies its effects, which are idempotent and applied again on a redelivery, so a crash between the
  two heals: a hard bounce (Permanent, or Transient with status 5.4.4) bounces the address in every list
  of the account and suppresses it; three soft bounces in a row (no delivery between) do the same; a
  complaint unsubscribes the address everywhere and suppresses it, reading as an unsubscribe (R23) — never a
  visible "complained" status, never anything on the delivery ledger; a delivery resets the soft bounces,
  notes the time on the ledger and counts on the subscriber's activity.

Events of the service's own mail and of test copies (no campaign tags), and of campaigns or subscribers
since deleted or erased, are counted in the batch's log line and dropped. Opens, clicks, sends and delays
are read but not acted on: our own pixel and links count opens and clicks (services/tracking.py).
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from chalicelib import clock, errors
from chalicelib.log import logger, publish_counts
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import deliveries
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.campaigns import Campaign
from chalicelib.models.deliveries import Delivery, Recorded
from chalicelib.models.subscribers import Subscriber, SubscriberStatus
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.outbound import Mailer
from chalicelib.rendering.mime import read_tag_value
from chalicelib.rendering.tracking import is_test
from chalicelib.services import addresses
from chalicelib.services.audience import subscribers, suppressions
from chalicelib.services.audience import activity
from chalicelib.services.feedback import autostop, reputation

SOFT_BOUNCES_IN_A_ROW = 3          # then the address is treated as a hard bounce
HARD_TRANSIENT_STATUS = "5.4.4"    # "unable to route": a Transient bounce that will never deliver
MAX_REASON = 500
# Only subscribed members bounce: a pending one was never mailed a campaign, and restoring a bounced address
# (services/suppressions.remove) makes its bounced members subscribed again.
BOUNCEABLE = {SubscriberStatus.SUBSCRIBED}


class EventType(str, Enum):
    """SES event-publishing types, as SES names them."""

    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    DELIVERY = "Delivery"
    REJECT = "Reject"
    DELIVERY_DELAY = "DeliveryDelay"
    SEND = "Send"
    OPEN = "Open"
    CLICK = "Click"
    RENDERING_FAILURE = "Rendering Failure"
    SUBSCRIPTION = "Subscription"


APPLIED = frozenset({EventType.BOUNCE, EventType.COMPLAINT, EventType.DELIVERY, EventType.REJECT})
# The object holding the details of each of the other types (SES names them so).
DETAIL = {EventType.SEND: "send", EventType.OPEN: "open", EventType.CLICK: "click",
          EventType.RENDERING_FAILURE: "failure", EventType.SUBSCRIPTION: "subscription"}


class BounceKind(str, Enum):
    HARD = "hard"
    SOFT = "soft"


class Outcome(str, Enum):
    APPLIED = "applied"       # counted now, effects applied
    DUPLICATE = "duplicate"   # counted before (a redelivery): effects applied again, nothing counted
    IGNORED = "ignored"       # a type we do not act on (open, click, send, delay, ...)
    UNTAGGED = "untagged"     # not a campaign email: the service's own mail or a test copy
    UNKNOWN = "unknown"       # its campaign or subscriber no longer exists (deleted or erased)


@dataclass(frozen=True)
class Feedback:
    """One SES event about one recipient of one email."""

    type: EventType
    event_id: str                 # feedbackId for bounces and complaints, else the SES message id
    message_id: str
    recipient: str                # the address as SES reports it
    at: datetime
    recipients_in_message: int    # our campaign emails have one; a test copy or service mail may differ
    account_id: str | None = None
    campaign_id: str | None = None
    subscriber_id: str | None = None
    configuration_set: str | None = None
    bounce: BounceKind | None = None
    reason: str | None = None     # bounces: the SMTP diagnostic, else the status or SES's subtype


# --- reading: an SQS record body into Feedback -------------------------------------------------------

def parse(body: Mapping[str, Any]) -> list[Feedback]:
    """The events in one SQS record body; errors.Malformed for anything that is not a readable SES event."""
    record = _unwrap(body)
    if record is None:
        return []
    raw_type = record.get("eventType") or record.get("notificationType")
    if not isinstance(raw_type, str):
        raise errors.Malformed("The SES event names no eventType.")
    try:
        kind = EventType(raw_type)
    except ValueError:
        logger.warning("SES event of an unknown type ignored", extra={"event_type": raw_type[:40]})
        return []
    mail = _object(record, "mail")
    message_id = _text(mail, "messageId")
    destination = mail.get("destination") or []
    if not isinstance(destination, list):
        raise errors.Malformed("The SES event's mail.destination is not a list.")
    tags = _tags(mail.get("tags"))
    common = {
        "type": kind, "message_id": message_id, "recipients_in_message": len(destination),
        "account_id": tags.get("account"), "campaign_id": tags.get("campaign"),
        "subscriber_id": tags.get("subscriber"), "configuration_set": tags.get("ses:configuration-set"),
    }
    mailed_at = _time(mail.get("timestamp"), clock.now())
    if kind is EventType.BOUNCE:
        bounce = _object(record, "bounce")
        bounce_type = _text(bounce, "bounceType")
        at = _time(bounce.get("timestamp"), mailed_at)
        return [Feedback(event_id=_text(bounce, "feedbackId"), recipient=_text(item, "emailAddress"), at=at,
                         bounce=classify(bounce_type, item.get("status")),
                         reason=_reason(item, bounce.get("bounceSubType")), **common)
                for item in _recipients(bounce, "bouncedRecipients")]
    if kind is EventType.COMPLAINT:
        complaint = _object(record, "complaint")
        at = _time(complaint.get("timestamp"), mailed_at)
        return [Feedback(event_id=_text(complaint, "feedbackId"), recipient=_text(item, "emailAddress"), at=at,
                         **common)
                for item in _recipients(complaint, "complainedRecipients")]
    if kind is EventType.DELIVERY:
        delivery = _object(record, "delivery")
        at = _time(delivery.get("timestamp"), mailed_at)
        return [Feedback(event_id=message_id, recipient=_address(item), at=at, **common)
                for item in _recipients(delivery, "recipients")]
    if kind is EventType.DELIVERY_DELAY:
        delay = _object(record, "deliveryDelay")
        at = _time(delay.get("timestamp"), mailed_at)
        return [Feedback(event_id=message_id, recipient=_text(item, "emailAddress"), at=at, **common)
                for item in delay.get("delayedRecipients") or [{"emailAddress": a} for a in destination]]
    detail = _object(record, "reject") if kind is EventType.REJECT else record.get(DETAIL.get(kind, ""))
    at = _time(detail.get("timestamp") if isinstance(detail, dict) else None, mailed_at)
    return [Feedback(event_id=message_id, recipient=_address(address), at=at, **common) for address in destination]


def classify(bounce_type: str, status: object) -> BounceKind:
    """Permanent → hard; Transient with 5.4.4 → hard; any other Transient (or Undetermined) → soft."""
    if bounce_type == "Permanent":
        return BounceKind.HARD
    if isinstance(status, str) and status.strip() == HARD_TRANSIENT_STATUS:
        return BounceKind.HARD
    return BounceKind.SOFT


def _unwrap(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The SES record: inside an SNS envelope (raw delivery off), or the body itself (raw delivery on)."""
    envelope_type = body.get("Type")
    if envelope_type is None:
        return dict(body)
    if envelope_type in ("SubscriptionConfirmation", "UnsubscribeConfirmation"):
        logger.info("SNS subscription message on the feedback queue ignored", extra={"sns_type": envelope_type})
        return None
    if envelope_type != "Notification" or not isinstance(body.get("Message"), str):
        raise errors.Malformed("The SNS message is not a Notification with a Message.")
    try:
        record = json.loads(body["Message"])
    except ValueError as exc:
        raise errors.Malformed("The SNS notification's Message is not JSON.") from exc
    if not isinstance(record, dict):
        raise errors.Malformed("The SNS notification's Message is not a JSON object.")
    return record


def _object(parent: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise errors.Malformed(f"The SES event has no {name} object.")
    return value


def _text(parent: Mapping[str, Any], name: str) -> str:
    value = parent.get(name)
    if not isinstance(value, str) or not value.strip():
        raise errors.Malformed(f"The SES event has no {name}.")
    return value.strip()


def _address(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.Malformed("The SES event names a recipient that is not an address.")
    return value.strip()


def _recipients(parent: Mapping[str, Any], name: str) -> list:
    value = parent.get(name)
    if not isinstance(value, list) or not value:
        raise errors.Malformed(f"The SES event has no {name}.")
    return value


def _tags(raw: object) -> dict[str, str]:
    """SES message tags ({name: [value]}), our ids decoded (rendering/mime.tag_value encoded them)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise errors.Malformed("The SES event's mail.tags is not an object.")
    tags = {}
    for name, values in raw.items():
        if isinstance(values, list) and values and isinstance(values[0], str) and values[0]:
            try:
                tags[name] = read_tag_value(values[0])
            except ValueError as exc:   # binascii.Error and UnicodeDecodeError are ValueErrors
                raise errors.Malformed(f"The SES event's tag {name} is not one we wrote.") from exc
    return tags


def _time(raw: object, default: datetime) -> datetime:
    if raw is None:
        return default
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise errors.Malformed("The SES event's timestamp is not ISO 8601.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reason(recipient: Mapping[str, Any], sub_type: object) -> str | None:
    for value in (recipient.get("diagnosticCode"), recipient.get("status"), sub_type):
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_REASON]
    return None


# --- applying -----------------------------------------------------------------------------------------

def apply(event: Feedback, campaigns: dict[tuple[str, str], Campaign | None] | None = None) -> Outcome:
    """Count one event on its campaign once, and apply its effects (again, if it was counted before).
    `campaigns` caches the campaigns a batch has read (their list and existence are all that is used)."""
    if event.type not in APPLIED:
        return Outcome.IGNORED
    if not (event.account_id and event.campaign_id and event.subscriber_id) or is_test(event.subscriber_id):
        return Outcome.UNTAGGED
    key = (event.account_id, event.campaign_id)
    cache = {} if campaigns is None else campaigns
    if key not in cache:
        cache[key] = campaign_store.get(*key)
    campaign = cache[key]
    subscriber = _recipient(event, campaign) if campaign is not None else None
    if campaign is None or subscriber is None:
        return Outcome.UNKNOWN
    counts, subscriber_actions = _moves(event)
    marker = _marker(event, subscriber)
    recorded = deliveries.record_feedback(event.account_id, event.campaign_id, marker, counts, subscriber,
                                          subscriber_actions)
    if recorded is Recorded.GONE:
        return Outcome.UNKNOWN
    _effects(event, campaign, subscriber, first=recorded is Recorded.FIRST)
    return Outcome.APPLIED if recorded is Recorded.FIRST else Outcome.DUPLICATE


def _marker(event: Feedback, subscriber: Subscriber) -> str:
    """The key an event is counted once under: its SES ids, type and recipient. A complaint counts once per
    recipient, however many abuse reports (each with its own feedback id) a mailbox provider sends."""
    if event.type is EventType.COMPLAINT:
        return deliveries.feedback_key(subscriber.subscriber_id, "complaint")
    return deliveries.feedback_key(subscriber.subscriber_id, event.type.value.lower(), event.event_id,
                                   suppressions.email_key(_normalised(event.recipient)))


def _recipient(event: Feedback, campaign: Campaign) -> Subscriber | None:
    """The subscriber the event is about: the tagged one (a campaign email has one recipient), else the
    member of the campaign's list with the reported address."""
    account_id, list_id = campaign.account_id, campaign.list_id
    address = _normalised(event.recipient)
    tagged = subscriber_store.get(account_id, list_id, event.subscriber_id or "")
    if tagged is not None and (event.recipients_in_message <= 1
                               or tagged.email_key == suppressions.email_key(address)):
        return tagged
    return subscriber_store.get(account_id, list_id, subscribers.subscriber_id_for(account_id, list_id, address))


def _normalised(address: str) -> str:
    try:
        return addresses.normalise(address)
    except errors.Invalid:
        return address.strip().lower()


def _moves(event: Feedback) -> tuple[dict[str, int], list]:
    """The campaign counters and subscriber updates an event moves, once."""
    if event.type is EventType.DELIVERY:
        return {"delivered_count": 1}, [Subscriber.soft_bounces.set(0), *activity.on_delivery()]
    if event.type is EventType.BOUNCE and event.bounce is BounceKind.HARD:
        return {"hard_bounce_count": 1}, []
    if event.type is EventType.BOUNCE:
        return {"soft_bounce_count": 1}, [Subscriber.soft_bounces.add(1)]
    if event.type is EventType.COMPLAINT:
        return {"complaint_count": 1}, []
    return {"rejected_count": 1}, []


def _effects(event: Feedback, campaign: Campaign, subscriber: Subscriber, first: bool) -> None:
    """What the event does to the subscriber, the suppression list and the ledger; safe to repeat."""
    account_id, campaign_id = campaign.account_id, campaign.campaign_id
    if event.type is EventType.DELIVERY:
        deliveries.note_outcome(account_id, campaign_id, subscriber.subscriber_id,
                                [Delivery.delivered_at.set(event.at)])
    elif event.type is EventType.BOUNCE:
        deliveries.note_outcome(account_id, campaign_id, subscriber.subscriber_id, [
            Delivery.bounce_type.set(event.bounce.value), Delivery.bounced_at.set(event.at),
            Delivery.bounce_reason.set(event.reason) if event.reason else Delivery.bounce_reason.remove()])
        if event.bounce is BounceKind.HARD or _soft_bounces(subscriber) >= SOFT_BOUNCES_IN_A_ROW:
            suppressions.suppress(account_id, subscriber.email, SuppressionReason.BOUNCED, source=campaign_id)
            subscribers.mark_everywhere(subscriber, SubscriberStatus.BOUNCED, BOUNCEABLE)
            if first:
                logger.info("address bounced", extra={"account_id": account_id, "campaign_id": campaign_id,
                                                      "subscriber_id": subscriber.subscriber_id,
                                                      "bounce": event.bounce.value})
    elif event.type is EventType.COMPLAINT:
        subscribers.unsubscribe_by_complaint(subscriber)


def _soft_bounces(subscriber: Subscriber) -> int:
    current = subscriber_store.read_now(subscriber.account_id, subscriber.list_id, subscriber.subscriber_id)
    return int(current.soft_bounces or 0) if current is not None else 0


class Batch:
    """One Lambda batch of feedback records: each applied as it comes, then the campaigns it touched are
    checked against the auto-stop rates (R22), and the outcomes logged as counts (ids only)."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.touched: set[tuple[str, str]] = set()
        self.campaigns: dict[tuple[str, str], Campaign | None] = {}

    def apply(self, body: Mapping[str, Any]) -> None:
        """Apply every event of one record body; errors.Malformed if it cannot be read."""
        for event in parse(body):
            logger.append_keys(campaign_id=event.campaign_id)   # this record's lines (the consumer removes it)
            outcome = apply(event, self.campaigns)
            self.outcomes[f"{event.type.value}:{outcome.value}"] += 1
            if outcome in (Outcome.APPLIED, Outcome.DUPLICATE):
                self.touched.add((event.account_id or "", event.campaign_id or ""))

    def finish(self, mailer: Mailer) -> list[str]:
        """Check the touched campaigns (R22), credit their reports to their accounts' day and guard the accounts'
        reputation (reputation.py), and log the batch; the ids of the campaigns stopped now."""
        stopped = autostop.check(sorted(self.touched), mailer)
        held = reputation.after_batch(sorted(self.touched), mailer)
        logger.info("feedback batch applied", extra={"outcomes": dict(self.outcomes), "campaigns": len(self.touched),
                                                     "stopped": stopped, "accounts_held": held})
        publish_counts("feedback", {**{kind.replace(":", "_"): n for kind, n in self.outcomes.items()},
                                    "campaigns_stopped": len(stopped)})
        return stopped

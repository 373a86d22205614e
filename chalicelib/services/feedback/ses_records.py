"""Reading SES feedback: an SQS record body (an SNS notification, or the SES record itself under raw delivery)
holding one SES event-publishing record, read into typed models and turned into `Feedback`, one per recipient, in
one small shape whatever the event type (as listmonk's bounce package does).

The models are SES's event-publishing records (docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-
contents.html): `eventType` and an object per type (`bounce`, `delivery`, `deliveryDelay`, ...). Powertools' parser
models describe other shapes (SES's receipt notifications for inbound mail, and SNS's Lambda event), so they are
not used here. A record that does not read raises errors.Malformed naming the field, never its value (it may be an
address): its SQS record fails alone and ends in the dead-letter queue.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from chalicelib import clock, errors
from chalicelib.log import logger
from chalicelib.rendering.mime import read_tag_value

HARD_TRANSIENT_STATUS = "5.4.4"    # "unable to route": a Transient bounce that will never deliver
MAX_REASON = 500


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


class BounceKind(str, Enum):
    HARD = "hard"
    SOFT = "soft"


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


# --- SES's records --------------------------------------------------------------------------------------

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Addressed(_Read):
    emailAddress: Text


class BouncedRecipient(Addressed):
    status: Any = None
    diagnosticCode: Any = None


class Mail(_Read):
    messageId: Text
    timestamp: datetime | None = None
    destination: list[Any] = []
    tags: dict[str, str] = {}

    @field_validator("tags", mode="before")
    @classmethod
    def _our_tags(cls, raw: object) -> dict[str, str]:
        """SES message tags ({name: [value]}), our ids decoded (rendering/mime.tag_value encoded them)."""
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise ValueError("not an object")  # noqa: TRY004 - pydantic reads only ValueError as invalid
        tags = {}
        for name, values in raw.items():
            if isinstance(values, list) and values and isinstance(values[0], str) and values[0]:
                tags[name] = read_tag_value(values[0])   # its binascii and Unicode errors are ValueErrors
        return tags


class Dated(_Read):
    timestamp: datetime | None = None


class Bounce(Dated):
    bounceType: Text
    bounceSubType: Any = None
    feedbackId: Text
    bouncedRecipients: Annotated[list[BouncedRecipient], Field(min_length=1)]


class Complaint(Dated):
    feedbackId: Text
    complainedRecipients: Annotated[list[Addressed], Field(min_length=1)]


class Delivered(Dated):
    recipients: Annotated[list[Text], Field(min_length=1)]


class Delayed(Dated):
    delayedRecipients: list[Addressed] | None = None


class Record(_Read):
    mail: Mail
    bounce: Bounce | None = None
    complaint: Complaint | None = None
    delivery: Delivered | None = None
    deliveryDelay: Delayed | None = None
    reject: Dated | None = None
    send: Dated | None = None
    open: Dated | None = None
    click: Dated | None = None
    failure: Dated | None = None
    subscription: Dated | None = None


# The object each type holds its details in, and whether SES always writes it.
DETAIL = {EventType.BOUNCE: ("bounce", True), EventType.COMPLAINT: ("complaint", True),
          EventType.DELIVERY: ("delivery", True), EventType.REJECT: ("reject", True),
          EventType.DELIVERY_DELAY: ("deliveryDelay", True), EventType.SEND: ("send", False),
          EventType.OPEN: ("open", False), EventType.CLICK: ("click", False),
          EventType.RENDERING_FAILURE: ("failure", False), EventType.SUBSCRIPTION: ("subscription", False)}


# --- reading: an SQS record body into Feedback -------------------------------------------------------

def parse(body: Mapping[str, Any]) -> list[Feedback]:
    """The events in one SQS record body; errors.Malformed for anything that is not a readable SES event."""
    raw = _unwrap(body)
    if raw is None:
        return []
    raw_type = raw.get("eventType") or raw.get("notificationType")
    if not isinstance(raw_type, str):
        raise errors.Malformed("The SES event names no eventType.")
    try:
        kind = EventType(raw_type)
    except ValueError:
        logger.warning("SES event of an unknown type ignored", extra={"event_type": raw_type[:40]})
        return []
    holder, required = DETAIL[kind]
    try:
        record = Record.model_validate(raw)
    except ValidationError as exc:
        where = ".".join(str(part) for part in exc.errors()[0]["loc"])
        raise errors.Malformed(f"The SES event's {where} is missing or not what SES writes.") from None
    detail = getattr(record, holder)
    if detail is None and required:
        raise errors.Malformed(f"The SES event has no {holder} object.")
    return _events(kind, record, detail)


def _events(kind: EventType, record: Record, detail: Any) -> list[Feedback]:
    mail = record.mail
    tags = mail.tags
    common: dict[str, Any] = {
        "type": kind, "message_id": mail.messageId, "recipients_in_message": len(mail.destination),
        "account_id": tags.get("account"), "campaign_id": tags.get("campaign"),
        "subscriber_id": tags.get("subscriber"), "configuration_set": tags.get("ses:configuration-set"),
    }
    at = _aware((detail.timestamp if detail is not None else None) or mail.timestamp or clock.now())
    if isinstance(detail, Bounce):
        return [Feedback(event_id=detail.feedbackId, recipient=item.emailAddress, at=at,
                         bounce=classify(detail.bounceType, item.status),
                         reason=_reason(item, detail.bounceSubType), **common)
                for item in detail.bouncedRecipients]
    if isinstance(detail, Complaint):
        return [Feedback(event_id=detail.feedbackId, recipient=item.emailAddress, at=at, **common)
                for item in detail.complainedRecipients]
    if isinstance(detail, Delivered):
        return [Feedback(event_id=mail.messageId, recipient=address, at=at, **common) for address in detail.recipients]
    if isinstance(detail, Delayed) and detail.delayedRecipients:
        return [Feedback(event_id=mail.messageId, recipient=item.emailAddress, at=at, **common)
                for item in detail.delayedRecipients]
    return [Feedback(event_id=mail.messageId, recipient=_address(address), at=at, **common)
            for address in mail.destination]


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


def _address(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.Malformed("The SES event names a recipient that is not an address.")
    return value.strip()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reason(recipient: BouncedRecipient, sub_type: object) -> str | None:
    for value in (recipient.diagnosticCode, recipient.status, sub_type):
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_REASON]
    return None

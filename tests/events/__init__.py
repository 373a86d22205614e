"""AWS's documented SES event-publishing records (docs.aws.amazon.com/ses/latest/dg/
event-publishing-retrieving-sns-examples.html and notification-examples.html), one JSON file each, and the
SNS envelope an SQS queue receives them in; `addressed` re-addresses one to a message we really sent."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SES_EVENTS = ("bounce_permanent", "bounce_several_recipients", "bounce_transient_544",
              "bounce_transient_mailbox_full", "complaint", "delivery", "delivery_headers_truncated",
              "delivery_delay", "reject", "send", "open", "click")
# Where each type names its recipients, as SES writes them.
RECIPIENTS = {"Bounce": ("bounce", "bouncedRecipients"), "Complaint": ("complaint", "complainedRecipients"),
              "DeliveryDelay": ("deliveryDelay", "delayedRecipients")}


def load(name: str) -> dict[str, Any]:
    return json.loads((HERE / f"{name}.json").read_text())


def in_envelope(record: dict[str, Any]) -> str:
    """The SQS message body SNS delivers without raw message delivery: the record as the Message string."""
    envelope = load("sns_notification")
    envelope["Message"] = json.dumps(record)
    return json.dumps(envelope)


def addressed(name: str, *, to: list[str], message_id: str, tags: dict[str, str] | None,
              configuration_set: str, event_id: str | None = None) -> dict[str, Any]:
    """The fixture `name` about our message `message_id` to the addresses `to` (one each of the fixture's
    recipients, in order), with our message tags (None: the tags of the service's own mail, i.e. none of ours)."""
    record = copy.deepcopy(load(name))
    mail = record["mail"]
    mail["messageId"] = message_id
    mail["destination"] = list(to)
    mail["tags"] = {"ses:configuration-set": [configuration_set], "ses:from-domain": ["acme.example"],
                    **{key: [value] for key, value in (tags or {}).items()}}
    kind = record["eventType"]
    if kind in RECIPIENTS:
        holder, field = RECIPIENTS[kind]
        items = record[holder][field]
        record[holder][field] = [{**items[min(n, len(items) - 1)], "emailAddress": address}
                                 for n, address in enumerate(to)]
        if event_id is not None and "feedbackId" in record[holder]:
            record[holder]["feedbackId"] = event_id
    elif kind == "Delivery":
        record["delivery"]["recipients"] = list(to)
    return record

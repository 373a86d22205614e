"""SES feedback under moto, as the feedback tests drive it: a campaign really sent in-process, then AWS's documented
event records re-addressed to the messages SES accepted, carrying our real tags, handed to the feedback consumer as
Lambda's SQS events (SNS envelope inside); and what a customer then reads through the API."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from chalicelib.config import get_settings
from chalicelib.models import deliveries
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.deliveries import Delivery
from chalicelib.rendering.mime import tag_value
from tests.events import addressed, in_envelope
from tests.integration.campaign_sending import audience, drain, make_pump, start_sending
from tests.integration.conftest import api_call

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Recipient:
    address: str
    subscriber_id: str
    message_id: str     # the SES message id the sender recorded on the delivery ledger


@dataclass
class Sent:
    person: object
    list_id: str
    campaign_id: str
    recipients: list[Recipient]

    def tags(self, recipient: Recipient | None = None, **override: str) -> dict[str, str]:
        """Our message tags, encoded as the sender wrote them."""
        ids = {"account": self.person.account_id, "campaign": self.campaign_id,
               "subscriber": recipient.subscriber_id if recipient else "", **override}
        return {name: tag_value(value) for name, value in ids.items() if value}


def send_campaign(client, person, subscribed: int) -> Sent:
    """A list of `subscribed` members and a campaign sent to all of them by the real fan-out and sender."""
    people = audience(client, person, subscribed=subscribed)
    campaign_id = start_sending(person, people["list"]["id"], recipients=subscribed)
    drain(make_pump())
    return Sent(person, people["list"]["id"], campaign_id, sent_to(person, people["list"]["id"], campaign_id))


def sent_to(person, list_id: str, campaign_id: str) -> list[Recipient]:
    key = deliveries.campaign_key(person.account_id, campaign_id)
    found = []
    for item in Delivery.query(key, Delivery.delivery_key.startswith("sub_")):
        if item.message_id:
            member = subscriber_store.get(person.account_id, list_id, item.delivery_key)
            found.append(Recipient(member.email, item.delivery_key, item.message_id))
    return sorted(found, key=lambda r: r.address)


def event(sent: Sent, name: str, *recipients: Recipient, tags: dict | None = None, raw: bool = False,
          message_id: str | None = None) -> str:
    """An SQS message body: fixture `name` about our email to `recipients`, as SNS delivers it."""
    record = addressed(name, to=[r.address for r in recipients],
                       message_id=message_id or recipients[0].message_id,
                       tags=sent.tags(recipients[0]) if tags is None else tags,
                       configuration_set=get_settings().configuration_set,
                       event_id=f"0100018f{uuid.uuid4().hex}-000000")
    return json.dumps(record) if raw else in_envelope(record)


def feed(client, *bodies: str) -> tuple[dict, list[str]]:
    """Hand the bodies to the feedback consumer as one Lambda SQS event; its answer and the record ids."""
    ids = [str(uuid.uuid4()) for _ in bodies]
    records = [{
        "messageId": message_id, "receiptHandle": f"handle-{message_id}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000", "SenderId": "AIDAEXAMPLE",
                       "ApproximateFirstReceiveTimestamp": "1700000000001"},
        "messageAttributes": {}, "md5OfBody": "0" * 32, "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:eu-west-1:123456789012:{get_settings().queue_name('feedback')}",
        "awsRegion": "eu-west-1",
    } for message_id, body in zip(ids, bodies, strict=True)]
    return client.lambda_.invoke("apply_feedback", {"Records": records}).payload, ids


def report(client, sent: Sent) -> dict:
    answer = api_call(client, "GET", f"/v1/campaigns/{sent.campaign_id}/report", headers=sent.person.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["report"]


def status_of(client, person, list_id: str, subscriber_id: str) -> str:
    answer = api_call(client, "GET", f"/v1/lists/{list_id}/subscribers/{subscriber_id}", headers=person.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["subscriber"]["status"]


def suppressed(client, person) -> list[dict]:
    answer = api_call(client, "GET", "/v1/suppressions", headers=person.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["items"]


NOTHING_FAILED = {"batchItemFailures": []}

"""Helpers for the sending tests: a list with members in every state, a campaign moved to sending the way
the campaigns service does it (status, recipients, reservation, one fanout message), and the consumers
run by the local pump against moto's queues."""
from __future__ import annotations

import email
import json
import uuid
from collections import Counter
from email.message import EmailMessage
from email.policy import default

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib import aws, clock, queues
from chalicelib.config import get_settings
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.campaigns import Campaign, CampaignStatus
from chalicelib.models.subscribers import SubscriberStatus
from local.pump import sqs_record
from tests.integration.conftest import api_call
from tests.integration.listing import make_list, subscribe

SENDER_DOMAIN = "acme.example"
HTML = ('<h1>Hello {{ first_name }}</h1><p>Our <a href="https://acme.example/spring">spring range</a> '
        'is here.</p><p><a href="https://acme.example/shop?x=1&y=2">Shop</a></p>')


def verify_sender_domain() -> None:
    """SES (moto) refuses mail from an unverified domain, as AWS does."""
    aws.client("ses").verify_domain_identity(Domain=SENDER_DOMAIN)


def audience(client, person, subscribed: int, unsubscribed: int = 0, pending: int = 0,
             suppressed: int = 0) -> dict:
    """A single opt-in list with members in each state; their addresses by state."""
    verify_sender_domain()
    listed = make_list(client, person, from_email=f"news@{SENDER_DOMAIN}",
                       fields=[{"key": "first_name", "label": "First name", "type": "text"}])
    tag = uuid.uuid4().hex[:6]
    made: dict[str, list[str]] = {"subscribed": [], "unsubscribed": [], "pending": [], "suppressed": []}
    for state, count in (("subscribed", subscribed), ("unsubscribed", unsubscribed), ("pending", pending),
                         ("suppressed", suppressed)):
        for n in range(count):
            address = f"{state}-{n}-{tag}@readers-{tag}.example"
            member = subscribe(client, person, listed["id"], address, fields={"first_name": f"Reader{n}"})
            made[state].append(address)
            if state == "unsubscribed":
                done = api_call(client, "POST", f"/v1/lists/{listed['id']}/subscribers/{member['id']}/unsubscribe",
                                headers=person.headers)
                assert done.status_code == 200, done.json_body
            elif state == "pending":
                stored = subscriber_store.get(person.account_id, listed["id"], member["id"])
                stored.set_status(SubscriberStatus.PENDING)
                stored.save()
            elif state == "suppressed":
                done = api_call(client, "POST", "/v1/suppressions", {"email": address}, headers=person.headers)
                assert done.status_code in (200, 201), done.json_body
    return {"list": listed, **made}


def start_sending(person, list_id: str, recipients: int, html: str = HTML) -> str:
    """A campaign moved to sending as the campaigns service does it, with its one fanout message; its id."""
    now = clock.now()
    campaign = Campaign(person.account_id, f"cmp_{uuid.uuid4().hex[:16]}", list_id=list_id, name="Spring",
                        subject="Spring news for {{ first_name }}", html=html, text=None,
                        status=CampaignStatus.SENDING.value, recipients=recipients, reserved=recipients,
                        generation=0, created_at=now, updated_at=now, started_at=now)
    campaign.save()
    queues.enqueue("fanout", {"account_id": person.account_id, "campaign_id": campaign.campaign_id, "generation": 0})
    return campaign.campaign_id


def send_campaign(person, list_id: str, name: str, recipients: int) -> str:
    """A campaign sent to the list through fan-out and the sender, as the campaigns service starts one."""
    from chalicelib.rendering.campaign import extract_links

    campaign_id = start_sending(person, list_id, recipients=recipients)
    Campaign(person.account_id, campaign_id).update(actions=[Campaign.name.set(name),
                                                             Campaign.links.set(extract_links(HTML))])
    drain(make_pump())
    return campaign_id


def campaign(person, campaign_id: str) -> Campaign:
    return Campaign.get(person.account_id, campaign_id, consistent_read=True)


def set_status(person, campaign_id: str, status: CampaignStatus, bump_generation: bool = False) -> int:
    """Pause or resume as the campaigns service does (resume bumps the generation and fans out again)."""
    item = campaign(person, campaign_id)
    actions = [Campaign.status.set(status.value)]
    generation = int(item.generation)
    if bump_generation:
        generation += 1
        actions.append(Campaign.generation.set(generation))
    item.update(actions=actions)
    if bump_generation:
        queues.enqueue("fanout", {"account_id": person.account_id, "campaign_id": campaign_id,
                                  "generation": generation})
    return generation


def make_pump(timeout_seconds: int = 30):
    """The local pump over moto's queues, with the app's consumers; schedules never fire."""
    from app import app
    from local.pump import FunctionSettings, Pump

    return Pump(app, aws.client("sqs"), region=get_settings().region, first_fire_after=10 ** 9,
                function_settings=lambda name: FunctionSettings(name, timeout_seconds=timeout_seconds))


def source(pump, name: str):
    return next(s for s in pump.queues if s.name == name)


def drain(pump, rounds: int = 500) -> None:
    """Run the consumers until neither queue hands out a message."""
    for _ in range(rounds):
        results = pump.run_once()
        if not any(r.succeeded or r.failed for r in results.values()):
            return
    raise AssertionError("the queues did not drain")


def sent_messages(subject_part: str = "Spring news") -> list[EmailMessage]:
    """The campaign emails moto's SES accepted (the service's own mail, e.g. signup, left out)."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][get_settings().region]
    parsed = [email.message_from_string(m.raw_data, policy=default) for m in backend.sent_messages
              if getattr(m, "raw_data", None)]
    return [m for m in parsed if subject_part in str(m["Subject"])]


def deliveries_by_address() -> Counter:
    """How many campaign emails each address got."""
    return Counter(str(m["To"]).lower() for m in sent_messages())


def queue_depth(logical: str) -> int:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=queues.url(logical),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def body_of(message: dict) -> dict:
    return json.loads(message["Body"])


def run_export_job(pump, event=None) -> dict:
    """Take the exports queue's message and hand it to the consumer as Lambda would; the event used."""
    handler = source(pump, "export_account").handler
    if event is None:
        [message] = aws.client("sqs").receive_message(QueueUrl=queues.url("exports"),
                                                      MessageSystemAttributeNames=["All"])["Messages"]
        event = {"Records": [sqs_record(message, "arn:aws:sqs:eu-west-1:123456789012:exports", "eu-west-1")]}
    assert handler(event, pump._context("export_account")) == {"batchItemFailures": []}
    return event

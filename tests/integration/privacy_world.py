"""The privacy tests' world: a person on the lists of two customers, with a campaign she opened and clicked and
another one queued for her; and ways to find an address wherever the service holds it (tables and queues)."""
from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from datetime import timedelta

from chalicelib import aws, clock
from chalicelib.config import get_settings
from chalicelib.models.base import all_models
from chalicelib.models.campaigns import Campaign
from chalicelib.models.deliveries import Delivery
from chalicelib.models.events import Event
from chalicelib.models.suppressions import Suppression
from chalicelib.rendering.campaign import extract_links
from chalicelib.services.audience import suppressions
from tests.integration.campaign_sending import (
    HTML,
    drain,
    make_pump,
    sent_messages,
    source,
    start_sending,
    verify_sender_domain,
)
from tests.integration.conftest import api_call
from tests.integration.listing import make_list, path_of, subscribe
from tests.integration.mailbox import last_link_to
from tests.integration.tracked import CHROME_WINDOWS, OUTLOOK, fetch

ADDRESS = "ada.lovelace@readers.example"
GIVEN_AS = "Ada.Lovelace@Readers.EXAMPLE"       # people type addresses as they like
BYSTANDER = "grace.hopper@readers.example"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NOTICE_SUBJECT = "A subscriber exercised their right to erasure"
ERASED_PAGE = "Your data has been erased"


# --- what the service holds, and where ------------------------------------------------------------

def tables_holding(text: str) -> dict[str, list[dict]]:
    """Every item of every table whose attributes contain `text`, in any letter case, by table."""
    dynamodb, settings = aws.client("dynamodb"), get_settings()
    found: dict[str, list[dict]] = {}
    for model in all_models():
        table = settings.table_name(model.Meta.logical_name)
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            hits = [item for item in page["Items"] if text.lower() in item_text(item).lower()]
            if hits:
                found.setdefault(model.Meta.logical_name, []).extend(hits)
    return found


def item_text(item: dict) -> str:
    """A stored item as JSON text to search, its binary attributes read (_readable)."""
    return json.dumps(item, sort_keys=True, default=_readable)


def _readable(value: object) -> str:
    """A binary attribute as text to search: a campaign's HTML is stored compressed (models/campaigns.py)."""
    if not isinstance(value, bytes):
        raise TypeError(type(value).__name__)
    try:
        return zlib.decompress(value).decode("utf-8", errors="replace")
    except zlib.error:
        return value.decode("utf-8", errors="replace")


def queue_bodies() -> dict[str, list[str]]:
    """The bodies of the messages on every queue (dead-letter queues too): each received once, then made visible
    again at once (so that a look costs a message one receive of its maxReceiveCount, not several)."""
    sqs = aws.client("sqs")
    bodies: dict[str, list[str]] = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        received = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
            received.extend(batch)
        for message in received:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        bodies[url.rsplit("/", 1)[-1]] = [message["Body"] for message in received]
    return bodies


def queues_holding(text: str) -> list[str]:
    return [name for name, bodies in queue_bodies().items() if any(text.lower() in b.lower() for b in bodies)]


def campaign_items_of(account_id: str, campaign_id: str, subscriber_id: str) -> list:
    """The events and ledger items of one recipient in one campaign."""
    key = f"{account_id}#{campaign_id}"
    return ([e for e in Event.query(key) if e.subscriber_id == subscriber_id]
            + [d for d in Delivery.query(key) if subscriber_id in d.delivery_key])


def suppression(person, address: str = ADDRESS) -> Suppression | None:
    return Suppression.find(person.account_id, suppressions.email_key(address))


def listed_suppressions(client, person) -> list[tuple[str | None, str]]:
    items = api_call(client, "GET", "/v1/suppressions", headers=person.headers).json_body["items"]
    return [(item["email"], item["reason"]) for item in items]


def page_text(answer) -> str:
    body = answer.body
    return body.decode() if isinstance(body, bytes) else body


# --- a person on the lists of two customers -------------------------------------------------------

@dataclass
class World:
    first: object          # Acme: two lists with Ada, a sent campaign she opened and clicked, one queued
    second: object         # Babbage: a double opt-in list where Ada is pending
    news: dict
    offers: dict
    digest: dict
    ada_news: dict
    ada_offers: dict
    ada_digest: dict
    grace: dict
    sent_campaign: str
    queued_campaign: str
    pump: object


def tracking_urls(address: str) -> tuple[str, str]:
    """The open pixel and the first click link of the campaign email `address` got."""
    [message] = [m for m in sent_messages() if address in str(m["To"]).lower()]
    html = message.get_body(preferencelist=("html",)).get_content()
    pixel = re.search(r'https?://[^"\']+/o/[^"\']+', html).group(0)
    click = re.search(r'https?://[^"\']+/c/[^"\']+', html).group(0)
    return path_of(pixel), path_of(click)


def make_world(client, tenant, monkeypatch) -> World:
    """Ada on three lists of two customers: the first sent her a campaign she opened and clicked, and has another
    one queued for her; the second has her pending confirmation."""
    verify_sender_domain()
    first, second = tenant(), tenant()
    fields = [{"key": "first_name", "label": "First name", "type": "text"}]
    news = make_list(client, first, name="Acme News", from_email="news@acme.example", fields=fields)
    offers = make_list(client, first, name="Acme Offers", from_email="news@acme.example", fields=fields)
    digest = make_list(client, second, name="Babbage Digest", double_opt_in=True)
    consent = {"source": "shop checkout", "ip": "203.0.113.9"}
    ada_news = subscribe(client, first, news["id"], GIVEN_AS, fields={"first_name": "Ada"}, consent=consent)
    ada_offers = subscribe(client, first, offers["id"], ADDRESS, fields={"first_name": "Ada"})
    grace = subscribe(client, first, news["id"], BYSTANDER, fields={"first_name": "Grace"})
    ada_digest = subscribe(client, second, digest["id"], ADDRESS)
    assert ada_digest["status"] == "pending"

    # Acme sends a campaign; Ada opens it and, an hour later, clicks
    pump = make_pump()
    sent_campaign = start_sending(first, news["id"], recipients=2)
    Campaign(first.account_id, sent_campaign).update(actions=[Campaign.links.set(extract_links(HTML))])
    drain(pump)
    pixel, click = tracking_urls(ADDRESS)
    assert fetch(client, pixel, OUTLOOK, country="IE").status_code == 200
    later = clock.now() + timedelta(hours=1)
    with monkeypatch.context() as travel:
        travel.setattr(clock, "now", lambda: later)
        assert fetch(client, click, CHROME_WINDOWS, country="IE", accept="text/html").status_code == 302
    assert campaign_items_of(first.account_id, sent_campaign, ada_news["id"])

    # and a second one is fanned out: a chunk naming Ada's subscriber id waits on the send queue
    queued_campaign = start_sending(first, news["id"], recipients=2)
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    assert any(ada_news["id"] in body for body in queue_bodies()[get_settings().queue_name("send")])
    return World(first, second, news, offers, digest, ada_news, ada_offers, ada_digest, grace, sent_campaign,
                 queued_campaign, pump)


def ask(client, email: str, kind: str):
    return api_call(client, "POST", "/privacy/requests", {"email": email, "type": kind})


def request_link(address: str = ADDRESS) -> str:
    return path_of(last_link_to(address, "/privacy/requests/"))


def confirm(client, link: str, headers: dict | None = None):
    """Press the button on the page a verification link opens (the form POSTs back to the link)."""
    return client.http.post(link, headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
                            body="")

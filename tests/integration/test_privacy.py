"""Data-subject requests (R28) through the HTTP API: a verified erasure leaves the address nowhere but as a keyed
hash on each affected account's suppression list, and it can never come back; a verified access request mails
the person their data; customers can erase a subscriber themselves, as completely, within their account."""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlencode

import pytest

from chalicelib import aws, clock
from chalicelib.config import get_settings
from chalicelib.models import subscribers as subscriber_store
from chalicelib.models.base import all_models
from chalicelib.models.campaigns import Campaign
from chalicelib.models.deliveries import Delivery
from chalicelib.models.events import Event
from chalicelib.models.suppressions import Suppression
from chalicelib.rendering.campaign import extract_links
from chalicelib.services.accounts import throttle as throttles
from chalicelib.services.audience import links, suppressions
from chalicelib.services.privacy import account_export, erasure, rights
from tests.integration.campaign_sending import (
    HTML,
    campaign,
    deliveries_by_address,
    drain,
    make_pump,
    run_export_job,
    sent_messages,
    source,
    start_sending,
    verify_sender_domain,
)
from tests.integration.conftest import api_call
from tests.integration.listing import (
    add_subscriber,
    make_list,
    path_of,
    subscribe,
    subscriber_count,
)
from tests.integration.mailbox import last_link_to, messages_to, text_of
from tests.integration.tracked import CHROME_WINDOWS, OUTLOOK, fetch

ADDRESS = "ada.lovelace@readers.example"
GIVEN_AS = "Ada.Lovelace@Readers.EXAMPLE"       # people type addresses as they like
BYSTANDER = "grace.hopper@readers.example"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NOTICE_SUBJECT = "A subscriber exercised their right to erasure"
ERASED_PAGE = "Your data has been erased"


@pytest.fixture(autouse=True)
def quick_answers(monkeypatch):
    """The constant-time floor of POST /privacy/requests has a test of its own; elsewhere it only costs time."""
    monkeypatch.setattr(rights, "ANSWER_FLOOR_SECONDS", 0)


# --- what the service holds, and where ------------------------------------------------------------

def tables_holding(text: str) -> dict[str, list[dict]]:
    """Every item of every table whose attributes contain `text`, in any letter case, by table."""
    dynamodb, settings = aws.client("dynamodb"), get_settings()
    found: dict[str, list[dict]] = {}
    for model in all_models():
        table = settings.table_name(model.Meta.logical_name)
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            hits = [item for item in page["Items"] if text.lower() in json.dumps(item).lower()]
            if hits:
                found.setdefault(model.Meta.logical_name, []).extend(hits)
    return found


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


@pytest.fixture
def world(client, tenant, monkeypatch) -> World:
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


# --- erasure by the person ------------------------------------------------------------------------

def test_a_verified_erasure_leaves_the_address_nowhere_but_as_a_keyed_hash_and_it_never_comes_back(client, world):
    # Given Ada on three lists of two customers, with events, ledger items and a queued send
    assert tables_holding(ADDRESS)

    # When she asks for erasure and follows the link mailed to her
    answer = ask(client, GIVEN_AS, "erasure")
    assert answer.status_code == 202
    [verification] = messages_to(ADDRESS)[-1:]
    assert "erasure" in verification["Subject"].lower()
    done = client.http.get(request_link())

    # Then the page says so, and no table and no queue holds the address, in any case
    assert done.status_code == 200 and ERASED_PAGE in page_text(done)
    assert tables_holding(ADDRESS) == {}
    assert queues_holding(ADDRESS) == []
    assert tables_holding("ada.lovelace") == {}
    # nor anything tied to it: events and ledger items of her subscriber ids are gone, Grace's stay
    assert campaign_items_of(world.first.account_id, world.sent_campaign, world.ada_news["id"]) == []
    assert campaign_items_of(world.first.account_id, world.sent_campaign, world.grace["id"])
    for person, member in ((world.first, world.ada_news), (world.first, world.ada_offers),
                           (world.second, world.ada_digest)):
        assert subscriber_store.get(person.account_id, member["list_id"], member["id"]) is None

    # and each affected account keeps only the keyed hash, listed as erased, and its count is exact
    for person in (world.first, world.second):
        kept = suppression(person)
        assert (kept.reason, kept.email, kept.source) == ("erased", None, None)
        assert listed_suppressions(client, person) == [(None, "erased")]
    assert subscriber_count(world.first) == 1 and subscriber_count(world.second) == 0
    grace = api_call(client, "GET", f"/v1/lists/{world.news['id']}/subscribers/{world.grace['id']}",
                     headers=world.first.headers)
    assert grace.json_body["subscriber"]["status"] == "subscribed"


def test_an_erased_address_cannot_be_added_again_by_any_path(client, world):
    ask(client, ADDRESS, "erasure")
    confirm_path = path_of(last_link_to(ADDRESS, "/confirm/"))
    client.http.get(request_link())

    # the API add, on the list she was on and on another
    for list_id in (world.news["id"], make_list(client, world.first, name="Acme New")["id"]):
        refused = add_subscriber(client, world.first, list_id, GIVEN_AS)
        assert refused.status_code == 422 and refused.json_body["error"]["code"] == "suppressed"
    # the hosted signup form of the double opt-in list
    form = path_of(links.form_url(world.second.account_id, world.digest["id"]))
    assert client.http.post(form, headers=FORM, body=urlencode({"email": ADDRESS})).status_code == 422
    # her old double opt-in confirmation link
    assert client.http.get(confirm_path).status_code == 404
    # the customer lifting the suppression, or adding it by hand
    lifted = api_call(client, "DELETE", f"/v1/suppressions/{quote(ADDRESS)}", headers=world.first.headers)
    assert lifted.status_code == 422 and lifted.json_body["error"]["code"] == "suppression_permanent"
    manual = api_call(client, "POST", "/v1/suppressions", {"email": ADDRESS}, headers=world.first.headers)
    assert manual.status_code == 409

    assert tables_holding(ADDRESS) == {}
    assert suppression(world.first).reason == suppression(world.second).reason == "erased"
    assert subscriber_count(world.first) == 1 and subscriber_count(world.second) == 0


def test_each_affected_customer_is_told_once_without_the_address_and_it_is_audited(client, world):
    ask(client, ADDRESS, "erasure")
    link = request_link()

    client.http.get(link)
    again = client.http.get(link)   # a second click changes nothing and tells nobody again

    assert again.status_code == 200 and ERASED_PAGE in page_text(again)
    for person, list_names in ((world.first, ["Acme News", "Acme Offers"]), (world.second, ["Babbage Digest"])):
        [notice] = [m for m in messages_to(person.email) if m["Subject"] == NOTICE_SUBJECT]
        assert ADDRESS not in notice.as_string().lower()
        for name in list_names:
            assert name in text_of(notice)
        trail = api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]
        [record] = [r for r in trail if r["action"] == "subscriber_erased"]
        assert record["details"]["requested_by"] == "data_subject" and record["ip"] is None
        assert ADDRESS not in json.dumps(trail).lower()
    assert messages_to(BYSTANDER)[-1]["Subject"].startswith("Spring news")   # Grace got nothing of this


def test_a_queued_send_skips_the_erased_subscriber(client, world):
    ask(client, ADDRESS, "erasure")
    client.http.get(request_link())

    drain(world.pump)

    assert deliveries_by_address()[ADDRESS] == 1   # the first campaign only
    assert deliveries_by_address()[BYSTANDER] == 2
    done = campaign(world.first, world.queued_campaign)
    assert (done.status, done.sent_count, done.skipped_count) == ("sent", 1, 1)
    assert tables_holding(ADDRESS) == {} and queues_holding(ADDRESS) == []
    assert campaign_items_of(world.first.account_id, world.queued_campaign, world.ada_news["id"]) == []


def test_an_erasure_stopped_half_way_is_finished_by_following_the_link_again(client, world, monkeypatch):
    ask(client, ADDRESS, "erasure")
    link = request_link()
    real = erasure.event_store.forget_subscriber

    def crash_in_acmes_campaign(account_id, campaign_id, subscriber_id):
        if account_id == world.first.account_id:
            raise RuntimeError("the function timed out")
        return real(account_id, campaign_id, subscriber_id)

    # When the first run dies part way through Acme's campaign
    monkeypatch.setattr(erasure.event_store, "forget_subscriber", crash_in_acmes_campaign)
    assert client.http.get(link).status_code == 500
    assert tables_holding(ADDRESS)   # Acme's members still hold the address: the re-run finds it there

    # Then following the link again finishes the job, and each customer is told once
    monkeypatch.setattr(erasure.event_store, "forget_subscriber", real)
    assert client.http.get(link).status_code == 200
    assert tables_holding(ADDRESS) == {}
    assert campaign_items_of(world.first.account_id, world.sent_campaign, world.ada_news["id"]) == []
    for person in (world.first, world.second):
        assert len([m for m in messages_to(person.email) if m["Subject"] == NOTICE_SUBJECT]) == 1
    assert subscriber_count(world.first) == 1 and subscriber_count(world.second) == 0


def test_when_a_customer_cannot_be_told_the_page_asks_to_retry_and_the_retry_tells_it(client, world, monkeypatch):
    from chalicelib import errors, ses

    ask(client, ADDRESS, "erasure")
    link = request_link()
    real_send = ses.SesMailer.send

    def ses_down_for_owners(self, email):
        if email.subject == NOTICE_SUBJECT:
            raise errors.UpstreamError("SES is unavailable")
        return real_send(self, email)

    monkeypatch.setattr(ses.SesMailer, "send", ses_down_for_owners)
    first_try = client.http.get(link)
    assert first_try.status_code == 503 and "try again" in page_text(first_try).lower()
    assert tables_holding(ADDRESS) == {}   # the data went all the same

    monkeypatch.setattr(ses.SesMailer, "send", real_send)
    assert client.http.get(link).status_code == 200
    for person in (world.first, world.second):
        assert len([m for m in messages_to(person.email) if m["Subject"] == NOTICE_SUBJECT]) == 1


# --- the request itself ----------------------------------------------------------------------------

def test_known_and_unknown_addresses_get_the_same_answer_in_no_less_time_and_only_known_ones_get_mail(
        client, world, monkeypatch):
    monkeypatch.setattr(rights, "ANSWER_FLOOR_SECONDS", 0.3)
    answers, took = [], []
    for email in (ADDRESS, "nobody.here@readers.example"):
        started = time.monotonic()
        answers.append(ask(client, email, "erasure"))
        took.append(time.monotonic() - started)

    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json_body == answers[1].json_body
    assert min(took) >= 0.3
    assert messages_to("nobody.here@readers.example") == []
    assert tables_holding("nobody.here") == {}
    assert len([m for m in messages_to(ADDRESS) if "/privacy/requests/" in text_of(m)]) == 1


@pytest.mark.parametrize("raw, status", [
    (b"{not json", 400),
    (b'{"email": 5, "type": "erasure"}', 400),
    (b'{"email": "ada@example.org"}', 422),
    (b'{"email": "ada@example.org", "type": "delete"}', 422),
    (b'{"email": "not an address", "type": "access"}', 422),
    (b'{"email": "ada@example.org", "type": "access", "extra": 1}', 422),
])
def test_a_malformed_request_gets_a_clear_4xx_and_no_mail(client, raw, status):
    answer = client.http.post("/privacy/requests", headers={"Content-Type": "application/json"}, body=raw)

    assert answer.status_code == status
    assert set(answer.json_body["error"]) >= {"code", "message"}
    assert messages_to("ada@example.org") == []


def test_requests_are_throttled_per_address_and_per_ip_without_the_answer_changing(client, tenant, monkeypatch):
    owner = tenant()
    contact_list = make_list(client, owner)
    for n in range(3):
        subscribe(client, owner, contact_list["id"], f"reader{n}@readers.example")

    answers = [ask(client, "reader0@readers.example", "erasure") for _ in range(rights.REQUESTS_PER_ADDRESS.max_hits
                                                                                 + 2)]
    assert {a.status_code for a in answers} == {202}
    assert len(messages_to("reader0@readers.example")) == rights.REQUESTS_PER_ADDRESS.max_hits

    monkeypatch.setattr(rights, "REQUESTS_PER_IP", throttles.Limit("privacy-ip-test", 1, timedelta(hours=1)))
    assert ask(client, "reader1@readers.example", "access").status_code == 202
    assert ask(client, "reader2@readers.example", "access").status_code == 202
    assert len(messages_to("reader1@readers.example")) == 1
    assert messages_to("reader2@readers.example") == []


def test_a_forged_altered_foreign_or_expired_link_shows_a_404_page_and_changes_nothing(client, world, monkeypatch):
    ask(client, ADDRESS, "erasure")
    link = request_link()
    token = link.rsplit("/", 1)[1]
    unsubscribe_token = links.unsubscribe_token(world.first.account_id, world.news["id"], world.ada_news["id"])

    for bad in ("forged", token[:-2] + ("AA" if not token.endswith("AA") else "BB"), unsubscribe_token):
        answer = client.http.get(f"/privacy/requests/{bad}")
        assert answer.status_code == 404 and "not valid" in page_text(answer)

    from itsdangerous.timed import TimestampSigner
    signed_at = int(time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at + 24 * 3600 + 60)
    expired = client.http.get(link)
    assert expired.status_code == 404
    assert suppression(world.first) is None and subscriber_count(world.first) == 3


# --- access -----------------------------------------------------------------------------------------

def test_a_verified_access_request_mails_the_person_their_data_across_accounts_as_json(client, world):
    assert ask(client, GIVEN_AS, "access").status_code == 202
    [verification] = [m for m in messages_to(ADDRESS) if "/privacy/requests/" in text_of(m)]
    assert "copy of your data" in verification["Subject"].lower()

    page = client.http.get(request_link())

    assert page.status_code == 200 and "on its way" in page_text(page)
    [mail] = [m for m in messages_to(ADDRESS) if m["Subject"] == "A copy of your data"]
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "your-data.json"
    report = json.loads(attachment.get_content())
    assert report["email"] == ADDRESS
    companies = {org["company"]: org for org in report["organisations"]}
    assert set(companies) == {"Acme Ltd"} and len(report["organisations"]) == 2
    lists = {entry["list"]: entry for org in report["organisations"] for entry in org["lists"]}
    assert set(lists) == {"Acme News", "Acme Offers", "Babbage Digest"}
    news = lists["Acme News"]
    assert (news["status"], news["fields"], news["consent"]["source"], news["consent"]["ip"]) == (
        "subscribed", {"first_name": "Ada"}, "shop checkout", "203.0.113.9")
    assert (news["emails_received"], news["opens"], news["clicks"]) == (1, 1, 1)
    assert lists["Babbage Digest"]["status"] == "pending"
    assert {e["country"] for c in news["campaigns"] for e in c["events"]} == {"IE"}
    # nothing was changed or erased, and no customer was told
    assert tables_holding(ADDRESS)
    for person in (world.first, world.second):
        assert [m for m in messages_to(person.email) if m["Subject"] == NOTICE_SUBJECT] == []


# --- erasure by the customer -----------------------------------------------------------------------

def test_a_customer_erases_a_subscriber_as_completely_within_the_account_and_others_are_untouched(client, world):
    path = f"/v1/lists/{world.news['id']}/subscribers/{world.ada_news['id']}"

    answer = api_call(client, "DELETE", f"{path}?erase=true", headers=world.first.headers)

    assert answer.status_code == 204
    first_holds = {table: [item for item in items if world.first.account_id in json.dumps(item)]
                   for table, items in tables_holding(ADDRESS).items()}
    assert all(items == [] for items in first_holds.values()), first_holds
    for member in (world.ada_news, world.ada_offers):   # every list of the account
        assert subscriber_store.get(world.first.account_id, member["list_id"], member["id"]) is None
    assert campaign_items_of(world.first.account_id, world.sent_campaign, world.ada_news["id"]) == []
    assert listed_suppressions(client, world.first) == [(None, "erased")]
    assert subscriber_count(world.first) == 1
    refused = add_subscriber(client, world.first, world.offers["id"], ADDRESS)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "suppressed"
    trail = api_call(client, "GET", "/v1/account/audit", headers=world.first.headers).json_body["items"]
    [record] = [r for r in trail if r["action"] == "subscriber_erased"]
    assert record["details"]["requested_by"] == "customer" and record["actor"]["id"] == world.first.user_id
    assert [m for m in messages_to(world.first.email) if m["Subject"] == NOTICE_SUBJECT] == []

    # the other customer keeps Ada exactly as she was
    theirs = api_call(client, "GET", f"/v1/lists/{world.digest['id']}/subscribers/{world.ada_digest['id']}",
                      headers=world.second.headers)
    assert theirs.status_code == 200 and theirs.json_body["subscriber"]["email"] == ADDRESS
    assert suppression(world.second) is None and subscriber_count(world.second) == 1

    # and the same call again is a 404, like any missing subscriber
    assert api_call(client, "DELETE", f"{path}?erase=true", headers=world.first.headers).status_code == 404


def test_erase_takes_only_true_or_false_and_another_tenants_subscriber_is_a_404(client, world):
    path = f"/v1/lists/{world.news['id']}/subscribers/{world.ada_news['id']}"

    bad = api_call(client, "DELETE", f"{path}?erase=yes", headers=world.first.headers)
    theirs = api_call(client, "DELETE", f"{path}?erase=true", headers=world.second.headers)
    missing = api_call(client, "DELETE", f"/v1/lists/{world.news['id']}/subscribers/sub_missing?erase=true",
                       headers=world.second.headers)

    assert bad.status_code == 400 and bad.json_body["error"]["code"] == "invalid_erase"
    assert theirs.status_code == 404 and theirs.json_body == missing.json_body
    assert subscriber_store.get(world.first.account_id, world.news["id"], world.ada_news["id"]) is not None
    assert suppression(world.first) is None


def test_a_mail_security_gateway_following_the_link_does_not_carry_out_the_request(client, world):
    # Given Ada asked for erasure, and her company's mail gateway fetches every link in incoming mail
    ask(client, GIVEN_AS, "erasure")
    link = request_link()

    # When the gateway fetches the link
    checked = client.http.get(link, headers={"User-Agent": "Mozilla/5.0 (compatible; BingPreview/1.0b)"})

    # Then nothing is done, and the page asks for the browser; Ada's own click then erases
    assert checked.status_code == 200 and "Open this link in your browser" in page_text(checked)
    assert tables_holding(ADDRESS)
    done = client.http.get(link, headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/132.0"})
    assert ERASED_PAGE in page_text(done)
    assert tables_holding(ADDRESS) == {}


def test_an_export_made_before_the_erasure_goes_with_it(client, world, monkeypatch):
    # Given the first customer exported its account (as a job: the file waits in the bucket) while Ada was on it
    monkeypatch.setattr(account_export, "SYNC_LIMITS", account_export.SyncLimits(subscribers=0, bytes=0))
    job = api_call(client, "GET", "/v1/account/export", headers=world.first.headers).json_body["export"]
    run_export_job(make_pump())
    status = f"/v1/account/exports/{job['id']}"
    assert api_call(client, "GET", status, headers=world.first.headers).json_body["export"]["status"] == "ready"
    assert export_files(world.first)

    # When Ada has her data erased
    ask(client, GIVEN_AS, "erasure")
    client.http.get(request_link())

    # Then no export file holds her address any more, and the export is gone
    assert export_files(world.first) == []
    assert api_call(client, "GET", status, headers=world.first.headers).status_code == 404


def export_files(person) -> list[str]:
    bucket = get_settings().bucket_name("exports")
    listed = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"{person.account_id}/")
    return [item["Key"] for item in listed.get("Contents", [])]

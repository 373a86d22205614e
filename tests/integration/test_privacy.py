"""Data-subject requests (R28) through the HTTP API: a verified erasure leaves the address nowhere but as a keyed
hash on each affected account's suppression list, and it can never come back; a verified access request mails
the person their data; the request itself tells nobody whether an address is known."""
from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import quote

import pytest

from chalicelib.models import subscribers as subscriber_store
from chalicelib.services.accounts import throttle as throttles
from chalicelib.services.audience import links
from chalicelib.services.privacy import erasure, rights
from tests.integration.campaign_sending import campaign, deliveries_by_address, drain
from tests.integration.conftest import api_call
from tests.integration.listing import add_subscriber, make_list, path_of, subscribe, subscriber_count
from tests.integration.mailbox import last_link_to, messages_to, text_of
from tests.integration.privacy_world import (
    ADDRESS,
    BYSTANDER,
    ERASED_PAGE,
    GIVEN_AS,
    NOTICE_SUBJECT,
    ask,
    campaign_items_of,
    confirm,
    listed_suppressions,
    page_text,
    queues_holding,
    request_link,
    suppression,
    tables_holding,
)
from tests.integration.signup_forms import post_form

pytestmark = pytest.mark.usefixtures("quick_answers")


# --- erasure by the person ------------------------------------------------------------------------

def test_a_verified_erasure_leaves_the_address_nowhere_but_as_a_keyed_hash_and_it_never_comes_back(client, world):
    # Given Ada on three lists of two customers, with events, ledger items and a queued send
    assert tables_holding(ADDRESS)

    # When she asks for erasure and follows the link mailed to her
    answer = ask(client, GIVEN_AS, "erasure")
    assert answer.status_code == 202
    [verification] = messages_to(ADDRESS)[-1:]
    assert "erasure" in verification["Subject"].lower()
    done = confirm(client, request_link())

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
    confirm(client, request_link())

    # the API add, on the list she was on and on another
    for list_id in (world.news["id"], make_list(client, world.first, name="Acme New")["id"]):
        refused = add_subscriber(client, world.first, list_id, GIVEN_AS)
        assert refused.status_code == 422 and refused.json_body["error"]["code"] == "suppressed"
    # the hosted signup form of the double opt-in list
    form = path_of(links.form_url(world.second.account_id, world.digest["id"]))
    assert post_form(client, form, email=ADDRESS).status_code == 422
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

    confirm(client, link)
    again = confirm(client, link)   # a second click changes nothing and tells nobody again

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
    confirm(client, request_link())

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
    assert confirm(client, link).status_code == 500
    assert tables_holding(ADDRESS)   # Acme's members still hold the address: the re-run finds it there

    # Then following the link again finishes the job, and each customer is told once
    monkeypatch.setattr(erasure.event_store, "forget_subscriber", real)
    assert confirm(client, link).status_code == 200
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
    first_try = confirm(client, link)
    assert first_try.status_code == 503 and "try again" in page_text(first_try).lower()
    assert tables_holding(ADDRESS) == {}   # the data went all the same

    monkeypatch.setattr(ses.SesMailer, "send", real_send)
    assert confirm(client, link).status_code == 200
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
        for answer in (client.http.get(f"/privacy/requests/{bad}"), confirm(client, f"/privacy/requests/{bad}")):
            assert answer.status_code == 404 and "not valid" in page_text(answer)

    from itsdangerous.timed import TimestampSigner
    signed_at = int(time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at + 24 * 3600 + 60)
    assert client.http.get(link).status_code == confirm(client, link).status_code == 404
    assert suppression(world.first) is None and subscriber_count(world.first) == 3


def test_following_the_link_only_shows_what_will_happen_and_the_button_carries_it_out(client, world):
    # Given Ada asked for erasure, and her company's mail gateway (or a link preview) fetches every link in mail
    ask(client, GIVEN_AS, "erasure")
    link = request_link()

    # When the link is fetched, as any browser or scanner would, even twice
    shown = [client.http.get(link, headers={"User-Agent": agent}) for agent in (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/132.0", "Mozilla/5.0 (compatible; SomeNewScanner/2.0)")]

    # Then nothing is done: the page says what will happen, with one button that posts back to the link
    for page in shown:
        assert page.status_code == 200 and "Erase your data?" in page_text(page)
        html = page.body.decode()
        assert html.count("<button") == 1 and '<form method="post">' in html
    assert tables_holding(ADDRESS)
    # and pressing the button erases, and pressing it again changes nothing
    assert ERASED_PAGE in page_text(confirm(client, link))
    assert tables_holding(ADDRESS) == {}
    assert ERASED_PAGE in page_text(confirm(client, link))


# --- access -----------------------------------------------------------------------------------------

def test_a_verified_access_request_mails_the_person_their_data_across_accounts_as_json(client, world):
    assert ask(client, GIVEN_AS, "access").status_code == 202
    [verification] = [m for m in messages_to(ADDRESS) if "/privacy/requests/" in text_of(m)]
    assert "copy of your data" in verification["Subject"].lower()

    page = confirm(client, request_link())

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

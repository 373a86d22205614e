"""SES feedback end to end under moto: bounces, complaints, deliveries and rejects, and unsubscribes counted per
campaign, as a customer then sees them through the API (tests/integration/feedback_events.py sends the campaign
and hands the consumer AWS's documented event records)."""
from __future__ import annotations

import json

from chalicelib.models import deliveries
from chalicelib.models.deliveries import Delivery
from chalicelib.rendering import tracking
from tests.integration.campaign_sending import sent_messages
from tests.integration.conftest import api_call
from tests.integration.feedback_events import (
    FORM,
    NOTHING_FAILED,
    Recipient,
    event,
    feed,
    report,
    send_campaign,
    status_of,
    suppressed,
)
from tests.integration.listing import make_list, path_of, subscribe

# --- bounces ----------------------------------------------------------------------------------------

def test_a_hard_bounce_bounces_and_suppresses_the_address_counts_once_and_a_redelivery_changes_nothing(
        client, tenant):
    sent = send_campaign(client, tenant(), subscribed=5)
    gone, fine = sent.recipients[0], sent.recipients[1]
    batch = [event(sent, "bounce_permanent", gone), event(sent, "delivery", fine)]

    first, _ = feed(client, *batch)
    after_first = (report(client, sent), suppressed(client, sent.person))
    again, _ = feed(client, *batch)   # SQS delivers the same batch again

    assert first == again == NOTHING_FAILED
    assert (report(client, sent), suppressed(client, sent.person)) == after_first
    body = after_first[0]
    assert body["sent"] == 5
    assert body["bounces"] == {"hard": 1, "soft": 0, "rate": 0.2, "hard_rate": 0.2, "soft_rate": 0.0}
    assert body["delivered"] == {"count": 1, "rate": 0.2}
    assert body["stop"] is None
    assert status_of(client, sent.person, sent.list_id, gone.subscriber_id) == "bounced"
    assert status_of(client, sent.person, sent.list_id, fine.subscriber_id) == "subscribed"
    assert [(s["email"], s["reason"], s["source"]) for s in after_first[1]] == [
        (gone.address, "bounced", sent.campaign_id)]
    # the support look-up reads why on the delivery ledger
    ledger = Delivery.get(deliveries.campaign_key(sent.person.account_id, sent.campaign_id), gone.subscriber_id)
    assert (ledger.bounce_type, ledger.bounce_reason) == ("hard", "smtp; 550 5.1.1 user unknown")
    assert ledger.bounced_at is not None and ledger.delivered_at is None
    assert Delivery.get(ledger.campaign_key, fine.subscriber_id).delivered_at is not None
    # and a bounced address is not mailed again: adding it to a list is refused
    other = make_list(client, sent.person, name="Other")
    again_added = api_call(client, "POST", f"/v1/lists/{other['id']}/subscribers",
                           {"email": gone.address, "consent": {"source": "api-test"}}, headers=sent.person.headers)
    assert again_added.status_code == 422


def test_a_transient_bounce_with_5_4_4_is_hard_and_other_transients_bounce_after_three_in_a_row(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=3)
    unroutable, full, _ = sent.recipients

    feed(client, event(sent, "bounce_transient_544", unroutable))
    # two soft bounces, a delivery (which resets the run), then two more: still subscribed
    for name in ("bounce_transient_mailbox_full", "bounce_transient_mailbox_full", "delivery",
                 "bounce_transient_mailbox_full", "bounce_transient_mailbox_full"):
        assert feed(client, event(sent, name, full))[0] == NOTHING_FAILED
    still = status_of(client, sent.person, sent.list_id, full.subscriber_id)
    listed_before = {s["email"] for s in suppressed(client, sent.person)}
    feed(client, event(sent, "bounce_transient_mailbox_full", full))   # the third in a row

    assert status_of(client, sent.person, sent.list_id, unroutable.subscriber_id) == "bounced"
    assert still == "subscribed" and full.address not in listed_before
    assert status_of(client, sent.person, sent.list_id, full.subscriber_id) == "bounced"
    assert {s["email"] for s in suppressed(client, sent.person)} == {unroutable.address, full.address}
    body = report(client, sent)
    assert (body["bounces"]["hard"], body["bounces"]["soft"], body["delivered"]["count"]) == (1, 5, 1)
    ledger = Delivery.get(deliveries.campaign_key(sent.person.account_id, sent.campaign_id), full.subscriber_id)
    assert (ledger.bounce_type, ledger.bounce_reason) == ("soft", "smtp; 452 4.2.2 Mailbox full")


def test_a_bounce_naming_several_recipients_bounces_each_of_them(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=3)
    jane, mary, richard = sent.recipients

    answer, _ = feed(client, event(sent, "bounce_several_recipients", jane, richard))

    assert answer == NOTHING_FAILED
    statuses = [status_of(client, sent.person, sent.list_id, r.subscriber_id) for r in (jane, mary, richard)]
    assert statuses == ["bounced", "subscribed", "bounced"]
    assert report(client, sent)["bounces"]["hard"] == 2


# --- complaints (R23) ---------------------------------------------------------------------------------

def test_a_complaint_unsubscribes_the_address_everywhere_and_never_shows_who_complained(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=3)
    angry = sent.recipients[0]
    other_list = make_list(client, sent.person, name="Second list")
    elsewhere = subscribe(client, sent.person, other_list["id"], angry.address)

    answer, _ = feed(client, event(sent, "complaint", angry))
    feed(client, event(sent, "complaint", angry))   # a second complaint report about the same email

    assert answer == NOTHING_FAILED
    # unsubscribed like anyone who left, in every list: no status tells a complainer apart
    assert status_of(client, sent.person, sent.list_id, angry.subscriber_id) == "unsubscribed"
    assert status_of(client, sent.person, other_list["id"], elsewhere["id"]) == "unsubscribed"
    refused = api_call(client, "GET", f"/v1/lists/{sent.list_id}/subscribers?status=complained",
                       headers=sent.person.headers)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "invalid_status"
    # suppressed and counted, and listed like any unsubscribe
    items = suppressed(client, sent.person)
    assert [(s["email"], s["reason"]) for s in items] == [(angry.address, "unsubscribed")]
    assert "complain" not in json.dumps(items)
    body = report(client, sent)
    assert body["complaints"] == {"count": 1, "rate": round(1 / 3, 4)}   # one complainer, however many reports
    assert angry.address not in json.dumps(body)
    # nothing about it on the delivery ledger the support look-up reads
    ledger = Delivery.get(deliveries.campaign_key(sent.person.account_id, sent.campaign_id), angry.subscriber_id)
    assert (ledger.bounce_type, ledger.bounce_reason, ledger.bounced_at) == (None, None, None)
    # and the address can never be added back by the customer
    again = api_call(client, "POST", f"/v1/lists/{sent.list_id}/subscribers",
                     {"email": angry.address, "consent": {"source": "api-test"}}, headers=sent.person.headers)
    assert again.status_code in (409, 422)


# --- deliveries, rejects, and what is dropped ----------------------------------------------------------

def test_deliveries_and_rejects_are_counted_in_the_report_raw_sns_delivery_too(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=4)
    a, b, c, d = sent.recipients

    answer, _ = feed(client, event(sent, "delivery", a), event(sent, "delivery_headers_truncated", b),
                     event(sent, "delivery", c, raw=True), event(sent, "reject", d))

    assert answer == NOTHING_FAILED
    body = report(client, sent)
    assert body["delivered"] == {"count": 3, "rate": 0.75}
    assert body["rejected"] == {"count": 1, "rate": 0.25}
    assert body["bounces"]["hard"] == body["complaints"]["count"] == body["unsubscribes"]["count"] == 0


def test_events_of_unknown_or_deleted_subscribers_service_mail_test_copies_and_other_types_are_dropped(
        client, tenant):
    sent = send_campaign(client, tenant(), subscribed=3)
    deleted, kept, _ = sent.recipients
    api_call(client, "DELETE", f"/v1/lists/{sent.list_id}/subscribers/{deleted.subscriber_id}",
             headers=sent.person.headers)
    stranger = Recipient("stranger@elsewhere.example", "sub_nobodyatall000000000000", kept.message_id)
    before = report(client, sent)

    answer, _ = feed(
        client,
        event(sent, "bounce_permanent", deleted),                                          # deleted (or erased)
        event(sent, "bounce_permanent", stranger, tags=sent.tags(stranger)),               # never a member
        event(sent, "complaint", kept, tags=sent.tags(kept, campaign="cmp_gone000000")),   # no such campaign
        event(sent, "bounce_permanent", kept, tags={}),                                    # the service's own mail
        event(sent, "complaint", kept, tags=sent.tags(kept, subscriber="test")),           # a test copy
        *(event(sent, name, kept) for name in ("open", "click", "send", "delivery_delay")),
    )

    assert answer == NOTHING_FAILED
    assert report(client, sent) == before
    assert suppressed(client, sent.person) == []   # nothing stored about a deleted or unknown address
    assert status_of(client, sent.person, sent.list_id, kept.subscriber_id) == "subscribed"


def test_a_malformed_record_is_reported_for_redelivery_and_the_rest_of_the_batch_applied(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=2)
    good = event(sent, "bounce_permanent", sent.recipients[0])
    no_event_type = json.loads(good)
    no_event_type["Message"] = json.dumps({k: v for k, v in json.loads(no_event_type["Message"]).items()
                                           if k != "eventType"})

    answer, ids = feed(client, "not json at all", json.dumps({"Type": "Notification"}), json.dumps(no_event_type),
                       good)

    assert answer == {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in ids[:3]]}
    assert report(client, sent)["bounces"]["hard"] == 1


# --- unsubscribes counted per campaign ---------------------------------------------------------------------

def test_a_one_click_unsubscribe_from_a_campaign_email_counts_on_that_campaign_once(client, tenant):
    sent = send_campaign(client, tenant(), subscribed=3)
    first = sent_messages()[0]
    link = first["List-Unsubscribe"][1:-1]
    member = next(r for r in sent.recipients if r.address == str(first["To"]).lower())
    old_style_link = tracking.unsubscribe_url(sent.person.account_id, sent.list_id, sent.recipients[2].subscriber_id)
    test_copy_link = tracking.unsubscribe_url(sent.person.account_id, sent.list_id, tracking.TEST_SUBSCRIBER_ID,
                                              sent.campaign_id)

    answers = [client.http.post(path_of(url), headers=FORM, body="List-Unsubscribe=One-Click").status_code
               for url in (link, link, old_style_link, test_copy_link)]

    assert answers == [200, 200, 200, 200]
    assert report(client, sent)["unsubscribes"] == {"count": 1, "rate": round(1 / 3, 4)}
    assert status_of(client, sent.person, sent.list_id, member.subscriber_id) == "unsubscribed"
    assert status_of(client, sent.person, sent.list_id, sent.recipients[2].subscriber_id) == "unsubscribed"

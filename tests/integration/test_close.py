"""POST /v1/account/close (R33): sending stops at once, nothing new is made or sent, the data stays readable,
correctable and exportable until purge_after (R30), and the owner is told the date."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import clock
from chalicelib.models.campaigns import CampaignStatus
from tests.integration.campaign_sending import (
    audience,
    campaign,
    drain,
    make_pump,
    queue_depth,
    sent_messages,
    source,
    start_sending,
)
from tests.integration.campaigning import add_domain, draft
from tests.integration.campaigning import audience as campaign_audience
from tests.integration.campaigning import send as send_campaign
from tests.integration.colleagues import with_role
from tests.integration.conftest import api_call
from tests.integration.listing import add_subscriber, list_body, make_list, subscribe
from tests.integration.mailbox import messages_to, text_of


def close(client, person, headers: dict | None = None):
    return api_call(client, "POST", "/v1/account/close", headers=headers or person.headers)


def when(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def test_closing_stops_a_sending_campaign_before_its_next_chunk(client, tenant):
    # Given a campaign of two chunks, the first of them sent
    person = tenant()
    people = audience(client, person, subscribed=60)
    campaign_id = start_sending(person, people["list"]["id"], recipients=60)
    pump = make_pump()
    pump.poll(source(pump, "fanout_campaign"), wait_seconds=0)
    pump.poll(source(pump, "send_chunk"), wait_seconds=0)
    assert len(sent_messages()) == 50

    # When the owner closes the account
    answer = close(client, person)

    # Then the account is closed with its purge date 30 days on, and the rest of the campaign never goes out
    assert answer.status_code == 202, answer.json_body
    account = answer.json_body["account"]
    assert account["status"] == "closed"
    assert when(account["purge_after"]) - when(account["closed_at"]) == timedelta(days=30)
    drain(pump)
    assert len(sent_messages()) == 50
    stopped = campaign(person, campaign_id)
    assert stopped.status == CampaignStatus.CANCELLED.value and stopped.sent_count == 50
    assert queue_depth("send") == 0


def test_closing_cancels_scheduled_campaigns_and_keeps_drafts(client, tenant):
    person = tenant(plan="free")
    contact_list = campaign_audience(client, person, members=2)
    scheduled = draft(client, person, contact_list["id"])
    later = clock.iso(clock.now() + timedelta(days=30))
    answer = send_campaign(client, person, scheduled["id"], {"scheduled_at": later})
    assert answer.json_body["campaign"]["status"] == "scheduled", answer.json_body
    kept = draft(client, person, contact_list["id"])

    close(client, person)

    statuses = {c["id"]: c["status"] for c in
                api_call(client, "GET", "/v1/campaigns", headers=person.headers).json_body["items"]}
    assert statuses == {scheduled["id"]: "cancelled", kept["id"]: "draft"}


def test_a_closed_account_makes_and_sends_nothing_new(client, tenant):
    # Given a closed account that had a list, a member and a draft
    person = tenant(plan="free")
    contact_list = campaign_audience(client, person, members=1)
    kept = draft(client, person, contact_list["id"])
    close(client, person)

    # When it tries to create or send anything
    attempts = [
        api_call(client, "POST", "/v1/lists", list_body(), headers=person.headers),
        add_subscriber(client, person, contact_list["id"], "new@readers.example"),
        api_call(client, "POST", "/v1/campaigns", {"list_id": contact_list["id"], "name": "n", "subject": "s",
                                                   "html": "<p>x</p>"}, headers=person.headers),
        send_campaign(client, person, kept["id"]),
        api_call(client, "POST", "/v1/api-keys", {"name": "late"}, headers=person.headers),
        api_call(client, "POST", "/v1/domains", {"domain": "late.example"}, headers=person.headers),
        api_call(client, "POST", "/v1/suppressions", {"email": "late@readers.example"}, headers=person.headers),
    ]

    # Then each is refused with the same clear code, and nothing was stored
    assert [(a.status_code, a.json_body["error"]["code"]) for a in attempts] == [(422, "account_closed")] * 7
    assert api_call(client, "GET", "/v1/suppressions", headers=person.headers).json_body["items"] == []
    assert len(api_call(client, "GET", "/v1/lists", headers=person.headers).json_body["items"]) == 1
    members = api_call(client, "GET", f"/v1/lists/{contact_list['id']}/subscribers", headers=person.headers)
    assert len(members.json_body["items"]) == 1
    assert api_call(client, "GET", "/v1/api-keys", headers=person.headers).json_body["items"] == []
    assert api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]["usage"] == {
        "subscribers": 1}


def test_a_closed_accounts_data_stays_readable_correctable_and_exportable(client, tenant):
    person = tenant()
    contact_list = make_list(client, person, fields=[{"key": "city", "label": "City", "type": "text"}])
    member = subscribe(client, person, contact_list["id"], "reader@readers.example")
    close(client, person)

    read = api_call(client, "GET", f"/v1/lists/{contact_list['id']}/subscribers/{member['id']}",
                    headers=person.headers)
    corrected = api_call(client, "PATCH", f"/v1/lists/{contact_list['id']}/subscribers/{member['id']}",
                         {"fields": {"city": "Cork"}}, headers=person.headers)
    profile = api_call(client, "PATCH", "/v1/account", {"city": "Galway"}, headers=person.headers)
    exported = api_call(client, "GET", "/v1/account/export", headers=person.headers)

    assert (read.status_code, corrected.status_code, profile.status_code) == (200, 200, 200)
    assert exported.status_code == 200
    document = exported.json_body
    assert document["account"]["status"] == "closed" and document["account"]["purge_after"]
    assert [(s["email"], s["fields"]) for s in document["subscribers"]] == [("reader@readers.example",
                                                                             {"city": "Cork"})]


def test_the_owner_is_told_the_purge_date_once_and_closing_again_changes_nothing(client, tenant):
    person = tenant()

    first = close(client, person)
    second = close(client, person)

    assert first.status_code == second.status_code == 202
    assert first.json_body["account"]["closed_at"] == second.json_body["account"]["closed_at"]
    [mail] = [m for m in messages_to(person.email) if "account is closed" in str(m["Subject"])]
    purge_after = when(first.json_body["account"]["purge_after"])
    assert f"{purge_after.day} {purge_after:%B %Y}" in text_of(mail)
    audit = api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]
    [closed] = [r for r in audit if r["action"] == "account_closed"]
    assert closed["actor"]["id"] == person.user_id and closed["details"]["purge_after"]


def test_only_the_owner_may_close_the_account(client, tenant):
    person = tenant()
    admin = with_role(client, person, "admin")

    answer = close(client, person, headers=admin.headers)

    assert answer.status_code == 403 and answer.json_body["error"]["code"] == "forbidden"
    assert api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]["status"] == "active"
    assert api_call(client, "POST", "/v1/lists", list_body(), headers=person.headers).status_code == 201


def test_a_closed_account_cannot_add_a_sending_domain_but_keeps_the_ones_it_has(client, tenant):
    person = tenant()
    add_domain(client, person, "kept.example")
    close(client, person)

    listed = api_call(client, "GET", "/v1/domains", headers=person.headers).json_body["items"]

    assert [d["name"] for d in listed] == ["kept.example"]

"""Campaigns through the API: compose, test copies, send through the gate, schedule, pause, resume, cancel."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.models.accounts import Account
from chalicelib.models.usage import Usage
from tests.integration.campaigning import (
    audience,
    campaign_body,
    draft,
    fanout_messages,
    send,
)
from tests.integration.conftest import api_call
from tests.integration.mailbox import messages_to, text_of


def campaign_of(client, person, campaign_id: str) -> dict:
    answer = api_call(client, "GET", f"/v1/campaigns/{campaign_id}", headers=person.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["campaign"]


def set_account(person, **values) -> None:
    Account(person.account_id).update(actions=[getattr(Account, k).set(v) for k, v in values.items()])


# --- compose -----------------------------------------------------------------------------------

def test_given_a_list_when_a_campaign_is_created_then_it_is_a_draft_with_the_list_sender(client, tenant):
    person = tenant()
    contact_list = audience(client, person, members=0, domain=False)

    answer = api_call(client, "POST", "/v1/campaigns", campaign_body(contact_list["id"], reply_to="Help@Acme.Example"),
                      headers=person.headers)

    assert answer.status_code == 201, answer.json_body
    campaign = answer.json_body["campaign"]
    assert campaign["status"] == "draft" and campaign["id"]
    assert campaign["from_email"] is None and campaign["reply_to"] == "help@acme.example"
    assert campaign_of(client, person, campaign["id"])["subject"] == campaign_body("x")["subject"]


def test_given_a_template_error_when_saved_then_422_names_the_line(client, tenant):
    person = tenant()
    contact_list = audience(client, person, members=0, domain=False)

    answer = api_call(client, "POST", "/v1/campaigns",
                      campaign_body(contact_list["id"], html="<p>ok</p>\n<p>{{ first_name </p>"),
                      headers=person.headers)

    assert answer.status_code == 422
    error = answer.json_body["error"]
    assert error["code"] == "template_error" and error["part"] == "html" and error["line"] == 2
    listed = api_call(client, "GET", "/v1/campaigns", headers=person.headers).json_body
    assert listed["items"] == []


def test_given_another_tenants_list_or_campaign_then_404(client, tenant):
    owner, other = tenant(), tenant()
    contact_list = audience(client, owner, members=0, domain=False)
    campaign = draft(client, owner, contact_list["id"])

    created = api_call(client, "POST", "/v1/campaigns", campaign_body(contact_list["id"]), headers=other.headers)
    read = api_call(client, "GET", f"/v1/campaigns/{campaign['id']}", headers=other.headers)
    sent = send(client, other, campaign["id"])

    assert (created.status_code, read.status_code, sent.status_code) == (404, 404, 404)


def test_given_campaigns_when_listed_then_newest_first_and_paged(client, tenant):
    person = tenant()
    contact_list = audience(client, person, members=0, domain=False)
    ids = [draft(client, person, contact_list["id"], name=f"C{i}")["id"] for i in range(3)]

    first = api_call(client, "GET", "/v1/campaigns?limit=2", headers=person.headers).json_body
    rest = api_call(client, "GET", f"/v1/campaigns?limit=2&cursor={first['next_cursor']}",
                    headers=person.headers).json_body

    assert [c["id"] for c in first["items"] + rest["items"]] == ids[::-1]


def test_given_a_draft_when_patched_and_deleted_then_done_but_not_once_sending(client, tenant):
    person = tenant(plan="free")
    contact_list = audience(client, person)
    campaign = draft(client, person, contact_list["id"])

    patched = api_call(client, "PATCH", f"/v1/campaigns/{campaign['id']}", {"subject": "New subject"},
                       headers=person.headers)
    bad = api_call(client, "PATCH", f"/v1/campaigns/{campaign['id']}", {"subject": "{% if %}"}, headers=person.headers)
    assert patched.status_code == 200 and patched.json_body["campaign"]["subject"] == "New subject"
    assert bad.status_code == 422 and campaign_of(client, person, campaign["id"])["subject"] == "New subject"

    assert send(client, person, campaign["id"]).status_code == 202
    late_patch = api_call(client, "PATCH", f"/v1/campaigns/{campaign['id']}", {"name": "x"}, headers=person.headers)
    late_delete = api_call(client, "DELETE", f"/v1/campaigns/{campaign['id']}", headers=person.headers)
    assert late_patch.status_code == 409 and late_patch.json_body["error"]["code"] == "campaign_not_editable"
    assert late_delete.status_code == 409

    other = draft(client, person, contact_list["id"])
    assert api_call(client, "DELETE", f"/v1/campaigns/{other['id']}", headers=person.headers).status_code == 204
    assert api_call(client, "GET", f"/v1/campaigns/{other['id']}", headers=person.headers).status_code == 404


def test_given_unknown_or_forbidden_fields_then_refused_and_nothing_stored(client, tenant):
    person = tenant()
    contact_list = audience(client, person, members=0, domain=False)

    answer = api_call(client, "POST", "/v1/campaigns", campaign_body(contact_list["id"], status="sent"),
                      headers=person.headers)

    assert answer.status_code == 422
    assert api_call(client, "GET", "/v1/campaigns", headers=person.headers).json_body["items"] == []


# --- test copies -------------------------------------------------------------------------------

def test_given_a_verified_domain_when_test_copies_are_asked_then_each_address_gets_one(client, tenant):
    person = tenant()
    contact_list = audience(client, person, members=0)
    campaign = draft(client, person, contact_list["id"])

    answer = api_call(client, "POST", f"/v1/campaigns/{campaign['id']}/test",
                      {"emails": ["ada@example.org", "bob@example.org"]}, headers=person.headers)

    assert answer.status_code == 202
    [copy] = messages_to("ada@example.org")
    assert copy["Subject"] == "[Test] News for you"
    assert "news@acme.example" in copy["From"]
    assert "Hello friend" in text_of(copy)
    assert len(messages_to("bob@example.org")) == 1


@pytest.mark.parametrize("emails", [[], [f"a{i}@example.org" for i in range(6)], ["not-an-address"]])
def test_given_no_too_many_or_bad_addresses_when_test_copies_are_asked_then_422(client, tenant, emails):
    person = tenant()
    contact_list = audience(client, person, members=0)
    campaign = draft(client, person, contact_list["id"])

    answer = api_call(client, "POST", f"/v1/campaigns/{campaign['id']}/test", {"emails": emails},
                      headers=person.headers)

    assert answer.status_code == 422


def test_given_an_unverified_domain_when_test_copies_are_asked_then_422_naming_it(client, tenant):
    person = tenant()
    contact_list = audience(client, person, members=0, domain=False)
    campaign = draft(client, person, contact_list["id"])

    answer = api_call(client, "POST", f"/v1/campaigns/{campaign['id']}/test", {"emails": ["ada@example.org"]},
                      headers=person.headers)

    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "domain_not_verified"
    assert "acme.example" in answer.json_body["error"]["message"]
    assert messages_to("ada@example.org") == []


# --- send: go, and every refusal of the gate ----------------------------------------------------

def test_given_a_monthly_account_when_sent_then_sending_with_one_fanout_message(client, tenant):
    person = tenant(plan="monthly", subscriber_level=10)
    contact_list = audience(client, person, members=3)
    campaign = draft(client, person, contact_list["id"])

    answer = send(client, person, campaign["id"])

    assert answer.status_code == 202, answer.json_body
    sent = answer.json_body["campaign"]
    assert sent["status"] == "sending" and sent["recipients"] == 3 and sent["started_at"]
    assert fanout_messages() == [{"account_id": person.account_id, "campaign_id": campaign["id"], "generation": 0}]
    assert Usage.get(person.account_id, clock.now().strftime("%Y-%m")).emails == 3
    again = send(client, person, campaign["id"])
    assert again.status_code == 409 and fanout_messages() == []


def refusal(client, person, contact_list) -> dict:
    campaign = draft(client, person, contact_list["id"])
    answer = send(client, person, campaign["id"])
    assert answer.status_code == 422, answer.json_body
    assert campaign_of(client, person, campaign["id"])["status"] == "draft"
    assert fanout_messages() == []
    return answer.json_body["error"]


def test_given_an_account_not_yet_approved_then_422_account_not_approved(client, tenant):
    person = tenant(approve=False)
    assert refusal(client, person, audience(client, person))["code"] == "account_not_approved"


def test_given_a_suspended_account_then_422_account_suspended(client, tenant, staff):
    person = tenant(plan="free")
    contact_list = audience(client, person)
    api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/suspend", {"reason": "abuse"},
             headers=staff.headers)
    assert refusal(client, person, contact_list)["code"] == "account_suspended"


def test_given_an_ended_trial_then_422_trial_expired(client, tenant):
    person = tenant()
    contact_list = audience(client, person)
    set_account(person, trial_ends_at=clock.now() - timedelta(minutes=1))
    assert refusal(client, person, contact_list)["code"] == "trial_expired"


def test_given_a_trial_with_too_few_emails_left_then_422_trial_limit(client, tenant):
    person = tenant()
    contact_list = audience(client, person, members=2)
    Usage(person.account_id, "trial", emails=99).save()
    error = refusal(client, person, contact_list)
    assert error["code"] == "trial_limit" and "1 are left" in error["message"]


def test_given_more_subscribers_than_the_level_then_422_subscriber_limit_exceeded(client, tenant, staff):
    person = tenant(plan="monthly", subscriber_level=2)
    contact_list = audience(client, person, members=2)
    api_call(client, "PATCH", f"/v1/admin/accounts/{person.account_id}/plan",
             {"plan": "monthly", "subscriber_level": 1}, headers=staff.headers)
    assert refusal(client, person, contact_list)["code"] == "subscriber_limit_exceeded"


def test_given_the_months_cap_nearly_used_then_422_monthly_limit(client, tenant):
    person = tenant(plan="monthly", subscriber_level=1)
    contact_list = audience(client, person, members=1)
    Usage(person.account_id, clock.now().strftime("%Y-%m"), emails=109).save()
    assert refusal(client, person, contact_list)["code"] == "monthly_limit"


def test_given_too_few_credits_then_422_insufficient_credits(client, tenant):
    person = tenant(plan="payg", credits=1)
    assert refusal(client, person, audience(client, person, members=2))["code"] == "insufficient_credits"


def test_given_credits_bought_13_months_ago_then_422_insufficient_credits(client, tenant):
    person = tenant(plan="payg", credits=100)
    contact_list = audience(client, person, members=2)
    set_account(person, credits_purchased_at=clock.now() - timedelta(days=396))
    assert "expired" in refusal(client, person, contact_list)["message"]


def test_given_no_subscribed_members_then_422_no_recipients(client, tenant):
    person = tenant(plan="free")
    assert refusal(client, person, audience(client, person, members=0))["code"] == "no_recipients"


def test_given_a_sender_domain_not_verified_then_422_naming_it(client, tenant):
    person = tenant(plan="free")
    contact_list = audience(client, person)
    campaign = draft(client, person, contact_list["id"], from_email="hello@elsewhere.example")
    answer = send(client, person, campaign["id"])
    assert answer.status_code == 422 and answer.json_body["error"]["code"] == "domain_not_verified"
    assert "elsewhere.example" in answer.json_body["error"]["message"]


def test_given_a_deleted_list_then_422_and_not_started(client, tenant):
    person = tenant(plan="free")
    contact_list = audience(client, person)
    campaign = draft(client, person, contact_list["id"])
    api_call(client, "DELETE", f"/v1/lists/{contact_list['id']}", headers=person.headers)
    answer = send(client, person, campaign["id"])
    assert answer.status_code == 422 and answer.json_body["error"]["code"] == "list_deleted"


# --- schedule ----------------------------------------------------------------------------------

def run_schedule(client) -> dict:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])
    return client.lambda_.invoke("start_due_campaigns", event).payload


def travel(monkeypatch, delta: timedelta) -> None:
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + delta)


def test_given_a_scheduled_campaign_when_its_time_comes_then_the_schedule_starts_it(client, tenant, monkeypatch):
    person = tenant(plan="free")
    contact_list = audience(client, person)
    campaign = draft(client, person, contact_list["id"])
    at = clock.iso(clock.now() + timedelta(hours=2))

    answer = send(client, person, campaign["id"], {"scheduled_at": at})

    assert answer.status_code == 202 and answer.json_body["campaign"]["status"] == "scheduled"
    assert answer.json_body["campaign"]["scheduled_at"] == at
    assert run_schedule(client)["started"] == 0 and fanout_messages() == []
    travel(monkeypatch, timedelta(hours=2, minutes=1))
    assert run_schedule(client)["started"] == 1
    assert campaign_of(client, person, campaign["id"])["status"] == "sending"
    assert [m["campaign_id"] for m in fanout_messages()] == [campaign["id"]]


def test_given_a_scheduled_campaign_refused_at_its_time_then_back_to_draft_with_the_reason(
        client, tenant, staff, monkeypatch):
    person = tenant(plan="free")
    contact_list = audience(client, person)
    campaign = draft(client, person, contact_list["id"])
    send(client, person, campaign["id"], {"scheduled_at": clock.iso(clock.now() + timedelta(hours=1))})
    api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/suspend", {}, headers=staff.headers)
    travel(monkeypatch, timedelta(hours=2))

    assert run_schedule(client)["refused"] == 1

    after = campaign_of(client, person, campaign["id"])
    assert after["status"] == "draft" and "suspended" in after["status_reason"]
    assert fanout_messages() == []


@pytest.mark.parametrize("when", ["yesterday", "2001-01-01T00:00:00Z", "2030-01-01T00:00:00"])
def test_given_a_bad_or_past_schedule_then_422(client, tenant, when):
    person = tenant(plan="free")
    campaign = draft(client, person, audience(client, person)["id"])
    answer = send(client, person, campaign["id"], {"scheduled_at": when})
    assert answer.status_code == 422 and answer.json_body["error"]["code"] == "invalid_schedule"


# --- pause, resume, cancel ---------------------------------------------------------------------

def post(client, person, campaign_id: str, action: str):
    return api_call(client, "POST", f"/v1/campaigns/{campaign_id}/{action}", headers=person.headers)


def test_given_a_sending_campaign_when_paused_and_resumed_then_a_new_fanout_generation(client, tenant):
    person = tenant(plan="free")
    campaign = draft(client, person, audience(client, person)["id"])
    send(client, person, campaign["id"])
    fanout_messages()

    paused = post(client, person, campaign["id"], "pause")
    assert paused.status_code == 200 and paused.json_body["campaign"]["status"] == "paused"
    assert post(client, person, campaign["id"], "pause").status_code == 409

    resumed = post(client, person, campaign["id"], "resume")
    assert resumed.status_code == 200 and resumed.json_body["campaign"]["status"] == "sending"
    assert fanout_messages() == [{"account_id": person.account_id, "campaign_id": campaign["id"], "generation": 1}]


def test_given_a_trial_campaign_paused_before_the_trial_ended_then_it_cannot_be_resumed_after(client, tenant):
    person = tenant(plan="free")
    campaign = draft(client, person, audience(client, person)["id"])
    send(client, person, campaign["id"])
    fanout_messages()
    assert post(client, person, campaign["id"], "pause").status_code == 200
    set_account(person, plan="trial", trial_ends_at=clock.now() - timedelta(minutes=1))

    resumed = post(client, person, campaign["id"], "resume")

    assert resumed.status_code == 422 and resumed.json_body["error"]["code"] == "trial_expired"
    assert campaign_of(client, person, campaign["id"])["status"] == "paused"
    assert fanout_messages() == []


def test_given_a_draft_then_pause_and_resume_are_409_and_cancel_is_final(client, tenant):
    person = tenant(plan="free")
    campaign = draft(client, person, audience(client, person)["id"])

    assert post(client, person, campaign["id"], "pause").status_code == 409
    assert post(client, person, campaign["id"], "resume").json_body["error"]["code"] == "invalid_transition"
    cancelled = post(client, person, campaign["id"], "cancel")
    assert cancelled.status_code == 200 and cancelled.json_body["campaign"]["status"] == "cancelled"
    assert post(client, person, campaign["id"], "cancel").status_code == 409
    assert send(client, person, campaign["id"]).status_code == 409


def test_given_a_sending_payg_campaign_when_cancelled_then_its_unsent_credits_come_back(client, tenant):
    person = tenant(plan="payg", credits=10)
    campaign = draft(client, person, audience(client, person, members=3)["id"])
    send(client, person, campaign["id"])
    assert Account.get(person.account_id).credits == 7

    post(client, person, campaign["id"], "cancel")

    assert Account.get(person.account_id).credits == 10

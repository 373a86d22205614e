"""GET /v1/account/export (R28): all of the account's data as JSON, at once for small accounts and through a
job (exports queue -> S3 -> emailed link -> presigned download) for large ones."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import requests

from chalicelib import aws, clock, queues
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.services.audience import suppressions
from chalicelib.services.privacy import account_export
from tests.integration.campaign_sending import (
    audience,
    drain,
    make_pump,
    run_export_job,
    start_sending,
)
from tests.integration.campaigning import add_domain, draft
from tests.integration.conftest import api_call
from tests.integration.listing import make_list, subscribe
from tests.integration.mailbox import messages_to

JOB_ALWAYS = account_export.SyncLimits(subscribers=0, bytes=0)
CONSENT = {"source": "trade-fair-2024", "ip": "203.0.113.7", "at": "2024-03-01T10:00:00Z"}


def export(client, person):
    return api_call(client, "GET", "/v1/account/export", headers=person.headers)


def without_time(document: dict) -> dict:
    return {name: value for name, value in document.items() if name != "exported_at"}


@pytest.fixture
def stocked(client, tenant):
    """An account with members in several states, a sent campaign with its report, a draft, an API key and
    suppressions (one of them a complaint); and another account with data of its own."""
    person, stranger = tenant(), tenant()
    people = audience(client, person, subscribed=3, unsubscribed=1)
    list_id = people["list"]["id"]
    sent_id = start_sending(person, list_id, recipients=3)
    drain(make_pump())
    traded = subscribe(client, person, list_id, "fair@readers.example", consent=CONSENT,
                       fields={"first_name": "Fay"})
    draft_id = draft(client, person, list_id)["id"]
    segment = api_call(client, "POST", f"/v1/lists/{list_id}/segments", {
        "name": "Fay and friends", "conditions": [{"field": "first_name", "op": "starts_with", "value": "F"}],
    }, headers=person.headers).json_body["segment"]
    add_domain(client, person, "acme.example")
    key = api_call(client, "POST", "/v1/api-keys", {"name": "crm"}, headers=person.headers).json_body
    api_call(client, "POST", "/v1/suppressions", {"email": "never@readers.example"}, headers=person.headers)
    suppressions.suppress(person.account_id, "angry@readers.example", SuppressionReason.COMPLAINED)
    theirs = make_list(client, stranger, name="Stranger's list")
    subscribe(client, stranger, theirs["id"], "stranger@elsewhere.example")
    return {
        "person": person, "stranger": stranger, "list_id": list_id, "key": key, "traded": traded,
        "addresses": people["subscribed"] + people["unsubscribed"] + ["fair@readers.example"],
        "campaigns": {sent_id, draft_id}, "sent_id": sent_id, "segment": segment,
    }


def test_the_export_holds_every_subscriber_with_consent_and_every_campaign_with_its_report(client, stocked):
    person = stocked["person"]

    answer = export(client, person)

    assert answer.status_code == 200, answer.json_body
    document = answer.json_body
    assert document["format"] == "mailroom.account-export/1" and document["exported_at"]
    assert document["account"]["id"] == person.account_id
    assert document["account"]["profile"]["company"] == "Acme Ltd"
    assert document["account"]["registration"]["terms_version"]
    members = {s["email"]: s for s in document["subscribers"]}
    assert sorted(members) == sorted(stocked["addresses"])
    assert all(m["consent"]["source"] and m["consent"]["at"] for m in members.values())
    assert members["fair@readers.example"]["consent"] == {"source": "trade-fair-2024", "ip": "203.0.113.7",
                                                          "at": "2024-03-01T10:00:00Z"}
    assert members["fair@readers.example"]["fields"] == {"first_name": "Fay"}
    assert {m["status"] for m in members.values()} == {"subscribed", "unsubscribed"}
    campaigns = {c["id"]: c for c in document["campaigns"]}
    assert set(campaigns) == stocked["campaigns"]
    sent = campaigns[stocked["sent_id"]]
    assert sent["status"] == "sent" and sent["html"] and sent["report"]["sent"] == 3
    assert [lst["id"] for lst in document["lists"]] == [stocked["list_id"]]
    assert document["segments"] == [stocked["segment"]]
    assert [u["email"] for u in document["users"]] == [person.email]
    assert [k["id"] for k in document["api_keys"]] == [stocked["key"]["id"]]
    assert [d["name"] for d in document["domains"]] == ["acme.example"]
    assert any(r["action"] == "login_succeeded" for r in document["audit"])


def test_the_export_holds_nothing_of_another_account_and_no_secret(client, stocked):
    person, stranger = stocked["person"], stocked["stranger"]

    raw = export(client, person).body.decode()

    assert stranger.account_id not in raw and "stranger@elsewhere.example" not in raw and stranger.email not in raw
    assert stocked["key"]["key"] not in raw and "argon2" not in raw and "password" not in raw
    assert "secret_digest" not in raw and "credential_key" not in raw


def test_a_complaint_reads_as_an_unsubscribe_in_the_export(client, stocked):
    document = export(client, stocked["person"]).json_body

    listed = {s["email"]: s["reason"] for s in document["suppressions"]}
    assert listed["angry@readers.example"] == "unsubscribed"
    assert listed["never@readers.example"] == "manual"
    assert "complain" not in json.dumps(document["suppressions"])


def test_each_export_is_audited_and_the_next_one_shows_it(client, tenant):
    person = tenant()

    first = export(client, person).json_body
    second = export(client, person).json_body

    assert not any(r["action"] == "data_exported" for r in first["audit"])
    [exported] = [r for r in second["audit"] if r["action"] == "data_exported"]
    assert exported["actor"]["id"] == person.user_id and exported["details"]["delivery"] == "answer"


# --- the job path --------------------------------------------------------------------------------

def test_a_large_account_gets_a_job_whose_download_is_the_same_document(client, stocked, monkeypatch):
    # Given an account the service treats as large
    person = stocked["person"]
    monkeypatch.setattr(account_export, "SYNC_LIMITS", JOB_ALWAYS)

    # When it asks for its export
    answer = export(client, person)

    # Then it gets a job, still preparing, with nothing to download yet
    assert answer.status_code == 202, answer.json_body
    job = answer.json_body["export"]
    assert job["status"] == "preparing" and job["id"].startswith("exp_")
    status_path = f"/v1/account/exports/{job['id']}"
    preparing = api_call(client, "GET", status_path, headers=person.headers).json_body["export"]
    assert preparing["status"] == "preparing" and preparing["download_url"] is None

    # When the consumer handles the queued message
    run_export_job(make_pump())

    # Then the export is ready with a one-hour link, the owner got one email pointing at it,
    ready = api_call(client, "GET", status_path, headers=person.headers).json_body["export"]
    assert ready["status"] == "ready" and ready["size_bytes"] > 0
    expires = datetime.fromisoformat(ready["download_expires_at"])
    assert timedelta(minutes=59) < expires - clock.now() <= timedelta(hours=1)
    assert "X-Amz-Expires=3600" in ready["download_url"]
    [mail] = [m for m in messages_to(person.email) if "export is ready" in str(m["Subject"])]
    assert status_path in mail.get_body(preferencelist=("plain",)).get_content()

    # and the link downloads the same document as the answer a small account gets
    download = requests.get(ready["download_url"], timeout=10)
    assert download.status_code == 200
    assert "response-content-disposition=attachment" in ready["download_url"]   # S3 answers it as a file
    monkeypatch.setattr(account_export, "SYNC_LIMITS", account_export.SyncLimits())
    at_once = export(client, person)
    assert at_once.status_code == 200
    assert without_time(download.json()) == without_time(at_once.json_body)


def test_a_job_delivered_again_makes_no_second_export_or_email(client, tenant, monkeypatch):
    person = tenant()
    monkeypatch.setattr(account_export, "SYNC_LIMITS", JOB_ALWAYS)
    job = export(client, person).json_body["export"]
    pump = make_pump()
    event = run_export_job(pump)
    first = api_call(client, "GET", f"/v1/account/exports/{job['id']}", headers=person.headers).json_body["export"]

    run_export_job(pump, event)                          # the same message again (at-least-once)
    event["Records"][0]["messageId"] = "redriven-copy"   # and a dead-letter redrive of it, with a new id
    run_export_job(pump, event)

    again = api_call(client, "GET", f"/v1/account/exports/{job['id']}", headers=person.headers).json_body["export"]
    assert (again["status"], again["ready_at"]) == ("ready", first["ready_at"])
    assert len([m for m in messages_to(person.email) if "export is ready" in str(m["Subject"])]) == 1


@pytest.mark.parametrize("limits", [account_export.SyncLimits(bytes=2_000), account_export.SyncLimits(seconds=0)],
                         ids=["too large", "too slow"])
def test_an_account_whose_document_outgrows_the_answer_gets_a_job(client, stocked, monkeypatch, limits):
    monkeypatch.setattr(account_export, "SYNC_LIMITS", limits)

    answer = export(client, stocked["person"])

    assert answer.status_code == 202 and answer.json_body["export"]["status"] == "preparing"


def test_asking_again_while_a_job_prepares_answers_the_same_job(client, tenant, monkeypatch):
    person = tenant()
    monkeypatch.setattr(account_export, "SYNC_LIMITS", JOB_ALWAYS)

    first = export(client, person).json_body["export"]
    second = export(client, person).json_body["export"]

    assert first["id"] == second["id"]
    messages = aws.client("sqs").receive_message(QueueUrl=queues.url("exports"), MaxNumberOfMessages=10)
    assert len(messages.get("Messages", [])) == 1


def test_another_accounts_export_is_not_found_like_a_missing_one(client, tenant, monkeypatch):
    owner, stranger = tenant(), tenant()
    monkeypatch.setattr(account_export, "SYNC_LIMITS", JOB_ALWAYS)
    job = export(client, owner).json_body["export"]
    run_export_job(make_pump())

    theirs = api_call(client, "GET", f"/v1/account/exports/{job['id']}", headers=stranger.headers)
    missing = api_call(client, "GET", "/v1/account/exports/exp_missing", headers=stranger.headers)

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json_body == missing.json_body


def test_an_export_is_gone_after_seven_days_even_before_dynamodb_deletes_it(client, tenant, monkeypatch):
    person = tenant()
    monkeypatch.setattr(account_export, "SYNC_LIMITS", JOB_ALWAYS)
    job = export(client, person).json_body["export"]
    run_export_job(make_pump())
    key = api_call(client, "POST", "/v1/api-keys", {"name": "ci"}, headers=person.headers).json_body["key"]
    path, by_key = f"/v1/account/exports/{job['id']}", {"Authorization": f"Bearer {key}"}
    later = clock.now() + timedelta(days=7, minutes=1)
    assert api_call(client, "GET", path, headers=by_key).status_code == 200

    monkeypatch.setattr(clock, "now", lambda: later)

    assert api_call(client, "GET", path, headers=by_key).status_code == 404

"""R8 (002 Payments 2): a trial ends after 30 days or when the account's subscribers pass the free limit, whichever
comes first, and stays ended if members are removed afterwards. The free limit is made 3 here (5,000 in the
product) so that a few adds pass it."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.models import accounts as account_store
from chalicelib.services.accounts import plans
from chalicelib.services.audience import subscribers
from chalicelib.services.campaigns import gate
from chalicelib.services.retention import expiries
from tests.integration.campaigning import add_domain, draft, send
from tests.integration.conftest import api_call, sign_in
from tests.integration.listing import make_list, subscribe
from tests.integration.retention_budget import PLENTY
from tests.integration.test_imports import imported
from tests.integration.test_subscriber_limits import NO_MAIL, atomic_moto  # noqa: F401 - a fixture used below

FREE = 3


@pytest.fixture(autouse=True)
def small_free_limit(monkeypatch):
    monkeypatch.setattr(plans, "FREE_SUBSCRIBERS", FREE)
    monkeypatch.setattr(gate, "FREE_SUBSCRIBERS", FREE)


def trial_with_list(client, tenant, members: int):
    person = tenant()   # approved, on the trial
    add_domain(client, person)
    contact_list = make_list(client, person, fields=[{"key": "first_name", "label": "First name"}])
    for i in range(members):
        subscribe(client, person, contact_list["id"], f"m{i}@readers.example")
    return person, contact_list


def account(person) -> account_store.Account:
    found = account_store.get(person.account_id)
    assert found is not None
    return found


def send_answer(client, person, list_id: str):
    return send(client, person, draft(client, person, list_id)["id"])


def test_at_the_free_limit_the_trial_goes_on(client, tenant):
    # Given a trial account holding exactly the free limit
    person, contact_list = trial_with_list(client, tenant, FREE)

    # When it sends a campaign
    answer = send_answer(client, person, contact_list["id"])

    # Then the trial is not over: the campaign waits for staff review, as every trial campaign does
    assert answer.status_code == 202, answer.json_body
    assert answer.json_body["campaign"]["status"] == "in_review"
    assert account(person).trial_limit_passed_at is None and account(person).trial_ends_at > clock.now()


def test_an_api_add_past_the_free_limit_ends_the_trial_for_good(client, tenant):
    # Given a trial account at the free limit
    person, contact_list = trial_with_list(client, tenant, FREE)
    thirty_days = account(person).trial_ends_at

    # When one more member is added through the API
    subscribe(client, person, contact_list["id"], "one-more@readers.example")

    # Then the member is kept, the trial ends now (well before its 30 days), and sending is refused saying why
    ended = account(person)
    assert ended.trial_limit_passed_at is not None and ended.trial_ends_at <= clock.now() < thirty_days
    shown = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]
    assert shown["trial_ends_at"] == clock.iso(ended.trial_ends_at) and shown["usage"]["subscribers"] == FREE + 1
    refused = send_answer(client, person, contact_list["id"])
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "trial_expired"
    assert "free limit" in refused.json_body["error"]["message"]

    # And when members are removed to below the limit, the trial stays ended
    for member in api_call(client, "GET", f"/v1/lists/{contact_list['id']}/subscribers",
                           headers=person.headers).json_body["items"][:3]:
        path = f"/v1/lists/{contact_list['id']}/subscribers/{member['id']}"
        assert api_call(client, "DELETE", path, headers=person.headers).status_code == 204
    assert account(person).subscriber_count == FREE - 2
    again = send_answer(client, person, contact_list["id"])
    assert again.status_code == 422 and again.json_body["error"]["code"] == "trial_expired"
    assert account(person).trial_ends_at == ended.trial_ends_at


def test_an_import_past_the_free_limit_keeps_every_row_and_ends_the_trial(client, tenant):
    # Given a trial account with one member
    person, contact_list = trial_with_list(client, tenant, 1)

    # When a file of four more addresses is imported
    found = imported(client, person, contact_list["id"], "email\n" + "".join(f"n{i}@readers.example\n"
                                                                             for i in range(4)))

    # Then every row is in (the trial has no hard cap), and the trial ended with the import
    assert (found["added"], found["skipped"]["limit"]) == (4, 0)
    assert account(person).subscriber_count == 5
    assert account(person).trial_limit_passed_at is not None
    assert send_answer(client, person, contact_list["id"]).json_body["error"]["code"] == "trial_expired"


def test_an_ended_trials_campaign_waiting_for_review_goes_back_to_draft_saying_why(client, tenant):
    # Given a trial campaign waiting for staff review, and then the list passing the free limit
    person, contact_list = trial_with_list(client, tenant, FREE)
    waiting = send_answer(client, person, contact_list["id"]).json_body["campaign"]
    subscribe(client, person, contact_list["id"], "one-more@readers.example")

    # When the trials' expiry runs
    outcome = expiries.expire_trials(PLENTY)

    # Then the campaign is back in draft with the reason, and the account is marked expired once
    assert outcome.counts["trials"] == 1 and outcome.counts["campaigns_to_draft"] == 1
    shown = api_call(client, "GET", f"/v1/campaigns/{waiting['id']}", headers=person.headers).json_body["campaign"]
    assert shown["status"] == "draft" and "free limit" in shown["status_reason"]


def test_a_trial_past_its_30_days_keeps_its_end_date_when_the_limit_is_passed_later(client, tenant, travel):
    # Given a trial that ended by time
    person, contact_list = trial_with_list(client, tenant, FREE)
    thirty_days = account(person).trial_ends_at
    travel(timedelta(days=31))
    person.token = sign_in(client, person.email, person.password)

    # When members are added past the free limit
    subscribe(client, person, contact_list["id"], "one-more@readers.example")

    # Then the trial's end stays the day it ended, and it is not marked as ended by the limit
    assert account(person).trial_ends_at == thirty_days and account(person).trial_limit_passed_at is None
    refused = send_answer(client, person, contact_list["id"])
    assert refused.json_body["error"]["code"] == "trial_expired" and "30-day" in refused.json_body["error"]["message"]


@pytest.mark.usefixtures("atomic_moto")
def test_racing_adds_across_the_free_limit_are_all_counted_and_end_the_trial_once(client, tenant):
    # Given a trial account one below the free limit
    person, contact_list = trial_with_list(client, tenant, FREE - 1)

    # When eight adds race
    def add(i: int) -> None:
        subscribers.add(person.account_id, contact_list["id"], f"racer{i}@readers.example", {},
                        subscribers.Consent(source="race"), NO_MAIL)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add, range(8)))

    # Then all of them are in and counted, and the trial ended at the add that passed the limit, which is kept
    ended = account(person)
    assert ended.subscriber_count == FREE - 1 + 8
    assert ended.trial_limit_passed_at is not None and ended.trial_ends_at == ended.trial_limit_passed_at

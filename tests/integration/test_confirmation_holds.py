"""Double opt-in confirmation emails hold to the account's state: a suspended account sends none (R34), and an
account waiting for approval (R5) sends at most a day's number of them."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.integration.conftest import api_call, stop_account
from tests.integration.listing import add_subscriber, make_list, path_of, subscriber_count
from tests.integration.mailbox import messages_to
from tests.integration.signup_forms import html, post_form
from tests.integration.test_subscriber_limits import atomic_moto  # noqa: F401 - fixture

DAILY = 50   # confirmation emails a day until the account is approved (README)


def member_emails(client, person, list_id: str) -> list[str]:
    answer = api_call(client, "GET", f"/v1/lists/{list_id}/subscribers?limit=100", headers=person.headers)
    return [m["email"] for m in answer.json_body["items"]]


def test_a_suspended_account_adds_nobody_who_would_be_sent_a_confirmation(client, tenant, staff):
    # Given a double opt-in list and a single opt-in list of an account that staff then suspend
    person = tenant()
    double = make_list(client, person, double_opt_in=True)
    single = make_list(client, person, double_opt_in=False)
    stop_account(client, staff, person, "suspended")

    # When it adds an address to each through the API
    confirming = add_subscriber(client, person, double["id"], "ada@example.org")
    direct = add_subscriber(client, person, single["id"], "bob@example.org")

    # Then the add that would email a confirmation is refused and leaves nothing behind
    assert confirming.status_code == 422, confirming.json_body
    assert confirming.json_body["error"]["code"] == "account_suspended"
    assert member_emails(client, person, double["id"]) == [] and messages_to("ada@example.org") == []
    # while the one that emails nobody is kept, as list management goes on during a suspension
    assert direct.status_code == 201, direct.json_body
    assert subscriber_count(person) == 1 and messages_to("bob@example.org") == []


def test_an_unapproved_account_sends_at_most_a_days_confirmations_even_in_parallel(
        client, tenant, staff, atomic_moto):  # noqa: F811
    # Given an account waiting for approval, with a double opt-in list
    person = tenant(approve=False)
    contact_list = make_list(client, person, double_opt_in=True)
    addresses = [f"reader{i}@example.org" for i in range(DAILY + 6)]

    # When it adds more addresses than a day's confirmations, eight at a time
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda a: add_subscriber(client, person, contact_list["id"], a), addresses))

    # Then exactly the day's number are added and mailed; the rest are told when to come back, and kept nowhere
    added = [a for a, answer in zip(addresses, answers, strict=True) if answer.status_code == 201]
    refused = [(a, answer) for a, answer in zip(addresses, answers, strict=True) if answer.status_code != 201]
    assert len(added) == DAILY and len(refused) == 6, [r.status_code for _, r in refused]
    for _, answer in refused:
        assert answer.status_code == 429 and answer.json_body["error"]["code"] == "confirmation_limit"
        assert str(DAILY) in answer.json_body["error"]["message"]
        assert 0 < int(answer.headers["Retry-After"]) <= 24 * 3600
    assert sum(len(messages_to(a)) for a in addresses) == DAILY
    assert sorted(member_emails(client, person, contact_list["id"])) == sorted(added)
    assert subscriber_count(person) == DAILY

    # And once staff approve the account, a refused address can be added and is asked to confirm
    approved = api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/approve", headers=staff.headers)
    assert approved.status_code == 200
    late, _ = refused[0]
    assert add_subscriber(client, person, contact_list["id"], late).status_code == 201
    assert len(messages_to(late)) == 1


def test_an_unapproved_accounts_form_past_the_days_confirmations_asks_to_come_back_later(client, tenant):
    # Given an account waiting for approval that has sent a day's confirmations through the API
    person = tenant(approve=False)
    contact_list = make_list(client, person, double_opt_in=True)
    for i in range(DAILY):
        assert add_subscriber(client, person, contact_list["id"], f"reader{i}@example.org").status_code == 201

    # When a visitor signs up through its hosted form
    answer = post_form(client, path_of(contact_list["form_url"]), email="ada@example.org")

    # Then the page asks them to try later, without naming the account's state; nothing is stored or sent
    assert answer.status_code == 429
    page = html(answer)
    assert "try again later" in page and "approv" not in page and "suspend" not in page
    assert messages_to("ada@example.org") == [] and subscriber_count(person) == DAILY

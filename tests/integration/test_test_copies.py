"""Test copies ("[Test]" emails of a campaign) hold to the same rules as a send: an account not yet approved mails
only its own users, the copies are counted against the trial and the plan, screened for prohibited content, and
limited per account and day; a suspended or closed account sends none."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import clock
from chalicelib.models.accounts import Account
from chalicelib.models.usage import TRIAL_PERIOD, Usage
from tests.integration.campaigning import audience, draft
from tests.integration.conftest import api_call, stop_account
from tests.integration.mailbox import last_link_to, messages_to
from tests.integration.test_subscriber_limits import atomic_moto  # noqa: F401 - fixture

STRANGERS = [f"stranger{i}@example.org" for i in range(5)]


def ask_copies(client, person, campaign_id: str, emails: list[str]):
    return api_call(client, "POST", f"/v1/campaigns/{campaign_id}/test", {"emails": emails}, headers=person.headers)


def set_account(person, **values) -> None:
    Account(person.account_id).update(actions=[getattr(Account, k).set(v) for k, v in values.items()])


def set_used(person, period: str, emails: int) -> None:
    Usage(person.account_id, period, emails=emails, updated_at=clock.now()).save()


def used(person, period: str) -> int:
    item = Usage.find(person.account_id, period)
    return int(item.emails) if item is not None else 0


def copies_to(addresses: list[str]) -> int:
    return sum(len(messages_to(address)) for address in addresses)


def verify_email(client, person) -> None:
    link = last_link_to(person.email, "/v1/verify-email/")
    assert client.http.get(link[link.index("/v1/verify-email/"):]).status_code == 200


def error_of(answer) -> dict:
    return answer.json_body["error"]


# --- an account waiting for approval mails only its own users ------------------------------------

def test_an_unapproved_accounts_test_copies_cannot_reach_a_stranger(client, tenant):
    # Given an account staff have not approved yet, with a campaign ready to test
    person = tenant(approve=False)
    campaign = draft(client, person, audience(client, person, members=0)["id"])

    # When it asks for test copies to a stranger, alone or next to its own address
    alone = ask_copies(client, person, campaign["id"], ["stranger@example.org"])
    mixed = ask_copies(client, person, campaign["id"], [person.email, "stranger@example.org"])

    # Then both are refused with a reason naming the address, and nobody gets anything
    for answer in (alone, mixed):
        assert answer.status_code == 422, answer.json_body
        assert error_of(answer)["code"] == "test_recipient_not_allowed"
        assert "stranger@example.org" in error_of(answer)["message"]
    assert messages_to("stranger@example.org") == []
    assert [m for m in messages_to(person.email) if "[Test]" in str(m["Subject"])] == []


def test_an_unapproved_account_sends_test_copies_to_its_users_verified_address(client, tenant):
    # Given an account waiting for approval whose owner has not verified their address yet
    person = tenant(approve=False)
    campaign = draft(client, person, audience(client, person, members=0)["id"])

    # When it asks for a test copy to its owner's address before and after verifying it
    before = ask_copies(client, person, campaign["id"], [person.email.upper()])
    verify_email(client, person)
    after = ask_copies(client, person, campaign["id"], [person.email.upper()])

    # Then the first is refused, saying the address must be verified, and the second is sent and counted
    assert before.status_code == 422 and error_of(before)["code"] == "test_recipient_not_allowed"
    assert "verif" in error_of(before)["message"]
    assert after.status_code == 202, after.json_body
    assert [str(m["Subject"]) for m in messages_to(person.email)
            if "[Test]" in str(m["Subject"])] == ["[Test] News for you"]
    assert used(person, TRIAL_PERIOD) == 1


# --- counted against the plan, refused as a send would be -----------------------------------------

@pytest.mark.parametrize("plan, setup, code", [
    ("trial", {"used": 98}, "trial_limit"),
    ("monthly", {"subscriber_level": 1, "used": 108}, "monthly_limit"),
    ("payg", {"credits": 1}, "insufficient_credits"),
])
def test_test_copies_are_counted_and_refused_when_the_plan_cannot_take_them(client, tenant, plan, setup, code):
    # Given an approved account whose plan has room for exactly one or two more emails
    person = tenant(plan=plan,
                    **({"subscriber_level": setup["subscriber_level"]} if "subscriber_level" in setup else {}))
    period = TRIAL_PERIOD if plan == "trial" else clock.now().strftime("%Y-%m")
    if "used" in setup:
        set_used(person, period, setup["used"])
    if "credits" in setup:
        set_account(person, credits=setup["credits"], credits_purchased_at=clock.now())
    room = 2 if plan == "trial" else 1
    campaign = draft(client, person, audience(client, person, members=0)["id"])

    # When it asks for one copy more than there is room for, then for exactly as many as there is room for
    too_many = ask_copies(client, person, campaign["id"], STRANGERS[:room + 1])
    fitting = ask_copies(client, person, campaign["id"], STRANGERS[:room])

    # Then the first is refused with the code a send gets, nothing sent or taken; the second uses the room up
    assert too_many.status_code == 422 and error_of(too_many)["code"] == code, too_many.json_body
    assert fitting.status_code == 202, fitting.json_body
    assert copies_to(STRANGERS) == room
    if plan == "payg":
        assert int(Account.get(person.account_id).credits) == 0
    else:
        assert used(person, period) == setup["used"] + room


def test_a_free_plans_test_copies_go_out_until_it_holds_more_subscribers_than_the_plan_allows(client, tenant):
    # Given an approved account on the free plan, with a campaign ready to test
    person = tenant(plan="free")
    campaign = draft(client, person, audience(client, person, members=0)["id"])

    # When it asks for copies, then again once it holds more subscribers than the free plan allows
    within = ask_copies(client, person, campaign["id"], STRANGERS[:2])
    set_account(person, subscriber_count=5001)
    over = ask_copies(client, person, campaign["id"], STRANGERS[2:3])

    # Then the first go out, and the second is refused as a send would be
    assert within.status_code == 202, within.json_body
    assert over.status_code == 422 and error_of(over)["code"] == "subscriber_limit_exceeded", over.json_body
    assert copies_to(STRANGERS) == 2


def test_parallel_test_copies_never_pass_the_trials_hundred_emails(client, tenant, atomic_moto):  # noqa: F811
    # Given a trial account with 90 of its 100 emails used
    person = tenant()
    set_used(person, TRIAL_PERIOD, 90)
    campaign = draft(client, person, audience(client, person, members=0)["id"])
    barrier = threading.Barrier(8)

    # When eight requests for five copies each come at the same moment
    def ask(_: int) -> int:
        barrier.wait(timeout=60)
        return ask_copies(client, person, campaign["id"], STRANGERS).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(8)))

    # Then two got through and six were refused: exactly the ten emails that were left went out
    assert sorted(answers) == [202] * 2 + [422] * 6, answers
    assert copies_to(STRANGERS) == 10
    assert used(person, TRIAL_PERIOD) == 100


def test_parallel_test_copies_never_pass_the_daily_limit(client, tenant, atomic_moto):  # noqa: F811
    # Given an account on a monthly plan with room for far more than a day's test copies
    person = tenant(plan="monthly", subscriber_level=10)
    campaign = draft(client, person, audience(client, person, members=0)["id"])
    barrier = threading.Barrier(14)

    # When fourteen requests for five copies each come at the same moment
    def ask(_: int):
        barrier.wait(timeout=60)
        return ask_copies(client, person, campaign["id"], STRANGERS)

    with ThreadPoolExecutor(max_workers=14) as pool:
        answers = list(pool.map(ask, range(14)))

    # Then ten got through (fifty copies, the day's limit) and four were told to come back tomorrow
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] * 10 + [429] * 4, codes
    assert copies_to(STRANGERS) == 50
    refused = next(a for a in answers if a.status_code == 429)
    assert error_of(refused)["code"] == "test_copy_limit" and "50" in error_of(refused)["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600
    # and only the copies sent were counted against the plan
    assert used(person, clock.now().strftime("%Y-%m")) == 50


def test_copies_that_never_reached_ses_are_given_back(client, tenant, monkeypatch):
    # Given an account on a monthly plan, and SES failing on the third of five test copies
    from chalicelib import errors, ses

    class FailingThird(ses.CampaignMailer):
        calls = 0

        def send(self, email) -> str:
            FailingThird.calls += 1
            if FailingThird.calls == 3:
                raise errors.UpstreamError("The test copy could not be sent just now; try again shortly.")
            return super().send(email)

    monkeypatch.setattr(ses, "CampaignMailer", FailingThird)
    person = tenant(plan="monthly", subscriber_level=10)
    campaign = draft(client, person, audience(client, person, members=0)["id"])

    # When it asks for five copies
    answer = ask_copies(client, person, campaign["id"], STRANGERS)

    # Then it is told to try again; the two sent and the one SES may have taken stay counted, two come back
    assert answer.status_code == 503 and error_of(answer)["code"] == "upstream_unavailable"
    assert copies_to(STRANGERS) == 2
    assert used(person, clock.now().strftime("%Y-%m")) == 3


# --- screened for prohibited content (R21) -------------------------------------------------------

def test_a_campaign_with_prohibited_content_sends_no_test_copy(client, tenant):
    # Given an approved account's campaign that advertises an online casino
    person = tenant()
    campaign = draft(client, person, audience(client, person, members=0)["id"],
                     html="<p>Spin the wheel at our online casino tonight!</p>")

    # When it asks for a test copy
    answer = ask_copies(client, person, campaign["id"], ["ada@example.org"])

    # Then it is refused with a sentence naming what matched; nothing is sent or counted
    assert answer.status_code == 422, answer.json_body
    assert error_of(answer)["code"] == "prohibited_content"
    assert "online casino" in error_of(answer)["message"]
    assert messages_to("ada@example.org") == [] and used(person, TRIAL_PERIOD) == 0


# --- a suspended or closed account sends none (R33, R34) -----------------------------------------

@pytest.mark.parametrize("how", ["suspended", "closed"])
def test_a_suspended_or_closed_account_sends_no_test_copy(client, tenant, staff, how):
    # Given an approved account with a campaign, then suspended by staff or closed by its owner
    person = tenant()
    campaign = draft(client, person, audience(client, person, members=0)["id"])
    stop_account(client, staff, person, how)

    # When it asks for a test copy
    answer = ask_copies(client, person, campaign["id"], ["ada@example.org"])

    # Then it is refused with the account's state as the reason, and nothing is sent
    assert answer.status_code == 422 and error_of(answer)["code"] == f"account_{how}"
    assert messages_to("ada@example.org") == []

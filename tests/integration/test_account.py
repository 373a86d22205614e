"""The account as its users see it: plan, usage, limits and profile (R7), and its audit trail (R4)."""
from __future__ import annotations

from datetime import timedelta

from chalicelib import clock
from chalicelib.models.accounts import Account
from chalicelib.models.usage import Usage
from tests.integration.campaigning import trial_send_approved
from tests.integration.conftest import api_call


def test_the_account_shows_its_plan_usage_and_limits(client, tenant):
    person = tenant()

    account = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]

    assert account["id"] == person.account_id
    assert account["status"] == "active" and account["plan"] == "trial"
    assert account["usage"] == {"subscribers": 0}
    assert account["limits"] == {"subscribers": 5000, "trial_emails": 100, "trial_emails_left": 100}
    assert account["company"] == "Acme Ltd" and account["first_name"] == "Ada"


def limits_of(client, person) -> dict:
    return api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]["limits"]


def test_a_trial_shows_the_emails_left_of_its_100_in_all(client, tenant, staff):
    # Given a trial account whose campaign to 3 members staff approved
    person = tenant()
    trial_send_approved(client, person, staff, members=3)

    # When its limits are read
    limits = limits_of(client, person)

    # Then they speak of the trial's emails in all, 97 of them left, and of no monthly allowance
    assert limits == {"subscribers": 5000, "trial_emails": 100, "trial_emails_left": 97}


def test_a_monthly_plan_shows_its_monthly_emails_and_what_is_left_this_month(client, tenant):
    person = tenant(plan="monthly", subscriber_level=1000)
    Usage(person.account_id, clock.now().strftime("%Y-%m"), emails=9_000).save()
    Usage(person.account_id, "2020-01", emails=50_000).save()   # an old month counts for nothing now

    assert limits_of(client, person) == {"subscribers": 1000, "emails_per_month": 109_000,
                                         "emails_left_this_month": 100_000}


def test_payg_shows_its_credits_and_when_they_expire_and_expired_credits_as_none(client, tenant):
    person = tenant(plan="payg", credits=250)
    bought = Account.get(person.account_id).credits_purchased_at

    limits = limits_of(client, person)
    Account.get(person.account_id).update(actions=[Account.credits_purchased_at.set(bought - timedelta(days=366))])
    expired = limits_of(client, person)

    assert limits == {"subscribers": None, "credits": 250, "credits_expire_at": clock.iso(bought + timedelta(days=365))}
    assert expired["credits"] == 0


def test_the_free_plan_limits_subscribers_only(client, tenant):
    assert limits_of(client, tenant(plan="free")) == {"subscribers": 5000}


def test_given_profile_changes_when_patching_then_a_later_get_shows_them(client, tenant):
    person = tenant()

    changed = api_call(client, "PATCH", "/v1/account",
                       {"company": " Beta GmbH ", "country": "de", "city": "Berlin", "expected_list_size": 50},
                       headers=person.headers)

    assert changed.status_code == 200
    account = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]
    assert (account["company"], account["country"], account["city"], account["expected_list_size"]) == (
        "Beta GmbH", "DE", "Berlin", 50)
    assert account["first_name"] == "Ada"


def test_an_optional_field_can_be_cleared_but_a_required_one_cannot(client, tenant):
    person = tenant()
    api_call(client, "PATCH", "/v1/account", {"city": "Cork"}, headers=person.headers)

    assert api_call(client, "PATCH", "/v1/account", {"city": None}, headers=person.headers).status_code == 200
    refused = api_call(client, "PATCH", "/v1/account", {"company": None}, headers=person.headers)

    assert refused.status_code == 422
    account = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]
    assert account["city"] is None and account["company"] == "Acme Ltd"


def test_status_plan_and_counters_cannot_be_set(client, tenant):
    person = tenant(approve=False)

    for field, value in (("status", "active"), ("plan", "payg"), ("subscriber_count", 0), ("credits", 1000),
                         ("pro", True), ("id", "acc_other")):
        answer = api_call(client, "PATCH", "/v1/account", {field: value, "city": "Galway"}, headers=person.headers)
        assert answer.status_code == 422, field

    account = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]
    assert account["status"] == "pending_review" and account["plan"] == "trial"
    assert account["credits"] == 0 and account["pro"] is False and account["city"] is None


def test_a_profile_change_is_audited_by_field_name(client, tenant):
    person = tenant()
    api_call(client, "PATCH", "/v1/account", {"phone": "+353 1 555"}, headers=person.headers)

    [latest] = api_call(client, "GET", "/v1/account/audit?limit=1", headers=person.headers).json_body["items"]

    assert latest["action"] == "profile_updated"
    assert latest["details"] == {"fields": ["phone"]}


def test_the_audit_trail_pages_newest_first_and_is_the_accounts_own(client, tenant):
    alice, bob = tenant(), tenant()
    for city in ("A", "B", "C"):
        api_call(client, "PATCH", "/v1/account", {"city": city}, headers=alice.headers)

    first = api_call(client, "GET", "/v1/account/audit?limit=2", headers=alice.headers).json_body
    rest = api_call(client, "GET", f"/v1/account/audit?cursor={first['next_cursor']}",
                    headers=alice.headers).json_body
    bobs = api_call(client, "GET", "/v1/account/audit", headers=bob.headers).json_body["items"]

    ids = [r["id"] for r in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert [r["action"] for r in first["items"]] == ["profile_updated", "profile_updated"]
    assert {r["actor"]["id"] for r in bobs if r["actor"]["role"] != "staff"} == {bob.user_id}


def test_a_bad_cursor_or_limit_is_malformed(client, tenant):
    person = tenant()

    assert api_call(client, "GET", "/v1/account/audit?limit=0", headers=person.headers).status_code == 400
    assert api_call(client, "GET", "/v1/account/audit?cursor=forged", headers=person.headers).status_code == 400

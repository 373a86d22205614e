"""Signup (R1), its validation, and the email verification link."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from tests.integration.conftest import api_call, sign_in, signup_body
from tests.integration.mailbox import last_link_to, messages_to

EMAIL = "Grace.Hopper@Example.COM"


def path_of(link: str) -> str:
    return urlsplit(link).path


def test_given_a_complete_form_when_signing_up_then_the_account_waits_for_review_on_the_trial(client):
    body = signup_body(EMAIL, address="1 Main St", city="Dublin", zip="D01", phone="+353 1 234",
                       website="https://acme.example", industry="retail", expected_list_size=1200)

    answer = api_call(client, "POST", "/v1/signup", body, headers={"User-Agent": "Browser/1.0"})

    assert answer.status_code == 201
    account, user = answer.json_body["account"], answer.json_body["user"]
    assert account["status"] == "pending_review"
    assert account["plan"] == "trial"
    assert account["trial_ends_at"] > account["created_at"]
    assert account["company"] == "Acme Ltd" and account["country"] == "IE" and account["expected_list_size"] == 1200
    assert user["email"] == "grace.hopper@example.com"
    assert user["id"] and account["id"]
    assert "password" not in json.dumps(answer.json_body)


def test_signup_records_where_and_when_it_came_from_and_the_terms_version(client, staff):
    answer = api_call(client, "POST", "/v1/signup", signup_body(EMAIL), headers={"User-Agent": "Browser/1.0"})
    account_id = answer.json_body["account"]["id"]

    seen = api_call(client, "GET", f"/v1/admin/accounts/{account_id}", headers=staff.headers).json_body["account"]

    assert seen["registration"]["ip"] == "127.0.0.1"
    assert seen["registration"]["user_agent"] == "Browser/1.0"
    assert seen["registration"]["terms_version"] == "2021-05"
    assert seen["registration"]["at"] == seen["created_at"]


def test_a_new_account_can_sign_in_while_it_waits_for_review(client):
    api_call(client, "POST", "/v1/signup", signup_body(EMAIL))

    token = sign_in(client, EMAIL, "tenant-password-0123")

    account = api_call(client, "GET", "/v1/account", headers={"Authorization": f"Bearer {token}"}).json_body
    assert account["account"]["status"] == "pending_review"


def test_the_verification_link_from_the_email_confirms_the_address(client):
    api_call(client, "POST", "/v1/signup", signup_body(EMAIL))
    [message] = messages_to("grace.hopper@example.com")
    assert "Confirm" in message["Subject"]
    assert message.get_body(preferencelist=("html",)) is not None

    page = client.http.get(path_of(last_link_to("grace.hopper@example.com", "/v1/verify-email/")))

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"confirmed" in page.body
    again = client.http.get(path_of(last_link_to("grace.hopper@example.com", "/v1/verify-email/")))
    assert again.status_code == 200


@pytest.mark.parametrize("token", ["nope", "acc_x.forged-secret", ".", "a" * 600])
def test_a_forged_verification_link_answers_a_404_page(client, token):
    page = client.http.get(f"/v1/verify-email/{token}")

    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")


def test_a_verification_link_stops_working_after_seven_days(client, monkeypatch):
    from datetime import timedelta

    from chalicelib import clock

    api_call(client, "POST", "/v1/signup", signup_body(EMAIL))
    link = last_link_to("grace.hopper@example.com", "/v1/verify-email/")
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(days=7, minutes=1))

    assert client.http.get(path_of(link)).status_code == 404


def test_a_user_may_ask_for_a_new_verification_link_until_verified(client, tenant):
    person = tenant()

    first = api_call(client, "POST", "/v1/account/verification-email", headers=person.headers)
    assert first.status_code == 202 and first.json_body["sent"] is True
    assert len(messages_to(person.email)) == 2
    client.http.get(path_of(last_link_to(person.email, "/v1/verify-email/")))

    second = api_call(client, "POST", "/v1/account/verification-email", headers=person.headers)
    assert second.json_body["sent"] is False
    assert len(messages_to(person.email)) == 2


def test_two_signups_with_one_email_cannot_both_succeed(client):
    assert api_call(client, "POST", "/v1/signup", signup_body(EMAIL)).status_code == 201

    again = api_call(client, "POST", "/v1/signup", signup_body("grace.hopper@example.com", company="Other"))

    assert again.status_code == 409
    assert again.json_body["error"]["code"] == "email_taken"


@pytest.mark.parametrize("missing", ["email", "password", "company", "first_name", "last_name", "country",
                                     "accept_terms"])
def test_a_missing_required_field_is_refused(client, missing):
    body = signup_body(EMAIL)
    del body[missing]

    answer = api_call(client, "POST", "/v1/signup", body)

    assert answer.status_code == 422
    assert missing in answer.json_body["error"]["message"]
    assert messages_to("grace.hopper@example.com") == []


@pytest.mark.parametrize("field, value, status, code", [
    ("accept_terms", False, 422, "terms_not_accepted"),
    ("password", "short", 422, "password_too_short"),
    ("password", "x" * 257, 422, "invalid"),
    ("email", "not-an-address", 422, "invalid_email"),
    ("country", "XX", 422, "invalid_country"),
    ("country", "Ireland", 422, "invalid"),
    ("company", "   ", 422, "invalid_field"),
    ("expected_list_size", -1, 422, "invalid"),
    ("status", "active", 422, "invalid"),
    ("plan", "payg", 422, "invalid"),
    ("accept_terms", "yes", 400, "malformed_request"),
    ("expected_list_size", "100", 400, "malformed_request"),
    ("email", 42, 400, "malformed_request"),
])
def test_a_field_that_breaks_a_rule_is_refused_and_nothing_is_created(client, field, value, status, code):
    answer = api_call(client, "POST", "/v1/signup", {**signup_body(EMAIL), field: value})

    assert answer.status_code == status, answer.json_body
    assert answer.json_body["error"]["code"] == code
    assert answer.json_body["error"]["message"]
    assert api_call(client, "POST", "/v1/signup", signup_body(EMAIL)).status_code == 201


def test_a_body_that_is_not_json_is_malformed(client):
    answer = client.http.post("/v1/signup", headers={"Content-Type": "application/json"}, body="{not json")

    assert answer.status_code == 400
    assert json.loads(answer.body)["error"]["code"] == "malformed_request"


def test_an_oversized_body_is_refused(client):
    body = signup_body(EMAIL, industry="x" * (300 * 1024))

    answer = api_call(client, "POST", "/v1/signup", body)

    assert answer.status_code == 413
    assert answer.json_body["error"]["code"] == "too_large"


def test_signups_from_one_ip_are_throttled_so_taken_addresses_cannot_be_enumerated(client):
    # Given an account with a known address
    taken = "owner@known-company.example"
    assert api_call(client, "POST", "/v1/signup", signup_body(taken)).status_code == 201

    # When one client keeps signing up, probing which addresses are taken
    probes = [api_call(client, "POST", "/v1/signup", signup_body(taken if n % 2 else f"new{n}@probe.example"))
              for n in range(25)]

    # Then after 20 signups an hour from that IP every further one is 429 with Retry-After, taken or not
    codes = [p.status_code for p in probes]
    assert sorted(set(codes[:19])) == [201, 409] and codes[19:] == [429] * 6, codes
    assert probes[-1].json_body["error"]["code"] == "rate_limited"
    assert 0 < int(probes[-1].headers["Retry-After"]) <= 3600

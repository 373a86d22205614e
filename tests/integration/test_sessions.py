"""Signing in and out (R3), throttling of failed attempts, session expiry, and the audit of every attempt (R4)."""
from __future__ import annotations

from datetime import timedelta

from chalicelib import clock
from tests.integration.conftest import api_call, signup_body


def log_in(client, email, password, ip_headers=None):
    return api_call(client, "POST", "/v1/sessions", {"email": email, "password": password}, headers=ip_headers)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_given_the_right_password_when_signing_in_then_a_session_token_works(client, tenant):
    person = tenant()

    answer = log_in(client, person.email.upper(), person.password)

    assert answer.status_code == 201
    assert answer.json_body["token"].startswith("mrs.")
    assert answer.json_body["expires_at"].endswith("Z")
    me = api_call(client, "GET", "/v1/account", headers=bearer(answer.json_body["token"]))
    assert me.status_code == 200 and me.json_body["account"]["id"] == person.account_id


def test_unknown_email_and_wrong_password_get_the_same_answer(client, tenant):
    person = tenant()

    wrong_password = log_in(client, person.email, "not-the-password")
    unknown_email = log_in(client, "nobody@customer.example", "not-the-password")
    not_an_email = log_in(client, "nobody", "not-the-password")

    assert wrong_password.status_code == unknown_email.status_code == not_an_email.status_code == 401
    assert wrong_password.json_body == unknown_email.json_body == not_an_email.json_body
    assert wrong_password.json_body["error"]["code"] == "invalid_credentials"


def test_missing_or_bad_tokens_are_unauthorized(client):
    for headers in ({}, {"Authorization": "Basic abc"}, bearer("mrs.acc_1.secret"), bearer("mrs..x"),
                    bearer("mrk.acc_1.key_1.secret"), bearer("x" * 2000), bearer("garbage")):
        answer = api_call(client, "GET", "/v1/account", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.json_body["error"]["code"] == "unauthorized"


def test_after_five_failures_the_address_is_throttled_even_with_the_right_password(client, tenant):
    person = tenant()
    for _ in range(5):
        assert log_in(client, person.email, "wrong-password").status_code == 401

    blocked = log_in(client, person.email, person.password)

    assert blocked.status_code == 429
    assert blocked.json_body["error"]["code"] == "rate_limited"
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60


def test_the_throttle_lifts_when_its_window_has_passed(client, tenant, monkeypatch):
    person = tenant()
    for _ in range(5):
        log_in(client, person.email, "wrong-password")
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(minutes=16))

    assert log_in(client, person.email, person.password).status_code == 201


def test_one_client_ip_is_throttled_after_twenty_failures_across_addresses(client, tenant):
    person = tenant()
    for n in range(20):
        assert log_in(client, f"guess{n}@customer.example", "wrong-password").status_code == 401

    assert log_in(client, person.email, person.password).status_code == 429


def test_a_success_clears_the_failures_of_the_address(client, tenant):
    person = tenant()
    for _ in range(4):
        log_in(client, person.email, "wrong-password")
    assert log_in(client, person.email, person.password).status_code == 201

    for _ in range(4):
        assert log_in(client, person.email, "wrong-password").status_code == 401
    assert log_in(client, person.email, person.password).status_code == 201


def test_every_attempt_is_in_the_audit_newest_first(client, tenant):
    person = tenant()
    log_in(client, person.email, "wrong-password")
    log_in(client, person.email, person.password)

    trail = api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]

    logins = [(r["action"], r["result"]) for r in trail if r["action"].startswith("login_")]
    assert logins == [
        ("login_succeeded", "ok"),
        ("login_failed", "invalid_credentials"),
        ("login_succeeded", "ok"),   # the fixture's own sign-in
    ]
    newest = trail[0]
    assert newest["actor"]["id"] == person.user_id
    assert newest["ip"] == "127.0.0.1" and newest["at"].endswith("Z")
    assert [r["id"] for r in trail] == sorted((r["id"] for r in trail), reverse=True)


def test_a_suspended_account_can_still_sign_in(client, tenant, staff):
    person = tenant()
    api_call(client, "POST", f"/v1/admin/accounts/{person.account_id}/suspend", {}, headers=staff.headers)

    assert log_in(client, person.email, person.password).status_code == 201


def test_signing_out_ends_only_that_session(client, tenant):
    person = tenant()
    other = log_in(client, person.email, person.password).json_body["token"]

    assert api_call(client, "DELETE", "/v1/sessions/current", headers=person.headers).status_code == 204

    assert api_call(client, "GET", "/v1/account", headers=person.headers).status_code == 401
    assert api_call(client, "GET", "/v1/account", headers=bearer(other)).status_code == 200


def test_an_api_key_cannot_be_signed_out_as_a_session(client, tenant):
    person = tenant()
    key = api_call(client, "POST", "/v1/api-keys", {"name": "ci"}, headers=person.headers).json_body["key"]

    answer = api_call(client, "DELETE", "/v1/sessions/current", headers=bearer(key))

    assert answer.status_code == 422
    assert api_call(client, "GET", "/v1/account", headers=bearer(key)).status_code == 200


def test_an_expired_session_is_refused_although_its_item_still_exists(client, tenant, monkeypatch):
    person = tenant()
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=12, seconds=1))

    answer = api_call(client, "GET", "/v1/account", headers=person.headers)

    assert answer.status_code == 401


def test_signing_in_records_the_last_login(client):
    api_call(client, "POST", "/v1/signup", signup_body("last@customer.example"))
    from chalicelib.models.users import Login, User

    login = Login.get("last@customer.example")
    assert User.get(login.account_id, login.user_id).last_login_at is None

    log_in(client, "last@customer.example", "tenant-password-0123")

    assert User.get(login.account_id, login.user_id).last_login_at is not None

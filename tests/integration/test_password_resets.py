"""Password resets (R2): a one-time, expiring link by email, through the JSON API or the hosted page."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from chalicelib import clock
from tests.integration.campaign_sending import drain, make_pump, queue_depth
from tests.integration.conftest import api_call
from tests.integration.mailbox import last_link_to, messages_to

NEW_PASSWORD = "a-brand-new-password"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def ask_for_reset(client, email):
    """Ask for a reset, and let the queued email go out (as the password-resets consumer does)."""
    answer = api_call(client, "POST", "/v1/password-resets", {"email": email})
    drain(make_pump())
    return answer


def reset_link(email: str) -> str:
    return urlsplit(last_link_to(email, "/reset-password/")).path


def token_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


def confirm(client, token, password=NEW_PASSWORD):
    return api_call(client, "POST", "/v1/password-resets/confirm", {"token": token, "password": password})


def log_in(client, email, password):
    return api_call(client, "POST", "/v1/sessions", {"email": email, "password": password})


def test_known_and_unknown_addresses_get_the_same_202_and_only_the_user_gets_mail(client, tenant):
    person = tenant()

    known = ask_for_reset(client, person.email)
    unknown = ask_for_reset(client, "stranger@customer.example")
    invalid = ask_for_reset(client, "not an address")

    assert known.status_code == unknown.status_code == invalid.status_code == 202
    assert known.json_body == unknown.json_body == invalid.json_body
    assert messages_to("stranger@customer.example") == []
    [message] = [m for m in messages_to(person.email) if "password" in m["Subject"].lower()]
    assert "/reset-password/" in message.get_body(preferencelist=("plain",)).get_content()


def test_known_and_unknown_addresses_cost_the_request_the_same_work_and_the_email_is_queued(client, tenant):
    # Given a user, and a stranger's address
    person = tenant()

    # When a reset is asked for each
    known = api_call(client, "POST", "/v1/password-resets", {"email": person.email})
    unknown = api_call(client, "POST", "/v1/password-resets", {"email": "stranger@customer.example"})

    # Then both answers are alike and each queued one message; no email left during the request
    assert known.status_code == unknown.status_code == 202 and known.json_body == unknown.json_body
    assert queue_depth("password-resets") == 2
    assert [m for m in messages_to(person.email) if "password" in m["Subject"].lower()] == []
    # and once the queue is worked, only the user gets a link
    drain(make_pump())
    assert len([m for m in messages_to(person.email) if "password" in m["Subject"].lower()]) == 1
    assert messages_to("stranger@customer.example") == []


def test_given_the_link_from_the_email_when_confirming_then_only_the_new_password_works(client, tenant):
    person = tenant()
    ask_for_reset(client, person.email)

    answer = confirm(client, token_of(reset_link(person.email)))

    assert answer.status_code == 204
    assert log_in(client, person.email, person.password).status_code == 401
    assert log_in(client, person.email, NEW_PASSWORD).status_code == 201


def test_a_reset_link_works_once(client, tenant):
    person = tenant()
    ask_for_reset(client, person.email)
    token = token_of(reset_link(person.email))
    assert confirm(client, token).status_code == 204

    again = confirm(client, token, "yet-another-password")

    assert again.status_code == 404
    assert again.json_body["error"]["code"] == "not_found"
    assert log_in(client, person.email, NEW_PASSWORD).status_code == 201


def test_a_reset_ends_every_session_of_the_user(client, tenant):
    person = tenant()
    ask_for_reset(client, person.email)

    confirm(client, token_of(reset_link(person.email)))

    assert api_call(client, "GET", "/v1/account", headers=person.headers).status_code == 401


def test_a_reset_link_expires_after_an_hour(client, tenant, monkeypatch):
    person = tenant()
    ask_for_reset(client, person.email)
    token = token_of(reset_link(person.email))
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=1, seconds=1))

    assert confirm(client, token).status_code == 404


def test_forged_tokens_are_not_found_and_short_passwords_are_refused(client, tenant):
    person = tenant()
    ask_for_reset(client, person.email)
    token = token_of(reset_link(person.email))

    assert confirm(client, "forged").status_code == 404
    assert confirm(client, f"{person.account_id}.forged-secret").status_code == 404
    short = confirm(client, token, "short")
    assert short.status_code == 422
    assert short.json_body["error"]["code"] == "password_too_short"
    assert confirm(client, token).status_code == 204


def test_the_reset_is_audited_on_the_account(client, tenant):
    person = tenant()
    ask_for_reset(client, person.email)
    confirm(client, token_of(reset_link(person.email)))
    headers = {"Authorization": f"Bearer {log_in(client, person.email, NEW_PASSWORD).json_body['token']}"}

    actions = [r["action"] for r in api_call(client, "GET", "/v1/account/audit", headers=headers).json_body["items"]]

    assert actions[:3] == ["login_succeeded", "password_reset", "password_reset_requested"]


def test_the_hosted_page_shows_a_form_that_posts_back_to_itself(client, tenant):
    person = tenant()
    ask_for_reset(client, person.email)

    page = client.http.get(reset_link(person.email))

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    html = page.body.decode()
    assert '<form method="post">' in html and 'name="password"' in html and "<script" not in html


def test_the_hosted_form_sets_the_new_password_once(client, tenant):
    person = tenant()
    ask_for_reset(client, person.email)
    path = reset_link(person.email)
    fields = urlencode({"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    done = client.http.post(path, headers=FORM, body=fields)

    assert done.status_code == 200
    assert b"changed" in done.body
    assert log_in(client, person.email, NEW_PASSWORD).status_code == 201
    assert client.http.post(path, headers=FORM, body=fields).status_code == 404
    assert client.http.get(path).status_code == 404


def test_the_hosted_form_explains_a_short_or_mistyped_password_and_keeps_the_link(client, tenant):
    person = tenant()
    ask_for_reset(client, person.email)
    path = reset_link(person.email)

    short = client.http.post(path, headers=FORM, body=urlencode({"password": "short", "password_confirm": "short"}))
    mistyped = client.http.post(path, headers=FORM, body=urlencode({"password": NEW_PASSWORD,
                                                                   "password_confirm": "other-password"}))

    assert short.status_code == mistyped.status_code == 422
    assert b"at least 8" in short.body
    assert b"not the same" in mistyped.body
    assert client.http.get(path).status_code == 200


def test_an_unknown_reset_page_is_404(client):
    assert client.http.get("/reset-password/acc_x.nothing").status_code == 404

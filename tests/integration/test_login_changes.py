"""A signed-in user changes their own password (other sessions end) and login email (only once the new address
confirms); both audited (R4)."""
from __future__ import annotations

from urllib.parse import urlsplit

from tests.integration.conftest import api_call, sign_in, signup_body
from tests.integration.mailbox import last_link_to, messages_to, text_of

NEW_PASSWORD = "a-brand-new-password"
NEW_EMAIL = "ada@new-home.example"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def log_in(client, email, password):
    return api_call(client, "POST", "/v1/sessions", {"email": email, "password": password})


def change_password(client, person, current, new):
    return api_call(client, "POST", "/v1/account/password", {"current_password": current, "new_password": new},
                    headers=person.headers)


def ask_email_change(client, person, email=NEW_EMAIL, password=None):
    return api_call(client, "POST", "/v1/account/email", {"email": email, "password": password or person.password},
                    headers=person.headers)


def confirmation_path(address: str) -> str:
    return urlsplit(last_link_to(address, "/email-change/")).path


def actions(client, person) -> list[dict]:
    return api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]


def test_given_two_sessions_when_the_password_changes_then_only_the_calling_session_stays(client, tenant):
    # Given a user signed in twice, and with an API key
    person = tenant()
    other = sign_in(client, person.email, person.password)
    key = api_call(client, "POST", "/v1/api-keys", {"name": "ci"}, headers=person.headers).json_body["key"]

    # When they change the password from the first session
    answer = change_password(client, person, person.password, NEW_PASSWORD)

    # Then the calling session still works, the other one is over, and the key (not a session) still works
    assert answer.status_code == 204
    assert api_call(client, "GET", "/v1/account", headers=person.headers).status_code == 200
    assert api_call(client, "GET", "/v1/account", headers=bearer(other)).status_code == 401
    assert api_call(client, "GET", "/v1/account", headers=bearer(key)).status_code == 200
    # and only the new password signs in
    assert log_in(client, person.email, person.password).status_code == 401
    assert log_in(client, person.email, NEW_PASSWORD).status_code == 201
    record = next(r for r in actions(client, person) if r["action"] == "password_changed")
    assert record["result"] == "ok" and record["details"] == {"sessions_ended": 1}
    assert record["actor"]["id"] == person.user_id


def test_a_wrong_current_password_is_422_audited_and_throttled_and_a_weak_new_one_422(client, tenant):
    person = tenant()

    weak = change_password(client, person, person.password, "short")
    assert weak.status_code == 422 and weak.json_body["error"]["code"] == "password_too_short"
    for _ in range(5):
        wrong = change_password(client, person, "not-my-password", NEW_PASSWORD)
        assert wrong.status_code == 422 and wrong.json_body["error"]["code"] == "wrong_password"

    # Then the sixth guess is not even judged, and the session that made them was not ended (401 stays for tokens)
    assert change_password(client, person, person.password, NEW_PASSWORD).status_code == 429
    assert api_call(client, "GET", "/v1/account", headers=person.headers).status_code == 200
    failed = [r for r in actions(client, person) if r["action"] == "password_changed"]
    assert len(failed) == 5 and {r["result"] for r in failed} == {"invalid_credentials"}


def test_a_new_login_email_takes_effect_only_once_the_new_address_confirms(client, tenant):
    # Given a user who asks to sign in with a new address
    person = tenant()
    asked = ask_email_change(client, person)
    assert asked.status_code == 202

    # Then nothing changed yet: the old address signs in, the new one does not, and the new one got a link
    assert log_in(client, person.email, person.password).status_code == 201
    assert log_in(client, NEW_EMAIL, person.password).status_code == 401
    path = confirmation_path(NEW_EMAIL)
    assert "24 hours" in text_of(messages_to(NEW_EMAIL)[-1])
    page = client.http.get(path)
    assert page.status_code == 200 and NEW_EMAIL in page.body.decode()

    # When the new address confirms (the page's button)
    done = client.http.post(path, headers=FORM, body="")

    # Then the login moved: the new address signs in, the old one is free, the old address is told
    assert done.status_code == 200 and NEW_EMAIL in done.body.decode()
    assert log_in(client, NEW_EMAIL, person.password).status_code == 201
    assert log_in(client, person.email, person.password).status_code == 401
    assert any("login email was changed" in m["Subject"] for m in messages_to(person.email))
    assert api_call(client, "POST", "/v1/signup", signup_body(person.email)).status_code == 201
    # and the link works once
    assert client.http.post(path, headers=FORM, body="").status_code == 404
    trail = [r["action"] for r in actions(client, person)]
    assert "email_change_requested" in trail and "email_changed" in trail
    assert NEW_EMAIL not in str(actions(client, person))


def test_a_taken_address_is_409_when_asked_and_when_taken_before_the_confirmation(client, tenant):
    person, other = tenant(), tenant()

    taken = ask_email_change(client, person, other.email)
    assert taken.status_code == 409 and taken.json_body["error"]["code"] == "email_taken"

    # Given a change asked for, and someone signing up with that address before it is confirmed
    assert ask_email_change(client, person).status_code == 202
    path = confirmation_path(NEW_EMAIL)
    assert api_call(client, "POST", "/v1/signup", signup_body(NEW_EMAIL)).status_code == 201

    late = client.http.post(path, headers=FORM, body="")

    # Then the change is refused, and the user still signs in with the old address
    assert late.status_code == 409
    assert log_in(client, person.email, person.password).status_code == 201


def test_an_email_change_needs_the_current_password_and_only_the_newest_link_works(client, tenant):
    person = tenant()

    wrong = ask_email_change(client, person, password="not-my-password")
    assert wrong.status_code == 422 and wrong.json_body["error"]["code"] == "wrong_password"
    same = ask_email_change(client, person, person.email.upper())
    assert same.status_code == 422 and same.json_body["error"]["code"] == "same_email"
    invalid = ask_email_change(client, person, "not an address")
    assert invalid.status_code == 422

    ask_email_change(client, person, "first@new-home.example")
    first = confirmation_path("first@new-home.example")
    ask_email_change(client, person, "second@new-home.example")

    assert client.http.post(first, headers=FORM, body="").status_code == 404
    assert client.http.post(confirmation_path("second@new-home.example"), headers=FORM, body="").status_code == 200
    assert log_in(client, "second@new-home.example", person.password).status_code == 201
    assert log_in(client, "first@new-home.example", person.password).status_code == 401

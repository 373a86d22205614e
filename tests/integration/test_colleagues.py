"""Colleagues (R6): invitations by email with a role, accepting them once, roles, removal, and the audit (R4)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.integration.colleagues import COLLEAGUE_PASSWORD, accept, colleague, invitation_token, invite
from tests.integration.conftest import api_call, sign_in, signup_body
from tests.integration.mailbox import messages_to, text_of
from tests.integration.test_subscriber_limits import atomic_moto  # noqa: F401 - fixture

BEN = "ben@colleagues.example"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def log_in(client, email, password):
    return api_call(client, "POST", "/v1/sessions", {"email": email, "password": password})


def audit_actions(client, person) -> list[dict]:
    return api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]


def test_given_an_invitation_when_accepted_through_the_emailed_link_then_the_colleague_signs_in(client, tenant):
    # Given an owner who invites Ben as editor
    owner = tenant()
    invited = invite(client, owner, "Ben@Colleagues.example", "editor")

    # Then Ben is listed as invited, and got an email with a one-time link
    assert invited.status_code == 201
    user = invited.json_body["user"]
    assert (user["email"], user["role"], user["status"]) == (BEN, "editor", "invited")
    [mail] = messages_to(BEN)
    assert "Acme Ltd" in mail["Subject"] and "7 days" in text_of(mail)
    assert log_in(client, BEN, COLLEAGUE_PASSWORD).status_code == 401

    # When Ben accepts with a password
    accepted = accept(client, invitation_token(BEN))

    # Then he is an active, verified user of the owner's account and signs in to it
    assert accepted.status_code == 201, accepted.json_body
    assert accepted.json_body["user"]["status"] == "active"
    assert accepted.json_body["user"]["email_verified"] is True
    session = log_in(client, BEN, COLLEAGUE_PASSWORD)
    assert session.status_code == 201
    me = api_call(client, "GET", "/v1/account", headers={"Authorization": f"Bearer {session.json_body['token']}"})
    assert me.json_body["account"]["id"] == owner.account_id
    listed = api_call(client, "GET", "/v1/account/users", headers=owner.headers).json_body["items"]
    assert sorted((u["email"], u["role"], u["status"]) for u in listed) == sorted(
        [(owner.email, "owner", "active"), (BEN, "editor", "active")])
    # and the audit names who invited whom, and the acceptance, by id only
    trail = audit_actions(client, owner)
    invitation = next(r for r in trail if r["action"] == "user_invited")
    assert invitation["actor"]["id"] == owner.user_id and invitation["details"]["user_id"] == user["id"]
    assert any(r["action"] == "invitation_accepted" and r["actor"]["id"] == user["id"] for r in trail)
    assert BEN not in str(trail)


def test_reused_forged_and_expired_invitations_are_404(client, tenant, travel):
    owner = tenant()
    invite(client, owner, BEN)
    token = invitation_token(BEN)
    account_id, user_id, secret = token.split(".")

    # Forged: a wrong secret, another user's id, or garbage
    for forged in (f"{account_id}.{user_id}.{secret[:-2]}xx", f"{account_id}.usr_nobody.{secret}", "x.y",
                   "a" * 500):
        answer = accept(client, forged)
        assert answer.status_code == 404 and answer.json_body["error"]["code"] == "not_found", forged

    # Used once, then reused
    assert accept(client, token).status_code == 201
    again = accept(client, token, "another-password-0123")
    assert again.status_code == 404
    assert log_in(client, BEN, "another-password-0123").status_code == 401

    # Expired: a new invitation, accepted after 7 days
    invite(client, owner, "cleo@colleagues.example", "viewer")
    late_token = invitation_token("cleo@colleagues.example")
    travel(timedelta(days=7, minutes=1))
    late = accept(client, late_token)
    assert late.status_code == 404
    assert api_call(client, "GET", f"/invitations/{late_token}").status_code == 404
    owner.token = sign_in(client, owner.email, owner.password)   # a session lasts 12 hours
    listed = api_call(client, "GET", "/v1/account/users", headers=owner.headers).json_body["items"]
    assert {u["email"]: u["status"] for u in listed}["cleo@colleagues.example"] == "expired"


def test_inviting_a_pending_address_again_sends_a_new_link_and_the_old_one_stops_working(client, tenant):
    # Given Ben invited as viewer
    owner = tenant()
    first = invite(client, owner, BEN, "viewer")
    old_token = invitation_token(BEN)

    # When he is invited again, as editor
    again = invite(client, owner, BEN, "editor")

    # Then it is the same user (200, not a second one) with the new role, and only the new link works
    assert again.status_code == 200
    assert again.json_body["user"]["id"] == first.json_body["user"]["id"]
    assert again.json_body["user"]["role"] == "editor"
    assert len(messages_to(BEN)) == 2
    assert accept(client, old_token).status_code == 404
    assert accept(client, invitation_token(BEN)).status_code == 201
    users = api_call(client, "GET", "/v1/account/users", headers=owner.headers).json_body["items"]
    assert [u["role"] for u in users if u["email"] == BEN] == ["editor"]


def test_an_address_that_already_signs_in_anywhere_is_409_and_bad_roles_or_addresses_422(client, tenant):
    owner, other = tenant(), tenant()

    for taken in (owner.email, other.email):
        answer = invite(client, owner, taken)
        assert answer.status_code == 409 and answer.json_body["error"]["code"] == "email_taken"
        assert "already signs in" in answer.json_body["error"]["message"]
    for role in ("owner", "staff", "member", "Editor"):
        assert invite(client, owner, BEN, role).status_code == 422, role
    bad_address = invite(client, owner, "not an address")
    assert bad_address.status_code == 422 and bad_address.json_body["error"]["code"] == "invalid_email"
    assert messages_to(BEN) == []


def test_an_invitation_whose_address_signed_up_meanwhile_is_refused_with_409(client, tenant):
    # Given Ben invited, who then signs up an account of his own
    owner = tenant()
    invite(client, owner, BEN)
    token = invitation_token(BEN)
    assert api_call(client, "POST", "/v1/signup", signup_body(BEN)).status_code == 201

    # When he accepts the invitation
    answer = accept(client, token)

    # Then it is refused clearly, and his own account's login is untouched
    assert answer.status_code == 409 and answer.json_body["error"]["code"] == "email_taken"
    assert log_in(client, BEN, COLLEAGUE_PASSWORD).status_code == 401


def test_given_two_parallel_accepts_of_one_invitation_then_exactly_one_wins(client, tenant, atomic_moto):  # noqa: F811
    owner = tenant()
    invite(client, owner, BEN)
    token = invitation_token(BEN)
    barrier = threading.Barrier(2)

    def take(password: str) -> int:
        barrier.wait(timeout=30)
        return accept(client, token, password).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(take, ["first-password-0123", "second-password-0123"]))

    assert sorted(answers) == [201, 404], answers
    winner = ["first-password-0123", "second-password-0123"][answers.index(201)]
    loser = ["first-password-0123", "second-password-0123"][answers.index(404)]
    assert log_in(client, BEN, winner).status_code == 201
    assert log_in(client, BEN, loser).status_code == 401


def test_the_hosted_page_sets_the_password_and_joins(client, tenant):
    owner = tenant()
    invite(client, owner, BEN, "viewer")
    path = f"/invitations/{invitation_token(BEN)}"

    page = client.http.get(path)
    assert page.status_code == 200 and "Acme Ltd" in page.body.decode() and "viewer" in page.body.decode()
    mismatch = client.http.post(path, headers=FORM, body="password=one-password-1&password_confirm=other-pass-2")
    assert mismatch.status_code == 422 and "not the same" in mismatch.body.decode()
    short = client.http.post(path, headers=FORM, body="password=short&password_confirm=short")
    assert short.status_code == 422

    joined = client.http.post(path, headers=FORM, body="password=page-password-01&password_confirm=page-password-01")

    assert joined.status_code == 200 and "Sign in" in joined.body.decode()
    assert log_in(client, BEN, "page-password-01").status_code == 201
    assert client.http.get(path).status_code == 404


def test_roles_change_but_the_owner_is_neither_demoted_nor_removed_and_nobody_becomes_owner(client, tenant):
    owner = tenant()
    ben = colleague(client, owner, BEN, "viewer")

    # When the owner makes Ben an admin
    changed = api_call(client, "PATCH", f"/v1/account/users/{ben.user_id}", {"role": "admin"}, headers=owner.headers)

    # Then he is one, and the audit says who changed whom, from what to what
    assert changed.status_code == 200 and changed.json_body["user"]["role"] == "admin"
    record = next(r for r in audit_actions(client, owner) if r["action"] == "user_role_changed")
    assert record["details"] == {"user_id": ben.user_id, "from": "viewer", "to": "admin"}
    assert record["actor"]["id"] == owner.user_id
    # and nobody can be made owner, and the owner keeps the role and the account
    to_owner = api_call(client, "PATCH", f"/v1/account/users/{ben.user_id}", {"role": "owner"}, headers=owner.headers)
    assert to_owner.status_code == 422
    demote = api_call(client, "PATCH", f"/v1/account/users/{owner.user_id}", {"role": "viewer"}, headers=ben.headers)
    assert demote.status_code == 409 and demote.json_body["error"]["code"] == "owner_role_fixed"
    removal = api_call(client, "DELETE", f"/v1/account/users/{owner.user_id}", headers=ben.headers)
    assert removal.status_code == 409 and removal.json_body["error"]["code"] == "owner_cannot_be_removed"
    assert api_call(client, "GET", "/v1/account", headers=owner.headers).status_code == 200


def test_a_removed_users_session_and_key_are_rejected_on_the_next_call_and_the_address_is_free(client, tenant):
    # Given Ben, signed in and with an API key of his own
    owner = tenant()
    ben = colleague(client, owner, BEN, "admin")
    key = api_call(client, "POST", "/v1/api-keys", {"name": "ben's"}, headers=ben.headers).json_body["key"]
    assert api_call(client, "GET", "/v1/lists", headers={"Authorization": f"Bearer {key}"}).status_code == 200

    # When the owner removes him
    removed = api_call(client, "DELETE", f"/v1/account/users/{ben.user_id}", headers=owner.headers)

    # Then his session and his key are refused at once, and he can no longer sign in
    assert removed.status_code == 204
    assert api_call(client, "GET", "/v1/lists", headers=ben.headers).status_code == 401
    assert api_call(client, "GET", "/v1/lists", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert log_in(client, BEN, COLLEAGUE_PASSWORD).status_code == 401
    assert api_call(client, "GET", f"/v1/account/users/{ben.user_id}", headers=owner.headers).status_code == 404
    # and the audit names who removed whom
    record = next(r for r in audit_actions(client, owner) if r["action"] == "user_removed")
    assert record["actor"]["id"] == owner.user_id and record["details"]["user_id"] == ben.user_id
    # and the address is free: it can sign up, or be invited again
    assert invite(client, owner, BEN).status_code == 201


def test_withdrawing_an_invitation_kills_its_link(client, tenant):
    owner = tenant()
    invited = invite(client, owner, BEN).json_body["user"]
    token = invitation_token(BEN)

    assert api_call(client, "DELETE", f"/v1/account/users/{invited['id']}", headers=owner.headers).status_code == 204

    assert accept(client, token).status_code == 404
    assert invite(client, owner, BEN).status_code == 201


def test_another_accounts_users_are_404_like_missing_ones(client, tenant):
    owner, stranger = tenant(), tenant()
    ben = colleague(client, owner, BEN)

    for method, body in (("GET", None), ("PATCH", {"role": "viewer"}), ("DELETE", None)):
        theirs = api_call(client, method, f"/v1/account/users/{ben.user_id}", body, headers=stranger.headers)
        missing = api_call(client, method, "/v1/account/users/usr_missing", body, headers=stranger.headers)
        assert theirs.status_code == missing.status_code == 404, method
        assert theirs.json_body == missing.json_body
    stranger_list = api_call(client, "GET", "/v1/account/users", headers=stranger.headers).json_body["items"]
    assert [u["email"] for u in stranger_list] == [stranger.email]
    assert api_call(client, "GET", "/v1/lists", headers=ben.headers).status_code == 200


def test_the_user_list_is_paginated(client, tenant):
    owner = tenant()
    for n in range(3):
        invite(client, owner, f"person{n}@colleagues.example")

    first = api_call(client, "GET", "/v1/account/users?limit=2", headers=owner.headers).json_body
    second = api_call(client, "GET", f"/v1/account/users?limit=2&cursor={first['next_cursor']}",
                      headers=owner.headers).json_body

    emails = [u["email"] for u in first["items"] + second["items"]]
    assert len(emails) == 4 and len(set(emails)) == 4 and second["next_cursor"] is None


def test_invitations_are_rate_limited_per_account(client, tenant, monkeypatch):
    from chalicelib.services.accounts import team, throttle

    monkeypatch.setattr(team, "INVITATIONS_PER_ACCOUNT", throttle.Limit("invitations", 2, timedelta(days=1),
                                                                        code="invitation_limit"))
    owner = tenant()
    assert invite(client, owner, "a@colleagues.example").status_code == 201
    assert invite(client, owner, "a@colleagues.example").status_code == 200

    third = invite(client, owner, "b@colleagues.example")

    assert third.status_code == 429 and third.json_body["error"]["code"] == "invitation_limit"
    assert messages_to("b@colleagues.example") == []


def test_the_account_export_holds_the_colleagues_and_their_pending_changes_but_no_link(client, tenant):
    # Given an active colleague who asked to change their login email, and a pending invitation
    owner = tenant()
    ben = colleague(client, owner, BEN, "editor")
    assert api_call(client, "POST", "/v1/account/email", {"email": "ben@new-home.example", "password": ben.password},
                    headers=ben.headers).status_code == 202
    invite(client, owner, "cleo@colleagues.example", "viewer")
    cleo_token = invitation_token("cleo@colleagues.example")

    # When the owner exports the account (R28)
    answer = api_call(client, "GET", "/v1/account/export", headers=owner.headers)

    # Then every user is in it with role and status, the pending address too, and no link's token or digest
    assert answer.status_code == 200, answer.json_body
    users = {u["email"]: u for u in answer.json_body["users"]}
    assert (users[BEN]["role"], users[BEN]["status"], users[BEN]["new_email"]) == (
        "editor", "active", "ben@new-home.example")
    assert (users["cleo@colleagues.example"]["status"], users["cleo@colleagues.example"]["invited_by"]) == (
        "invited", owner.user_id)
    raw = answer.body.decode()
    assert cleo_token.rsplit(".", 1)[1] not in raw and "digest" not in raw
    actions = [r["action"] for r in answer.json_body["audit"]]
    assert {"user_invited", "invitation_accepted", "email_change_requested"} <= set(actions)

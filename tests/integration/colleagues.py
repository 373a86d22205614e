"""Helpers for tests with colleagues: invite one through the API and accept the link from the invitation email."""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from tests.integration.conftest import Person, api_call, sign_in
from tests.integration.mailbox import last_link_to

COLLEAGUE_PASSWORD = "colleague-password-0123"


def invite(client, owner: Person, email: str, role: str = "editor"):
    return api_call(client, "POST", "/v1/account/users", {"email": email, "role": role}, headers=owner.headers)


def invitation_token(email: str) -> str:
    """The token of the newest invitation link emailed to `email`."""
    return urlsplit(last_link_to(email, "/invitations/")).path.rsplit("/", 1)[1]


def accept(client, token: str, password: str = COLLEAGUE_PASSWORD):
    return api_call(client, "POST", "/v1/invitations/accept", {"token": token, "password": password})


def colleague(client, owner: Person, email: str, role: str = "editor") -> Person:
    """Invite `email` to the owner's account, accept through the emailed link, and sign in."""
    invited = invite(client, owner, email, role)
    assert invited.status_code == 201, invited.json_body
    accepted = accept(client, invitation_token(email))
    assert accepted.status_code == 201, accepted.json_body
    return Person(accepted.json_body["user"]["id"], email, COLLEAGUE_PASSWORD,
                  sign_in(client, email, COLLEAGUE_PASSWORD), owner.account_id)


def with_role(client, owner: Person, role: str) -> Person:
    """A new colleague of `owner`'s account with `role` ("admin", "editor", "viewer"), invited and signed in."""
    return colleague(client, owner, f"{role}-{uuid.uuid4().hex[:10]}@customer.example", role)


def set_role(person: Person, role: str) -> None:
    """Change a colleague's role in the store (also to roles the API would not set, such as owner)."""
    from chalicelib.models import users

    user = users.get(person.account_id, person.user_id)
    assert user is not None and users.update(user, role=role)


def api_key(client, person: Person, scopes: list[str] | None = None) -> Person:
    """`person` calling with a new API key of theirs (with `scopes`, or all of theirs)."""
    body = {"name": "test key", **({"scopes": scopes} if scopes is not None else {})}
    made = api_call(client, "POST", "/v1/api-keys", body, headers=person.headers)
    assert made.status_code == 201, made.json_body
    return Person(person.user_id, person.email, person.password, made.json_body["key"], person.account_id)

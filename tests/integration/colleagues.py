"""Colleagues in a tenant's account with a role (R6), for tests of what each role may do: written as users of the
account, then signed in through the API as anyone would."""
from __future__ import annotations

import uuid

from tests.integration.conftest import TENANT_PASSWORD, Person, api_call, sign_in


def colleague(client, owner: Person, role: str) -> Person:
    """A user of `owner`'s account with `role` ("admin", "editor", "viewer"), signed in."""
    from chalicelib import clock, ids, security
    from chalicelib.models import users
    from chalicelib.models.users import Login, User

    email = f"{role}-{uuid.uuid4().hex[:10]}@customer.example"
    user = User(owner.account_id, ids.new_id("usr"), email=email, role=role,
                password_hash=security.hash_password(TENANT_PASSWORD), email_verified_at=clock.now(),
                created_at=clock.now())
    assert users.register(user, Login(email, account_id=owner.account_id, user_id=user.user_id))
    return Person(user.user_id, email, TENANT_PASSWORD, sign_in(client, email, TENANT_PASSWORD), owner.account_id)


def set_role(person: Person, role: str) -> None:
    """Change a colleague's role, as the owner's PATCH of the user does."""
    from chalicelib.models import users

    user = users.get(person.account_id, person.user_id)
    assert user is not None and users.update(user, role=role)


def api_key(client, person: Person, scopes: list[str] | None = None) -> Person:
    """`person` calling with a new API key of theirs (with `scopes`, or all of theirs)."""
    body = {"name": "test key", **({"scopes": scopes} if scopes is not None else {})}
    made = api_call(client, "POST", "/v1/api-keys", body, headers=person.headers)
    assert made.status_code == 201, made.json_body
    return Person(person.user_id, person.email, person.password, made.json_body["key"], person.account_id)

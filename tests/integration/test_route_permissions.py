"""Roles and scoped keys on every route (R6, API.md "Teams and access"), walked from the app's own route table so
that a route added later is checked too: every route has an entry in the access table (handlers/access.py), and
each role and a scoped key get 403 exactly where the table says they may not go."""
from __future__ import annotations

import pytest

from chalicelib.handlers import access
from chalicelib.services.accounts import auth
from tests.integration.colleagues import api_key, with_role
from tests.integration.conftest import Person, api_call, sign_in
from tests.integration.test_every_route import MISSING, all_routes, fill

SCOPED = ["lists:read", "subscribers:read", "subscribers:write"]


def flags(path: str, method: str) -> dict:
    from app import app

    return app.routes[path][method].view_function.openapi


def test_every_route_has_an_entry_that_matches_how_it_is_registered():
    # Given the app's route table
    for path, method in all_routes():
        # When its entry in the access table is looked up
        need = access.need(method, path)
        # Then there is one, public and staff routes are marked as such, and every other one names a permission
        assert need is not None, f"{method} {path} is missing from handlers/access.py ROUTES"
        registered = flags(path, method)
        if registered["staff"]:
            assert need is access.Open.STAFF, (method, path)
        elif not registered["auth"]:
            assert need is access.Open.PUBLIC, (method, path)
        else:
            assert isinstance(need, (auth.Permission, tuple)), (method, path)


@pytest.fixture
def callers(client, tenant) -> dict[str, Person]:
    owner = tenant()
    people = {role: with_role(client, owner, role) for role in ("admin", "editor", "viewer")}
    people["scoped key"] = api_key(client, owner, SCOPED)
    people["owner"] = owner   # last: the owner's call of POST /v1/account/close closes the account
    return people


def may(who: str, need: access.Need) -> bool:
    if need is access.Open.STAFF:
        return False
    permissions = auth.granted("owner" if who == "scoped key" else who)
    if who == "scoped key":
        permissions = frozenset(p for p in permissions if p.value in SCOPED)
    return not access.missing(need, permissions)


def test_every_route_refuses_exactly_the_roles_and_scopes_without_its_permission(client, callers):
    # Given an owner, an admin, an editor and a viewer of one account, and a key of the owner's with a few scopes
    checked = 0
    for path, method in all_routes():
        need = access.need(method, path)
        assert need is not None, (method, path)
        concrete = fill(path, {}, default=MISSING)   # ids of nothing: an allowed call changes nothing
        body = {} if method in ("POST", "PATCH", "PUT") else None
        for who, person in callers.items():
            # When each calls the route
            answer = api_call(client, method, concrete, body, headers=person.headers)
            # Then it is 403 in the error shape exactly where the table refuses them, and never 403 elsewhere
            if may(who, need):
                assert answer.status_code != 403, (who, method, path, answer.json_body)
            else:
                assert answer.status_code == 403, (who, method, path, answer.status_code)
                assert answer.json_body["error"]["code"] == "forbidden", (who, method, path)
            if path == "/v1/sessions/current" and answer.status_code == 204:   # signed out: sign in again
                person.token = sign_in(client, person.email, person.password)
            checked += 1
    assert checked >= 5 * 80


# The product's rules for roles, written out by hand for representative routes (not derived from the table).
ROLE_RULES = [
    # method, path, body, who may (the others get 403)
    ("GET", "/v1/lists", None, {"owner", "admin", "editor", "viewer"}),
    ("POST", "/v1/lists", {}, {"owner", "admin", "editor"}),
    ("POST", "/v1/lists/{list_id}/subscribers", {}, {"owner", "admin", "editor"}),
    ("POST", "/v1/lists/{list_id}/imports", {}, {"owner", "admin", "editor"}),
    ("POST", "/v1/lists/{list_id}/exports", {}, {"owner", "admin", "editor"}),
    ("GET", "/v1/campaigns", None, {"owner", "admin", "editor", "viewer"}),
    ("POST", "/v1/campaigns/{campaign_id}/send", {}, {"owner", "admin", "editor"}),
    ("POST", "/v1/domains", {}, {"owner", "admin"}),
    ("GET", "/v1/domains", None, {"owner", "admin", "editor", "viewer"}),
    ("POST", "/v1/api-keys", {}, {"owner", "admin"}),
    ("GET", "/v1/account/audit", None, {"owner", "admin"}),
    ("PATCH", "/v1/account", {}, {"owner", "admin"}),
    ("GET", "/v1/account", None, {"owner", "admin", "editor", "viewer"}),
    ("POST", "/v1/account/close", {}, {"owner"}),
]


@pytest.mark.parametrize("method, path, body, allowed", ROLE_RULES)
def test_each_role_may_do_what_the_product_promises_and_no_more(client, tenant, method, path, body, allowed):
    # Given an owner with a list and colleagues in each role
    owner = tenant()
    people = {"owner": owner, **{role: with_role(client, owner, role) for role in ("admin", "editor", "viewer")}}
    concrete = fill(path, {}, default=MISSING)
    for who in ("viewer", "editor", "admin", "owner"):
        # When each of them calls the route
        answer = api_call(client, method, concrete, body, headers=people[who].headers)
        # Then only the roles the product names get past the door
        assert (answer.status_code != 403) == (who in allowed), (who, method, path, answer.json_body)


def test_a_route_missing_from_the_table_is_refused_to_everyone(client, tenant, monkeypatch):
    # Given a route the access table does not name
    owner = tenant()
    assert api_call(client, "GET", "/v1/lists", headers=owner.headers).status_code == 200
    monkeypatch.delitem(access.ROUTES, "GET /v1/lists")

    # When even the owner calls it
    answer = api_call(client, "GET", "/v1/lists", headers=owner.headers)

    # Then it is refused (fail closed), in the error shape
    assert answer.status_code == 403 and answer.json_body["error"]["code"] == "forbidden"


def test_a_refusal_says_which_permission_is_missing(client, tenant):
    # Given a viewer
    owner = tenant()
    viewer = with_role(client, owner, "viewer")

    # When they try to create a list
    answer = api_call(client, "POST", "/v1/lists", {}, headers=viewer.headers)

    # Then the message names their role and the permission it would need
    assert answer.status_code == 403
    assert "viewer" in answer.json_body["error"]["message"] and "lists:write" in answer.json_body["error"]["message"]

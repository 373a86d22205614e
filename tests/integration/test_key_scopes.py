"""API keys with scopes (API.md "Teams and access"): a key does what its scopes allow, never more than the user who
made it may do, at its making and at each use (a demoted user's keys shrink at once)."""
from __future__ import annotations

from chalicelib import clock, security
from chalicelib.models import credentials, users
from chalicelib.models.credentials import Credential
from chalicelib.services.accounts import auth
from tests.integration.colleagues import api_key, set_role, with_role
from tests.integration.conftest import Person, api_call
from tests.integration.listing import list_body

ALL = sorted(p.value for p in auth.Permission)


def new_key(client, person: Person, **body):
    return api_call(client, "POST", "/v1/api-keys", {"name": "k", **body}, headers=person.headers)


def listed_keys(client, person: Person) -> dict[str, dict]:
    items = api_call(client, "GET", "/v1/api-keys", headers=person.headers).json_body["items"]
    return {item["id"]: item for item in items}


def test_a_key_made_without_scopes_has_all_its_makers_permissions_and_shows_them(client, tenant):
    # Given an owner and an admin of one account
    owner = tenant()
    admin = with_role(client, owner, "admin")

    # When each makes a key without naming scopes
    owners = new_key(client, owner).json_body
    admins = new_key(client, admin).json_body

    # Then the owner's key has every permission, the admin's all but closing the account, and the list says so
    assert owners["scopes"] == ALL
    assert admins["scopes"] == [s for s in ALL if s != "account:close"]
    shown = listed_keys(client, owner)
    assert shown[owners["id"]]["scopes"] == ALL and shown[admins["id"]]["user_id"] == admin.user_id


def test_a_scoped_key_does_what_its_scopes_allow_and_gets_403_for_the_rest(client, tenant):
    # Given the owner's key that may only read lists
    owner = tenant()
    key = api_key(client, owner, ["lists:read"])

    # When it reads the lists, and then tries to make one and to read the account
    read = api_call(client, "GET", "/v1/lists", headers=key.headers)
    write = api_call(client, "POST", "/v1/lists", list_body(), headers=key.headers)
    account = api_call(client, "GET", "/v1/account", headers=key.headers)

    # Then the read works, the others are refused naming the scope it lacks, and no list was made
    assert read.status_code == 200
    assert write.status_code == 403 and "lists:write" in write.json_body["error"]["message"]
    assert "scopes" in write.json_body["error"]["message"]
    assert account.status_code == 403
    assert api_call(client, "GET", "/v1/lists", headers=owner.headers).json_body["items"] == []


def test_unknown_or_empty_scopes_are_422_and_no_key_is_made(client, tenant):
    owner = tenant()

    # When keys are asked for with a scope that does not exist, and with none at all
    unknown = new_key(client, owner, scopes=["lists:read", "lists:destroy"])
    empty = new_key(client, owner, scopes=[])

    # Then both are 422 unknown_scope, the unknown one named, and there is no key
    assert unknown.status_code == 422 and unknown.json_body["error"]["code"] == "unknown_scope"
    assert unknown.json_body["error"]["unknown"] == ["lists:destroy"]
    assert empty.status_code == 422 and empty.json_body["error"]["code"] == "unknown_scope"
    assert listed_keys(client, owner) == {}


def test_a_key_cannot_be_given_more_than_its_maker_may_do(client, tenant):
    # Given an admin, who may not close the account
    owner = tenant()
    admin = with_role(client, owner, "admin")

    # When the admin asks for a key that may
    answer = new_key(client, admin, scopes=["lists:read", "account:close"])

    # Then it is 403 naming what the admin lacks, and no key is made
    assert answer.status_code == 403 and "account:close" in answer.json_body["error"]["message"]
    assert listed_keys(client, owner) == {}


def test_a_key_made_by_a_key_gets_at_most_the_scopes_of_the_key_that_made_it(client, tenant):
    # Given a key of the owner's that may manage the account and read lists
    owner = tenant()
    manager = api_key(client, owner, ["account:manage", "lists:read"])

    # When it makes a key without scopes, and one that may write lists
    default = new_key(client, manager).json_body
    wider = new_key(client, manager, scopes=["lists:write"])

    # Then the first has exactly its maker's scopes, and the second is refused
    assert default["scopes"] == ["account:manage", "lists:read"]
    assert wider.status_code == 403


def test_a_key_without_account_manage_cannot_close_the_account_manage_keys_or_make_keys(client, tenant):
    # Given the owner's key with every scope but account:manage
    owner = tenant()
    key = api_key(client, owner, [s for s in ALL if s != "account:manage"])
    other = new_key(client, owner).json_body

    # When it tries to close the account, to list and delete keys, and to make a key
    tries = [api_call(client, "POST", "/v1/account/close", headers=key.headers),
             api_call(client, "GET", "/v1/api-keys", headers=key.headers),
             api_call(client, "DELETE", f"/v1/api-keys/{other['id']}", headers=key.headers),
             new_key(client, key)]

    # Then every one is 403, and the account is open with its two keys
    assert [t.status_code for t in tries] == [403, 403, 403, 403]
    assert api_call(client, "GET", "/v1/account", headers=owner.headers).json_body["account"]["status"] == "active"
    assert len(listed_keys(client, owner)) == 2


def test_a_demoted_users_key_and_session_shrink_at_once_and_grow_back_only_to_the_keys_scopes(client, tenant):
    # Given an admin with a key made with all the admin's permissions
    owner = tenant()
    admin = with_role(client, owner, "admin")
    key = api_key(client, admin)
    assert api_call(client, "POST", "/v1/lists", list_body(), headers=key.headers).status_code == 201

    # When the admin is made a viewer
    set_role(admin, "viewer")

    # Then the key and the session may only read: no list is made, no key is listed
    assert api_call(client, "GET", "/v1/lists", headers=key.headers).status_code == 200
    assert api_call(client, "POST", "/v1/lists", list_body(name="B"), headers=key.headers).status_code == 403
    assert api_call(client, "POST", "/v1/lists", list_body(name="C"), headers=admin.headers).status_code == 403
    assert api_call(client, "GET", "/v1/api-keys", headers=key.headers).status_code == 403
    assert len(api_call(client, "GET", "/v1/lists", headers=owner.headers).json_body["items"]) == 1

    # And when they are an admin again, the key works again, but never beyond the scopes it was made with
    set_role(admin, "admin")
    assert api_call(client, "POST", "/v1/lists", list_body(name="D"), headers=key.headers).status_code == 201
    set_role(admin, "owner")   # even a role with more does not widen a key made under a smaller one
    assert api_call(client, "POST", "/v1/account/close", headers=key.headers).status_code == 403


def test_a_key_of_a_user_who_is_gone_is_401(client, tenant):
    # Given an admin's key (editors may not make keys), and the admin removed from the account
    owner = tenant()
    admin = with_role(client, owner, "admin")
    key = api_key(client, admin, ["lists:read"])
    user = users.get(admin.account_id, admin.user_id)
    assert user is not None
    user.delete()

    # When the key and the session are used
    # Then both are refused as credentials that no longer work
    assert api_call(client, "GET", "/v1/lists", headers=key.headers).status_code == 401
    assert api_call(client, "GET", "/v1/lists", headers=admin.headers).status_code == 401


def test_a_key_made_before_keys_had_scopes_does_what_its_user_may(client, tenant):
    # Given a key stored without scopes, as keys were before scopes existed, of an editor
    owner = tenant()
    editor = with_role(client, owner, "editor")
    secret = f"{auth.API_KEY_PREFIX}.{owner.account_id}.key_legacy0001.{security.new_secret()}"
    credentials.put(Credential(owner.account_id, auth.credential_key(auth.Kind.API_KEY, "key_legacy0001"),
                               user_id=editor.user_id, role="editor", name="old", created_at=clock.now(),
                               secret_digest=security.digest(secret)))
    old = {"Authorization": f"Bearer {secret}"}

    # When it is used
    # Then it may do what an editor may, and no more; the list shows it with no scopes
    assert api_call(client, "POST", "/v1/lists", list_body(), headers=old).status_code == 201
    assert api_call(client, "POST", "/v1/domains", {"domain": "x.example"}, headers=old).status_code == 403
    assert listed_keys(client, owner)["key_legacy0001"]["scopes"] is None

"""API keys (R3): shown once, stored hashed, authenticate like sessions, fenced by tenant."""
from __future__ import annotations

from tests.integration.conftest import api_call


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def create_key(client, person, name="ci"):
    return api_call(client, "POST", "/v1/api-keys", {"name": name}, headers=person.headers)


def test_given_a_new_key_when_it_is_used_then_it_acts_for_its_account(client, tenant):
    person = tenant()

    created = create_key(client, person)

    assert created.status_code == 201
    assert set(created.json_body) >= {"id", "name", "key"}
    assert created.json_body["key"].startswith("mrk.")
    me = api_call(client, "GET", "/v1/account", headers=bearer(created.json_body["key"]))
    assert me.status_code == 200 and me.json_body["account"]["id"] == person.account_id


def test_the_list_never_shows_the_key_and_notes_its_use(client, tenant):
    person = tenant()
    created = create_key(client, person, "deploys").json_body
    api_call(client, "GET", "/v1/account", headers=bearer(created["key"]))

    listed = api_call(client, "GET", "/v1/api-keys", headers=person.headers).json_body

    [item] = listed["items"]
    assert item["id"] == created["id"] and item["name"] == "deploys"
    assert item["last_used_at"] is not None and item["created_at"]
    assert "key" not in item and created["key"] not in str(listed)
    assert listed["next_cursor"] is None


def test_a_deleted_key_stops_working(client, tenant):
    person = tenant()
    created = create_key(client, person).json_body

    assert api_call(client, "DELETE", f"/v1/api-keys/{created['id']}", headers=person.headers).status_code == 204

    assert api_call(client, "GET", "/v1/account", headers=bearer(created["key"])).status_code == 401
    assert api_call(client, "GET", "/v1/api-keys", headers=person.headers).json_body["items"] == []
    assert api_call(client, "DELETE", f"/v1/api-keys/{created['id']}", headers=person.headers).status_code == 404


def test_another_tenants_key_is_not_found_and_keeps_working(client, tenant):
    alice, bob = tenant(), tenant()
    created = create_key(client, alice).json_body

    answer = api_call(client, "DELETE", f"/v1/api-keys/{created['id']}", headers=bob.headers)

    assert answer.status_code == 404
    assert answer.json_body == api_call(client, "DELETE", "/v1/api-keys/key_missing", headers=bob.headers).json_body
    assert api_call(client, "GET", "/v1/api-keys", headers=bob.headers).json_body["items"] == []
    assert api_call(client, "GET", "/v1/account", headers=bearer(created["key"])).status_code == 200


def test_a_key_with_a_changed_secret_or_account_is_refused(client, tenant):
    alice, bob = tenant(), tenant()
    key = create_key(client, alice).json_body["key"]
    prefix, account_id, key_id, secret = key.split(".")

    for forged in (f"{prefix}.{account_id}.{key_id}.{secret[:-2]}xx", f"{prefix}.{bob.account_id}.{key_id}.{secret}"):
        assert api_call(client, "GET", "/v1/account", headers=bearer(forged)).status_code == 401


def test_keys_are_audited(client, tenant):
    person = tenant()
    created = create_key(client, person).json_body
    api_call(client, "DELETE", f"/v1/api-keys/{created['id']}", headers=person.headers)

    trail = api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]

    assert [(r["action"], r["details"]["key_id"]) for r in trail[:2]] == [
        ("api_key_deleted", created["id"]), ("api_key_created", created["id"])]


def test_a_key_needs_a_name(client, tenant):
    person = tenant()

    assert create_key(client, person, "").status_code == 422
    assert create_key(client, person, "   ").status_code == 422
    assert api_call(client, "POST", "/v1/api-keys", {}, headers=person.headers).status_code == 422


def test_the_list_pages(client, tenant):
    person = tenant()
    for n in range(3):
        create_key(client, person, f"key {n}")

    first = api_call(client, "GET", "/v1/api-keys?limit=2", headers=person.headers).json_body
    rest = api_call(client, "GET", f"/v1/api-keys?limit=2&cursor={first['next_cursor']}",
                    headers=person.headers).json_body

    assert [i["name"] for i in first["items"] + rest["items"]] == ["key 0", "key 1", "key 2"]
    assert rest["next_cursor"] is None


def test_an_absurdly_long_key_id_is_simply_not_found(client, tenant):
    person = tenant()

    assert api_call(client, "DELETE", f"/v1/api-keys/{'k' * 2000}", headers=person.headers).status_code == 404

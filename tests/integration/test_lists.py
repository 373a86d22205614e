"""/v1/lists: create, read, page, edit, delete; validation; another tenant's lists are 404."""
from __future__ import annotations

import pytest

from tests.integration.conftest import api_call
from tests.integration.listing import list_body, make_list


@pytest.fixture
def owner(tenant):
    return tenant()


def test_given_a_valid_body_when_a_list_is_created_then_201_and_it_can_be_read_back(client, owner):
    body = list_body(double_opt_in=True, reply_to="Editor@Acme.example",
                     fields=[{"key": "first_name", "label": "First name", "type": "text"},
                             {"key": "vip", "label": "VIP", "type": "boolean"}])

    answer = api_call(client, "POST", "/v1/lists", body, headers=owner.headers)

    assert answer.status_code == 201, answer.json_body
    created = answer.json_body["list"]
    assert created["id"].startswith("lst_")
    assert {k: created[k] for k in ("name", "from_name", "from_email", "company_address", "double_opt_in")} == {
        "name": "Friends of Acme", "from_name": "Acme News", "from_email": "news@acme.example",
        "company_address": "1 Main Street, Dublin, Ireland", "double_opt_in": True}
    assert created["reply_to"] == "editor@acme.example"
    assert created["fields"] == [{**field, "editable": False} for field in body["fields"]]
    assert created["created_at"].endswith("Z")
    shown = api_call(client, "GET", f"/v1/lists/{created['id']}", headers=owner.headers)
    assert shown.status_code == 200 and shown.json_body["list"] == created


def test_given_no_opt_in_choice_when_a_list_is_created_then_it_is_double_opt_in(client, owner):
    body = list_body()
    del body["double_opt_in"]
    answer = api_call(client, "POST", "/v1/lists", body, headers=owner.headers)
    assert answer.status_code == 201
    assert answer.json_body["list"]["double_opt_in"] is True


def test_given_an_empty_from_email_when_a_list_is_created_then_422(client, owner):
    answer = api_call(client, "POST", "/v1/lists", list_body(from_email=""), headers=owner.headers)
    assert answer.status_code == 422


def test_given_several_lists_when_paged_then_each_appears_once(client, owner):
    made = {make_list(client, owner, name=f"List {i}")["id"] for i in range(5)}

    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api_call(client, "GET", "/v1/lists" + query, headers=owner.headers).json_body
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)


def test_given_a_list_when_patched_then_the_change_shows_on_a_later_get(client, owner):
    created = make_list(client, owner)
    path = f"/v1/lists/{created['id']}"
    changes = {"name": "Renamed", "from_name": "Acme", "double_opt_in": True,
               "fields": [{"key": "age", "label": "Age", "type": "number"}]}

    answer = api_call(client, "PATCH", path, changes, headers=owner.headers)

    assert answer.status_code == 200, answer.json_body
    shown = api_call(client, "GET", path, headers=owner.headers).json_body["list"]
    assert shown["name"] == "Renamed" and shown["double_opt_in"] is True
    assert shown["fields"] == [{"key": "age", "label": "Age", "type": "number", "editable": False}]
    assert shown["from_email"] == created["from_email"]


def test_given_a_list_when_one_field_is_patched_then_only_it_changes(client, owner):
    created = make_list(client, owner)
    answer = api_call(client, "PATCH", f"/v1/lists/{created['id']}", {"double_opt_in": True}, headers=owner.headers)
    assert answer.status_code == 200
    assert answer.json_body["list"]["name"] == created["name"]


def test_given_a_list_when_a_required_value_is_patched_to_null_then_422(client, owner):
    created = make_list(client, owner)
    answer = api_call(client, "PATCH", f"/v1/lists/{created['id']}",
                      {"name": "x", "from_name": "y", "company_address": None}, headers=owner.headers)
    assert answer.status_code == 422


def test_given_a_list_when_deleted_then_204_and_it_is_gone(client, owner):
    created = make_list(client, owner)
    path = f"/v1/lists/{created['id']}"

    assert api_call(client, "DELETE", path, headers=owner.headers).status_code == 204

    assert api_call(client, "GET", path, headers=owner.headers).status_code == 404
    assert api_call(client, "DELETE", path, headers=owner.headers).status_code == 404
    assert api_call(client, "GET", "/v1/lists", headers=owner.headers).json_body["items"] == []


INVALID_BODIES = [
    ({"name": ""}, 422, None),
    ({"company_address": ""}, 422, None),
    ({"from_email": "not-an-address"}, 422, "invalid_email"),
    ({"reply_to": "nope"}, 422, "invalid_email"),
    ({"double_opt_in": "yes"}, 400, None),
    ({"fields": [{"key": "age", "label": "Age", "type": "colour"}]}, 422, None),
    ({"fields": [{"key": "age", "label": "Age"}, {"key": "age", "label": "Age again"}]}, 422, "invalid_field"),
    ({"fields": [{"key": "email", "label": "Email"}]}, 422, "invalid_field"),
    ({"fields": [{"key": "first name", "label": "First name"}]}, 422, "invalid_field"),
    ({"fields": [{"key": f"f{i}", "label": "F"} for i in range(51)]}, 422, None),
    ({"owner": "someone else"}, 422, None),
]


def test_given_an_invalid_list_body_when_created_then_a_clear_4xx_and_nothing_is_stored(client, owner):
    for changes, status, code in INVALID_BODIES:
        answer = api_call(client, "POST", "/v1/lists", list_body(**changes), headers=owner.headers)

        assert answer.status_code == status, (changes, answer.json_body)
        assert answer.json_body["error"]["message"]
        if code:
            assert answer.json_body["error"]["code"] == code, changes
    assert api_call(client, "GET", "/v1/lists", headers=owner.headers).json_body["items"] == []


def test_given_a_body_without_a_required_field_when_created_then_422(client, owner):
    for missing in ["name", "from_name", "from_email", "company_address"]:
        body = list_body()
        del body[missing]
        answer = api_call(client, "POST", "/v1/lists", body, headers=owner.headers)
        assert answer.status_code == 422, missing
        assert missing in answer.json_body["error"]["message"]


def test_given_a_body_that_is_not_json_when_created_then_400(client, owner):
    answer = client.http.post("/v1/lists", headers=owner.headers, body="name=x")
    assert answer.status_code == 400


def test_given_an_invalid_change_when_patched_then_422_and_the_list_is_unchanged(client, owner):
    created = make_list(client, owner)
    path = f"/v1/lists/{created['id']}"

    answer = api_call(client, "PATCH", path, {"name": "x", "from_name": "y", "from_email": "bad"},
                      headers=owner.headers)

    assert answer.status_code == 422
    assert api_call(client, "GET", path, headers=owner.headers).json_body["list"] == created


def test_given_another_tenants_list_when_read_changed_or_deleted_then_404_and_it_is_untouched(
        client, tenant, owner):
    created = make_list(client, owner)
    intruder = tenant()
    make_list(client, intruder, name="Intruder's own")
    path = f"/v1/lists/{created['id']}"

    for method, body in [("GET", None), ("PATCH", {"name": "Mine", "from_name": "Mine"}), ("DELETE", None)]:
        answer = api_call(client, method, path, body, headers=intruder.headers)
        assert answer.status_code == 404, (method, answer.json_body)
        assert answer.json_body["error"]["code"] == "not_found"

    theirs = api_call(client, "GET", "/v1/lists", headers=intruder.headers).json_body["items"]
    assert [item["name"] for item in theirs] == ["Intruder's own"]
    assert api_call(client, "GET", path, headers=owner.headers).json_body["list"] == created
    missing = api_call(client, "GET", "/v1/lists/lst_doesnotexist", headers=owner.headers).json_body
    assert missing == api_call(client, "GET", path, headers=intruder.headers).json_body


def test_given_no_credentials_when_using_lists_then_401(client):
    for method, path in [("GET", "/v1/lists"), ("POST", "/v1/lists"), ("GET", "/v1/lists/lst_x"),
                         ("PATCH", "/v1/lists/lst_x"), ("DELETE", "/v1/lists/lst_x")]:
        body = list_body() if method in ("POST", "PATCH") else None
        assert api_call(client, method, path, body).status_code == 401, (method, path)
        forged = api_call(client, method, path, body, headers={"Authorization": "Bearer forged"})
        assert forged.status_code == 401, (method, path)


def test_given_fields_without_a_type_when_patched_then_they_are_text_fields_as_on_create(client, owner):
    # Given a list (found by the OpenAPI fuzzer: a PATCH whose fields left out `type` answered 500)
    created = make_list(client, owner)

    # When its fields are replaced by ones that give no type or editable flag
    answer = api_call(client, "PATCH", f"/v1/lists/{created['id']}",
                      {"fields": [{"key": "city", "label": "City"}], "notify": {"subscribes": True}},
                      headers=owner.headers)

    # Then they take the defaults, as POST /v1/lists gives them, and the notify setting left out is kept
    assert answer.status_code == 200, answer.json_body
    assert answer.json_body["list"]["fields"] == [{"key": "city", "label": "City", "type": "text", "editable": False}]
    assert answer.json_body["list"]["notify"] == {"subscribes": True, "unsubscribes": False}
    read = api_call(client, "GET", f"/v1/lists/{created['id']}", headers=owner.headers).json_body["list"]
    assert read["fields"] == answer.json_body["list"]["fields"]

"""A page's cursor works only where it was given out: on its route, for its account, with the same filters."""
from __future__ import annotations

from tests.integration.conftest import api_call
from tests.integration.listing import make_list, subscribe

LIST_ROUTES = ["/v1/lists", "/v1/campaigns", "/v1/suppressions", "/v1/api-keys", "/v1/domains", "/v1/account/audit"]


def next_cursor(client, person, path: str) -> str:
    answer = api_call(client, "GET", f"{path}?limit=1", headers=person.headers)
    assert answer.status_code == 200 and answer.json_body["next_cursor"], answer.json_body
    return answer.json_body["next_cursor"]


def test_given_a_genuine_cursor_when_used_on_another_list_route_then_400_invalid_cursor(client, tenant):
    # Given a customer with two lists, two subscribers, two suppressions and two API keys
    person = tenant()
    lists = [make_list(client, person, name=f"List {n}") for n in range(2)]
    for n in range(2):
        subscribe(client, person, lists[0]["id"], f"reader{n}@example.org")
        api_call(client, "POST", "/v1/suppressions", {"email": f"gone{n}@example.org"}, headers=person.headers)
        api_call(client, "POST", "/v1/api-keys", {"name": f"key {n}"}, headers=person.headers)
    cursors = {path: next_cursor(client, person, path) for path in ("/v1/lists", "/v1/suppressions", "/v1/api-keys")}
    cursors["subscribers"] = next_cursor(client, person, f"/v1/lists/{lists[0]['id']}/subscribers")

    # When each cursor is used on every other list route
    answers = {
        (given, path): api_call(client, "GET", f"{path}?cursor={cursor}", headers=person.headers)
        for given, cursor in cursors.items() for path in LIST_ROUTES if path != given
    }

    # Then each answer is 400 invalid_cursor, never a 500 or someone else's page
    assert {key: (a.status_code, a.json_body.get("error", {}).get("code")) for key, a in answers.items()} \
        == dict.fromkeys(answers, (400, "invalid_cursor"))


def test_given_a_customers_cursor_when_another_account_uses_it_on_the_same_route_then_400(client, tenant):
    # Given a cursor into one customer's lists
    owner, stranger = tenant(), tenant()
    for n in range(2):
        make_list(client, owner, name=f"List {n}")
    make_list(client, stranger, name="Theirs")
    cursor = next_cursor(client, owner, "/v1/lists")

    # When another account presents it on the same route
    answer = api_call(client, "GET", f"/v1/lists?cursor={cursor}", headers=stranger.headers)

    # Then it is refused, and it still works for its owner
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == "invalid_cursor"
    mine = api_call(client, "GET", f"/v1/lists?cursor={cursor}", headers=owner.headers)
    assert mine.status_code == 200 and [item["name"] for item in mine.json_body["items"]]

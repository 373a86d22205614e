"""/v1/lists/{list_id}/subscribers: add, read, page, edit, unsubscribe, delete (R13–R15, R17, R19)."""
from __future__ import annotations

import pytest

from tests.integration.conftest import api_call
from tests.integration.listing import add_subscriber, make_list, subscribe, subscriber_count

FIELDS = [
    {"key": "first_name", "label": "First name", "type": "text"},
    {"key": "age", "label": "Age", "type": "number"},
    {"key": "birthday", "label": "Birthday", "type": "date"},
    {"key": "vip", "label": "VIP", "type": "boolean"},
]


@pytest.fixture
def owner(tenant):
    return tenant()


@pytest.fixture
def contact_list(client, owner):
    return make_list(client, owner, fields=FIELDS)


def base(list_id: str) -> str:
    return f"/v1/lists/{list_id}/subscribers"


# --- adding ------------------------------------------------------------------------------------

def test_given_a_single_opt_in_list_when_an_address_is_added_then_it_is_subscribed_with_its_consent(
        client, owner, contact_list):
    answer = add_subscriber(client, owner, contact_list["id"], "  Ada.Lovelace@Example.ORG ",
                            fields={"first_name": "Ada", "age": 36, "birthday": "1815-12-10", "vip": True},
                            consent={"source": "shop checkout", "ip": "203.0.113.7", "at": "2026-01-02T03:04:05Z"})

    assert answer.status_code == 201, answer.json_body
    subscriber = answer.json_body["subscriber"]
    assert subscriber["email"] == "ada.lovelace@example.org"
    assert subscriber["status"] == "subscribed"
    assert subscriber["id"].startswith("sub_")
    assert subscriber["unsubscribe_url"].startswith("https://mailroom.test.invalid/unsubscribe/")
    assert "example.org" not in subscriber["unsubscribe_url"]
    assert subscriber["fields"] == {"first_name": "Ada", "age": 36, "birthday": "1815-12-10", "vip": True}
    assert subscriber["consent"] == {"source": "shop checkout", "ip": "203.0.113.7", "at": "2026-01-02T03:04:05Z"}
    shown = api_call(client, "GET", f"{base(contact_list['id'])}/{subscriber['id']}", headers=owner.headers)
    assert shown.status_code == 200
    without_link = lambda body: {k: v for k, v in body.items() if k != "unsubscribe_url"}  # noqa: E731
    assert without_link(shown.json_body["subscriber"]) == without_link(subscriber)
    assert subscriber_count(owner) == 1


def test_given_consent_without_a_time_when_added_then_the_time_of_the_request_is_recorded(
        client, owner, contact_list):
    subscriber = subscribe(client, owner, contact_list["id"], "ada@example.org")
    assert subscriber["consent"]["source"] == "api-test"
    assert subscriber["consent"]["at"].endswith("Z")


def test_given_an_invalid_or_role_address_when_added_then_422_and_nothing_is_stored(client, owner, contact_list):
    cases = [
        ("not-an-address", "invalid_email"),
        ("ada@", "invalid_email"),
        ("", "invalid_email"),
        ("postmaster@example.org", "role_address"),
        ("noreply@example.org", "role_address"),
        ("Info+news@example.org", "role_address"),
    ]
    for email, code in cases:
        answer = add_subscriber(client, owner, contact_list["id"], email)
        assert answer.status_code == 422, email
        assert answer.json_body["error"]["code"] == code, email
    listed = api_call(client, "GET", base(contact_list["id"]), headers=owner.headers)
    assert listed.json_body["items"] == []
    assert subscriber_count(owner) == 0


def test_given_fields_the_list_does_not_define_or_of_the_wrong_type_when_added_then_422(
        client, owner, contact_list):
    cases = [
        ({"shoe_size": 42}, "unknown_field"),
        ({"age": "thirty"}, "invalid_field"),
        ({"birthday": "10/12/1815"}, "invalid_field"),
        ({"vip": "yes"}, "invalid_field"),
        ({"first_name": 7}, "invalid_field"),
    ]
    for fields, code in cases:
        answer = add_subscriber(client, owner, contact_list["id"], "ada@example.org", fields=fields)
        assert answer.status_code == 422, fields
        assert answer.json_body["error"]["code"] == code, fields
    assert subscriber_count(owner) == 0


def test_given_missing_or_bad_consent_when_added_then_rejected(client, owner, contact_list):
    cases = [
        ({}, 422),
        ({"source": ""}, 422),
        ({"source": "form", "ip": "not-an-ip"}, 422),
        ({"source": "form", "at": "yesterday"}, 422),
        ({"source": "form", "at": "2999-01-01T00:00:00Z"}, 422),
        ({"source": 5}, 400),
    ]
    for consent, status in cases:
        answer = add_subscriber(client, owner, contact_list["id"], "ada@example.org", consent=consent)
        assert answer.status_code == status, (consent, answer.json_body)
        assert set(answer.json_body["error"]) >= {"code", "message"}
    assert subscriber_count(owner) == 0


def test_given_a_body_with_a_status_when_added_then_it_is_refused_not_stored(client, owner, contact_list):
    body = {"email": "ada@example.org", "consent": {"source": "x"}, "status": "subscribed"}
    answer = api_call(client, "POST", base(contact_list["id"]), body, headers=owner.headers)
    assert answer.status_code == 422


def test_given_a_body_that_is_not_json_when_added_then_400(client, owner, contact_list):
    answer = client.http.post(base(contact_list["id"]), headers={**owner.headers}, body="{not json")
    assert answer.status_code == 400


def test_given_an_address_already_in_the_list_when_added_again_in_other_case_then_409(
        client, owner, contact_list):
    subscribe(client, owner, contact_list["id"], "ada@example.org")

    answer = add_subscriber(client, owner, contact_list["id"], "ADA@example.org")

    assert answer.status_code == 409
    assert answer.json_body["error"]["code"] == "duplicate_subscriber"
    assert subscriber_count(owner) == 1


def test_given_the_same_address_when_added_to_two_lists_then_both_hold_it(client, owner, contact_list):
    other = make_list(client, owner, name="Second list")
    first = subscribe(client, owner, contact_list["id"], "ada@example.org")
    second = subscribe(client, owner, other["id"], "ada@example.org")
    assert first["id"] != second["id"]
    assert subscriber_count(owner) == 2


def test_given_no_credentials_when_adding_then_401(client, contact_list):
    answer = api_call(client, "POST", base(contact_list["id"]), {"email": "a@example.org", "consent": {"source": "x"}})
    assert answer.status_code == 401


# --- reading and paging ------------------------------------------------------------------------

def test_given_subscribers_in_several_statuses_when_paged_by_status_then_each_appears_once(
        client, owner, contact_list):
    list_id = contact_list["id"]
    subscribed = {subscribe(client, owner, list_id, f"person{i}@example.org")["id"] for i in range(5)}
    unsubscribed = set()
    for i in range(2):
        leaving = subscribe(client, owner, list_id, f"leaver{i}@example.org")["id"]
        left = api_call(client, "POST", f"{base(list_id)}/{leaving}/unsubscribe", headers=owner.headers)
        assert left.status_code == 200
        unsubscribed.add(leaving)

    seen, cursor, pages = [], None, 0
    while True:
        query = "?status=subscribed&limit=2" + (f"&cursor={cursor}" if cursor else "")
        answer = api_call(client, "GET", base(list_id) + query, headers=owner.headers)
        assert answer.status_code == 200, answer.json_body
        assert len(answer.json_body["items"]) <= 2
        assert all(item["status"] == "subscribed" for item in answer.json_body["items"])
        seen += [item["id"] for item in answer.json_body["items"]]
        pages += 1
        cursor = answer.json_body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(subscribed)
    assert pages >= 3

    left = api_call(client, "GET", base(list_id) + "?status=unsubscribed", headers=owner.headers)
    assert {item["id"] for item in left.json_body["items"]} == unsubscribed
    pending = api_call(client, "GET", base(list_id) + "?status=pending", headers=owner.headers)
    assert pending.json_body == {"items": [], "next_cursor": None}


def test_given_a_list_when_paged_without_a_status_then_every_subscriber_appears_once(client, owner, contact_list):
    list_id = contact_list["id"]
    added = {subscribe(client, owner, list_id, f"person{i}@example.org")["id"] for i in range(5)}

    first = api_call(client, "GET", base(list_id) + "?limit=3", headers=owner.headers).json_body
    second = api_call(client, "GET", base(list_id) + f"?limit=3&cursor={first['next_cursor']}",
                      headers=owner.headers).json_body

    assert len(first["items"]) == 3 and len(second["items"]) == 2
    assert second["next_cursor"] is None
    assert {item["id"] for item in first["items"] + second["items"]} == added


def test_given_a_cursor_of_one_query_when_used_for_another_then_400(client, owner, contact_list):
    list_id = contact_list["id"]
    for i in range(3):
        subscribe(client, owner, list_id, f"person{i}@example.org")
    cursor = api_call(client, "GET", base(list_id) + "?limit=1", headers=owner.headers).json_body["next_cursor"]

    by_status = api_call(client, "GET", base(list_id) + f"?status=subscribed&cursor={cursor}", headers=owner.headers)
    other_list = make_list(client, owner, name="Other")
    elsewhere = api_call(client, "GET", base(other_list["id"]) + f"?cursor={cursor}", headers=owner.headers)
    forged = api_call(client, "GET", base(list_id) + "?cursor=made-up", headers=owner.headers)

    assert by_status.status_code == 400 and by_status.json_body["error"]["code"] == "invalid_cursor"
    assert elsewhere.status_code == 400
    assert forged.status_code == 400


def test_given_a_bad_status_or_limit_when_listing_then_a_clear_4xx(client, owner, contact_list):
    for query, status, code in [("?status=happy", 422, "invalid_status"), ("?status=", 422, "invalid_status"),
                                ("?limit=0", 400, "invalid_limit"), ("?limit=5000", 400, "invalid_limit")]:
        answer = api_call(client, "GET", base(contact_list["id"]) + query, headers=owner.headers)
        assert answer.status_code == status, query
        assert answer.json_body["error"]["code"] == code, query


def test_given_a_list_that_does_not_exist_when_listing_subscribers_then_404(client, owner):
    answer = api_call(client, "GET", base("lst_missing"), headers=owner.headers)
    assert answer.status_code == 404


# --- editing -----------------------------------------------------------------------------------

def test_given_a_subscriber_when_fields_are_patched_then_they_merge_and_null_removes(client, owner, contact_list):
    subscriber = subscribe(client, owner, contact_list["id"], "ada@example.org",
                           fields={"first_name": "Ada", "age": 36})
    path = f"{base(contact_list['id'])}/{subscriber['id']}"

    answer = api_call(client, "PATCH", path, {"fields": {"age": None, "vip": False, "birthday": "1815-12-10"}},
                      headers=owner.headers)

    assert answer.status_code == 200, answer.json_body
    expected = {"first_name": "Ada", "vip": False, "birthday": "1815-12-10"}
    assert answer.json_body["subscriber"]["fields"] == expected
    assert api_call(client, "GET", path, headers=owner.headers).json_body["subscriber"]["fields"] == expected


def test_given_a_subscriber_when_a_bad_field_is_patched_then_422_and_nothing_changes(client, owner, contact_list):
    subscriber = subscribe(client, owner, contact_list["id"], "ada@example.org", fields={"age": 36})
    path = f"{base(contact_list['id'])}/{subscriber['id']}"

    unknown = api_call(client, "PATCH", path, {"fields": {"age": 37, "shoe": 1}}, headers=owner.headers)
    wrong = api_call(client, "PATCH", path, {"fields": {"age": "old"}}, headers=owner.headers)

    assert unknown.status_code == 422 and unknown.json_body["error"]["code"] == "unknown_field"
    assert wrong.status_code == 422 and wrong.json_body["error"]["code"] == "invalid_field"
    assert api_call(client, "GET", path, headers=owner.headers).json_body["subscriber"]["fields"] == {"age": 36}


def test_given_a_subscriber_when_its_email_is_patched_then_422_says_delete_and_re_add(client, owner, contact_list):
    subscriber = subscribe(client, owner, contact_list["id"], "ada@example.org")
    path = f"{base(contact_list['id'])}/{subscriber['id']}"

    answer = api_call(client, "PATCH", path, {"email": "other@example.org"}, headers=owner.headers)

    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "email_immutable"
    assert "delete" in answer.json_body["error"]["message"]
    assert api_call(client, "GET", path, headers=owner.headers).json_body["subscriber"]["email"] == "ada@example.org"


def test_given_a_subscriber_when_a_status_other_than_unsubscribed_is_patched_then_422(client, owner, contact_list):
    subscriber = subscribe(client, owner, contact_list["id"], "ada@example.org")
    path = f"{base(contact_list['id'])}/{subscriber['id']}"
    for status in ["subscribed", "pending", "bounced", "complained", "gone"]:
        answer = api_call(client, "PATCH", path, {"status": status}, headers=owner.headers)
        assert answer.status_code == 422, status
        assert answer.json_body["error"]["code"] == "invalid_status", status


def test_given_a_subscriber_when_patched_to_unsubscribed_then_it_is_unsubscribed_and_suppressed(
        client, owner, contact_list):
    subscriber = subscribe(client, owner, contact_list["id"], "ada@example.org")

    answer = api_call(client, "PATCH", f"{base(contact_list['id'])}/{subscriber['id']}",
                      {"status": "unsubscribed"}, headers=owner.headers)

    assert answer.status_code == 200
    assert answer.json_body["subscriber"]["status"] == "unsubscribed"
    assert answer.json_body["subscriber"]["unsubscribed_at"] is not None
    suppressed = api_call(client, "GET", "/v1/suppressions", headers=owner.headers).json_body["items"]
    assert [(s["email"], s["reason"]) for s in suppressed] == [("ada@example.org", "unsubscribed")]


# --- unsubscribing and deleting ----------------------------------------------------------------

def test_given_an_address_on_two_lists_when_unsubscribed_from_one_then_it_leaves_every_list(
        client, owner, contact_list):
    other = make_list(client, owner, name="Second list")
    here = subscribe(client, owner, contact_list["id"], "ada@example.org")
    there = subscribe(client, owner, other["id"], "ada@example.org")

    answer = api_call(client, "POST", f"{base(contact_list['id'])}/{here['id']}/unsubscribe", headers=owner.headers)

    assert answer.status_code == 200
    assert answer.json_body["subscriber"]["status"] == "unsubscribed"
    elsewhere = api_call(client, "GET", f"{base(other['id'])}/{there['id']}", headers=owner.headers)
    assert elsewhere.json_body["subscriber"]["status"] == "unsubscribed"
    again = api_call(client, "POST", f"{base(contact_list['id'])}/{here['id']}/unsubscribe", headers=owner.headers)
    assert again.status_code == 200 and again.json_body["subscriber"]["status"] == "unsubscribed"


def test_given_an_unsubscribed_address_when_added_again_through_the_api_then_422_suppressed(
        client, owner, contact_list):
    subscriber = subscribe(client, owner, contact_list["id"], "ada@example.org")
    api_call(client, "POST", f"{base(contact_list['id'])}/{subscriber['id']}/unsubscribe", headers=owner.headers)
    assert api_call(client, "DELETE", f"{base(contact_list['id'])}/{subscriber['id']}",
                    headers=owner.headers).status_code == 204

    again = add_subscriber(client, owner, contact_list["id"], "ada@example.org")
    other_list = make_list(client, owner, name="Other")
    elsewhere = add_subscriber(client, owner, other_list["id"], "Ada@Example.org")

    assert again.status_code == 422 and again.json_body["error"]["code"] == "suppressed"
    assert elsewhere.status_code == 422 and elsewhere.json_body["error"]["code"] == "suppressed"
    assert subscriber_count(owner) == 0


def test_given_a_subscriber_when_deleted_then_it_is_gone_and_its_place_is_given_back(client, owner, contact_list):
    subscriber = subscribe(client, owner, contact_list["id"], "ada@example.org")
    path = f"{base(contact_list['id'])}/{subscriber['id']}"

    assert api_call(client, "DELETE", path, headers=owner.headers).status_code == 204

    assert api_call(client, "GET", path, headers=owner.headers).status_code == 404
    assert api_call(client, "DELETE", path, headers=owner.headers).status_code == 404
    assert subscriber_count(owner) == 0
    assert subscribe(client, owner, contact_list["id"], "ada@example.org")["id"] == subscriber["id"]
    assert subscriber_count(owner) == 1


# --- another tenant ----------------------------------------------------------------------------

def test_given_another_tenants_list_and_subscriber_when_used_then_every_route_answers_404(
        client, tenant, owner, contact_list):
    subscriber = subscribe(client, owner, contact_list["id"], "ada@example.org")
    intruder = tenant()
    own_list = make_list(client, intruder, name="Intruder's list")
    theirs = f"{base(contact_list['id'])}/{subscriber['id']}"
    mixed = f"{base(own_list['id'])}/{subscriber['id']}"

    attempts = [
        ("POST", base(contact_list["id"]), {"email": "eve@example.org", "consent": {"source": "x"}}),
        ("GET", base(contact_list["id"]), None),
        ("GET", base(contact_list["id"]) + "?status=subscribed", None),
        ("GET", theirs, None),
        ("PATCH", theirs, {"fields": {"first_name": "Eve"}}),
        ("POST", theirs + "/unsubscribe", None),
        ("DELETE", theirs, None),
        ("GET", mixed, None),
        ("PATCH", mixed, {"status": "unsubscribed"}),
        ("POST", mixed + "/unsubscribe", None),
        ("DELETE", mixed, None),
    ]
    for method, path, body in attempts:
        answer = api_call(client, method, path, body, headers=intruder.headers)
        assert answer.status_code == 404, (method, path, answer.json_body)
        assert answer.json_body["error"]["code"] == "not_found"

    missing = api_call(client, "GET", f"{base(contact_list['id'])}/sub_doesnotexist", headers=owner.headers)
    assert missing.json_body == api_call(client, "GET", theirs, headers=intruder.headers).json_body
    shown = api_call(client, "GET", theirs, headers=owner.headers).json_body["subscriber"]
    assert shown["status"] == "subscribed" and shown["fields"] == {}
    assert api_call(client, "GET", "/v1/suppressions", headers=owner.headers).json_body["items"] == []
    assert subscriber_count(owner) == 1


# --- privacy -----------------------------------------------------------------------------------

def test_given_no_complained_status_when_a_list_is_filtered_by_it_then_422_like_any_unknown_status(
        client, owner, contact_list):
    # R23: complaints unsubscribe (services/feedback/ses_events.py); a "complained" filter would name the complainers.
    subscribe(client, owner, contact_list["id"], "angry@example.org")

    for status in ("complained", "nonsense"):
        listed = api_call(client, "GET", base(contact_list["id"]) + f"?status={status}", headers=owner.headers)

        assert listed.status_code == 422, status
        assert listed.json_body["error"]["code"] == "invalid_status"
        assert "complained" not in listed.json_body["error"]["message"]
        assert "angry" not in str(listed.json_body)


def test_given_subscribers_come_and_go_when_logged_then_no_address_is_written(client, owner, caplog):
    from chalicelib.log import logger

    single = make_list(client, owner)["id"]
    double = make_list(client, owner, name="Double", double_opt_in=True)["id"]
    logger.setLevel("INFO")
    try:
        member = subscribe(client, owner, single, "secret.person@example.org")
        subscribe(client, owner, double, "secret.person@example.org")
        api_call(client, "POST", f"{base(single)}/{member['id']}/unsubscribe", headers=owner.headers)
        api_call(client, "DELETE", f"{base(single)}/{member['id']}", headers=owner.headers)
    finally:
        logger.setLevel("WARNING")

    written = [str(vars(record)) for record in caplog.records]
    assert any("subscriber added" in line for line in written)
    assert not [line for line in written if "secret.person" in line]


@pytest.mark.parametrize("age", [1e300, -1e300, 10 ** 38 + 1, 1e-200, int("9" * 39)])
def test_given_a_number_dynamodb_cannot_hold_when_added_then_422_and_nothing_is_stored(
        client, owner, contact_list, age):
    # When a number field gets a value out of DynamoDB's range (magnitude 1E-130 to 1E+126, 38 digits)
    answer = add_subscriber(client, owner, contact_list["id"], "ada@example.org", fields={"age": age})

    # Then it is refused as invalid input, naming the field, and no subscriber was made
    assert answer.status_code == 422, answer.json_body
    assert answer.json_body["error"]["code"] == "invalid_field"
    assert "age" in answer.json_body["error"]["message"]
    assert subscriber_count(owner) == 0


@pytest.mark.parametrize("age", [int("9" * 38), -int("9" * 38), 9.9e125, 1e-130, 0.1, 0])
def test_given_a_number_at_the_edge_of_the_range_when_added_then_it_is_kept_exactly(
        client, owner, contact_list, age):
    answer = add_subscriber(client, owner, contact_list["id"], "ada@example.org", fields={"age": age})

    assert answer.status_code == 201, answer.json_body
    shown = api_call(client, "GET", f"{base(contact_list['id'])}/{answer.json_body['subscriber']['id']}",
                     headers=owner.headers)
    assert shown.json_body["subscriber"]["fields"]["age"] == age

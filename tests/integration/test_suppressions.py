"""/v1/suppressions: the account's do-not-mail list (R14, R19, R23, R27)."""
from __future__ import annotations

import pytest

from chalicelib.models.suppressions import SuppressionReason
from chalicelib.services.audience import suppressions
from tests.integration.conftest import api_call
from tests.integration.listing import add_subscriber, make_list, path_of, subscribe


@pytest.fixture
def owner(tenant):
    return tenant()


def listed(client, owner) -> list[dict]:
    answer = api_call(client, "GET", "/v1/suppressions", headers=owner.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["items"]


def test_given_suppressions_of_every_kind_when_listed_then_a_complaint_reads_as_an_unsubscribe(client, owner):
    for address, reason in [("gone@example.org", SuppressionReason.BOUNCED),
                            ("angry@example.org", SuppressionReason.COMPLAINED),
                            ("left@example.org", SuppressionReason.UNSUBSCRIBED)]:
        suppressions.suppress(owner.account_id, address, reason, source="lst_x")
    api_call(client, "POST", "/v1/suppressions", {"email": "Manual@Example.org"}, headers=owner.headers)

    items = listed(client, owner)

    # R23: nothing tells a complaint from an unsubscribe, so comparing this list with the members' statuses
    # cannot single out who complained
    assert sorted((i["email"], i["reason"]) for i in items) == [
        ("angry@example.org", "unsubscribed"), ("gone@example.org", "bounced"),
        ("left@example.org", "unsubscribed"), ("manual@example.org", "manual")]
    assert all(i["created_at"].endswith("Z") for i in items)
    assert "complain" not in str(items)


def test_given_many_suppressions_when_paged_then_each_appears_once(client, owner):
    for i in range(5):
        suppressions.suppress(owner.account_id, f"p{i}@example.org", SuppressionReason.BOUNCED)

    first = api_call(client, "GET", "/v1/suppressions?limit=3", headers=owner.headers).json_body
    second = api_call(client, "GET", f"/v1/suppressions?limit=3&cursor={first['next_cursor']}",
                      headers=owner.headers).json_body

    assert len(first["items"]) == 3 and second["next_cursor"] is None
    assert sorted(i["email"] for i in first["items"] + second["items"]) == [f"p{i}@example.org" for i in range(5)]


def test_given_a_bounced_address_when_the_customer_restores_it_then_it_can_be_added_again(client, owner):
    contact_list = make_list(client, owner)
    suppressions.suppress(owner.account_id, "gone@example.org", SuppressionReason.BOUNCED)
    assert add_subscriber(client, owner, contact_list["id"], "gone@example.org").status_code == 422

    answer = api_call(client, "DELETE", "/v1/suppressions/Gone%40example.org", headers=owner.headers)

    assert answer.status_code == 204
    assert listed(client, owner) == []
    assert add_subscriber(client, owner, contact_list["id"], "gone@example.org").status_code == 201


def test_given_an_address_the_customer_suppressed_when_added_then_422_until_removed(client, owner):
    contact_list = make_list(client, owner)

    created = api_call(client, "POST", "/v1/suppressions", {"email": "ada@example.org"}, headers=owner.headers)
    again = api_call(client, "POST", "/v1/suppressions", {"email": "ADA@example.org"}, headers=owner.headers)
    refused = add_subscriber(client, owner, contact_list["id"], "ada@example.org")
    removed = api_call(client, "DELETE", "/v1/suppressions/ada@example.org", headers=owner.headers)

    assert created.status_code == 201
    assert created.json_body["suppression"]["email"] == "ada@example.org"
    assert created.json_body["suppression"]["reason"] == "manual"
    assert again.status_code == 409 and again.json_body["error"]["code"] == "already_suppressed"
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "suppressed"
    assert removed.status_code == 204
    assert add_subscriber(client, owner, contact_list["id"], "ada@example.org").status_code == 201


def test_given_a_bad_manual_suppression_when_posted_then_a_clear_4xx(client, owner):
    cases = [({"email": "nope"}, 422), ({"email": 5}, 400), ({}, 422),
             ({"email": "a@example.org", "reason": "bounced"}, 422)]
    for body, status in cases:
        answer = api_call(client, "POST", "/v1/suppressions", body, headers=owner.headers)
        assert answer.status_code == status, body
        assert answer.json_body["error"]["message"]
    assert listed(client, owner) == []


def test_given_an_address_that_unsubscribed_when_the_customer_tries_to_remove_it_then_422(client, owner):
    contact_list = make_list(client, owner)
    member = subscribe(client, owner, contact_list["id"], "ada@example.org")
    client.http.post(path_of(member["unsubscribe_url"]), headers={"Content-Type": "application/x-www-form-urlencoded"},
                     body="List-Unsubscribe=One-Click")

    answer = api_call(client, "DELETE", "/v1/suppressions/ada%40example.org", headers=owner.headers)

    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "suppression_permanent"
    assert "confirm" in answer.json_body["error"]["message"]
    assert [(i["email"], i["reason"]) for i in listed(client, owner)] == [("ada@example.org", "unsubscribed")]


def test_given_an_address_that_complained_when_the_customer_tries_to_remove_it_then_422(client, owner):
    suppressions.suppress(owner.account_id, "angry@example.org", SuppressionReason.COMPLAINED)

    answer = api_call(client, "DELETE", "/v1/suppressions/angry%40example.org", headers=owner.headers)

    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "suppression_permanent"
    assert [i["reason"] for i in listed(client, owner)] == ["unsubscribed"]


def test_given_an_address_that_is_not_suppressed_when_removed_then_404(client, owner):
    for email in ["nobody%40example.org", "not-an-address"]:
        answer = api_call(client, "DELETE", f"/v1/suppressions/{email}", headers=owner.headers)
        assert answer.status_code == 404
        assert answer.json_body["error"]["code"] == "not_found"


def test_given_another_tenants_suppression_when_seen_or_removed_then_404_and_it_stays(client, tenant, owner):
    suppressions.suppress(owner.account_id, "gone@example.org", SuppressionReason.BOUNCED)
    intruder = tenant()

    answer = api_call(client, "DELETE", "/v1/suppressions/gone%40example.org", headers=intruder.headers)

    assert answer.status_code == 404
    assert listed(client, intruder) == []
    assert [i["email"] for i in listed(client, owner)] == ["gone@example.org"]
    contact_list = make_list(client, intruder)
    assert add_subscriber(client, intruder, contact_list["id"], "gone@example.org").status_code == 201


def test_given_no_credentials_when_listing_suppressions_then_401(client):
    assert api_call(client, "GET", "/v1/suppressions").status_code == 401


def test_given_a_suppression_when_another_reason_arrives_then_the_stronger_one_stands(client, owner):
    cases = [
        (SuppressionReason.BOUNCED, SuppressionReason.UNSUBSCRIBED, "unsubscribed"),
        (SuppressionReason.UNSUBSCRIBED, SuppressionReason.BOUNCED, "unsubscribed"),
        (SuppressionReason.UNSUBSCRIBED, SuppressionReason.COMPLAINED, "complained"),
        (SuppressionReason.COMPLAINED, SuppressionReason.UNSUBSCRIBED, "complained"),
        (SuppressionReason.MANUAL, SuppressionReason.BOUNCED, "bounced"),
    ]
    expected = set()
    for n, (first, then, kept) in enumerate(cases):
        address = f"person{n}@example.org"
        suppressions.suppress(owner.account_id, address, first)
        suppressions.suppress(owner.account_id, address, then)
        expected.add((address, "unsubscribed" if kept == "complained" else kept))

    assert {(i["email"], i["reason"]) for i in listed(client, owner)} == expected

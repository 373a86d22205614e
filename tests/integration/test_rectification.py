"""Rectification (R7, R28): every change to the profile or to a subscriber lands on the account's audit trail,
naming who (user, and API key if one was used), what (the action and the field names, never the values) and
when."""
from __future__ import annotations

import json

from tests.integration.conftest import api_call
from tests.integration.listing import make_list, subscribe

FIELDS = [{"key": "city", "label": "City", "type": "text"}, {"key": "plan", "label": "Plan", "type": "text"}]


def audit(client, person) -> list[dict]:
    return api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]


def member_of(client, person) -> tuple[str, dict]:
    contact_list = make_list(client, person, fields=FIELDS)
    member = subscribe(client, person, contact_list["id"], "reader@readers.example",
                       fields={"city": "Cork", "plan": "basic"})
    return contact_list["id"], member


def test_a_subscriber_correction_is_audited_by_field_name_never_by_value(client, tenant):
    person = tenant()
    list_id, member = member_of(client, person)

    answer = api_call(client, "PATCH", f"/v1/lists/{list_id}/subscribers/{member['id']}",
                      {"fields": {"city": "Galway", "plan": None}}, headers=person.headers)

    assert answer.status_code == 200, answer.json_body
    latest = audit(client, person)[0]
    assert latest["action"] == "subscriber_updated"
    assert latest["actor"] == {"id": person.user_id, "role": "owner", "key_id": None}
    assert latest["details"] == {"list_id": list_id, "subscriber_id": member["id"],
                                 "fields": ["fields.city", "fields.plan"]}
    assert latest["at"] and latest["route"].startswith("PATCH ")
    written = json.dumps(latest)
    assert "Galway" not in written and "Cork" not in written and "reader@readers.example" not in written


def test_a_change_made_with_an_api_key_names_the_key(client, tenant):
    person = tenant()
    list_id, member = member_of(client, person)
    key = api_call(client, "POST", "/v1/api-keys", {"name": "crm"}, headers=person.headers).json_body
    by_key = {"Authorization": f"Bearer {key['key']}"}

    api_call(client, "PATCH", f"/v1/lists/{list_id}/subscribers/{member['id']}", {"status": "unsubscribed"},
             headers=by_key)
    api_call(client, "PATCH", "/v1/account", {"city": "Dublin"}, headers=by_key)

    profile, subscriber = audit(client, person)[:2]
    assert (subscriber["action"], subscriber["details"]["fields"]) == ("subscriber_updated", ["status"])
    assert (profile["action"], profile["details"]["fields"]) == ("profile_updated", ["city"])
    for record in (profile, subscriber):
        assert record["actor"] == {"id": person.user_id, "role": "owner", "key_id": key["id"]}


def test_unsubscribing_and_deleting_a_subscriber_are_audited(client, tenant):
    person = tenant()
    list_id, member = member_of(client, person)
    path = f"/v1/lists/{list_id}/subscribers/{member['id']}"

    assert api_call(client, "POST", f"{path}/unsubscribe", headers=person.headers).status_code == 200
    assert api_call(client, "DELETE", path, headers=person.headers).status_code == 204

    deleted, unsubscribed = audit(client, person)[:2]
    assert (deleted["action"], unsubscribed["action"]) == ("subscriber_deleted", "subscriber_unsubscribed")
    for record in (deleted, unsubscribed):
        assert record["details"] == {"list_id": list_id, "subscriber_id": member["id"]}
        assert record["actor"]["id"] == person.user_id


def test_a_refused_change_writes_no_audit_record(client, tenant):
    person = tenant()
    list_id, member = member_of(client, person)
    before = audit(client, person)

    refused = api_call(client, "PATCH", f"/v1/lists/{list_id}/subscribers/{member['id']}",
                       {"fields": {"unknown_field": "x"}}, headers=person.headers)
    missing = api_call(client, "DELETE", f"/v1/lists/{list_id}/subscribers/sub_missing", headers=person.headers)

    assert refused.status_code == 422 and missing.status_code == 404
    assert audit(client, person) == before


def test_another_tenant_cannot_change_a_subscriber_and_leaves_no_trace_on_either_account(client, tenant):
    owner, stranger = tenant(), tenant()
    list_id, member = member_of(client, owner)
    owners_before, strangers_before = audit(client, owner), audit(client, stranger)

    answer = api_call(client, "PATCH", f"/v1/lists/{list_id}/subscribers/{member['id']}",
                      {"fields": {"city": "Paris"}}, headers=stranger.headers)

    assert answer.status_code == 404
    assert audit(client, owner) == owners_before and audit(client, stranger) == strangers_before

"""Staff: review (R5), suspension (R34) and plans (R8–R12), each access audited on the account (R4)."""
from __future__ import annotations

import pytest

from tests.integration.conftest import api_call, signup_body


def staff_call(client, staff, method, path, body=None):
    return api_call(client, method, path, body, headers=staff.headers)


def audit_of(client, person):
    return api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]


STAFF_ROUTES = [
    ("GET", "/v1/admin/accounts", None),
    ("GET", "/v1/admin/accounts/{id}", None),
    ("POST", "/v1/admin/accounts/{id}/approve", None),
    ("POST", "/v1/admin/accounts/{id}/suspend", {}),
    ("POST", "/v1/admin/accounts/{id}/reinstate", None),
    ("PATCH", "/v1/admin/accounts/{id}/plan", {"plan": "payg", "credits": 10}),
    ("POST", "/v1/admin/accounts/{id}/release", None),
]


@pytest.mark.parametrize("method, path, body", STAFF_ROUTES)
def test_customers_get_403_on_staff_routes_and_nothing_changes(client, tenant, method, path, body):
    person = tenant(approve=False)

    answer = api_call(client, method, path.format(id=person.account_id), body, headers=person.headers)

    assert answer.status_code == 403
    assert answer.json_body["error"]["code"] == "forbidden"
    account = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]
    assert account["status"] == "pending_review" and account["credits"] == 0


@pytest.mark.parametrize("method, path, body", STAFF_ROUTES[1:])
def test_an_unknown_account_is_404_for_staff(client, staff, method, path, body):
    answer = staff_call(client, staff, method, path.format(id="acc_missing"), body)

    assert answer.status_code == 404


def test_given_a_new_account_when_staff_approve_it_then_it_is_active_and_the_approval_is_audited(
        client, staff, tenant):
    person = tenant(approve=False)

    answer = staff_call(client, staff, "POST", f"/v1/admin/accounts/{person.account_id}/approve")

    assert answer.status_code == 200
    assert answer.json_body["account"]["status"] == "active"
    [record] = [r for r in audit_of(client, person) if r["action"] == "staff_access"]
    assert record["actor"] == {"id": staff.user_id, "role": "staff", "key_id": None}
    assert record["operation"] == "approve" and record["result"] == "ok"
    assert record["at"].endswith("Z") and record["route"] == "POST /v1/admin/accounts/{account_id}/approve"
    assert record["details"] == {"from": "pending_review", "to": "active"}


def test_approving_twice_is_a_conflict_and_the_refusal_is_audited(client, staff, tenant):
    person = tenant()

    again = staff_call(client, staff, "POST", f"/v1/admin/accounts/{person.account_id}/approve")

    assert again.status_code == 409
    assert again.json_body["error"]["code"] == "invalid_transition"
    assert audit_of(client, person)[0]["result"] == "refused"


def test_suspend_and_reinstate(client, staff, tenant):
    person = tenant()
    base = f"/v1/admin/accounts/{person.account_id}"

    suspended = staff_call(client, staff, "POST", f"{base}/suspend", {"reason": "missed payment"})
    assert suspended.status_code == 200
    assert suspended.json_body["account"]["status"] == "suspended"
    assert suspended.json_body["account"]["status_reason"] == "missed payment"
    assert staff_call(client, staff, "POST", f"{base}/suspend", {}).status_code == 409
    assert staff_call(client, staff, "POST", f"{base}/approve").status_code == 409

    reinstated = staff_call(client, staff, "POST", f"{base}/reinstate")
    assert reinstated.status_code == 200
    account = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]
    assert account["status"] == "active" and account["status_reason"] is None
    assert staff_call(client, staff, "POST", f"{base}/reinstate").status_code == 409

    operations = [r["operation"] for r in audit_of(client, person) if r["action"] == "staff_access"]
    assert operations[:5] == ["reinstate", "reinstate", "approve", "suspend", "suspend"]


def test_suspend_takes_no_unknown_fields(client, staff, tenant):
    person = tenant()

    answer = staff_call(client, staff, "POST", f"/v1/admin/accounts/{person.account_id}/suspend", {"why": "x"})

    assert answer.status_code == 422


def test_the_monthly_plan_sets_a_level_and_the_limits_follow(client, staff, tenant):
    person = tenant()

    answer = staff_call(client, staff, "PATCH", f"/v1/admin/accounts/{person.account_id}/plan",
                        {"plan": "monthly", "subscriber_level": 2000, "pro": True})

    assert answer.status_code == 200
    account = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]
    assert account["plan"] == "monthly" and account["subscriber_level"] == 2000 and account["pro"] is True
    assert account["limits"] == {"subscribers": 2000, "emails_per_month": 109 * 2000,
                                 "emails_left_this_month": 109 * 2000}
    record = audit_of(client, person)[0]
    assert record["operation"] == "change_plan"
    assert record["details"] == {"plan": "monthly", "subscriber_level": 2000, "pro": True}


@pytest.mark.parametrize("body, status", [
    ({"plan": "monthly"}, 422),
    ({"plan": "monthly", "subscriber_level": 0}, 422),
    ({"plan": "free", "subscriber_level": 10}, 422),
    ({"plan": "payg", "credits": -5}, 422),
    ({"plan": "gold"}, 422),
    ({"plan": "payg", "credits": "10"}, 400),
    ({"subscriber_level": 10}, 422),
])
def test_invalid_plan_changes_are_refused(client, staff, tenant, body, status):
    person = tenant()

    answer = staff_call(client, staff, "PATCH", f"/v1/admin/accounts/{person.account_id}/plan", body)

    assert answer.status_code == status, answer.json_body
    account = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]
    assert account["plan"] == "trial"


def test_credits_add_up_and_record_the_purchase(client, staff, tenant):
    person = tenant(plan="payg", credits=1000)

    staff_call(client, staff, "PATCH", f"/v1/admin/accounts/{person.account_id}/plan",
               {"plan": "payg", "credits": 500})

    account = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]
    assert account["plan"] == "payg" and account["credits"] == 1500
    assert account["credits_purchased_at"] is not None
    assert account["limits"]["subscribers"] is None and account["limits"]["credits"] == 1500


def test_leaving_the_monthly_plan_drops_the_level(client, staff, tenant):
    person = tenant(plan="monthly", subscriber_level=500)

    staff_call(client, staff, "PATCH", f"/v1/admin/accounts/{person.account_id}/plan", {"plan": "free"})

    account = api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]
    assert account["plan"] == "free" and account["subscriber_level"] is None


def test_staff_list_accounts_by_status_newest_first_and_in_pages(client, staff, tenant):
    waiting = [tenant(approve=False) for _ in range(3)]
    active = tenant()

    first = staff_call(client, staff, "GET", "/v1/admin/accounts?status=pending_review&limit=2").json_body
    rest = staff_call(client, staff, "GET",
                      f"/v1/admin/accounts?status=pending_review&limit=2&cursor={first['next_cursor']}").json_body
    everyone = staff_call(client, staff, "GET", "/v1/admin/accounts").json_body["items"]

    listed = [a["id"] for a in first["items"] + rest["items"]]
    assert sorted(listed) == sorted(p.account_id for p in waiting)
    created = [a["created_at"] for a in first["items"] + rest["items"]]
    assert created == sorted(created, reverse=True)
    assert rest["next_cursor"] is None
    assert {a["id"] for a in everyone} == {p.account_id for p in waiting + [active]}


def test_an_unknown_status_filter_is_refused(client, staff):
    answer = staff_call(client, staff, "GET", "/v1/admin/accounts?status=sleeping")

    assert answer.status_code == 422
    assert answer.json_body["error"]["code"] == "invalid_status"


def test_staff_reading_one_account_is_audited(client, staff, tenant):
    person = tenant()

    seen = staff_call(client, staff, "GET", f"/v1/admin/accounts/{person.account_id}")

    assert seen.status_code == 200 and seen.json_body["account"]["owner_user_id"] == person.user_id
    record = audit_of(client, person)[0]
    assert (record["action"], record["operation"], record["actor"]["id"]) == ("staff_access", "view", staff.user_id)


def test_a_staff_email_cannot_be_used_to_sign_up(client, staff):
    answer = api_call(client, "POST", "/v1/signup", signup_body(staff.email))

    assert answer.status_code == 409


def test_an_absurdly_long_account_id_is_simply_not_found(client, staff):
    assert staff_call(client, staff, "GET", f"/v1/admin/accounts/{'a' * 3000}").status_code == 404

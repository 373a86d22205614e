"""R4: the staff list of accounts shows each account's profile, registration IP and User-Agent, so every account
shown is a staff access to its data, recorded on that account's audit trail (staff id, date, time)."""
from __future__ import annotations

from tests.integration.conftest import api_call


def staff_reads_of_the_list(client, person) -> list[dict]:
    trail = api_call(client, "GET", "/v1/account/audit", headers=person.headers).json_body["items"]
    return [r for r in trail if r["action"] == "staff_access" and r["operation"] == "list_accounts"]


def test_each_account_on_a_page_of_the_staff_list_has_the_read_on_its_trail_and_no_other(client, staff, tenant):
    # Given three accounts waiting for review
    waiting = [tenant(approve=False) for _ in range(3)]

    # When staff read the first page of two of them
    page = api_call(client, "GET", "/v1/admin/accounts?status=pending_review&limit=2",
                    headers=staff.headers).json_body
    shown = {item["id"] for item in page["items"]}
    assert len(shown) == 2 and all("registration" in item for item in page["items"])

    # Then each account shown has one record of it (who, when, from where, with the filter), the other none
    for person in waiting:
        reads = staff_reads_of_the_list(client, person)
        if person.account_id in shown:
            [read] = reads
            assert read["actor"] == {"id": staff.user_id, "role": "staff", "key_id": None}
            assert read["at"] and read["result"] == "ok" and read["route"] == "GET /v1/admin/accounts"
            assert read["details"] == {"status": "pending_review"}
        else:
            assert reads == []


def test_a_refused_list_is_not_recorded_as_a_read(client, staff, tenant):
    # Given an account
    person = tenant()

    # When staff ask for the list with a status that does not exist
    answer = api_call(client, "GET", "/v1/admin/accounts?status=sleeping", headers=staff.headers)

    # Then nothing was shown, and nothing is recorded as read
    assert answer.status_code == 422
    assert staff_reads_of_the_list(client, person) == []

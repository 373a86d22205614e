"""R16 No one-time mailings: "send to a list, delete most of it, import into a new list" within 30 days is
flagged for staff review with its evidence, once, and never suspends anything by itself."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.models.audit import AuditRecord
from chalicelib.models.campaigns import Campaign
from chalicelib.services.campaigns import one_time
from tests.integration.campaign_sending import start_sending
from tests.integration.conftest import api_call
from tests.integration.importing import create_import, run_jobs
from tests.integration.listing import make_list, subscribe

MEMBERS = 24


def mailed_list(client, person, recipients: int = MEMBERS) -> tuple[str, str, list[str]]:
    """A list of `recipients` members and a campaign that went to all of them; (list id, campaign id, member ids)."""
    listed = make_list(client, person, name="Bought list")
    members = [subscribe(client, person, listed["id"], f"reader-{n}@readers.example")["id"] for n in range(recipients)]
    return listed["id"], start_sending(person, listed["id"], recipients=recipients), members


def delete_members(client, person, list_id: str, member_ids: list[str]) -> None:
    for member_id in member_ids:
        answer = api_call(client, "DELETE", f"/v1/lists/{list_id}/subscribers/{member_id}", headers=person.headers)
        assert answer.status_code == 204, answer.json_body


def open_flags(client, staff) -> list[dict]:
    answer = api_call(client, "GET", "/v1/admin/reviews", headers=staff.headers)
    assert answer.status_code == 200, answer.json_body
    assert answer.json_body["items"] == [] and answer.json_body["next_cursor"] is None   # the held campaigns, as before
    return answer.json_body["flags"]


def test_send_delete_most_and_import_into_a_new_list_is_flagged_with_its_evidence(client, tenant, staff):
    # Given a customer who sent a campaign to a list of 24 and then deleted 20 of its members
    person = tenant()
    old_list, campaign_id, members = mailed_list(client, person)
    delete_members(client, person, old_list, members[:20])

    # When they import members into a list made afterwards
    new_list = make_list(client, person, name="Fresh list")
    flag = one_time.check_after_import(person.account_id, new_list["id"])

    # Then staff see the account flagged with what happened, and the account is untouched
    assert flag is not None
    [shown] = open_flags(client, staff)
    assert shown["account_id"] == person.account_id and shown["kind"] == "one_time_mailing"
    assert shown["status"] == "open" and shown["id"] == flag.flag_id
    evidence = shown["evidence"]
    assert {k: evidence[k] for k in ("campaign_id", "list_id", "list_name", "recipients", "members_left",
                                     "new_list_id", "new_list_name")} == {
        "campaign_id": campaign_id, "list_id": old_list, "list_name": "Bought list", "recipients": 24,
        "members_left": 4, "new_list_id": new_list["id"], "new_list_name": "Fresh list"}
    sent_at = Campaign.get(person.account_id, campaign_id).started_at
    assert evidence["sent_at"] == clock.iso(sent_at)
    assert api_call(client, "GET", "/v1/account", headers=person.headers).json_body["account"]["status"] == "active"
    assert [r.operation for r in AuditRecord.query(person.account_id) if r.operation == "list_flags"]


def test_a_csv_import_into_a_new_list_completes_the_pattern(client, tenant, staff):
    # Given a customer who sent a campaign to a list of 24 and then deleted 20 of its members
    person = tenant()
    old_list, campaign_id, members = mailed_list(client, person)
    delete_members(client, person, old_list, members[:20])

    # When they import a CSV file into a list made afterwards, and its job runs
    new_list = make_list(client, person, name="Fresh list")
    answer = create_import(client, person, new_list["id"], csv="email\nnew-reader@readers.example\n")
    assert answer.status_code == 201, answer.json_body
    run_jobs()

    # Then staff see the account flagged for that campaign
    [shown] = open_flags(client, staff)
    assert (shown["account_id"], shown["evidence"]["campaign_id"]) == (person.account_id, campaign_id)


def test_deleting_the_whole_list_counts_as_deleting_most(client, tenant, staff):
    person = tenant()
    old_list, _, _ = mailed_list(client, person)
    assert api_call(client, "DELETE", f"/v1/lists/{old_list}", headers=person.headers).status_code == 204

    new_list = make_list(client, person)
    flag = one_time.check_after_import(person.account_id, new_list["id"])

    assert flag is not None and flag.evidence.as_dict()["members_left"] == 0
    assert "list_name" not in flag.evidence.as_dict()


def test_the_pattern_is_flagged_once_however_often_the_customer_imports(client, tenant, staff):
    person = tenant()
    old_list, _, members = mailed_list(client, person)
    delete_members(client, person, old_list, members[:20])
    first, second = make_list(client, person)["id"], make_list(client, person)["id"]

    flags = [one_time.check_after_import(person.account_id, list_id) for list_id in (first, first, second)]

    assert flags[0] is not None and flags[1:] == [None, None]
    assert len(open_flags(client, staff)) == 1


@pytest.mark.parametrize("near_miss", ["deleted only a few", "sent more than 30 days ago", "import into the same list",
                                       "the list existed before the send", "a handful of test sends"])
def test_near_misses_are_not_flagged(client, tenant, staff, near_miss):
    person = tenant()
    if near_miss == "the list existed before the send":
        target = make_list(client, person)["id"]
    old_list, campaign_id, members = mailed_list(client, person, recipients=4 if "handful" in near_miss else MEMBERS)
    deleted = members[:10] if near_miss == "deleted only a few" else members[:-2]
    delete_members(client, person, old_list, deleted)
    if near_miss == "sent more than 30 days ago":
        Campaign(person.account_id, campaign_id).update(
            actions=[Campaign.started_at.set(clock.now() - timedelta(days=31))])
    if near_miss == "import into the same list":
        target = old_list
    elif near_miss != "the list existed before the send":
        target = make_list(client, person)["id"]

    assert one_time.check_after_import(person.account_id, target) is None
    assert open_flags(client, staff) == []


def test_staff_dismiss_a_flag_once_audited_and_it_does_not_come_back(client, tenant, staff):
    # Given a flagged account
    person = tenant()
    old_list, _, members = mailed_list(client, person)
    delete_members(client, person, old_list, members[:20])
    new_list = make_list(client, person)["id"]
    flag = one_time.check_after_import(person.account_id, new_list)

    # When staff dismiss it with a note
    path = f"/v1/admin/flags/{flag.flag_id}/dismiss"
    answer = api_call(client, "POST", path, {"note": "Seasonal list, checked with the customer."},
                      headers=staff.headers)

    # Then it is dismissed, audited on the account, no longer shown, and later imports do not raise it again
    assert answer.status_code == 200, answer.json_body
    assert answer.json_body["flag"]["status"] == "dismissed"
    assert answer.json_body["flag"]["dismissal_note"] == "Seasonal list, checked with the customer."
    [record] = [r for r in AuditRecord.query(person.account_id) if r.operation == "dismiss_flag"]
    assert record.actor_id == staff.user_id and record.details.as_dict()["flag_id"] == flag.flag_id
    assert open_flags(client, staff) == []
    assert one_time.check_after_import(person.account_id, new_list) is None
    again = api_call(client, "POST", path, {}, headers=staff.headers)
    assert again.status_code == 404 and again.json_body["error"]["code"] == "not_found"


def test_a_customer_gets_403_on_the_staff_routes(client, tenant, staff):
    person = tenant()
    old_list, _, members = mailed_list(client, person)
    delete_members(client, person, old_list, members[:20])
    flag = one_time.check_after_import(person.account_id, make_list(client, person)["id"])

    listed = api_call(client, "GET", "/v1/admin/reviews", headers=person.headers)
    dismissed = api_call(client, "POST", f"/v1/admin/flags/{flag.flag_id}/dismiss", {}, headers=person.headers)

    assert listed.status_code == dismissed.status_code == 403
    assert [f["id"] for f in open_flags(client, staff)] == [flag.flag_id]

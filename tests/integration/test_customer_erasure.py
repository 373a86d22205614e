"""Erasure within an account (R28): `DELETE …/subscribers/{id}?erase=true` erases an address within the account
as completely as the person's own request does and touches nothing of another account; an account's export
files, which hold every address, go with an erasure too."""
from __future__ import annotations

import pytest

from chalicelib import aws
from chalicelib.config import get_settings
from chalicelib.models import subscribers as subscriber_store
from chalicelib.services.privacy import account_export
from tests.integration.campaign_sending import make_pump, run_export_job
from tests.integration.conftest import api_call
from tests.integration.listing import add_subscriber, subscriber_count
from tests.integration.mailbox import messages_to
from tests.integration.privacy_world import (
    ADDRESS,
    GIVEN_AS,
    NOTICE_SUBJECT,
    ask,
    campaign_items_of,
    confirm,
    item_text,
    listed_suppressions,
    request_link,
    suppression,
    tables_holding,
)

pytestmark = pytest.mark.usefixtures("quick_answers")


# --- erasure by the customer -----------------------------------------------------------------------

def test_a_customer_erases_a_subscriber_as_completely_within_the_account_and_others_are_untouched(client, world):
    path = f"/v1/lists/{world.news['id']}/subscribers/{world.ada_news['id']}"

    answer = api_call(client, "DELETE", f"{path}?erase=true", headers=world.first.headers)

    assert answer.status_code == 204
    first_holds = {table: [item for item in items if world.first.account_id in item_text(item)]
                   for table, items in tables_holding(ADDRESS).items()}
    assert all(items == [] for items in first_holds.values()), first_holds
    for member in (world.ada_news, world.ada_offers):   # every list of the account
        assert subscriber_store.get(world.first.account_id, member["list_id"], member["id"]) is None
    assert campaign_items_of(world.first.account_id, world.sent_campaign, world.ada_news["id"]) == []
    assert listed_suppressions(client, world.first) == [(None, "erased")]
    assert subscriber_count(world.first) == 1
    refused = add_subscriber(client, world.first, world.offers["id"], ADDRESS)
    assert refused.status_code == 422 and refused.json_body["error"]["code"] == "suppressed"
    trail = api_call(client, "GET", "/v1/account/audit", headers=world.first.headers).json_body["items"]
    [record] = [r for r in trail if r["action"] == "subscriber_erased"]
    assert record["details"]["requested_by"] == "customer" and record["actor"]["id"] == world.first.user_id
    assert [m for m in messages_to(world.first.email) if m["Subject"] == NOTICE_SUBJECT] == []

    # the other customer keeps Ada exactly as she was
    theirs = api_call(client, "GET", f"/v1/lists/{world.digest['id']}/subscribers/{world.ada_digest['id']}",
                      headers=world.second.headers)
    assert theirs.status_code == 200 and theirs.json_body["subscriber"]["email"] == ADDRESS
    assert suppression(world.second) is None and subscriber_count(world.second) == 1

    # and the same call again is a 404, like any missing subscriber
    assert api_call(client, "DELETE", f"{path}?erase=true", headers=world.first.headers).status_code == 404


def test_erase_takes_only_true_or_false_and_another_tenants_subscriber_is_a_404(client, world):
    path = f"/v1/lists/{world.news['id']}/subscribers/{world.ada_news['id']}"

    bad = api_call(client, "DELETE", f"{path}?erase=yes", headers=world.first.headers)
    theirs = api_call(client, "DELETE", f"{path}?erase=true", headers=world.second.headers)
    missing = api_call(client, "DELETE", f"/v1/lists/{world.news['id']}/subscribers/sub_missing?erase=true",
                       headers=world.second.headers)

    assert bad.status_code == 400 and bad.json_body["error"]["code"] == "invalid_erase"
    assert theirs.status_code == 404 and theirs.json_body == missing.json_body
    assert subscriber_store.get(world.first.account_id, world.news["id"], world.ada_news["id"]) is not None
    assert suppression(world.first) is None


def test_an_export_made_before_the_erasure_goes_with_it(client, world, monkeypatch):
    # Given the first customer exported its account (as a job: the file waits in the bucket) while Ada was on it
    monkeypatch.setattr(account_export, "SYNC_LIMITS", account_export.SyncLimits(subscribers=0, bytes=0))
    job = api_call(client, "GET", "/v1/account/export", headers=world.first.headers).json_body["export"]
    run_export_job(make_pump())
    status = f"/v1/account/exports/{job['id']}"
    assert api_call(client, "GET", status, headers=world.first.headers).json_body["export"]["status"] == "ready"
    assert export_files(world.first)

    # When Ada has her data erased
    ask(client, GIVEN_AS, "erasure")
    confirm(client, request_link())

    # Then no export file holds her address any more, and the export is gone
    assert export_files(world.first) == []
    assert api_call(client, "GET", status, headers=world.first.headers).status_code == 404


def export_files(person) -> list[str]:
    bucket = get_settings().bucket_name("exports")
    listed = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"{person.account_id}/")
    return [item["Key"] for item in listed.get("Contents", [])]

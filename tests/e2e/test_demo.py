"""`make demo`'s seeding against the running local runtime: a newcomer's ready account, its imported list, and a
campaign whose report shows sends, deliveries, a bounce, a complaint, opens, clicks and unsubscribes."""
from __future__ import annotations

import time
import uuid

import httpx
import pytest

from local import demo

pytestmark = pytest.mark.e2e

MEMBERS = 400   # the demo's 1,000 take the time of a bench; the same seeding, fewer readers


def test_the_demo_seeds_an_account_a_list_and_a_campaign_with_a_full_report(local_runtime):
    # Given a running runtime
    started = time.monotonic()

    # When the demo seeds it
    seeded = demo.seed(local_runtime, tag=uuid.uuid4().hex[:8], members=MEMBERS)
    took = time.monotonic() - started

    # Then the owner signs in with what the demo prints, to an approved account on a paid plan with its domain
    printed = demo.instructions(seeded, took)
    assert seeded.email in printed and seeded.password in printed and seeded.campaign_id in printed
    http = httpx.Client(base_url=local_runtime["api"], timeout=30)
    token = http.post("/v1/sessions", json={"email": seeded.email, "password": seeded.password}).json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    account = http.get("/v1/account").json()["account"]
    assert account["status"] == "active" and account["plan"] == "monthly"
    assert [(d["name"], d["status"]) for d in http.get("/v1/domains").json()["items"]] == [(seeded.domain, "verified")]
    # and the list holds the members of the CSV file; the one that bounced and the complainer are out of it
    assert sum(i["added"] for i in http.get(f"/v1/lists/{seeded.list_id}/imports").json()["items"]) == MEMBERS
    members = f"/v1/lists/{seeded.list_id}/subscribers"
    bounced = http.get(members, params={"email": demo.BOUNCE}).json()["items"]
    complained = http.get(members, params={"email": demo.COMPLAINT}).json()["items"]
    assert [m["status"] for m in bounced + complained] == ["bounced", "unsubscribed"]
    # and the campaign's report shows what happened to it
    report = http.get(f"/v1/campaigns/{seeded.campaign_id}/report").json()["report"]
    assert report["status"] == "sent" and report["sent"] == MEMBERS
    assert report["delivered"]["count"] == MEMBERS - 1
    assert report["bounces"]["hard"] == 1 and report["complaints"]["count"] == 1
    assert report["opens"]["unique"] == demo.OPENERS
    assert report["opens"]["total"] == demo.OPENERS + demo.REOPENERS
    assert report["opens"]["machine"] == demo.PREFETCHED
    assert report["clicks"]["unique"] == demo.CLICKERS and report["clicks"]["scanner"] == 0
    assert sum(link["clicks"] for link in report["clicks"]["links"]) == demo.CLICKERS
    assert report["unsubscribes"]["count"] == demo.UNSUBSCRIBERS
    assert sum(report["devices"].values()) == demo.OPENERS
    print(f"\ndemo seeding took {took:.1f} s")

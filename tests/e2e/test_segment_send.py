"""A list imported from a CSV file and a campaign sent to a segment of it, on the running local runtime: the
outbox holds exactly the segment's subscribed members, one email each, and nobody else's; the report counts
them delivered."""
from __future__ import annotations

import uuid
from collections import Counter

import httpx
import pytest

from tests.e2e.importing import start_and_wait, upload_file
from tests.e2e.sending import create_campaign, customer, eventually, send_and_wait

pytestmark = pytest.mark.e2e


def test_a_campaign_to_a_segment_reaches_exactly_the_segments_members(local_runtime):
    # Given a list of 60 members at two companies' domains, imported from a CSV file, one of the first
    # company's members unsubscribed since
    sender = customer(local_runtime, credits=500)
    tag = uuid.uuid4().hex[:6]
    inside = [f"reader{n}-{tag}@Team-{tag}.eu" for n in range(20)]
    outside = [f"reader{n}-{tag}@other-{tag}.eu" for n in range(40)]
    rows = ["email,first_name"] + [f"{address},Reader{n}" for n, address in enumerate(inside + outside)]
    _, imported = start_and_wait(sender, upload_file(sender, "\r\n".join(rows).encode())["id"], timeout=60)
    assert (imported["status"], imported["added"]) == ("done", 60), imported
    with sender.client() as http:
        left = http.get(f"/v1/lists/{sender.list_id}/subscribers", params={"email": f"READER0-{tag}@team-{tag}.eu"})
        assert left.status_code == 200 and len(left.json()["items"]) == 1, left.text   # found by its address
        gone = left.json()["items"][0]
        assert http.post(f"/v1/lists/{sender.list_id}/subscribers/{gone['id']}/unsubscribe").status_code == 200

        # and a segment of the first company's members, counted
        made = http.post(f"/v1/lists/{sender.list_id}/segments", json={
            "name": "Team", "match": "any", "conditions": [{"field": "email", "op": "ends_with",
                                                            "value": f"@TEAM-{tag}.eu"}]})
        assert made.status_code == 201, made.text
        segment_id = made.json()["segment"]["id"]
        counted = http.get(f"/v1/lists/{sender.list_id}/segments/{segment_id}/count").json()
        assert (counted["count"], counted["subscribed"]) == (20, 19), counted

    # When a campaign to the segment is sent and finishes
    campaign_id = create_campaign(sender, f"Team news {tag}")
    with sender.client() as http:
        assert http.patch(f"/v1/campaigns/{campaign_id}", json={"segment_id": segment_id}).status_code == 200
    _, campaign = send_and_wait(sender, campaign_id, timeout=120)

    # Then it went to the 19 subscribed members of the segment, each once, and to no one else
    assert campaign["status"] == "sent" and campaign["sent"] == 19 and campaign["segment_id"] == segment_id
    outbox = httpx.get(f"{local_runtime['outbox']}/messages.json", timeout=60).json()
    mine = [m for m in outbox if m["subject"].startswith(f"Team news {tag} for")]
    per_address = Counter(to.lower() for m in mine for to in set(m["to"]))
    expected = {a.lower() for a in inside} - {gone["email"]}
    assert set(per_address) == expected and set(per_address.values()) == {1}
    assert not {a.lower() for a in outside} & set(per_address)

    # and its report counts all 19 delivered, as their inboxes accepted them
    with sender.client() as http:
        report = eventually(lambda: http.get(f"/v1/campaigns/{campaign_id}/report").json()["report"],
                            lambda r: r["delivered"]["count"] == 19)
    assert report["sent"] == 19 and report["delivered"]["count"] == 19, report
    assert (report["bounces"]["hard"], report["bounces"]["soft"]) == (0, 0)

"""A segment of a large list on the local runtime: seconds to count it, and the latency of POST …/send for a
campaign to it (the gate reads the list's subscribed members to count the segment's), then the campaign
sent and its emails checked against the segment.

Run: .venv/bin/python bench/segment_send.py [subscribers=20000]

Starts the whole local runtime on free ports, makes a pay-as-you-go customer over HTTP, loads the members
straight into the emulator's table (as bench/send_e2e.py does; loading is not part of the figures), saves a
segment of the members whose first name ends in 7 (a tenth of them), counts it, sends a campaign to it and
waits until it is sent. The emulator is far slower per read than DynamoDB: the figures are a ceiling.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.send_e2e import runtime_with_members  # noqa: E402
from tests.e2e.sending import create_campaign  # noqa: E402


def wait_until_sent(sender, campaign_id: str, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    with sender.client() as http:
        while time.monotonic() < deadline:
            campaign = http.get(f"/v1/campaigns/{campaign_id}").json()["campaign"]
            if campaign["status"] != "sending":
                return campaign
            time.sleep(0.5)
    raise AssertionError(f"the campaign was not sent within {timeout:.0f} s")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with runtime_with_members(count, credits=count + 1000) as loaded:
        sender, state = loaded.sender, loaded.state
        with sender.client() as http:
            made = http.post(f"/v1/lists/{sender.list_id}/segments", json={
                "name": "Sevens", "conditions": [{"field": "first_name", "op": "ends_with", "value": "7"}]})
            assert made.status_code == 201, made.text
            segment_id = made.json()["segment"]["id"]
            counting = time.monotonic()
            counted = http.get(f"/v1/lists/{sender.list_id}/segments/{segment_id}/count")
            count_s = time.monotonic() - counting
            assert counted.status_code == 200, counted.text
        campaign_id = create_campaign(sender, "Sevens news")
        with sender.client() as http:
            assert http.patch(f"/v1/campaigns/{campaign_id}", json={"segment_id": segment_id}).is_success
        with sender.client() as http:
            posting = time.monotonic()
            answer = http.post(f"/v1/campaigns/{campaign_id}/send", json={})
            send_s = time.monotonic() - posting
            assert answer.status_code == 202, answer.text
        campaign = wait_until_sent(sender, campaign_id)
        sent_s = time.monotonic() - posting
        outbox = httpx.get(f"{state['outbox']}/messages.json", timeout=120).json()
        mine = {to for m in outbox if m["subject"].startswith("Sevens news for") for to in m["to"]}
    expected = sum(1 for n in range(count) if str(n).endswith("7"))
    print(f"subscribers: {count}; in the segment: {counted.json()['count']} (expected {expected})")
    print(f"GET …/count: {count_s:.2f} s ({count / count_s:.0f} members read and evaluated per second)")
    print(f"POST …/send to the segment, answered 202 in {send_s:.2f} s; "
          f"campaign {campaign['status']}, {campaign['recipients']} reserved, {campaign['sent']} sent")
    print(f"send -> campaign seen as sent: {sent_s:.1f} s; distinct addresses in the outbox: {len(mine)}")


if __name__ == "__main__":
    main()

"""A 1,000-subscriber campaign through the running local runtime: every subscribed address gets exactly one
email, complete with its headers, footer, unsubscribe link, pixel and tracked links; nobody else gets one."""
from __future__ import annotations

import email
import re
from collections import Counter
from email import policy

import httpx
import pytest

from tests.e2e.sending import add_members, create_campaign, customer, eventually, send_and_wait

# The longest test: alone on one worker, while the other worker takes everything else.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("campaign_send")]

SUBSCRIBED = 1000   # 20 chunks of 50; bench/send_e2e.py measures larger sends


def test_a_1000_subscriber_campaign_reaches_each_subscribed_address_exactly_once(local_runtime):
    # Given a pay-as-you-go customer with a verified domain and a list of 1,000 subscribed members,
    sender = customer(local_runtime, credits=5000)
    add_members(sender, "subscribed", SUBSCRIBED)
    # some who unsubscribed, some the account suppressed, and some who never confirmed (double opt-in)
    with sender.client() as http:
        for _, member_id in add_members(sender, "unsubscribed", 15):
            assert http.post(f"/v1/lists/{sender.list_id}/subscribers/{member_id}/unsubscribe").status_code == 200
        for address, _ in add_members(sender, "suppressed", 10):
            answer = http.post("/v1/suppressions", json={"email": address})
            assert answer.status_code in (200, 201), answer.text
        assert http.patch(f"/v1/lists/{sender.list_id}", json={"double_opt_in": True}).status_code == 200
        pending = add_members(sender, "pending", 10)
        assert http.patch(f"/v1/lists/{sender.list_id}", json={"double_opt_in": False}).status_code == 200
        member = http.get(f"/v1/lists/{sender.list_id}/subscribers/{pending[0][1]}").json()["subscriber"]
        assert member["status"] == "pending"
    campaign_id = create_campaign(sender, "Autumn news")

    # When the customer sends it and it finishes
    _, campaign = send_and_wait(sender, campaign_id, timeout=240)

    # Then it is sent, and its report counts 1,000 sent
    assert campaign["status"] == "sent", campaign
    with sender.client() as http:
        report = http.get(f"/v1/campaigns/{campaign_id}/report")
    assert report.status_code == 200, report.text
    assert report.json()["report"]["sent"] == SUBSCRIBED
    # and, as the readers' inboxes accept them, 1,000 delivered
    with sender.client() as http:
        final = eventually(lambda: http.get(f"/v1/campaigns/{campaign_id}/report").json()["report"],
                           lambda r: r["delivered"]["count"] == SUBSCRIBED, timeout=120)
    assert final["delivered"]["count"] == SUBSCRIBED, final["delivered"]

    # and the outbox holds exactly one email for each subscribed address and none for anyone else
    outbox = httpx.get(f"{local_runtime['outbox']}/messages.json", timeout=60).json()
    mine = [m for m in outbox if m["subject"].startswith("Autumn news for")
            and any(sender.domain in line for line in m["raw"].splitlines()[:40] if line.lower().startswith("from:"))]
    per_address = Counter(to.lower() for m in mine for to in set(m["to"]))
    subscribed = sender.addresses["subscribed"]
    assert {a: per_address[a] for a in subscribed} == dict.fromkeys(subscribed, 1)
    for state in ("unsubscribed", "suppressed", "pending"):
        assert not [a for a in sender.addresses[state] if per_address[a]], state
    assert len(mine) == SUBSCRIBED

    # and every message parses and carries what the rules require
    api = local_runtime["api"]
    for raw in (m["raw"] for m in mine):
        message = email.message_from_string(raw, policy=policy.default)
        assert re.fullmatch(rf"<{re.escape(api)}/unsubscribe/[\w.\-]+>", message["List-Unsubscribe"])
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert sender.list_id in message["List-Id"]
        assert re.fullmatch(r"Autumn news for Reader\d+", message["Subject"])
        html = message.get_body(preferencelist=("html",)).get_content()
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert "Email marketing by" in html and "Email marketing by" in text          # R12 footer
        assert f"{api}/unsubscribe/" in html and f"{api}/unsubscribe/" in text        # R19
        assert re.search(rf'<img[^>]+src="{re.escape(api)}/o/[\w.\-]+\.gif"', html)    # R20 pixel
        clicks = re.findall(rf'href="({re.escape(api)}/c/[\w.\-]+)"', html)
        assert len(clicks) >= 2 and f"{sender.domain}/autumn" not in html              # R20 tracked links

    # and a tracked link takes a reader to the stored page
    first = email.message_from_string(mine[0]["raw"], policy=policy.default)
    link = re.search(rf'href="({re.escape(api)}/c/[\w.\-]+)"', first.get_body(preferencelist=("html",)).get_content())
    answer = httpx.get(link.group(1), follow_redirects=False, timeout=30)
    assert answer.status_code == 302 and answer.headers["location"].startswith(f"https://{sender.domain}/")

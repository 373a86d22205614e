"""Auto-stop (R22) on the running local runtime, with SES answering as it does on AWS: a campaign to a list of
ordinary addresses (delivered, as real inboxes accept them) where every tenth member is
bounce+N@simulator.amazonses.com stops within one chunk of crossing the 8% hard-bounce rate, its bounced members
are bounced and suppressed, its report counts what left, delivered and bounced, the customer is told by email,
and resuming sends on."""
from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.e2e.sending import (
    Sender,
    add_addresses,
    create_campaign,
    customer,
    eventually,
    send_and_wait,
)

# Not in the "campaign_send" group: that worker is busy with the 1,000-subscriber campaign.
pytestmark = pytest.mark.e2e

MEMBERS = 300
BOUNCE_EVERY = 10           # members 9, 19, 29, ... are bounce+…@simulator, the rest readers at example.org
CHUNK = 50                  # the sender's chunk: pause, cancel and auto-stop act within one
MIN_SAMPLE = 100            # R22's rates are judged on at least this many sent
HARD_BOUNCE_LIMIT = 0.08    # R22: stop when hard bounces reach 8%
SIMULATOR = "simulator.amazonses.com"


def member_addresses(tag: str) -> list[str]:
    return [f"bounce+{tag}-{n}@{SIMULATOR}" if n % BOUNCE_EVERY == BOUNCE_EVERY - 1 else f"reader+{tag}-{n}@example.org"
            for n in range(MEMBERS)]


def is_bounce(address: str) -> bool:
    return address.startswith("bounce+")


def campaign_recipients(state: dict, tag: str) -> list[str]:
    """The campaign's recipients in the order SES accepted their emails (the outbox keeps that order)."""
    outbox = httpx.get(f"{state['outbox']}/messages.json", timeout=60).json()
    return [to for message in outbox for to in message["to"] if f"+{tag}-" in to]


def settled_recipients(state: dict, tag: str, quiet: float = 2.0) -> list[str]:
    """The campaign's recipients once no more emails leave (a chunk under way when it stopped finishes)."""
    recipients = campaign_recipients(state, tag)
    while True:
        time.sleep(quiet)
        again = campaign_recipients(state, tag)
        if again == recipients:
            return recipients
        recipients = again


def threshold_crossed_at(recipients: list[str], at_least: int = MIN_SAMPLE,
                         limit: float = HARD_BOUNCE_LIMIT) -> int | None:
    """How many emails had left when hard bounces first reached `limit` (R22: 8%) of at least `at_least` (100) sent
    (feedback taken as instant); None if they never did."""
    bounces = 0
    for sent, address in enumerate(recipients, start=1):
        bounces += is_bounce(address)
        if sent >= at_least and bounces >= limit * sent:
            return sent
    return None


def every(sender: Sender, path: str, **query: str) -> list[dict]:
    """Every item of a paged list."""
    items, cursor = [], None
    with sender.client() as http:
        while True:
            answer = http.get(path, params={**query, "limit": 1000, **({"cursor": cursor} if cursor else {})})
            assert answer.status_code == 200, answer.text
            items += answer.json()["items"]
            cursor = answer.json()["next_cursor"]
            if not cursor:
                return items


def test_a_campaign_with_ten_percent_hard_bounces_stops_within_one_chunk_and_resumes(local_runtime):
    # Given a pay-as-you-go customer whose list of 300 readers has a bounce@ simulator address as every tenth member
    sender = customer(local_runtime, credits=1000)
    tag = uuid.uuid4().hex[:8]
    add_addresses(sender, "members", member_addresses(tag))
    campaign_id = create_campaign(sender, "Bounce check")

    # When the customer sends a campaign to it
    _, campaign = send_and_wait(sender, campaign_id, timeout=60)

    # Then it is stopped (auto-stop, R22), by its hard-bounce rate
    assert campaign["status"] == "stopped", campaign
    recipients = settled_recipients(local_runtime, tag)
    assert len(recipients) == len(set(recipients)), "someone got the campaign twice"
    crossed = threshold_crossed_at(recipients)
    assert crossed is not None, f"the threshold was never crossed in {len(recipients)} emails"
    # and at most one chunk's worth of emails left after the threshold was crossed
    assert len(recipients) - crossed <= CHUNK, (len(recipients), crossed)
    assert len(recipients) < MEMBERS

    # and every member whose email bounced is bounced in the list and on the account's suppression list
    bounced = {address for address in recipients if is_bounce(address)}
    members = eventually(lambda: every(sender, f"/v1/lists/{sender.list_id}/subscribers", status="bounced"),
                         lambda items: {m["email"] for m in items} >= bounced)
    assert {m["email"] for m in members} == bounced
    suppressed = {s["email"] for s in every(sender, "/v1/suppressions")}
    assert bounced <= suppressed
    assert not {address for address in recipients if not is_bounce(address)} & suppressed

    # and the report counts what left, every reader delivered and every bounce
    with sender.client() as http:
        def report() -> dict:
            answer = http.get(f"/v1/campaigns/{campaign_id}/report")
            assert answer.status_code == 200, answer.text
            return answer.json()["report"]

        def counted(r: dict) -> dict:
            return {"sent": r["sent"], "delivered": r["delivered"]["count"], "hard": r["bounces"]["hard"],
                    "soft": r["bounces"]["soft"], "complaints": r["complaints"]["count"]}

        expected = {"sent": len(recipients), "delivered": len(recipients) - len(bounced), "hard": len(bounced),
                    "soft": 0, "complaints": 0}
        final = eventually(report, lambda r: counted(r) == expected)
    assert counted(final) == expected
    assert final["stop"]["rate"] == "hard_bounce" and final["stop"]["value"] >= HARD_BOUNCE_LIMIT

    # and the customer was told by email
    def owner_mail() -> list[str]:
        outbox = httpx.get(f"{local_runtime['outbox']}/messages.json", timeout=60).json()
        return [m["subject"] for m in outbox if sender.owner in m["to"]]

    told = [subject for subject in eventually(owner_mail, lambda subjects: any("stopped" in s for s in subjects))
            if "stopped" in subject]
    assert len(told) == 1 and "Bounce check" in told[0], told

    # When the customer resumes it
    with sender.client() as http:
        resumed = http.post(f"/v1/campaigns/{campaign_id}/resume")
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["campaign"]["status"] == "sending"

    # Then sending goes on to members who had no email yet, none twice, until it stops again or is sent
    with sender.client() as http:
        after = eventually(lambda: http.get(f"/v1/campaigns/{campaign_id}").json()["campaign"],
                           lambda c: c["status"] != "sending", timeout=60)
    assert after["status"] in ("stopped", "sent"), after
    more = settled_recipients(local_runtime, tag)
    assert len(more) > len(recipients) and len(more) == len(set(more))
    assert more[:len(recipients)] == recipients

"""Reservations: concurrent sends never overshoot a quota; what was not sent goes back exactly once."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from chalicelib import clock, errors
from chalicelib.models import campaigns as campaign_store
from chalicelib.models.accounts import Account
from chalicelib.models.campaigns import Campaign, CampaignStatus
from chalicelib.models.usage import Usage
from chalicelib.services.campaigns import campaigns, quota
from tests.integration.campaigning import audience, draft, fanout_messages, send, trial_send_approved
from tests.integration.test_subscriber_limits import atomic_moto  # noqa: F401 - fixture


def race(person, campaign_ids: list[str]) -> list[str]:
    """Send the campaigns at the same moment; each one's outcome: its status, or the refusal's code."""
    barrier = threading.Barrier(len(campaign_ids))

    def go(campaign_id: str) -> str:
        barrier.wait()
        try:
            return campaigns.send(person.account_id, campaign_id).status
        except errors.DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=len(campaign_ids)) as pool:
        return sorted(pool.map(go, campaign_ids))


def test_given_credits_for_one_campaign_when_two_are_sent_at_once_then_exactly_one_goes(
        client, tenant, atomic_moto):  # noqa: F811
    person = tenant(plan="payg", credits=3)
    contact_list = audience(client, person, members=2)
    ids = [draft(client, person, contact_list["id"])["id"] for _ in range(2)]

    outcomes = race(person, ids)

    assert outcomes == ["insufficient_credits", "sending"]
    assert Account.get(person.account_id).credits == 1
    assert len(fanout_messages()) == 1


def test_given_a_monthly_cap_for_one_campaign_when_two_are_sent_at_once_then_exactly_one_goes(
        client, tenant, atomic_moto):  # noqa: F811
    person = tenant(plan="monthly", subscriber_level=1)
    contact_list = audience(client, person, members=1)
    month = clock.now().strftime("%Y-%m")
    Usage(person.account_id, month, emails=108).save()
    ids = [draft(client, person, contact_list["id"])["id"] for _ in range(3)]

    outcomes = race(person, ids)

    assert outcomes == ["monthly_limit", "monthly_limit", "sending"]
    assert Usage.get(person.account_id, month).emails == 109


def simulate_sender(person, campaign_id: str, sent: int, failed: int) -> Campaign:
    """What the sender does when the last chunk is done: counters, then status sent."""
    campaign = campaign_store.get(person.account_id, campaign_id)
    campaign.update(actions=[Campaign.sent_count.add(sent), Campaign.failed_count.add(failed),
                             Campaign.status.set(CampaignStatus.SENT.value)])
    return campaign


def test_given_a_finished_payg_campaign_when_released_twice_then_unsent_credits_come_back_once(client, tenant):
    person = tenant(plan="payg", credits=10)
    contact_list = audience(client, person, members=4)
    campaign_id = draft(client, person, contact_list["id"])["id"]
    send(client, person, campaign_id)
    campaign = simulate_sender(person, campaign_id, sent=2, failed=1)   # one was skipped (suppressed)

    assert quota.release_unsent(campaign) == 1
    assert quota.release_unsent(campaign) == 0

    assert Account.get(person.account_id).credits == 10 - 3     # R11: the failed one stays charged


def test_given_a_cancelled_trial_campaign_then_the_trial_allowance_comes_back(client, tenant, staff):
    from tests.integration.conftest import api_call

    person = tenant()
    campaign_id = trial_send_approved(client, person, staff, members=3)
    assert Usage.get(person.account_id, "trial").emails == 3
    campaign_store.get(person.account_id, campaign_id).update(actions=[Campaign.sent_count.add(1)])

    api_call(client, "POST", f"/v1/campaigns/{campaign_id}/cancel", headers=person.headers)

    assert Usage.get(person.account_id, "trial").emails == 1

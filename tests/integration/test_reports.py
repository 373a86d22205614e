"""GET /v1/campaigns/{id}/report (R26): counts, rates and breakdowns a customer reads after a send."""
from __future__ import annotations

from tests.integration.conftest import api_call
from tests.integration.tracked import (
    APPLE_PREFETCH,
    BING_PREVIEW,
    CHROME_WINDOWS,
    GMAIL_PROXY,
    IPHONE,
    LINKS,
    OUTLOOK,
    SAFARI_IPHONE,
    clicked,
    make_campaign,
    opened,
)


def report(client, person, campaign_id: str):
    return api_call(client, "GET", f"/v1/campaigns/{campaign_id}/report", headers=person.headers)


def test_the_report_counts_readers_and_machines_apart_with_rates_over_sent(client, tenant):
    owner = tenant()
    campaign = make_campaign(owner.account_id, sent=8)
    opened(client, campaign, "sub_1", OUTLOOK, country="IE")
    opened(client, campaign, "sub_1", OUTLOOK, country="IE")
    opened(client, campaign, "sub_2", IPHONE, country="DE")
    opened(client, campaign, "sub_3", GMAIL_PROXY, country="US")
    opened(client, campaign, "sub_4", APPLE_PREFETCH, country="US")
    clicked(client, campaign, "sub_2", 0, SAFARI_IPHONE, country="DE")
    clicked(client, campaign, "sub_2", 0, SAFARI_IPHONE, country="DE")
    clicked(client, campaign, "sub_5", 1, CHROME_WINDOWS, country="FR")   # images blocked: the click is the open
    clicked(client, campaign, "sub_6", 1, BING_PREVIEW, country="US")

    answer = report(client, owner, campaign.campaign_id)

    assert answer.status_code == 200, answer.json_body
    body = answer.json_body["report"]
    assert body["campaign_id"] == campaign.campaign_id and body["status"] == "sending"
    assert body["sent"] == 8
    assert body["opens"] == {"unique": 4, "total": 5, "machine": 1, "rate": 0.5}
    assert body["clicks"] == {
        "unique": 2, "total": 3, "scanner": 1, "rate": 0.25,
        "links": [{"url": LINKS[0], "clicks": 2}, {"url": LINKS[1], "clicks": 1}],
    }
    # readers, each counted once per value; machines left out; a proxy's place is not the reader's
    assert body["devices"] == {"desktop": 2, "mobile": 1, "unknown": 1}
    assert body["countries"] == {"IE": 1, "DE": 1, "FR": 1, "unknown": 1}
    assert body["browsers"]["Gmail Image Proxy"] == 1
    assert body["browsers"]["Chrome"] == 1
    assert sum(body["browsers"].values()) >= 4


def test_a_campaign_nobody_received_yet_reports_zero_rates(client, tenant):
    owner = tenant()
    campaign = make_campaign(owner.account_id, sent=0)

    body = report(client, owner, campaign.campaign_id).json_body["report"]

    assert body["sent"] == 0
    assert body["opens"] == {"unique": 0, "total": 0, "machine": 0, "rate": 0.0}
    assert body["clicks"]["rate"] == 0.0
    assert body["clicks"]["links"] == [{"url": LINKS[0], "clicks": 0}, {"url": LINKS[1], "clicks": 0}]
    assert (body["devices"], body["browsers"], body["countries"]) == ({}, {}, {})


def test_another_tenants_campaign_report_is_404_like_a_missing_one(client, tenant):
    owner, stranger = tenant(), tenant()
    campaign = make_campaign(owner.account_id)
    opened(client, campaign, "sub_1", OUTLOOK, country="IE")

    theirs = report(client, stranger, campaign.campaign_id)
    missing = report(client, owner, "cmp_does_not_exist")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json_body == missing.json_body
    assert theirs.json_body["error"] == {"code": "not_found", "message": "The campaign was not found."}
    assert "IE" not in str(theirs.json_body)


def test_the_report_needs_a_signed_in_customer(client, tenant):
    campaign = make_campaign(tenant().account_id)

    answer = api_call(client, "GET", f"/v1/campaigns/{campaign.campaign_id}/report")

    assert answer.status_code == 401
    assert answer.json_body["error"]["code"]

"""Readers' countries and addresses in AWS (R25): the links go through the link distribution (infra/distribution.py),
whose viewer headers count only beside the stage's distribution token; a caller going straight to the API cannot
pick the country or address it is counted under."""
from __future__ import annotations

import pytest

from chalicelib.handlers import viewer
from chalicelib.models import events
from tests.integration.conftest import api_call
from tests.integration.tracked import CHROME_WINDOWS, IPHONE, click_path, make_campaign, open_path

TOKEN = "a-distribution-token-of-the-stage-0123456789"
READER_ADDRESS = "203.0.113.7"
API_GATEWAYS_VIEW = "127.0.0.1"   # the source address the test gateway gives every request (CloudFront's, in AWS)


@pytest.fixture
def behind_the_distribution(monkeypatch) -> str:
    """The stage as deployed: the API knows the distribution's token (config.distribution_token: its secret in
    AWS, MAILROOM_DISTRIBUTION_TOKEN in tests/unit/test_config.py)."""
    monkeypatch.setattr(viewer, "distribution_token", lambda: TOKEN)
    return TOKEN


def through(client, path: str, token: str | None, country: str, address: str, agent: str = IPHONE):
    """GET `path` with the headers the distribution adds (or a caller forging them with `token`)."""
    headers = {"User-Agent": agent, "Accept": "image/*,text/html", "CloudFront-Viewer-Country": country,
               "CloudFront-Viewer-Address": address}
    if token is not None:
        headers["X-Mailroom-Distribution"] = token
    return client.http.get(path, headers=headers)


def countries(client, person, campaign_id: str) -> dict[str, int]:
    answer = api_call(client, "GET", f"/v1/campaigns/{campaign_id}/report", headers=person.headers)
    assert answer.status_code == 200, answer.json_body
    return answer.json_body["report"]["countries"]


def addresses(campaign, subscriber_id: str) -> set[str | None]:
    return {e.ip for e in events.live_of_subscriber(campaign.account_id, campaign.campaign_id, subscriber_id)}


def test_a_reader_coming_through_the_distribution_is_counted_in_their_country(client, tenant, behind_the_distribution):
    # Given a sending campaign on a stage behind the link distribution
    owner = tenant()
    campaign = make_campaign(owner.account_id, sent=4)

    # When one reader opens it in Latvia and another clicks in Germany (IPv6), both through the distribution
    assert through(client, open_path(campaign, "sub_1"), TOKEN, "LV", f"{READER_ADDRESS}:51234").status_code == 200
    clicked = through(client, click_path(campaign, "sub_2", 0), TOKEN, "DE", "2001:db8::17:443", CHROME_WINDOWS)
    assert clicked.status_code == 302

    # Then the report counts each in their country, and each event holds the reader's address, not CloudFront's
    assert countries(client, owner, campaign.campaign_id) == {"LV": 1, "DE": 1}
    assert addresses(campaign, "sub_1") == {READER_ADDRESS}
    assert addresses(campaign, "sub_2") == {"2001:db8::17"}


@pytest.mark.parametrize("token", [None, "a-guessed-token", TOKEN[:-1]], ids=["no token", "wrong", "a prefix"])
def test_a_caller_going_straight_to_the_api_cannot_pick_its_country_or_address(client, tenant,
                                                                                 behind_the_distribution, token):
    # Given a sending campaign on a stage behind the link distribution
    owner = tenant()
    campaign = make_campaign(owner.account_id, sent=4)

    # When a caller opens it at the API itself, writing the distribution's viewer headers without its token
    assert through(client, open_path(campaign, "sub_1"), token, "KP", f"{READER_ADDRESS}:443").status_code == 200

    # Then the open counts (it is one), under no country, at the address the API saw
    assert countries(client, owner, campaign.campaign_id) == {"unknown": 1}
    assert addresses(campaign, "sub_1") == {API_GATEWAYS_VIEW}


def test_an_unreadable_viewer_address_falls_back_to_the_connections(client, tenant, behind_the_distribution):
    # Given a sending campaign on a stage behind the link distribution
    owner = tenant()
    campaign = make_campaign(owner.account_id, sent=4)

    # When a request with the token carries an address that is not an IP address
    assert through(client, open_path(campaign, "sub_1"), TOKEN, "IE", "not-an-address:80").status_code == 200

    # Then the country counts, and the event keeps the address the API saw rather than the garbage
    assert countries(client, owner, campaign.campaign_id) == {"IE": 1}
    assert addresses(campaign, "sub_1") == {API_GATEWAYS_VIEW}

"""Open pixel and click redirect (R20, R25): what recipients get, and what the campaign counts."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import clock, security
from chalicelib.models import events
from chalicelib.models.campaigns import Campaign
from chalicelib.models.deliveries import Delivery, DeliveryState
from chalicelib.rendering.campaign import compile_campaign
from chalicelib.rendering.tracking import TEST_SUBSCRIBER_ID
from tests.integration.campaign_sending import audience, drain, make_pump, start_sending
from tests.integration.conftest import api_call
from tests.integration.mailbox import LINK, messages_to
from tests.integration.tracked import (
    APPLE_PREFETCH,
    BING_PREVIEW,
    CHROME_WINDOWS,
    GMAIL_PROXY,
    IPHONE,
    LINKS,
    PROOFPOINT,
    SAFARI_IPHONE,
    click_path,
    clicked,
    fetch,
    make_campaign,
    open_path,
    opened,
    path_of,
    refreshed,
)

GIF_43 = bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")


def recorded(campaign) -> list[events.Event]:
    """The campaign's tracking events as stored (markers left out)."""
    return list(events.Event.query(events.campaign_key(campaign.account_id, campaign.campaign_id),
                                   events.Event.event_key < events.MARKER_PREFIX))


def link_clicks(campaign) -> dict[str, int]:
    value = refreshed(campaign).link_clicks
    return {k: int(v) for k, v in (value.as_dict() if hasattr(value, "as_dict") else value).items()}


# --- the pixel ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("accept", ["image/*", "*/*", None, "image/avif,image/webp,image/apng,*/*;q=0.8",
                                    "image/webp,image/*"])
def test_the_pixel_is_a_43_byte_gif_that_is_never_cached_whatever_the_client_accepts(client, accept):
    campaign = make_campaign()

    answer = fetch(client, open_path(campaign, "sub_1"), accept=accept)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "image/gif"
    assert answer.body == GIF_43 and len(answer.body) == 43
    assert "no-store" in answer.headers["Cache-Control"] and "private" in answer.headers["Cache-Control"]
    assert refreshed(campaign).opens_total == 1


@pytest.mark.parametrize("name", ["not-a-token.gif", "x", "%00.gif", "a" * 600 + ".gif"])
def test_a_bad_open_token_still_gets_the_gif_but_nothing_is_counted(client, name):
    campaign = make_campaign()

    answer = fetch(client, f"/o/{name}")

    assert answer.status_code == 200 and answer.body == GIF_43
    assert refreshed(campaign).opens_total == 0


def test_a_tampered_open_token_is_not_counted(client):
    campaign = make_campaign()
    path = open_path(campaign, "sub_1")
    forged = path[:-6] + ("A" if path[-5] != "A" else "B") + path[-5:]
    other_purpose = "/o/" + security.sign("click", [campaign.account_id, campaign.campaign_id, "sub_1"]) + ".gif"

    for bad in (forged, other_purpose):
        assert fetch(client, bad).body == GIF_43

    assert refreshed(campaign).opens_total == 0
    assert recorded(campaign) == []


def test_opens_count_every_open_and_each_reader_once(client):
    campaign = make_campaign()

    for _ in range(3):
        opened(client, campaign, "sub_1")
    opened(client, campaign, "sub_2", IPHONE)

    after = refreshed(campaign)
    assert (after.opens_total, after.opens_unique, after.machine_opens) == (4, 2, 0)
    kinds = [(e.kind, e.subscriber_id, e.device) for e in recorded(campaign)]
    assert kinds.count(("open", "sub_1", "desktop")) == 3
    assert ("open", "sub_2", "mobile") in kinds


def test_an_open_records_time_ip_device_browser_and_country(client):
    campaign = make_campaign()
    before = clock.now()

    opened(client, campaign, "sub_1", IPHONE, country="ie")

    (event,) = recorded(campaign)
    assert event.kind == "open" and event.subscriber_id == "sub_1"
    assert before - timedelta(seconds=1) <= event.at <= clock.now()
    assert event.ip == "127.0.0.1"
    assert (event.device, event.os, event.country) == ("mobile", "iOS", "IE")
    assert event.browser and not event.machine
    assert event.expires_at > clock.now() + timedelta(days=390)


@pytest.mark.parametrize("header", ["XX", "Ireland", "", "1E"])
def test_a_country_header_that_is_not_a_country_code_is_not_recorded(client, header):
    campaign = make_campaign()

    opened(client, campaign, "sub_1", country=header)

    assert [e.country for e in recorded(campaign)] == [None]


def test_a_prefetch_by_apple_mail_privacy_protection_is_counted_apart_as_a_machine_open(client):
    campaign = make_campaign()

    opened(client, campaign, "sub_1", APPLE_PREFETCH, country="US")
    opened(client, campaign, "sub_2", "")

    after = refreshed(campaign)
    assert (after.opens_total, after.opens_unique, after.machine_opens) == (0, 0, 2)
    assert all(e.machine and e.country is None for e in recorded(campaign))


def test_a_gmail_proxy_open_is_the_readers_open_but_not_their_device_or_place(client):
    campaign = make_campaign()

    opened(client, campaign, "sub_1", GMAIL_PROXY, country="US")

    after = refreshed(campaign)
    assert (after.opens_total, after.opens_unique, after.machine_opens) == (1, 1, 0)
    (event,) = recorded(campaign)
    assert event.proxied and not event.machine
    assert (event.device, event.browser, event.country) == ("unknown", "Gmail Image Proxy", None)


def test_opens_of_a_test_send_are_never_counted(client):
    campaign = make_campaign()

    opened(client, campaign, TEST_SUBSCRIBER_ID)
    clicked(client, campaign, TEST_SUBSCRIBER_ID, 1)

    after = refreshed(campaign)
    assert (after.opens_total, after.clicks_total, after.scanner_clicks) == (0, 0, 0)
    assert recorded(campaign) == []


def test_an_open_of_a_deleted_campaign_gets_the_gif_and_writes_nothing(client):
    campaign = make_campaign()
    path = open_path(campaign, "sub_1")
    campaign.delete()

    assert fetch(client, path).body == GIF_43
    assert list(events.Event.query(events.campaign_key(campaign.account_id, campaign.campaign_id))) == []


# --- clicks -------------------------------------------------------------------------------------------

def test_a_click_redirects_to_the_stored_link_and_is_not_cached(client):
    campaign = make_campaign()

    answer = clicked(client, campaign, "sub_1", 1)

    assert answer.headers["Location"] == LINKS[1]
    assert "no-store" in answer.headers["Cache-Control"]


def test_clicks_count_per_link_and_each_reader_once_and_a_click_counts_as_an_open(client):
    campaign = make_campaign()

    clicked(client, campaign, "sub_1", 0)
    clicked(client, campaign, "sub_1", 0)
    clicked(client, campaign, "sub_1", 1, SAFARI_IPHONE)
    clicked(client, campaign, "sub_2", 1)

    after = refreshed(campaign)
    assert (after.clicks_total, after.clicks_unique, after.scanner_clicks) == (4, 2, 0)
    assert link_clicks(campaign) == {"0": 2, "1": 2}
    # neither reader's client loaded images, yet both read the email
    assert (after.opens_total, after.opens_unique) == (2, 2)
    clicks = [(e.subscriber_id, int(e.link_index)) for e in recorded(campaign) if e.kind == "click"]
    assert clicks == [("sub_1", 0), ("sub_1", 0), ("sub_1", 1), ("sub_2", 1)]


def test_a_click_after_an_open_does_not_count_the_open_twice(client):
    campaign = make_campaign()

    opened(client, campaign, "sub_1")
    clicked(client, campaign, "sub_1", 0)

    after = refreshed(campaign)
    assert (after.opens_total, after.opens_unique, after.clicks_unique) == (1, 1, 1)


@pytest.mark.parametrize("agent", [BING_PREVIEW, PROOFPOINT])
def test_a_link_scanner_gets_the_redirect_but_is_counted_apart(client, agent):
    campaign = make_campaign()

    answer = clicked(client, campaign, "sub_1", 0, agent, country="US")

    assert answer.headers["Location"] == LINKS[0]
    after = refreshed(campaign)
    assert (after.clicks_total, after.clicks_unique, after.scanner_clicks) == (0, 0, 1)
    assert (after.opens_total, after.opens_unique) == (0, 0)
    assert link_clicks(campaign) == {}
    (event,) = recorded(campaign)
    assert event.machine and event.kind == "click" and event.country is None


def test_a_click_seconds_after_delivery_is_a_scanner_even_with_a_browser_agent(client):
    campaign = make_campaign()
    now = clock.now()
    for subscriber_id, ago in (("sub_fast", 2), ("sub_slow", 600)):
        Delivery(f"{campaign.account_id}#{campaign.campaign_id}", subscriber_id, state=DeliveryState.SENT.value,
                 claimed_at=now - timedelta(seconds=ago), sent_at=now - timedelta(seconds=ago)).save()

    clicked(client, campaign, "sub_fast", 0, CHROME_WINDOWS)
    clicked(client, campaign, "sub_slow", 0, CHROME_WINDOWS)

    after = refreshed(campaign)
    assert (after.clicks_unique, after.scanner_clicks) == (1, 1)


def test_without_a_ledger_entry_a_click_is_timed_from_the_campaign_start(client):
    just_started = make_campaign(started_ago=timedelta(seconds=1))

    clicked(client, just_started, "sub_1", 0, CHROME_WINDOWS)

    assert refreshed(just_started).scanner_clicks == 1


def test_a_click_token_cannot_name_another_campaigns_links(client):
    one_link = make_campaign(links=["https://one.example/only"])
    three_links = make_campaign(one_link.account_id, links=["https://a.example", "https://b.example",
                                                            "https://c.example"])

    assert clicked(client, three_links, "sub_1", 2).headers["Location"] == "https://c.example"
    answer = fetch(client, click_path(one_link, "sub_1", 2), accept="text/html")

    assert answer.status_code == 404
    assert "Location" not in answer.headers
    assert refreshed(one_link).clicks_total == 0


def test_a_click_token_of_another_account_does_not_reach_this_accounts_campaign(client):
    campaign = make_campaign()
    stranger = make_campaign()
    crossed = "/c/" + security.sign("click", [stranger.account_id, campaign.campaign_id, "sub_1", 0])

    answer = fetch(client, crossed, accept="text/html")

    assert answer.status_code == 404
    assert refreshed(campaign).clicks_total == 0 and refreshed(stranger).clicks_total == 0


@pytest.mark.parametrize("token", ["garbage", "eyJhIjoxfQ.abc.def", "a" * 500])
def test_a_forged_click_token_gets_404_and_no_redirect(client, token):
    answer = fetch(client, f"/c/{token}", accept="text/html")

    assert answer.status_code == 404
    assert "Location" not in answer.headers
    assert b"not valid" in answer.body


def test_a_tampered_or_repurposed_click_token_gets_404(client):
    campaign = make_campaign()
    path = click_path(campaign, "sub_1", 0)
    tampered = path[:-2] + ("A" if path[-2] != "A" else "B") + path[-1]
    ids = [campaign.account_id, campaign.campaign_id, "sub_1"]
    open_token = "/c/" + security.link_signer("open").sign([*ids, "0"])
    negative = "/c/" + security.link_signer("click").sign([*ids, "-1"])
    as_text = "/c/" + security.link_signer("click").sign([*ids, "zero"])
    # and as the signer made them before link tokens were compact (itsdangerous), in mail already sent
    earlier_open_token = "/c/" + security.sign("open", ids)
    earlier_negative = "/c/" + security.sign("click", [*ids, -1])

    for bad in (tampered, open_token, negative, as_text, earlier_open_token, earlier_negative):
        assert fetch(client, bad, accept="text/html").status_code == 404, bad
    assert refreshed(campaign).clicks_total == 0


def test_a_click_on_a_deleted_campaign_gets_404(client):
    campaign = make_campaign()
    path = click_path(campaign, "sub_1", 0)
    campaign.delete()

    assert fetch(client, path, accept="text/html").status_code == 404


def test_a_failure_to_record_never_breaks_the_redirect_or_the_pixel(client, monkeypatch):
    campaign = make_campaign()

    def broken(*args, **kwargs):
        raise RuntimeError("the table is unavailable")

    monkeypatch.setattr(events, "add_if_first", broken)

    assert clicked(client, campaign, "sub_1", 0).headers["Location"] == LINKS[0]
    assert opened(client, campaign, "sub_1").body == GIF_43


# --- through the sender: the pixel and links in the email a member actually got ---------------------

def test_the_pixel_and_links_in_a_sent_email_count_for_that_member(client, tenant, monkeypatch):
    # Given a campaign sent to two members (its click table stored at compose time, as the campaigns API does)
    person = tenant()
    people = audience(client, person, subscribed=2)
    campaign_id = start_sending(person, people["list"]["id"], recipients=2)
    stored = Campaign.get(person.account_id, campaign_id)
    stored.update(actions=[Campaign.links.set(list(compile_campaign(stored.subject, stored.html, None,
                                                                    ["first_name"]).links))])
    drain(make_pump())
    first, second = people["subscribed"]

    def urls(address: str, part: str) -> list[str]:
        (message,) = messages_to(address)
        html = message.get_body(preferencelist=("html",)).get_content()
        return [url.replace("&amp;", "&") for url in LINK.findall(html) if f"/{part}/" in url]

    # When, an hour later, the first opens the email and clicks its second link, and the second only clicks
    later = clock.now() + timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert fetch(client, path_of(urls(first, "o")[0]), IPHONE, "IE").body == GIF_43
    to_shop = fetch(client, path_of(urls(first, "c")[1]), SAFARI_IPHONE, "IE", accept="text/html")
    to_spring = fetch(client, path_of(urls(second, "c")[0]), CHROME_WINDOWS, "DE", accept="text/html")

    # Then each goes to the link in the campaign, and the report counts both members as readers
    assert to_shop.status_code == to_spring.status_code == 302
    assert to_shop.headers["Location"] == "https://acme.example/shop?x=1&y=2"
    assert to_spring.headers["Location"] == "https://acme.example/spring"
    body = api_call(client, "GET", f"/v1/campaigns/{campaign_id}/report", headers=person.headers).json_body["report"]
    assert body["sent"] == 2
    assert (body["opens"]["unique"], body["clicks"]["unique"], body["clicks"]["scanner"]) == (2, 2, 0)
    assert [link["clicks"] for link in body["clicks"]["links"]] == [1, 1]
    assert body["countries"] == {"IE": 1, "DE": 1}

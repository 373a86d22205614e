"""Helpers for tests of opens, clicks and reports: campaigns written through the model (as the sender
leaves them) and the signed pixel and click URLs a recipient's copy carries."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from chalicelib import clock, ids
from chalicelib.models.campaigns import Campaign, CampaignStatus
from chalicelib.rendering import tracking

LINKS = ("https://shop.example/spring?utm=mail", "https://shop.example/help")

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Mobile/15E148")
OUTLOOK = ("Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; Microsoft Outlook "
           "16.0.5422; ms-office; MSOffice 16)")
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.4 Mobile/15E148 Safari/604.1")
GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
APPLE_PREFETCH = "Mozilla/5.0"
BING_PREVIEW = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "BingPreview/1.0b")
PROOFPOINT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Proofpoint URL Defense"


def make_campaign(account_id: str | None = None, links=LINKS, sent: int = 10,
                  started_ago: timedelta = timedelta(hours=1), status: CampaignStatus = CampaignStatus.SENDING,
                  ) -> Campaign:
    """A campaign that has been sending for `started_ago`, with its click table and `sent` emails accepted."""
    now = clock.now()
    campaign = Campaign(
        account_id or ids.new_id("acc"), ids.new_id("cmp"), list_id=ids.new_id("lst"), name="Spring sale",
        subject="Spring is here", html="<p>Hello</p>", status=status.value, links=list(links),
        recipients=sent, sent_count=sent, created_at=now - started_ago, updated_at=now,
        started_at=now - started_ago,
    )
    campaign.save()
    return campaign


def refreshed(campaign: Campaign) -> Campaign:
    return Campaign.get(campaign.account_id, campaign.campaign_id, consistent_read=True)


def path_of(url: str) -> str:
    return urlparse(url).path


def open_path(campaign: Campaign, subscriber_id: str) -> str:
    return path_of(tracking.open_url(campaign.account_id, campaign.campaign_id, subscriber_id))


def click_path(campaign: Campaign, subscriber_id: str, index: int) -> str:
    return path_of(tracking.click_url(campaign.account_id, campaign.campaign_id, subscriber_id, index))


def fetch(client, path: str, agent: str = OUTLOOK, country: str | None = None, accept: str | None = "image/*"):
    """GET `path` as a mail client or browser would (CloudFront adds the viewer's country)."""
    headers = {"User-Agent": agent}
    if accept is not None:
        headers["Accept"] = accept
    if country is not None:
        headers["CloudFront-Viewer-Country"] = country
    return client.http.get(path, headers=headers)


def opened(client, campaign: Campaign, subscriber_id: str, agent: str = OUTLOOK, country: str | None = None):
    answer = fetch(client, open_path(campaign, subscriber_id), agent, country)
    assert answer.status_code == 200
    return answer


def clicked(client, campaign: Campaign, subscriber_id: str, index: int = 0, agent: str = CHROME_WINDOWS,
            country: str | None = None):
    answer = fetch(client, click_path(campaign, subscriber_id, index), agent, country, accept="text/html,*/*")
    assert answer.status_code == 302, answer.body
    return answer

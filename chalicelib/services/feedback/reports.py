"""A campaign's report (R26): its counts and rates from the campaign's counters (tracking, SES feedback and
one-click unsubscribes), who its readers were (device, browser, country) from its reader counters, and,
if it was stopped automatically (R22), why. Complaints are a count only: no report names who complained (R23).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib import errors
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import deliveries
from chalicelib.models.campaigns import Campaign


def campaign_report(account_id: str, campaign_id: str) -> dict[str, Any]:
    """The report of one of the account's campaigns (NotFound for a missing or another account's one)."""
    campaign = campaign_store.get(account_id, campaign_id)
    if campaign is None:
        raise errors.NotFound("campaign")
    deliveries.with_tallies(campaign)
    return {**counts(campaign), **breakdowns(campaign)}


def counts(campaign: Campaign) -> dict[str, Any]:
    """Counts and rates (over the emails SES accepted; 0 before any) from the campaign's counters (with its
    tallies added: models/deliveries.with_tallies)."""
    sent = int(campaign.sent_count or 0)
    link_clicks = _as_dict(campaign.link_clicks)
    return {
        "campaign_id": campaign.campaign_id,
        "status": campaign.status,
        "recipients": int(campaign.recipients or 0),
        "sent": sent,
        "failed": int(campaign.failed_count or 0),
        "skipped": int(campaign.skipped_count or 0),
        "uncertain": int(campaign.uncertain_count or 0),
        "opens": {
            "unique": int(campaign.opens_unique or 0),
            "total": int(campaign.opens_total or 0),
            "machine": int(campaign.machine_opens or 0),
            "rate": rate(int(campaign.opens_unique or 0), sent),
        },
        "clicks": {
            "unique": int(campaign.clicks_unique or 0),
            "total": int(campaign.clicks_total or 0),
            "scanner": int(campaign.scanner_clicks or 0),
            "rate": rate(int(campaign.clicks_unique or 0), sent),
            "links": [{"url": url, "clicks": int(link_clicks.get(str(index), 0))}
                      for index, url in enumerate(campaign.links or [])],
        },
        "delivered": _count(campaign.delivered_count, sent),
        "bounces": {
            "hard": int(campaign.hard_bounce_count or 0),
            "soft": int(campaign.soft_bounce_count or 0),
            "rate": rate(int(campaign.hard_bounce_count or 0) + int(campaign.soft_bounce_count or 0), sent),
            "hard_rate": rate(int(campaign.hard_bounce_count or 0), sent),
            "soft_rate": rate(int(campaign.soft_bounce_count or 0), sent),
        },
        "complaints": _count(campaign.complaint_count, sent),
        "unsubscribes": _count(campaign.unsubscribe_count, sent),
        "rejected": _count(campaign.rejected_count, sent),
        "stop": _stop(campaign),
    }


def _count(value: Any, sent: int) -> dict[str, Any]:
    return {"count": int(value or 0), "rate": rate(int(value or 0), sent)}


def _stop(campaign: Campaign) -> dict[str, Any] | None:
    """What stopped the campaign automatically (R22), if anything did: the rate, its value, the limit, when."""
    record = _as_dict(campaign.stop)
    if not record:
        return None
    return {"rate": record.get("rate"), "value": record.get("value"), "threshold": record.get("threshold"),
            "at": record.get("at")}


def breakdowns(campaign: Campaign) -> dict[str, dict[str, int]]:
    """How many readers (distinct recipients who opened, or clicked with images blocked) came from each device,
    browser and country, by their first open, most first: counters kept as they came (services/tracking.py),
    so a report costs one read however large the campaign. Machines are left out; a reader whose first open
    came through an image proxy (Gmail) counts under the proxy's name as browser and "unknown" device and
    country."""
    return {name: dict(Counter({k: int(v) for k, v in _as_dict(counts).items()}).most_common())
            for name, counts in (("devices", campaign.readers_by_device), ("browsers", campaign.readers_by_browser),
                                 ("countries", campaign.readers_by_country))}


def rate(part: int, whole: int) -> float:
    """part / whole rounded to four places; 0 when whole is 0."""
    return round(part / whole, 4) if whole else 0.0


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)

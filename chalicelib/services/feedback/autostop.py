"""Auto-stop (R22): a sending campaign whose hard-bounce rate reaches 8%, complaint rate exceeds 0.5% or
unsubscribe rate exceeds 1% stops, and its owner is told at once, by one email.

Rates are over the emails SES has reported the fate of (delivered, bounced or rejected), as mailbox
providers measure them: emails still on their way would dilute a rate that is already too high. Before SES
has reported on any email (feedback is not flowing) they are over the emails sent. Nothing is judged below
MIN_SENT emails in that count, so that one early bounce stops nothing. After a stopped campaign is resumed they
count from the resume (the campaign's baseline, set by services/campaigns/campaigns.resume), so the bounces that
stopped it do not stop it again at once.
The sender re-reads the status before every chunk: no further chunk leaves once it is stopped.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fractions import Fraction

from chalicelib import clock
from chalicelib.log import logger
from chalicelib.models import accounts as account_store
from chalicelib.models import campaigns as store
from chalicelib.models import deliveries
from chalicelib.models import users as user_store
from chalicelib.models.campaigns import Campaign, CampaignStatus
from chalicelib.outbound import Mailer
from chalicelib.services.accounts import account_mail
from chalicelib.services.feedback import notice_once

MIN_SENT = 100


class Rate(str, Enum):
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"


# (rate, threshold, whether reaching the threshold is enough): R22 says "reaches 8%", "exceeds 0.5%", "exceeds 1%".
LIMITS = ((Rate.HARD_BOUNCE, Fraction(8, 100), True),
          (Rate.COMPLAINT, Fraction(5, 1000), False),
          (Rate.UNSUBSCRIBE, Fraction(1, 100), False))


@dataclass(frozen=True)
class Sample:
    """What a campaign sent, and what came back, since it started (or was last resumed after a stop)."""

    sent: int
    settled: int = 0     # emails SES reported delivered, bounced (hard or soft) or rejected
    hard_bounces: int = 0
    complaints: int = 0
    unsubscribes: int = 0

    @property
    def judged(self) -> int:
        """The emails the rates are over: those SES reported on, or, before any report, those sent."""
        return self.settled or self.sent


@dataclass(frozen=True)
class Breach:
    rate: Rate
    value: float        # the rate, e.g. 0.09
    threshold: float    # e.g. 0.08


def breach(sample: Sample) -> Breach | None:
    """The first R22 limit the sample breaks, or None (always None below MIN_SENT emails judged)."""
    if sample.judged < MIN_SENT:
        return None
    counts = {Rate.HARD_BOUNCE: sample.hard_bounces, Rate.COMPLAINT: sample.complaints,
              Rate.UNSUBSCRIBE: sample.unsubscribes}
    for rate, threshold, reaching in LIMITS:
        value = Fraction(counts[rate], sample.judged)
        if value > threshold or (reaching and value == threshold):
            return Breach(rate, round(float(value), 4), float(threshold))
    return None


def sample_of(campaign: Campaign) -> Sample:
    """The campaign's counters minus its baseline (what it had when last resumed after a stop); read it with its
    tallies (models/deliveries.read_counted)."""
    def since(counter, baseline) -> int:
        return max(int(counter or 0) - int(baseline or 0), 0)

    settled = sum(since(counter, baseline) for counter, baseline in (
        (campaign.delivered_count, campaign.baseline_delivered),
        (campaign.hard_bounce_count, campaign.baseline_hard_bounces),
        (campaign.soft_bounce_count, campaign.baseline_soft_bounces),
        (campaign.rejected_count, campaign.baseline_rejected)))
    return Sample(sent=since(campaign.sent_count, campaign.baseline_sent), settled=settled,
                  hard_bounces=since(campaign.hard_bounce_count, campaign.baseline_hard_bounces),
                  complaints=since(campaign.complaint_count, campaign.baseline_complaints),
                  unsubscribes=since(campaign.unsubscribe_count, campaign.baseline_unsubscribes))


def judge(campaign: Campaign, mailer: Mailer) -> bool:
    """Stop the campaign, read just now with its tallies (models/deliveries.read_counted), if it is sending and
    breaks a limit, and tell its owner; True if it stopped now. A stop whose email was not sent yet (a crash) is
    told now."""
    stopped = False
    if campaign.status == CampaignStatus.SENDING.value:
        found = breach(sample_of(campaign))
        if found is None or not _stop(campaign, found):
            return False
        stopped = True
        campaign = deliveries.read_counted(campaign.account_id, campaign.campaign_id) or campaign
    if _untold(campaign):
        try:
            _tell_owner(campaign, mailer)
        except Exception as exc:  # noqa: BLE001 - the notice waits for the next check; other campaigns go on
            logger.error("auto-stop notice not sent", extra={
                "account_id": campaign.account_id, "campaign_id": campaign.campaign_id, "error": type(exc).__name__})
    return stopped


def _stop(campaign: Campaign, found: Breach) -> bool:
    """sending → stopped, if nobody moved the campaign since it was read (status and generation)."""
    now = clock.now()
    record = {"rate": found.rate.value, "value": found.value, "threshold": found.threshold, "at": clock.iso(now)}
    done = store.change(campaign, [
        Campaign.status.set(CampaignStatus.STOPPED.value), Campaign.status_reason.set(_reason(found)),
        Campaign.stop.set(record), Campaign.updated_at.set(now),
    ], (Campaign.status == CampaignStatus.SENDING.value) & (Campaign.generation == int(campaign.generation or 0)))
    if done:
        logger.warning("campaign auto-stopped", extra={
            "account_id": campaign.account_id, "campaign_id": campaign.campaign_id, "rate": found.rate.value,
            "value": found.value, "threshold": found.threshold, "judged": sample_of(campaign).judged})
    return done


def _untold(campaign: Campaign) -> bool:
    return campaign.status == CampaignStatus.STOPPED.value and notice_once.untold(_as_dict(campaign.stop))


def _tell_owner(campaign: Campaign, mailer: Mailer) -> None:
    """Email the account's owner once per stop (services/feedback/notice_once.py)."""
    stop = _as_dict(campaign.stop)

    def send() -> bool:
        account = account_store.get(campaign.account_id)
        owner = user_store.get(campaign.account_id, account.owner_user_id) if account is not None else None
        if owner is None:
            logger.error("auto-stop notice has no owner to go to", extra={
                "account_id": campaign.account_id, "campaign_id": campaign.campaign_id})
            return False
        found = Breach(Rate(stop["rate"]), float(stop["value"]), float(stop["threshold"]))
        mailer.send(account_mail.campaign_stopped(owner.email, campaign.name, campaign.campaign_id, found.rate.value,
                                                  found.value, found.threshold, sample_of(campaign).judged))
        logger.info("auto-stop notice sent", extra={"account_id": campaign.account_id,
                                                    "campaign_id": campaign.campaign_id, "user_id": owner.user_id})
        return True

    notice_once.tell(Campaign.stop, stop.get("at"),
                     lambda actions, condition: store.change(campaign, actions, condition), send)


def _reason(found: Breach) -> str:
    return (f"Stopped automatically: its {account_mail.RATE_NAMES[found.rate.value]} is "
            f"{account_mail.percent(found.value)} ({account_mail.limit_phrase(found.rate.value, found.threshold)}). "
            "Clean the list, check where its addresses came from, then resume it.")


def _as_dict(value) -> dict:
    if value is None:
        return {}
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)

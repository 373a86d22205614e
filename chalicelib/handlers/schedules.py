"""Scheduled housekeeping: the backstops to DynamoDB's TTL, which may lag by up to 48 hours."""
from __future__ import annotations

from chalice import Cron, Rate

from chalicelib.handlers.http import Api
from chalicelib.log import logger

api = Api(__name__)


@api.blueprint.schedule(Rate(1, unit=Rate.MINUTES))
def start_due_campaigns(event) -> dict[str, int]:
    """Start scheduled campaigns whose time has come (the gate runs again; a refused one returns to draft)."""
    from chalicelib.services.campaigns import campaigns

    counts = campaigns.start_due()
    if any(counts.values()):
        logger.info("scheduled campaigns processed", extra=counts)
    return counts


@api.blueprint.schedule(Rate(15, unit=Rate.MINUTES))
def send_notice_digests(event) -> dict[str, int]:
    """Mail each list's owner the subscribes and unsubscribes since the last digest (R29), one email per list."""
    from chalicelib import ses
    from chalicelib.services.audience import notices

    counts = notices.send_digests(ses.mailer(), event.context.get_remaining_time_in_millis)
    if counts["lists"]:
        logger.info("notice digests processed", extra=counts)
    return counts


@api.blueprint.schedule(Rate(5, unit=Rate.MINUTES))
def publish_reputation(event) -> dict[str, float]:
    """Publish today's service-wide hard-bounce and complaint rates (ServiceHardBounceRate, ServiceComplaintRate,
    percent) and counts as metrics, for the alarms; and tell the owners of reputation holds not told yet."""
    from chalicelib import ses
    from chalicelib.services.feedback import reputation

    return reputation.watch(ses.mailer())


# --- retention (R8, R11, R13, R30): daily rules, hourly backstops; each resumes where it stopped ----------

def _remaining_ms(event):
    return event.context.get_remaining_time_in_millis


@api.blueprint.schedule(Cron(10, 2, "*", "*", "?", "*"))
def purge_closed_accounts(event) -> dict[str, object]:
    """Delete all the data of closed accounts past their grace period (R30)."""
    from chalicelib.services.retention import account_purge, rules

    return rules.report(account_purge.purge_closed_accounts(_remaining_ms(event)))


@api.blueprint.schedule(Cron(25, 2, "*", "*", "?", "*"))
def purge_inactive_accounts(event) -> dict[str, object]:
    """Warn, then purge, accounts nobody signed in to for 2 years (R30)."""
    from chalicelib import ses
    from chalicelib.services.retention import inactivity, rules

    return rules.report(inactivity.purge_inactive_accounts(_remaining_ms(event), ses.mailer()))


@api.blueprint.schedule(Cron(40, 2, "*", "*", "?", "*"))
def expire_credits(event) -> dict[str, object]:
    """Expire pay-as-you-go credits 12 months after the last purchase (R11)."""
    from chalicelib.services.retention import expiries, rules

    return rules.report(expiries.expire_credits(_remaining_ms(event)))


@api.blueprint.schedule(Cron(55, 2, "*", "*", "?", "*"))
def expire_trials(event) -> dict[str, object]:
    """End trials past 30 days: their waiting campaigns go back to draft (R8)."""
    from chalicelib.services.retention import expiries, rules

    return rules.report(expiries.expire_trials(_remaining_ms(event)))


@api.blueprint.schedule(Cron(10, 3, "*", "*", "?", "*"))
def purge_unconfirmed_subscribers(event) -> dict[str, object]:
    """Delete double opt-in members nobody confirmed within 30 days (R13)."""
    from chalicelib.services.retention import expiries, rules

    return rules.report(expiries.purge_unconfirmed_subscribers(_remaining_ms(event)))


@api.blueprint.schedule(Rate(1, unit=Rate.HOURS))
def purge_expired_items(event) -> dict[str, object]:
    """Delete tracking events, ledger items and other TTL'd items past their expiry (TTL may lag 48 hours)."""
    from chalicelib.services.retention import expiries, rules

    return rules.report(expiries.purge_expired_items(_remaining_ms(event)))


@api.blueprint.schedule(Rate(1, unit=Rate.HOURS))
def resume_retention(event) -> dict[str, object]:
    """Finish purges cut short and go on with daily passes that stopped before their end."""
    from chalicelib import ses
    from chalicelib.services.retention import catch_up, rules

    return rules.report(catch_up.resume_unfinished(_remaining_ms(event), ses.mailer()))

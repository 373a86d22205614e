"""Staff review of held campaigns (R8 trial, R21 content): list, approve, reject; each audited on the account (R4)."""
from __future__ import annotations

from collections.abc import Callable

from chalicelib import clock, errors
from chalicelib.log import logger
from chalicelib.models import campaigns as store
from chalicelib.models.base import Page
from chalicelib.models.campaigns import Campaign, CampaignStatus
from chalicelib.services.accounts import audit
from chalicelib.services.accounts.audit import Action, Actor, Origin, Result
from chalicelib.services.accounts.auth import Principal
from chalicelib.services.campaigns import campaigns
from chalicelib.services.feedback import reputation


def page(staff: Principal, limit: int, start: dict | None, origin: Origin) -> Page[Campaign]:
    """Campaigns waiting for staff, oldest request first; the read is audited on each account shown."""
    found = store.queue_page(campaigns.IN_REVIEW, limit, start)
    for account_id in dict.fromkeys(item.account_id for item in found.items):
        audit_staff(staff, account_id, origin, "list_reviews", Result.OK,
               {"campaign_ids": [c.campaign_id for c in found.items if c.account_id == account_id]})
    return found


def accounts_on_hold(staff: Principal, origin: Origin) -> list[dict]:
    """The accounts whose sending is on reputation hold, with their figures; the read is audited on each."""
    found = reputation.holds()
    for hold in found:
        audit_staff(staff, hold["account_id"], origin, "list_holds", Result.OK,
                    {"rate": hold.get("rate"), "value": hold.get("value"), "reported": hold.get("reported")})
    return found


def approve(staff: Principal, campaign_id: str, origin: Origin) -> Campaign:
    """Let a held campaign proceed: the gate runs again without the hold; it is reserved and sent or scheduled."""
    return _decide(staff, campaign_id, origin, "approve_campaign",
                   lambda campaign: campaigns.approve_held(campaign, clock.now()))


def reject(staff: Principal, campaign_id: str, reason: str, origin: Origin) -> Campaign:
    """Send a held campaign back to draft with the reason the customer will see."""
    reason = reason.strip()
    if not reason:
        raise errors.Invalid("reason must not be empty: the customer sees it.", code="invalid_field")

    def apply(campaign: Campaign) -> None:
        if not campaigns.back_to_draft(campaign, [CampaignStatus.IN_REVIEW], reason):
            raise errors.Conflict("The campaign is no longer waiting for review.", code="invalid_transition")

    return _decide(staff, campaign_id, origin, "reject_campaign", apply, {"reason": reason})


def _decide(staff: Principal, campaign_id: str, origin: Origin, operation: str,
            apply: Callable[[Campaign], None], details: dict | None = None) -> Campaign:
    campaign = store.find_in_queue(campaigns.IN_REVIEW, campaign_id)
    if campaign is None:
        raise errors.NotFound("campaign waiting for review")
    details = {"campaign_id": campaign_id, **(details or {})}
    try:
        apply(campaign)
    except errors.DomainError as exc:
        audit_staff(staff, campaign.account_id, origin, operation, Result.REFUSED, {**details, "code": exc.code})
        raise
    fresh = campaigns.get(campaign.account_id, campaign_id)
    audit_staff(staff, campaign.account_id, origin, operation, Result.OK, {**details, "status": fresh.status})
    logger.info("staff reviewed campaign", extra={"account_id": campaign.account_id, "campaign_id": campaign_id,
                                                  "staff_user_id": staff.user_id, "operation": operation})
    return fresh


def audit_staff(staff: Principal, account_id: str, origin: Origin, operation: str, result: Result,
           details: dict | None) -> None:
    """A staff member's read or decision, on the account's audit trail (R4)."""
    audit.record(account_id, Action.STAFF_ACCESS, origin, Actor(staff.user_id, staff.role),
                 result=result, operation=operation, details=details)

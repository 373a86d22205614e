"""Campaigns: compose (R19, R20), test, and send through the gate (R5, R8, R10, R11, R21, R34); pause, resume, cancel.

Starting a send is one conditional transaction that reserves the emails and moves the campaign to
sending, followed by one fanout message; the fan-out and sender (fanout.py, sender.py)
take it from there.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib import clock, errors, ids, queues
from chalicelib.log import logger
from chalicelib.models import campaigns as store
from chalicelib.models import deliveries
from chalicelib.models import lists as list_store
from chalicelib.models.accounts import Account
from chalicelib.models.base import Page, written
from chalicelib.models.campaigns import EDITABLE, Campaign, CampaignStatus
from chalicelib.models.lists import ContactList
from chalicelib.services import addresses
from chalicelib.services.accounts import accounts, allowance, auth, domains
from chalicelib.services.accounts.plans import Plan
from chalicelib.services.audience import segments, suppressions
from chalicelib.services.campaigns import gate, quota, test_copies
from chalicelib.services.campaigns.gate import Decision, Facts, Outcome

MAX_TEST_RECIPIENTS = 5
MAX_SCHEDULE_AHEAD = timedelta(days=365)
SCHEDULE_GRACE = timedelta(minutes=1)      # a scheduled_at this close to now (or just past) means now
SCHEDULED = "scheduled"                    # by_queue: waiting for its time
IN_REVIEW = "in_review"                    # by_queue: waiting for staff
CONTENT_FIELDS = ("list_id", "subject", "html", "text")
SENDER_FIELDS = ("from_email", "reply_to")
CANCELLABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.IN_REVIEW, CampaignStatus.SENDING,
               CampaignStatus.PAUSED, CampaignStatus.STOPPED)
RESUMABLE = (CampaignStatus.PAUSED, CampaignStatus.STOPPED)


class ComposedMailer(Protocol):
    """Sends one composed email (chalicelib.ses.CampaignMailer)."""

    def send(self, email: Any) -> str: ...


@dataclass
class CampaignInput:
    list_id: str
    name: str
    subject: str
    html: str
    text: str | None = None
    from_name: str | None = None
    from_email: str | None = None
    reply_to: str | None = None
    segment_id: str | None = None


@dataclass(frozen=True)
class Audience:
    """Who a send goes to: how many, and the segment's definition it copies (None: every subscribed member)."""

    recipients: int
    segment: segments.Definition | None = None


# --- compose -----------------------------------------------------------------------------------

def create(account_id: str, data: CampaignInput) -> Campaign:
    """Save a draft after compiling its content against the list's fields (422 template_error with the line)."""
    accounts.ensure_open(account_id)   # a closed account keeps its campaigns but makes no new ones (R33)
    values = _clean(vars(data).copy())
    contact_list = _list(account_id, values["list_id"])
    compiled = _compile(values, contact_list)
    if values.get("segment_id") is not None:
        segments.for_campaign(account_id, contact_list.list_id, values["segment_id"])
    now = clock.now()
    campaign = Campaign(account_id, ids.new_id("cmp"), status=CampaignStatus.DRAFT.value, links=list(compiled.links),
                        created_at=now, updated_at=now, **values)
    campaign.save(condition=Campaign.campaign_id.does_not_exist())
    logger.info("campaign created", extra={"account_id": account_id, "campaign_id": campaign.campaign_id})
    return campaign


def get(account_id: str, campaign_id: str) -> Campaign:
    """The account's campaign, or NotFound (another tenant's id included)."""
    campaign = store.get(account_id, campaign_id) if auth.plausible_id(campaign_id) else None
    if campaign is None:
        raise errors.NotFound("campaign")
    return campaign


def page(account_id: str, limit: int, start: dict | None) -> Page[Campaign]:
    """The account's campaigns, newest first."""
    return store.page(account_id, limit, start)


def update(account_id: str, campaign_id: str, changes: dict[str, Any]) -> Campaign:
    """Edit a draft or scheduled campaign; new content is compiled again and needs staff approval again."""
    campaign = get(account_id, campaign_id)
    _require(campaign, EDITABLE, "edited", "campaign_not_editable")
    changes = _clean(changes)
    for name in ("list_id", "name", "subject", "html"):
        if name in changes and changes[name] is None:
            raise errors.Invalid(f"{name} must not be empty.", code="invalid_field")
    values = {name: getattr(campaign, name) for name in ("list_id", "subject", "html", "text")}
    values.update({k: v for k, v in changes.items() if k in values})
    content_changed = any(name in changes for name in CONTENT_FIELDS)
    if content_changed:
        campaign.links = list(_compile(values, _list(account_id, values["list_id"])).links)
        campaign.approved_at = None
    segment_id = changes.get("segment_id", campaign.segment_id)
    if segment_id is not None and ("segment_id" in changes or "list_id" in changes):
        segments.for_campaign(account_id, values["list_id"], segment_id)
    for name, value in changes.items():
        setattr(campaign, name, value)
    campaign.updated_at = clock.now()
    if not written(lambda: campaign.save(condition=Campaign.status.is_in(*(s.value for s in EDITABLE)))):
        raise _not_now(get(account_id, campaign_id), "edited", EDITABLE, "campaign_not_editable")
    return campaign


def delete(account_id: str, campaign_id: str) -> None:
    """Delete a draft or scheduled campaign."""
    campaign = get(account_id, campaign_id)
    _require(campaign, EDITABLE, "deleted", "campaign_not_editable")
    if not store.remove_if(campaign, Campaign.status.is_in(*(s.value for s in EDITABLE))):
        raise _not_now(get(account_id, campaign_id), "deleted", EDITABLE, "campaign_not_editable")


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, str) and name not in ("html", "text"):
            value = value.strip() or None
        if name in ("html", "text") and isinstance(value, str) and not value.strip():
            value = None
        if name in SENDER_FIELDS and value is not None:
            value = addresses.normalise_sender(value, name)
        cleaned[name] = value
    for name in ("name", "subject", "html", "list_id"):
        if name in cleaned and cleaned[name] is None:
            raise errors.Invalid(f"{name} must not be empty.", code="invalid_field")
    return cleaned


def _list(account_id: str, list_id: str) -> ContactList:
    contact_list = list_store.get(account_id, list_id) if auth.plausible_id(list_id) else None
    if contact_list is None:
        raise errors.NotFound("list")
    return contact_list


def _compile(values: dict[str, Any], contact_list: ContactList):
    from chalicelib.rendering.campaign import compile_campaign

    return compile_campaign(values["subject"], values["html"], values.get("text"),
                            [field.key for field in contact_list.fields or []])


def sender_of(campaign: Campaign, contact_list: ContactList):
    """The list details a copy is composed with: the campaign's sender overrides, else the list's."""
    from chalicelib.rendering.compose import ListDetails

    return ListDetails(
        list_id=contact_list.list_id, name=contact_list.name,
        from_name=campaign.from_name or contact_list.from_name,
        from_email=campaign.from_email or contact_list.from_email,
        company_address=contact_list.company_address,
        reply_to=campaign.reply_to or contact_list.reply_to,
    )


# --- test copies -------------------------------------------------------------------------------

def send_test(account_id: str, campaign_id: str, emails: Iterable[str], mailer: ComposedMailer) -> int:
    """Send "[Test]" copies to up to five addresses from the campaign's own sender; the number sent.

    Held to what a send is held to (test_copies): the account's state, approval, the content screen unless staff
    approved the campaign, the plan's allowance, and a daily limit.
    """
    from chalicelib.rendering.compose import SendContext, compose_test

    recipients = list(dict.fromkeys(addresses.normalise(raw) for raw in emails))
    if not 1 <= len(recipients) <= MAX_TEST_RECIPIENTS:
        raise errors.Invalid(f"Give 1 to {MAX_TEST_RECIPIENTS} addresses to send test copies to.",
                             code="invalid_test_recipients")
    campaign = get(account_id, campaign_id)
    account = accounts.get(account_id)
    refusal = gate.account_refusal(account.status, allow_pending=True, hold=gate.hold_of(account))
    if refusal is not None:
        raise refusal_error(refusal)
    test_copies.check_recipients(account, recipients)
    contact_list = _list_of(campaign)
    details = sender_of(campaign, contact_list)
    _require_verified(account_id, details.from_email)
    for address in recipients:
        if suppressions.find(account_id, address) is not None:
            raise errors.Invalid("One of the addresses is on the account's suppression list; test copies are not "
                                 "sent to it.", code="suppressed_address")
    compiled = _compile({"subject": campaign.subject, "html": campaign.html, "text": campaign.text}, contact_list)
    if campaign.approved_at is None:
        test_copies.check_content(_screen(campaign, details.from_email))
    context = SendContext(account_id, campaign_id, details, pro=bool(account.pro))
    charge = test_copies.take(account, len(recipients), clock.now())
    handed = 0
    try:
        for address in recipients:
            copy = compose_test(compiled, address, context)
            handed += 1   # from here SES may have it: it stays counted, as a send's uncertain emails do (R11)
            mailer.send(copy)
    finally:
        test_copies.give_back(account, charge, len(recipients) - handed)
    logger.info("campaign test copies sent",
                extra={"account_id": account_id, "campaign_id": campaign_id, "count": len(recipients)})
    return len(recipients)


# --- send: the gate, the reservation, the start ------------------------------------------------

def send(account_id: str, campaign_id: str, scheduled_at: datetime | None = None) -> Campaign:
    """Send now or at `scheduled_at`: refused (422 with the reason), held for review, scheduled or started."""
    now = clock.now()
    when = _schedule_time(scheduled_at, now)
    campaign = get(account_id, campaign_id)
    _require(campaign, EDITABLE, "sent", "campaign_not_sendable")
    account = accounts.get(account_id)
    _proceed(campaign, account, EDITABLE, now, when, approved=False)
    return get(account_id, campaign_id)


def parse_time(raw: str | None) -> datetime | None:
    """An ISO 8601 time from a request (with its zone), or Invalid (422)."""
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.strip())
    except ValueError:
        raise errors.Invalid("scheduled_at must be an ISO 8601 time such as 2030-01-31T09:00:00Z.",
                             code="invalid_schedule") from None


def _schedule_time(scheduled_at: datetime | None, now: datetime) -> datetime | None:
    if scheduled_at is None:
        return None
    if scheduled_at.tzinfo is None:
        raise errors.Invalid("scheduled_at must name its time zone (for example 2030-01-31T09:00:00Z).",
                             code="invalid_schedule")
    if scheduled_at < now - SCHEDULE_GRACE:
        raise errors.Invalid("scheduled_at is in the past.", code="invalid_schedule")
    if scheduled_at > now + MAX_SCHEDULE_AHEAD:
        raise errors.Invalid("scheduled_at may be at most a year ahead.", code="invalid_schedule")
    return scheduled_at if scheduled_at > now + SCHEDULE_GRACE else None


def decide(campaign: Campaign, account: Account, now: datetime, approved: bool) -> tuple[Decision, Audience]:
    """The gate's decision for the campaign now, and the audience it counted."""
    contact_list = _list_of(campaign)
    details = sender_of(campaign, contact_list)
    audience = audience_of(campaign, now)
    matches = _screen(campaign, details.from_email)
    facts = Facts(
        account_status=account.status, plan=account.plan, now=now, recipients=audience.recipients,
        used=allowance.used(account, now), trial_ends_at=account.trial_ends_at,
        trial_limit_passed_at=account.trial_limit_passed_at,
        subscriber_level=int(account.subscriber_level) if account.subscriber_level is not None else None,
        subscriber_count=int(account.subscriber_count or 0), credits=int(account.credits or 0),
        credits_purchased_at=account.credits_purchased_at, from_domain=domains.domain_of(details.from_email),
        domain_verified=domains.verified_for(campaign.account_id, details.from_email),
        matches=tuple(matches), approved=approved, segment=audience.segment is not None,
        hold=gate.hold_of(account),
    )
    return gate.decide(facts), audience


def _screen(campaign: Campaign, from_email: str):
    """What the prohibited-content screen (R21) matches in the campaign."""
    from chalicelib.services.campaigns.screening import screen

    return screen(campaign.subject, campaign.html, campaign.text, campaign.links or [], domains.service_domains(),
                  from_email=from_email)


def audience_of(campaign: Campaign, now: datetime) -> Audience:
    """The campaign's recipients now: the list's subscribed members, or those of them in its segment."""
    if campaign.segment_id is None:
        return Audience(store.subscribed_count(campaign.account_id, campaign.list_id))
    try:
        segment = segments.for_campaign(campaign.account_id, campaign.list_id, campaign.segment_id)
    except errors.NotFound:
        raise errors.Invalid("The campaign's segment was deleted; choose another segment, or set segment_id to "
                             "null to send to the whole list.", code="segment_deleted") from None
    definition = segment.definition
    return Audience(segments.subscribed_matching(campaign.account_id, campaign.list_id, definition, now), definition)


def _proceed(campaign: Campaign, account: Account, sources: Iterable[CampaignStatus], now: datetime,
             when: datetime | None, approved: bool) -> None:
    sources = list(sources)
    decision, audience = decide(campaign, account, now, approved)
    if decision.outcome is Outcome.REFUSE:
        raise refusal_error(decision)
    if decision.outcome is Outcome.HOLD:
        _hold(campaign, decision, sources, now, when)
        return
    approval = [Campaign.approved_at.set(now), Campaign.review.remove()] if approved else []
    if when is not None:
        _move(campaign, sources, CampaignStatus.SCHEDULED, [
            Campaign.scheduled_at.set(when), Campaign.queue.set(SCHEDULED), Campaign.due_at.set(clock.iso(when)),
            Campaign.status_reason.remove(), *approval])
        return
    _start(campaign, account, audience, sources, now, approval)


def refusal_error(decision: Decision) -> errors.Invalid:
    return errors.Invalid(decision.message or "The campaign cannot be sent.", code=decision.code)


def _hold(campaign: Campaign, decision: Decision, sources: list[CampaignStatus], now: datetime,
          when: datetime | None) -> None:
    review = {
        "reasons": [reason.value for reason in decision.holds],
        "matches": [{"term": m.term, "category": m.category, "where": m.where} for m in decision.matches],
        "requested_at": clock.iso(now),
    }
    _move(campaign, sources, CampaignStatus.IN_REVIEW, [
        Campaign.review.set(review), Campaign.queue.set(IN_REVIEW), Campaign.due_at.set(clock.iso(now)),
        Campaign.status_reason.remove(),
        Campaign.scheduled_at.set(when) if when is not None else Campaign.scheduled_at.remove()])
    logger.info("campaign held for review", extra={"account_id": campaign.account_id,
                                                   "campaign_id": campaign.campaign_id, "reasons": review["reasons"]})


def _start(campaign: Campaign, account: Account, audience: Audience, sources: list[CampaignStatus], now: datetime,
           extra_actions: list) -> None:
    # The segment as it is now goes with the send: a later edit or delete of it changes nothing under way.
    copied = [Campaign.segment.set(audience.segment.to_json())] if audience.segment is not None else []
    if not quota.reserve_and_start(campaign, account, audience.recipients, sources, [*extra_actions, *copied], now):
        raise _why_not_started(campaign, sources, now)
    try:
        queues.enqueue("fanout", {"account_id": campaign.account_id, "campaign_id": campaign.campaign_id,
                                  "generation": int(campaign.generation or 0)})
    except errors.UpstreamError:
        quota.undo_start(campaign, "The send could not be queued; nothing was sent. Send it again.")
        raise


def _why_not_started(campaign: Campaign, sources: list[CampaignStatus], now: datetime) -> errors.DomainError:
    """The transaction was refused: someone moved the campaign, or another send took the allowance first."""
    fresh = get(campaign.account_id, campaign.campaign_id)
    if CampaignStatus(fresh.status) not in sources:
        return _not_now(fresh, "sent", sources, "campaign_not_sendable")
    decision, _ = decide(fresh, accounts.get(campaign.account_id), now, approved=True)
    if decision.outcome is Outcome.REFUSE:
        return refusal_error(decision)
    return errors.Conflict("The account's allowance changed while the campaign was starting; try again.",
                           code="allowance_changed")


def _move(campaign: Campaign, sources: list[CampaignStatus], target: CampaignStatus, actions: list) -> None:
    done = store.change(campaign, [Campaign.status.set(target.value), Campaign.updated_at.set(clock.now()), *actions],
                        Campaign.status.is_in(*(s.value for s in sources)))
    if not done:
        raise _not_now(get(campaign.account_id, campaign.campaign_id), "moved", sources, "invalid_transition")


def back_to_draft(campaign: Campaign, sources: list[CampaignStatus], reason: str) -> bool:
    """Return a scheduled or held campaign to draft with the reason; False if it had moved on."""
    return store.change(campaign, [
        Campaign.status.set(CampaignStatus.DRAFT.value), Campaign.status_reason.set(reason),
        Campaign.queue.remove(), Campaign.due_at.remove(), Campaign.review.remove(),
        Campaign.updated_at.set(clock.now())], Campaign.status.is_in(*(s.value for s in sources)))


def approve_held(campaign: Campaign, now: datetime) -> None:
    """Let a held campaign proceed (staff approved it): the gate runs again without the review hold."""
    account = accounts.get(campaign.account_id)
    when = campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > now + SCHEDULE_GRACE else None
    try:
        _proceed(campaign, account, [CampaignStatus.IN_REVIEW], now, when, approved=True)
    except errors.Invalid as exc:
        back_to_draft(campaign, [CampaignStatus.IN_REVIEW], exc.message)
        raise


def start_due(now: datetime | None = None) -> dict[str, int]:
    """Start every scheduled campaign whose time has come, through the gate; a refused one goes back to draft."""
    now = now or clock.now()
    counts = {"started": 0, "held": 0, "refused": 0, "failed": 0}
    for campaign in store.due(SCHEDULED, clock.iso(now)):
        if campaign.status != CampaignStatus.SCHEDULED.value:
            continue
        try:
            account = accounts.get(campaign.account_id)
            _proceed(campaign, account, [CampaignStatus.SCHEDULED], now, None,
                     approved=campaign.approved_at is not None)
        except errors.Invalid as exc:
            back_to_draft(campaign, [CampaignStatus.SCHEDULED], exc.message)
            counts["refused"] += 1
            continue
        except errors.DomainError:
            logger.exception("scheduled campaign not started", extra={
                "account_id": campaign.account_id, "campaign_id": campaign.campaign_id})
            counts["failed"] += 1
            continue
        fresh = store.get(campaign.account_id, campaign.campaign_id)
        counts["held" if fresh and fresh.status == CampaignStatus.IN_REVIEW.value else "started"] += 1
    return counts


# --- pause, resume, cancel ---------------------------------------------------------------------

def pause(account_id: str, campaign_id: str) -> Campaign:
    """Stop a sending campaign after the chunk in flight; resume continues where it stopped."""
    campaign = get(account_id, campaign_id)
    _move(campaign, [CampaignStatus.SENDING], CampaignStatus.PAUSED, [])
    return get(account_id, campaign_id)


def resume(account_id: str, campaign_id: str) -> Campaign:
    """Continue a paused or auto-stopped campaign: a new fan-out pass that skips whoever was already sent."""
    campaign = get(account_id, campaign_id)
    _require(campaign, RESUMABLE, "resumed", "invalid_transition")
    account = accounts.get(account_id)
    refusal = gate.account_refusal(account.status, hold=gate.hold_of(account))
    if refusal is None and account.plan == Plan.TRIAL.value and (
            account.trial_ends_at is None or account.trial_ends_at <= clock.now()):
        refusal = gate.trial_expired(account.trial_limit_passed_at)   # R8: paused before its end, paused after
    if refusal is not None:
        raise refusal_error(refusal)
    generation = int(campaign.generation or 0) + 1
    # After an auto-stop, rates count again from here (R22): the bounces that stopped it are not held against it.
    stopped = campaign.status == CampaignStatus.STOPPED.value
    baseline = store.baseline_actions(deliveries.tallies(account_id, campaign_id)) if stopped else []
    _move(campaign, [CampaignStatus.STOPPED] if stopped else list(RESUMABLE), CampaignStatus.SENDING,
          [Campaign.generation.add(1), Campaign.status_reason.remove(), Campaign.paused_reason.remove(), *baseline])
    try:
        queues.enqueue("fanout", {"account_id": account_id, "campaign_id": campaign_id, "generation": generation})
    except errors.UpstreamError:
        store.change(campaign, [Campaign.status.set(campaign.status), Campaign.updated_at.set(clock.now())],
                     (Campaign.status == CampaignStatus.SENDING.value) & (Campaign.generation == generation))
        raise
    return get(account_id, campaign_id)


def cancel(account_id: str, campaign_id: str) -> Campaign:
    """Cancel a campaign that has not finished; what it reserved and did not send is given back."""
    campaign = get(account_id, campaign_id)
    _move(campaign, list(CANCELLABLE), CampaignStatus.CANCELLED, [
        Campaign.finished_at.set(clock.now()), Campaign.queue.remove(), Campaign.due_at.remove()])
    quota.release_unsent(campaign)
    return get(account_id, campaign_id)


# --- helpers -----------------------------------------------------------------------------------

def _list_of(campaign: Campaign) -> ContactList:
    contact_list = list_store.get(campaign.account_id, campaign.list_id)
    if contact_list is None:
        raise errors.Invalid("The campaign's list was deleted; choose another list.", code="list_deleted")
    return contact_list


def _require_verified(account_id: str, from_email: str) -> None:
    if not domains.verified_for(account_id, from_email):
        raise refusal_error(gate.domain_refusal(domains.domain_of(from_email)))


def _require(campaign: Campaign, allowed: Iterable[CampaignStatus], verb: str, code: str) -> None:
    allowed = list(allowed)
    if CampaignStatus(campaign.status) not in allowed:
        raise _not_now(campaign, verb, allowed, code)


def _not_now(campaign: Campaign, verb: str, allowed: Iterable[CampaignStatus], code: str) -> errors.Conflict:
    names = " or ".join(s.value for s in allowed)
    return errors.Conflict(f"A campaign that is {campaign.status} cannot be {verb}; only one that is {names}.",
                           code=code)

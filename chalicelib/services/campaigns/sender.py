"""The sender: one chunk of a campaign's recipients, rendered and sent through SES, each at most once.

Every (campaign, subscriber) is claimed in the delivery ledger with a conditional write before SES is
called and marked sent after, so a redelivered chunk, a crashed sender or a dead-letter redrive (new
SQS message ids) never sends an email twice: the keys are business keys. When SES certainly did not
take an email (throttled past the chunk's time budget, or an error answer of its own) the claim is
given back and the chunk fails, so SQS delivers it again. A claim left behind by a sender that died
between claim and SES's answer is never sent again: we cannot know whether SES took it, and a second
copy is worse than a missing one (at most once). The same holds when SES's answer leaves it unknown (a
connection broken or timed out after the request went, a server error): the SES client never repeats a
send by itself (chalicelib/ses.py), and such emails are counted `uncertain`, not sent.

A chunk's counts land once, with its chunk marker, in one transaction; the campaign becomes sent when
its fan-out is done and every chunk of the current generation is.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any, Protocol, TypeGuard

from chalicelib import clock, errors, outbound, ses
from chalicelib.log import count, logger
from chalicelib.models import accounts, deliveries, lists, subscribers, suppressions
from chalicelib.models import campaigns as campaign_store
from chalicelib.models.campaigns import SUSPENDED_SENTENCE, Campaign, CampaignStatus, PauseReason
from chalicelib.models.deliveries import ChunkOutcome, DeliveryState
from chalicelib.models.subscribers import SubscriberStatus
from chalicelib.rendering.campaign import compile_campaign
from chalicelib.rendering.compose import ComposedEmail, ListDetails, Recipient, SendContext, compose
from chalicelib.services.accounts.plans import AccountStatus
from chalicelib.services.campaigns.progress import CHUNK_SIZE, complete_if_done
from chalicelib.services.feedback import autostop, reputation

SAFETY_MARGIN_S = 5.0    # stop this long before the invocation's end, so the claim is given back in time
MAX_CHUNK_S = 120.0      # never longer than this on one chunk, whatever time the invocation has
FEEDBACK_WAIT_S = 30.0   # reports on earlier emails that stop coming this long are not waited for (R22)
FEEDBACK_POLL_S = 0.5
SEND_WORKERS = 8         # recipients of a chunk in flight at once (SES and DynamoDB calls wait on the network)


class Mailer(Protocol):
    """Sends one composed email; returns SES's message id. Raises ses.SendThrottled, ses.SendRefused or
    ses.SendUnavailable for SES's answers; anything else means SES may or may not have taken it."""

    def send(self, composed: ComposedEmail) -> str: ...


@dataclass
class Pacing:
    """How throttled sends back off: exponential with jitter, capped; clock and sleep injectable."""

    base_delay_s: float = 0.1
    max_delay_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        """The pause before retry number `attempt` (1, 2, …): full-ish jitter on a capped exponential."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return ceiling * (0.5 + self.jitter() / 2)


class ChunkNotFinished(Exception):
    """Some recipients of the chunk could not be sent now; the chunk must be delivered again (SQS will)."""


@dataclass(frozen=True)
class Chunk:
    """One send message: up to 50 subscriber ids of one campaign generation."""

    account_id: str
    campaign_id: str
    generation: int
    chunk_id: str
    subscriber_ids: tuple[str, ...]

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Chunk:
        """Read a send message; a malformed one raises errors.Malformed (it will end in the dead-letter queue)."""
        try:
            ids = body["subscriber_ids"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise TypeError("subscriber_ids")
            return cls(str(body["account_id"]), str(body["campaign_id"]), int(body["generation"]),
                       str(body["chunk"]), tuple(ids))
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.Malformed("The send message lacks its campaign, generation, chunk or subscriber ids.") from exc


class ChunkOutcomeKind(str, Enum):
    SENT = "sent"             # the chunk was worked through and counted
    ALREADY_DONE = "already"  # its marker says an earlier delivery finished it
    DROPPED = "dropped"       # the campaign is not sending this generation: resume will fan out again


@dataclass
class ChunkReport:
    outcome: ChunkOutcomeKind
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    completed: bool = False     # this chunk was the campaign's last: it is now sent
    throttled: int = 0
    uncertain: int = 0          # SES may or may not have taken them; never sent again


def send_chunk(chunk: Chunk, mailer: Mailer, remaining_ms: Callable[[], int],
               pacing: Pacing | None = None, workers: int | None = None,
               notices: outbound.Mailer | None = None) -> ChunkReport:
    """Send one chunk: each still-subscribed, unsuppressed recipient at most once; raises ChunkNotFinished
    when some must be tried again later. A campaign whose rates break R22 is stopped (its owner told
    through `notices`) instead."""
    pacing = pacing or Pacing()
    started, left_s = pacing.monotonic(), remaining_ms() / 1000
    deadline = started + min(MAX_CHUNK_S, left_s - SAFETY_MARGIN_S)
    key = deliveries.campaign_key(chunk.account_id, chunk.campaign_id)
    campaign = deliveries.read_counted(chunk.account_id, chunk.campaign_id)
    if _is_current(campaign, chunk.generation):
        campaign = _await_feedback(campaign, chunk, pacing, deadline)
    # After the wait: the reports it waited for may have put the account on hold
    account = accounts.read_now(chunk.account_id)
    if _is_current(campaign, chunk.generation) and _account_halts(campaign, account):
        campaign = None   # paused for its account: not current any more
    if not _is_current(campaign, chunk.generation) or autostop.judge(campaign, notices or ses.mailer()):
        _count_dropped(chunk, key)
        return ChunkReport(ChunkOutcomeKind.DROPPED)
    if deliveries.chunk_done(key, chunk.chunk_id):
        return ChunkReport(ChunkOutcomeKind.ALREADY_DONE)

    mailing_list = lists.get(chunk.account_id, campaign.list_id)
    if mailing_list is None or account is None:
        raise errors.NotFound("list")   # a sending campaign's list cannot go; fail loudly, never drop silently
    compiled = compile_campaign(campaign.subject, campaign.html, campaign.text,
                                [f.key for f in mailing_list.fields or []])
    context = SendContext(chunk.account_id, chunk.campaign_id, _details(campaign, mailing_list),
                          pro=bool(account.pro))
    members = subscribers.many(chunk.account_id, campaign.list_id, list(chunk.subscriber_ids))
    blocked = suppressions.suppressed_among(chunk.account_id, [m.email_key for m in members.values()])

    eligible = []
    skipped = 0
    for subscriber_id in chunk.subscriber_ids:
        member = members.get(subscriber_id)
        if member is None or member.status != SubscriberStatus.SUBSCRIBED.value or member.email_key in blocked:
            skipped += 1
        else:
            eligible.append(member)
    run = _Run(chunk, key, compiled, context, mailer, pacing, deadline, started + left_s - ses.SEND_CALL_MAX_S)
    run.report.skipped = skipped
    run.send_all(eligible, workers or SEND_WORKERS)
    report, already = run.report, run.already
    _count_earlier_attempts(chunk, key, already, report)
    outcome = deliveries.finish_chunk(chunk.account_id, chunk.campaign_id, chunk.chunk_id, chunk.generation,
                                      report.sent, report.failed, report.skipped, report.uncertain)
    logger.info("chunk sent", extra={
        "account_id": chunk.account_id, "campaign_id": chunk.campaign_id, "chunk": chunk.chunk_id,
        "sent": report.sent, "failed": report.failed, "skipped": report.skipped, "throttled": report.throttled,
        "uncertain": report.uncertain, "outcome": outcome.value})
    count("sender", sent=report.sent, throttled=report.throttled, refused=report.failed, uncertain=report.uncertain)
    if outcome is ChunkOutcome.COUNTED:
        report.completed = complete_if_done(chunk.account_id, chunk.campaign_id, chunk.generation)
    return report


def _account_halts(campaign: Campaign, account) -> bool:
    """Pause the campaign if its account may not send now: suspended by staff (R34), or on reputation hold
    (services/feedback/reputation.py); True if it is paused. Checked before every chunk, so a suspension or a
    hold stops a send within one chunk."""
    if account is not None and account.status == AccountStatus.SUSPENDED.value:
        reason, why = PauseReason.ACCOUNT_SUSPENDED, SUSPENDED_SENTENCE
    elif account is not None and account.reputation_hold is not None:
        reason, why = PauseReason.REPUTATION_HOLD, reputation.paused_sentence(account.reputation_hold)
    else:
        return False
    if campaign_store.pause_sending(campaign, reason, why):
        logger.warning("campaign paused for its account", extra={
            "account_id": campaign.account_id, "campaign_id": campaign.campaign_id, "reason": reason.value})
    return True


def _await_feedback(campaign: Campaign | None, chunk: Chunk, pacing: Pacing, deadline: float) -> Campaign | None:
    """Wait until SES has reported on all but about a chunk of the campaign's emails, so that the auto-stop
    rates (R22) are known before more leave: a sender that outran its feedback would mail a whole list
    before a bounce rate could stop it. Only while feedback is flowing, or may yet be (_outrunning). Reports
    that keep coming, however slowly (a busy feedback queue), are waited for, up to half the chunk's time;
    reports that stop coming for FEEDBACK_WAIT_S are not: mail held up at the receiver must not stall the
    campaign."""
    now = pacing.monotonic()
    budget_ends = now + max(0.0, (deadline - now) / 2)
    stalls_at = now + FEEDBACK_WAIT_S
    settled = autostop.sample_of(campaign).settled if campaign is not None else 0
    while campaign is not None and _is_current(campaign, chunk.generation) and _outrunning(campaign):
        if pacing.monotonic() >= min(stalls_at, budget_ends):
            logger.info("feedback lags; sending on", extra={"account_id": chunk.account_id,
                                                            "campaign_id": chunk.campaign_id, "chunk": chunk.chunk_id})
            break
        pacing.sleep(FEEDBACK_POLL_S)
        campaign = deliveries.read_counted(chunk.account_id, chunk.campaign_id)
        if campaign is not None and autostop.sample_of(campaign).settled > settled:
            settled = autostop.sample_of(campaign).settled
            stalls_at = pacing.monotonic() + FEEDBACK_WAIT_S
    return campaign


def _outrunning(campaign: Campaign) -> bool:
    """True when more of the campaign's emails await SES's report than a chunk; once the rates are being
    judged, 2% of those sent more may (a few receivers always take their time). While SES has reported on
    none, only in the campaign's first FEEDBACK_WAIT_S: the first reports may still be on their way (a busy
    feedback queue), but with none after that, feedback is not flowing and there is nothing to wait for."""
    sample = autostop.sample_of(campaign)
    if sample.settled == 0 and not _just_started(campaign):
        return False
    slack = sample.sent // 50 if sample.settled >= autostop.MIN_SENT else 0
    return sample.sent - sample.settled > CHUNK_SIZE + slack


def _just_started(campaign: Campaign) -> bool:
    started = campaign.started_at
    return started is not None and clock.now() - started < timedelta(seconds=FEEDBACK_WAIT_S)


class _Run:
    """One delivery of a chunk: recipients worked by a few threads (SES and DynamoDB calls are I/O), each
    outcome written onto its claim as soon as SES answers."""

    def __init__(self, chunk: Chunk, key: str, compiled, context: SendContext, mailer: Mailer, pacing: Pacing,
                 deadline: float, last_send_at: float):
        self.chunk, self.key, self.compiled, self.context = chunk, key, compiled, context
        self.mailer, self.pacing, self.deadline = mailer, pacing, deadline
        self.last_send_at = last_send_at   # a send started later might outlive the invocation
        self.report = ChunkReport(ChunkOutcomeKind.SENT)
        self.already: list[str] = []
        self.problems: list[BaseException] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def send_all(self, members: list, workers: int) -> None:
        """Send to every member (stopping early once one fails); raises the first failure after recording."""
        if workers <= 1 or len(members) <= 1:
            for member in members:
                self.one(member)
        else:
            with ThreadPoolExecutor(max_workers=min(workers, len(members))) as pool:
                list(pool.map(self.one, members))
        if self.problems:
            raise self.problems[0]

    def one(self, member) -> None:
        if self.stop.is_set():
            return
        try:
            self._send(member)
        except BaseException as exc:  # noqa: BLE001 - re-raised by send_all once the others are recorded
            with self.lock:
                self.problems.append(exc)
            self.stop.set()

    def _note(self, subscriber_id: str, state: DeliveryState, message_id: str | None = None) -> None:
        deliveries.record(self.key, subscriber_id, state, message_id)
        with self.lock:
            if state is DeliveryState.SENT:
                self.report.sent += 1
            elif state is DeliveryState.UNCERTAIN:
                self.report.uncertain += 1
            else:
                self.report.failed += 1

    def _send(self, member) -> None:
        chunk, subscriber_id = self.chunk, member.subscriber_id
        try:
            composed = compose(self.compiled, Recipient(subscriber_id, member.email, _fields(member)), self.context)
        except (errors.DomainError, ValueError) as exc:
            logger.warning("a recipient's email could not be composed", extra={
                "account_id": chunk.account_id, "campaign_id": chunk.campaign_id, "subscriber_id": subscriber_id,
                "error": type(exc).__name__})
            if deliveries.claim(self.key, subscriber_id, chunk.chunk_id):
                self._note(subscriber_id, DeliveryState.FAILED)
            return
        if self.pacing.monotonic() > self.last_send_at:
            raise ChunkNotFinished(f"Chunk {chunk.chunk_id} ran out of time; it will be delivered again.")
        if not deliveries.claim(self.key, subscriber_id, chunk.chunk_id):
            with self.lock:
                self.already.append(subscriber_id)
            return
        attempt = 0
        while True:
            try:
                message_id = self.mailer.send(composed)
            except ses.SendThrottled as exc:
                attempt += 1
                with self.lock:
                    self.report.throttled += 1
                pause = self.pacing.delay(attempt)
                if self.pacing.monotonic() + pause > min(self.deadline, self.last_send_at) or self.stop.is_set():
                    deliveries.release(self.key, subscriber_id)
                    raise ChunkNotFinished(f"SES kept throttling chunk {chunk.chunk_id}; it will be delivered "
                                           "again.") from exc
                self.pacing.sleep(pause)
                continue
            except ses.SendUnavailable as exc:
                deliveries.release(self.key, subscriber_id)
                raise ChunkNotFinished(f"SES was unavailable for chunk {chunk.chunk_id}; it will be delivered "
                                       "again.") from exc
            except ses.SendRefused:
                self._note(subscriber_id, DeliveryState.FAILED)
                return
            except ses.SendUncertain as exc:
                logger.warning("ses may or may not have taken an email; it is not sent again", extra={
                    "account_id": chunk.account_id, "campaign_id": chunk.campaign_id,
                    "subscriber_id": subscriber_id, "error_code": str(exc)})
                self._note(subscriber_id, DeliveryState.UNCERTAIN)
                return
            self._note(subscriber_id, DeliveryState.SENT, message_id)
            return


def _count_earlier_attempts(chunk: Chunk, key: str, already: list[str], report: ChunkReport) -> None:
    """Recipients an earlier delivery of this same chunk handled count here (its counts never landed);
    those another chunk handled were counted by that chunk."""
    if not already:
        return
    for item in deliveries.many(key, already).values():
        if item.chunk != chunk.chunk_id:
            continue
        if item.state == DeliveryState.FAILED.value:
            report.failed += 1
        elif item.state == DeliveryState.SENT.value:
            report.sent += 1
        else:   # uncertain, or claimed by a sender that died waiting for SES: SES may or may not have taken it
            report.uncertain += 1


def _count_dropped(chunk: Chunk, key: str) -> None:
    """A dropped chunk that an earlier delivery half sent still adds what it sent to the campaign's counts."""
    handled = [item for item in deliveries.many(key, chunk.subscriber_ids).values() if item.chunk == chunk.chunk_id]
    if not handled or deliveries.chunk_done(key, chunk.chunk_id):
        return
    states = [item.state for item in handled]
    sent, failed = states.count(DeliveryState.SENT.value), states.count(DeliveryState.FAILED.value)
    deliveries.finish_chunk(chunk.account_id, chunk.campaign_id, chunk.chunk_id, None, sent, failed, 0,
                            len(states) - sent - failed)


def _fields(member) -> dict[str, Any]:
    fields = member.fields
    return fields.as_dict() if hasattr(fields, "as_dict") else dict(fields or {})


def _is_current(campaign: Campaign | None, generation: int) -> TypeGuard[Campaign]:
    return (campaign is not None and campaign.status == CampaignStatus.SENDING.value
            and int(campaign.generation or 0) == generation)


def _details(campaign: Campaign, mailing_list) -> ListDetails:
    return ListDetails(
        list_id=mailing_list.list_id, name=mailing_list.name,
        from_name=campaign.from_name or mailing_list.from_name,
        from_email=campaign.from_email or mailing_list.from_email,
        company_address=mailing_list.company_address,
        reply_to=campaign.reply_to or mailing_list.reply_to,
    )

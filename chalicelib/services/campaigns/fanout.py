"""Fan-out: page through a sending campaign's list and cut its recipients into chunks for the sender.

Pages come from the list's subscribed members (the by_status index) with a cursor saved on the campaign,
so a fan-out that runs out of time, crashes or is delivered twice carries on where the last saved page
ended. Chunk ids are (generation, page, n): a page fanned out again makes the same chunks, and the
sender's chunk markers and ledger make a duplicate chunk harmless. Messages carry ids only. A campaign
sent to a segment keeps, of each page, only the members its copy of the segment selects (no extra read).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from chalicelib import errors
from chalicelib.log import logger
from chalicelib.models import deliveries, subscribers, suppressions
from chalicelib.models.campaigns import Campaign, CampaignStatus
from chalicelib.models.subscribers import SubscriberStatus
from chalicelib.services.audience import segments
from chalicelib.services.campaigns.progress import CHUNK_SIZE, complete_if_done

PAGE_SIZE = 500
MIN_REMAINING_MS = 15_000   # less than this left in the invocation: hand the rest to a fresh one


class Queue(Protocol):
    """Where fan-out puts work: chalicelib.queues satisfies it."""

    def enqueue(self, logical: str, body: dict[str, Any], delay_seconds: int = 0) -> None: ...

    def enqueue_many(self, logical: str, bodies: list[tuple[str, dict[str, Any]]]) -> None: ...


@dataclass(frozen=True)
class FanoutJob:
    """One fan-out message: which campaign, which generation of its sending."""

    account_id: str
    campaign_id: str
    generation: int

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> FanoutJob:
        """Read a fanout message; a malformed one raises errors.Malformed (it will end in the dead-letter queue)."""
        try:
            return cls(str(body["account_id"]), str(body["campaign_id"]), int(body.get("generation", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.Malformed("The fanout message lacks account_id, campaign_id or generation.") from exc

    def as_body(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "campaign_id": self.campaign_id, "generation": self.generation}


class FanoutResult(str, Enum):
    DONE = "done"               # every page is out
    CONTINUED = "continued"     # time ran short: a fresh fanout message carries on from the saved cursor
    DROPPED = "dropped"         # the campaign is no longer sending this generation (paused, cancelled, resumed)
    DUPLICATE = "duplicate"     # another fan-out of the same generation saved the page first


def chunk_body(job: FanoutJob, chunk_id: str, subscriber_ids: list[str]) -> dict[str, Any]:
    """A send message: ids only, never addresses."""
    return {"account_id": job.account_id, "campaign_id": job.campaign_id, "generation": job.generation,
            "chunk": chunk_id, "subscriber_ids": subscriber_ids}


def fan_out(job: FanoutJob, queue: Queue, remaining_ms: Callable[[], int]) -> FanoutResult:
    """Fan out pages of the campaign's recipients until done or short of time."""
    campaign = _current(job)
    if campaign is None:
        return FanoutResult.DROPPED
    if campaign.fanout_generation != job.generation:
        deliveries.start_fanout(job.account_id, job.campaign_id, job.generation)
        campaign = _current(job)
        if campaign is None or campaign.fanout_generation != job.generation:
            return FanoutResult.DROPPED
    # The segment copied when the send started, judged as of that moment, so a page fanned out again (or after
    # a resume) selects the same members.
    segment = segments.Definition.from_json(campaign.segment) if campaign.segment else None
    while not campaign.fanout_done:
        page = int(campaign.fanout_page or 0)
        cursor = json.loads(campaign.fanout_cursor) if campaign.fanout_cursor else None
        members = subscribers.page_by_status(job.account_id, campaign.list_id, SubscriberStatus.SUBSCRIBED,
                                             PAGE_SIZE, cursor)
        chosen = [m for m in members.items if segment is None or segment.matches(m, campaign.started_at)]
        blocked = suppressions.suppressed_among(job.account_id, [m.email_key for m in chosen])
        ids = [m.subscriber_id for m in chosen if m.email_key not in blocked]
        chunks = [ids[start:start + CHUNK_SIZE] for start in range(0, len(ids), CHUNK_SIZE)]
        queue.enqueue_many("send", [
            (f"c{n}", chunk_body(job, f"{job.generation}#{page}#{n}", chunk)) for n, chunk in enumerate(chunks)
        ])
        next_cursor = json.dumps(members.last_key) if members.last_key else None
        if not deliveries.save_fanout_page(campaign, job.generation, page, len(chunks), next_cursor):
            return FanoutResult.DUPLICATE
        logger.info("fanned out a page", extra={"account_id": job.account_id, "campaign_id": job.campaign_id,
                                                "generation": job.generation, "page": page, "chunks": len(chunks),
                                                "suppressed": len(blocked)})
        campaign = _current(job)
        if campaign is None:
            return FanoutResult.DROPPED
        if not campaign.fanout_done and remaining_ms() < MIN_REMAINING_MS:
            queue.enqueue("fanout", {**job.as_body(), "page": page + 1})
            return FanoutResult.CONTINUED
    complete_if_done(job.account_id, job.campaign_id, job.generation)   # every chunk may be done already, or none
    return FanoutResult.DONE


def _current(job: FanoutJob) -> Campaign | None:
    campaign = deliveries.read_campaign(job.account_id, job.campaign_id)
    if campaign is None or campaign.status != CampaignStatus.SENDING.value or campaign.generation != job.generation:
        return None
    return campaign

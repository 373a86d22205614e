"""How far a sending campaign has come: its recipients go out in chunks of CHUNK_SIZE, and the campaign is
sent once its fan-out and every chunk of the current generation are done."""
from __future__ import annotations

from chalicelib.log import logger
from chalicelib.models import deliveries
from chalicelib.services.campaigns import quota

CHUNK_SIZE = 50


def complete_if_done(account_id: str, campaign_id: str, generation: int) -> bool:
    """Mark the campaign sent once its fan-out and every chunk of this generation are done, and give back
    what it reserved but did not send; True if this call completed it."""
    campaign = deliveries.read_campaign(account_id, campaign_id)
    if (campaign is None or not campaign.fanout_done or campaign.chunks_total is None
            or int(campaign.chunks_done or 0) < int(campaign.chunks_total)):
        return False
    finished = deliveries.complete(account_id, campaign_id, generation)
    if finished is None:
        return False
    quota.release_unsent(finished)
    logger.info("campaign sent", extra={"account_id": account_id, "campaign_id": campaign_id,
                                        "sent": int(finished.sent_count or 0)})
    return True

"""R16 No one-time mailings: lists are permanent, and the pattern "import, send, delete most, new list" is
flagged for staff review, with its evidence. Nothing is suspended automatically: staff look and decide.

The pattern, within WINDOW: a campaign went to a list, most of that list's members were deleted since, and
members are now imported into a list made after that campaign was sent. `check_after_import` is called when
members are imported into a list; it reads the account's campaigns of the last 30 days (one query) and,
for each sent to another list, counts that list's members (one COUNT query) against the campaign's
recipients at send. Each campaign's pattern is flagged once, however many imports follow.

Staff see the open flags beside the held campaigns (GET /v1/admin/reviews) and dismiss them; both are
audited on the account (R4).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib import clock, errors, ids
from chalicelib.log import logger
from chalicelib.models import flags as store
from chalicelib.models import lists as list_store
from chalicelib.models.campaigns import Campaign
from chalicelib.models.flags import Flag
from chalicelib.models.lists import ContactList
from chalicelib.services.accounts.audit import Origin, Result
from chalicelib.services.accounts.auth import Principal
from chalicelib.services.campaigns import reviews

KIND = "one_time_mailing"
WINDOW = timedelta(days=30)
MIN_RECIPIENTS = 20      # a few test sends to colleagues, then cleaned up, are not a mailing
MOST = 0.5               # "most": more than half of the campaign's recipients no longer in its list
SHOWN = 100              # open flags shown beside the held campaigns, oldest first


def check_after_import(account_id: str, list_id: str) -> Flag | None:
    """Members were imported into `list_id`: flag the account if this completes the one-time-mailing pattern
    (once per campaign); the new flag, or None."""
    now = clock.now()
    new_list = list_store.get(account_id, list_id)
    if new_list is None:
        return None
    for campaign in store.campaigns_started_since(account_id, now - WINDOW):
        if not _sent_before(campaign, new_list) or int(campaign.recipients or 0) < MIN_RECIPIENTS:
            continue
        left = store.member_count(account_id, campaign.list_id)
        if left >= int(campaign.recipients) * (1 - MOST):
            continue
        flag = Flag(account_id, f"{KIND}#{campaign.campaign_id}", flag_id=ids.new_id("flg"), kind=KIND,
                    queue=store.OPEN, flagged_at=clock.iso(now), evidence=_evidence(campaign, left, new_list))
        if store.add_once(flag):
            logger.warning("one-time mailing flagged", extra={"account_id": account_id, "flag_id": flag.flag_id,
                                                              "campaign_id": campaign.campaign_id})
            return flag
    return None


def _sent_before(campaign: Campaign, new_list: ContactList) -> bool:
    """The campaign went to another list, before the list now imported into was made."""
    return (campaign.started_at is not None and campaign.list_id != new_list.list_id
            and new_list.created_at >= campaign.started_at)


def _evidence(campaign: Campaign, left: int, new_list: ContactList) -> dict[str, Any]:
    old_list = list_store.get(campaign.account_id, campaign.list_id)
    evidence = {
        "campaign_id": campaign.campaign_id,
        "campaign_name": campaign.name,
        "sent_at": clock.iso(campaign.started_at),
        "recipients": int(campaign.recipients),
        "list_id": campaign.list_id,
        "list_name": old_list.name if old_list is not None else None,   # None: the list itself was deleted
        "members_left": left,
        "new_list_id": new_list.list_id,
        "new_list_name": new_list.name,
        "new_list_created_at": clock.iso(new_list.created_at),
    }
    return {name: value for name, value in evidence.items() if value is not None}


# --- staff ---------------------------------------------------------------------------------------

def open_flags(staff: Principal, origin: Origin) -> list[Flag]:
    """The oldest open flags; the read is audited on each account shown."""
    shown = store.open_page(SHOWN, None).items
    for account_id in dict.fromkeys(flag.account_id for flag in shown):
        reviews.audit_staff(staff, account_id, origin, "list_flags", Result.OK,
               {"flag_ids": [f.flag_id for f in shown if f.account_id == account_id]})
    return shown


def dismiss(staff: Principal, flag_id: str, note: str | None, origin: Origin) -> Flag:
    """Staff looked at an open flag and found nothing to act on; audited."""
    flag = store.find_open(flag_id)
    if flag is None:
        raise errors.NotFound("open flag")
    note = (note or "").strip() or None
    if not store.dismiss(flag, staff.user_id or "", note, clock.now()):
        raise errors.NotFound("open flag")
    reviews.audit_staff(staff, flag.account_id, origin, "dismiss_flag", Result.OK,
                        {"flag_id": flag_id, "kind": flag.kind})
    return Flag.find(flag.account_id, flag.pattern_key) or flag


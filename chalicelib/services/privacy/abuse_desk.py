"""The staff abuse desk (002 DP 2.3.5 VI): which accounts and campaigns mailed an address, and when, so that a
spam complaint sent to the service can be traced to its sender.

It finds the address as erasure does (`data_access`): the accounts that hold it, as a list member or on their
suppression list, by its keyed hash; in each, the subscriber ids it has or had there; for each, the campaign
emails the delivery ledger claimed for it. What it cannot see: test copies (they are not in the ledger), sends
whose ledger items expired (400 days), sends of an account that holds the address no more (its member deleted
and not suppressed), and sends to an erased address (erasure takes the ledger too; the accounts that erased it
are named). Each account shown is audited as a staff access (R4); the address itself is never logged.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib import clock, errors
from chalicelib.log import logger
from chalicelib.models import accounts as account_store
from chalicelib.models import campaigns as campaign_store
from chalicelib.models import deliveries as delivery_store
from chalicelib.models.accounts import Account
from chalicelib.models.base import Page, is_live
from chalicelib.models.campaigns import Campaign
from chalicelib.models.deliveries import Delivery
from chalicelib.models.suppressions import SuppressionReason
from chalicelib.services import addresses
from chalicelib.services.accounts import audit
from chalicelib.services.accounts.audit import Action, Actor, Origin
from chalicelib.services.accounts.auth import Principal
from chalicelib.services.audience import suppressions
from chalicelib.services.privacy import data_access

OPERATION = "abuse_lookup"


@dataclass(frozen=True)
class Mailing:
    """One campaign email the ledger claimed for the address."""

    account: Account | None
    account_id: str
    campaign: Campaign | None
    campaign_id: str
    delivery: Delivery


@dataclass(frozen=True)
class Erased:
    """An account that erased the address (R28): its sends to it can no longer be traced."""

    account: Account | None
    account_id: str
    since: datetime | None


@dataclass(frozen=True)
class Findings:
    mailings: Page[Mailing]
    erased: list[Erased]


def look_up(staff: Principal, email: str, limit: int, start: dict | None, origin: Origin) -> Findings:
    """A page of the campaign emails sent to `email` (any valid address, role addresses too: 422 otherwise),
    by account and membership, each newest first; and the accounts that erased it. Audited on each account
    shown."""
    address = addresses.normalise(email or "")
    held = data_access.holdings(suppressions.email_key(address))
    found, next_key = _ledger_page(_sources(held, address), limit, start)
    erased = [(s.account_id, s.created_at) for s in held.suppressions if s.reason == SuppressionReason.ERASED.value]
    accounts = {account_id: account_store.get(account_id)
                for account_id in dict.fromkeys([a for a, _ in found] + [a for a, _ in erased])}
    mailings = _mailings(found, accounts)
    _audit(staff, origin, mailings, [a for a, _ in erased], accounts)
    logger.info("abuse desk look-up", extra={"staff_user_id": staff.user_id, "accounts": len(accounts),
                                             "emails": len(mailings), "more": next_key is not None})
    return Findings(Page(mailings, next_key),
                    [Erased(accounts[account_id], account_id, since) for account_id, since in erased])


def _sources(held: data_access.Holdings, address: str) -> list[tuple[str, str]]:
    """Every (account, subscriber id) the address has or had in an account that holds it, in a stable order."""
    return sorted((account_id, subscriber_id) for account_id in held.account_ids for subscriber_id in
                  data_access.recipient_ids(account_id, [m for m in held.memberships if m.account_id == account_id],
                                            address))


def _ledger_page(sources: list[tuple[str, str]], limit: int,
                 start: dict | None) -> tuple[list[tuple[str, Delivery]], dict | None]:
    """Up to `limit` live ledger items of the sources, from where `start` left off; and where the next page
    starts (None after the last)."""
    place, after = _position(start)
    found: list[tuple[str, Delivery]] = []
    for source in sources:
        if place is not None and source < place:
            continue
        if len(found) >= limit:
            return found, {"source": list(source), "after": None}
        page = delivery_store.of_subscriber(*source, limit - len(found), after if source == place else None)
        found += [(source[0], item) for item in page.items if is_live(item.expires_at)]
        if page.last_key:
            return found, {"source": list(source), "after": page.last_key}
    return found, None


def _position(start: dict | None) -> tuple[tuple[str, str] | None, dict | None]:
    """Where a cursor left off: the (account, subscriber) whose emails come next, and the ledger key after which
    they do."""
    if start is None:
        return None, None
    source, after = start.get("source"), start.get("after")
    if not (isinstance(source, list) and len(source) == 2 and all(isinstance(part, str) for part in source)
            and (after is None or isinstance(after, dict))):
        raise errors.Malformed("The cursor is not one this API gave out for this query.", code="invalid_cursor")
    return (source[0], source[1]), after


def _mailings(found: list[tuple[str, Delivery]], accounts: dict[str, Account | None]) -> list[Mailing]:
    campaigns: dict[tuple[str, str], Campaign] = {}
    for account_id in dict.fromkeys(a for a, _ in found):
        ids = [_campaign_id(item) for a, item in found if a == account_id]
        campaigns.update({(account_id, cid): c for cid, c in campaign_store.many(account_id, ids).items()})
    return [Mailing(accounts.get(account_id), account_id, campaigns.get((account_id, _campaign_id(item))),
                    _campaign_id(item), item) for account_id, item in found]


def _campaign_id(item: Delivery) -> str:
    return item.campaign_key.partition("#")[2]


def _audit(staff: Principal, origin: Origin, mailings: list[Mailing], erased_in: list[str],
           accounts: dict[str, Account | None]) -> None:
    """One staff access on each account shown (R4), with what it showed: counts, never the address."""
    for account_id, account in accounts.items():
        if account is None:
            continue   # purged (R30): no trail left to write to
        details: dict[str, Any] = {"emails": sum(1 for m in mailings if m.account_id == account_id)}
        if account_id in erased_in:
            details["erased"] = True
        audit.record(account_id, Action.STAFF_ACCESS, origin, Actor(staff.user_id, staff.role),
                     operation=OPERATION, details=details)


def shape(mailing: Mailing) -> dict[str, Any]:
    item, campaign = mailing.delivery, mailing.campaign
    return {
        "account_id": mailing.account_id,
        "account_company": data_access.company(mailing.account),
        "account_status": mailing.account.status if mailing.account else None,
        "campaign_id": mailing.campaign_id,
        "campaign_name": campaign.name if campaign else None,
        "subject": campaign.subject if campaign else None,
        "list_id": campaign.list_id if campaign else None,
        "state": item.state,
        "message_id": item.message_id,
        "claimed_at": clock.iso(item.claimed_at),
        "sent_at": clock.iso(item.sent_at),
        "delivered_at": clock.iso(item.delivered_at),
        "bounce": item.bounce_type,
    }


def shape_erased(erased: Erased) -> dict[str, Any]:
    return {"account_id": erased.account_id, "account_company": data_access.company(erased.account),
            "erased_at": clock.iso(erased.since)}

"""Customers' sending domains (SES identities) and the one-owner-per-domain claim."""
from __future__ import annotations

from enum import Enum

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.transactions import TransactWrite

from chalicelib.models.base import BaseModel, Page, Update, string_list, take_page, written
from chalicelib.models.usage import transact


class DomainStatus(str, Enum):
    PENDING = "pending"      # DNS records not yet seen by SES
    VERIFIED = "verified"    # SES confirmed DKIM: mail may be sent from it
    FAILED = "failed"        # SES gave up looking (records missing for 72 hours); publish and check again


class Domain(BaseModel):
    class Meta:
        logical_name = "domains"

    account_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)            # lower case, no trailing dot
    status = UnicodeAttribute()                        # DomainStatus
    dkim_tokens = string_list(default=list)
    created_at = UTCDateTimeAttribute()
    checked_at = UTCDateTimeAttribute()


class DomainClaim(BaseModel):
    """One item per domain across all accounts: a domain belongs to one account at a time."""

    class Meta:
        logical_name = "domain_claims"

    name = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()


def get(account_id: str, name: str) -> Domain | None:
    return Domain.find(account_id, name)


def page(account_id: str, limit: int, start: dict | None) -> Page[Domain]:
    return take_page(Domain.query(account_id, limit=limit, last_evaluated_key=start), limit)


def owner_of(name: str) -> str | None:
    """The account that holds the domain name, if any."""
    claimed = DomainClaim.find(name)
    return claimed.account_id if claimed else None


def claim(domain: Domain) -> bool:
    """Save the domain and claim its name, both or neither; False if this or another account has it."""

    def write(tx: TransactWrite) -> None:
        tx.save(DomainClaim(domain.name, account_id=domain.account_id), condition=DomainClaim.name.does_not_exist())
        tx.save(domain, condition=Domain.name.does_not_exist())

    return transact(write)


def release(account_id: str, name: str) -> bool:
    """Delete the account's domain and free its name; False if the account does not have it."""

    def write(tx: TransactWrite) -> None:
        tx.delete(Domain(account_id, name), condition=Domain.name.exists())
        tx.delete(DomainClaim(name), condition=DomainClaim.account_id == account_id)

    return transact(write)


def record_status(domain: Domain, status: DomainStatus, tokens: list[str], at) -> bool:
    """Store what SES last said about the domain; False if it was deleted meanwhile."""
    actions: list[Update] = [Domain.status.set(status.value), Domain.checked_at.set(at)]
    if tokens:
        actions.append(Domain.dkim_tokens.set(tokens))
    return written(lambda: domain.update(actions=actions, condition=Domain.name.exists()))

"""Customers' sending domains: registered with SES (Easy DKIM), one account per domain, verified before use."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from chalicelib import clock, errors, identities
from chalicelib.config import get_settings
from chalicelib.identities import IdentityState
from chalicelib.log import logger
from chalicelib.models import domains as store
from chalicelib.models.base import Page
from chalicelib.models.domains import Domain, DomainStatus
from chalicelib.services.accounts import accounts

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
MAX_LENGTH = 253
DMARC = "v=DMARC1; p=none;"


@dataclass(frozen=True)
class DnsRecord:
    type: str
    name: str
    value: str


def normalise(raw: str) -> str:
    """The domain as SES and DNS know it (lower case, IDNA, no trailing dot), or Invalid (422)."""
    name = (raw or "").strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii") if name else ""
    except UnicodeError:
        name = ""
    labels = name.split(".")
    if (len(name) > MAX_LENGTH or len(labels) < 2 or not all(LABEL.match(label) for label in labels)
            or not TLD.match(labels[-1])):
        raise errors.Invalid("domain must be a domain name such as news.example.com (no scheme, path or address).",
                             code="invalid_domain")
    return name


def service_domains() -> set[str]:
    """The service's own domains: its sender's and its public pages' (R21)."""
    settings = get_settings()
    return {d for d in (settings.sender_domain.lower(), (urlparse(settings.public_url).hostname or "").lower()) if d}


def _is_within(name: str, parent: str) -> bool:
    return name == parent or name.endswith("." + parent)


def register(account_id: str, raw_name: str) -> Domain:
    """Claim a domain for the account and register it with SES; 409 if any account already has it."""
    accounts.ensure_open(account_id)
    name = normalise(raw_name)
    taken = errors.Conflict("This domain is already registered.", code="domain_taken")
    if any(_is_within(name, own) for own in service_domains()):
        raise taken
    if _parent_verified_elsewhere(account_id, name):
        raise errors.Conflict("This domain is within a domain another account has verified.", code="domain_taken")
    now = clock.now()
    domain = Domain(account_id, name, status=DomainStatus.PENDING.value, dkim_tokens=[], created_at=now,
                    checked_at=now)
    if not store.claim(domain):
        raise taken
    try:
        state = identities.create_domain(name)
    except errors.UpstreamError:
        store.release(account_id, name)
        raise
    _record(domain, state)
    logger.info("sending domain registered", extra={"account_id": account_id, "status": domain.status})
    return domain


def _parent_verified_elsewhere(account_id: str, name: str) -> bool:
    """Whether another account has verified a domain `name` is within (SES lets a verified domain's owner send
    from all of its subdomains, so a subdomain is that owner's to send from)."""
    labels = name.split(".")
    for start in range(1, len(labels) - 1):
        parent = ".".join(labels[start:])
        owner = store.owner_of(parent)
        if owner is not None and owner != account_id:
            domain = store.get(owner, parent)
            if domain is not None and domain.status == DomainStatus.VERIFIED.value:
                return True
    return False


def page(account_id: str, limit: int, start: dict | None) -> Page[Domain]:
    """The account's domains, each with its status as SES reports it now."""
    found = store.page(account_id, limit, start)
    for domain in found.items:
        refresh(domain)
    return found


def get(account_id: str, raw_name: str) -> Domain:
    """One of the account's domains, or NotFound."""
    try:
        name = normalise(raw_name)
    except errors.Invalid:
        raise errors.NotFound("domain") from None
    domain = store.get(account_id, name)
    if domain is None:
        raise errors.NotFound("domain")
    return domain


def delete(account_id: str, raw_name: str) -> None:
    """Remove the domain from SES and free it; campaigns can no longer send from it."""
    domain = get(account_id, raw_name)
    identities.delete_domain(domain.name)
    if not store.release(account_id, domain.name):
        raise errors.NotFound("domain")


def refresh(domain: Domain) -> Domain:
    """Ask SES for the domain's status and store it."""
    state = identities.domain_state(domain.name)
    _record(domain, state or IdentityState(False, True, ()))
    return domain


def _record(domain: Domain, state: IdentityState) -> None:
    status = DomainStatus.VERIFIED if state.verified else DomainStatus.FAILED if state.failed else DomainStatus.PENDING
    now = clock.now()
    if store.record_status(domain, status, list(state.tokens), now):
        domain.status = status.value
        domain.checked_at = now
        if state.tokens:
            domain.dkim_tokens = list(state.tokens)


def dns_records(domain: Domain) -> list[DnsRecord]:
    """What the customer publishes: Easy DKIM's three CNAMEs, and a DMARC policy mailbox providers ask for."""
    records = [DnsRecord("CNAME", f"{token}._domainkey.{domain.name}", f"{token}.dkim.amazonses.com")
               for token in domain.dkim_tokens or []]
    records.append(DnsRecord("TXT", f"_dmarc.{domain.name}", DMARC))
    return records


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().rstrip(">").lower()


def verified_for(account_id: str, address: str) -> bool:
    """True if the address's domain, or a parent domain, is verified for this account (asking SES if pending)."""
    labels = domain_of(address).split(".")
    for start in range(len(labels) - 1):
        domain = store.get(account_id, ".".join(labels[start:]))
        if domain is None:
            continue
        if domain.status != DomainStatus.VERIFIED.value:
            refresh(domain)
        if domain.status == DomainStatus.VERIFIED.value:
            return True
    return False

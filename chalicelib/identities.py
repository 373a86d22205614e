"""Amazon SES (v2) identities: customers' sending domains, signed with Easy DKIM."""
from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from chalicelib import aws, errors
from chalicelib.config import get_settings
from chalicelib.log import logger

ALREADY_THERE = frozenset({"AlreadyExistsException", "AlreadyExists"})
MISSING = frozenset({"NotFoundException", "NotFound"})
# The stage's roles may send as, read and remove only the identities tagged with their stage (infra/permissions.py).
STAGE_TAG = "mailroom:stage"


@dataclass(frozen=True)
class IdentityState:
    """What SES says about a domain identity."""

    verified: bool            # SES confirmed DKIM: it sends from this domain
    failed: bool              # SES stopped looking for the records
    tokens: tuple[str, ...]   # Easy DKIM: publish <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com


def _state(answer: dict) -> IdentityState:
    dkim = answer.get("DkimAttributes") or {}
    status = dkim.get("Status")
    verified = bool(answer.get("VerifiedForSendingStatus")) or status == "SUCCESS"
    failed = not verified and status in ("FAILED", "TEMPORARY_FAILURE")
    return IdentityState(verified, failed, tuple(dkim.get("Tokens") or ()))


def create_domain(domain: str) -> IdentityState:
    """Register a domain identity with Easy DKIM (2048-bit keys); an identity already there is looked up."""
    try:
        answer = aws.client("sesv2").create_email_identity(
            EmailIdentity=domain, DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"},
            Tags=[{"Key": STAGE_TAG, "Value": get_settings().stage}])
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ALREADY_THERE:
            return domain_state(domain) or IdentityState(False, False, ())
        logger.error("ses identity not created", extra={"error_code": exc.response["Error"]["Code"]})
        raise errors.UpstreamError("The domain could not be registered with the mail service just now; "
                                   "try again shortly.") from exc
    return _state(answer)


def domain_state(domain: str) -> IdentityState | None:
    """SES's view of a domain identity, or None if SES does not have it."""
    try:
        answer = aws.client("sesv2").get_email_identity(EmailIdentity=domain)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in MISSING:
            return None
        raise errors.UpstreamError("The mail service could not be asked about the domain just now.") from exc
    return _state(answer)


def delete_domain(domain: str) -> None:
    """Remove a domain identity from SES (nothing happens if SES does not have it)."""
    try:
        aws.client("sesv2").delete_email_identity(EmailIdentity=domain)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in MISSING:
            raise errors.UpstreamError("The domain could not be removed from the mail service just now.") from exc

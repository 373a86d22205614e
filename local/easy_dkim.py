"""The emulator's SES gives a domain identity its Easy DKIM tokens, as SES does.

SES answers CreateEmailIdentity for a domain signed by Easy DKIM (`SigningAttributesOrigin` "AWS_SES", the
default) with three tokens in `DkimAttributes.Tokens`, and keeps answering them in GetEmailIdentity: the
customer publishes `<token>._domainkey.<domain>` CNAME `<token>.dkim.amazonses.com` for each. moto (5.2)
leaves the tokens out, so a domain added on the local runtime would list no DKIM records. `install()` makes
moto's SES backend give each new domain identity three tokens of SES's form (32 characters of a–z and
2–7), random per identity like SES's, kept with the identity. Email-address identities and domains that bring
their own DKIM key (BYODKIM: a `DomainSigningPrivateKey`) get none, as in SES.
"""
from __future__ import annotations

import secrets
from typing import Any

from moto.ses.models import SESBackend

TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
TOKEN_LENGTH = 32
TOKENS = 3

_original = SESBackend.create_email_identity_v2
_installed = False


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def _create_email_identity_v2(self: SESBackend, *args: Any, **kwargs: Any) -> Any:
    identity = _original(self, *args, **kwargs)
    signing = identity.dkim_signing_attributes if isinstance(identity.dkim_signing_attributes, dict) else {}
    if identity.identity_type == "DOMAIN" and not signing.get("DomainSigningPrivateKey"):
        identity.dkim_attributes.setdefault("Tokens", [new_token() for _ in range(TOKENS)])
    return identity


def install() -> None:
    """Give new domain identities in moto's SES their Easy DKIM tokens (idempotent)."""
    global _installed
    if not _installed:
        SESBackend.create_email_identity_v2 = _create_email_identity_v2  # type: ignore[method-assign]
        _installed = True

"""Email addresses: validation, normalisation, and the addresses no list may hold (R15)."""
from __future__ import annotations

from chalicelib import errors

# Role, distribution and system mailboxes: they reach groups or machines, not a person who opted in.
ROLE_LOCAL_PARTS = frozenset({
    "abuse", "admin", "administrator", "all", "billing", "bounce", "bounces", "compliance",
    "devnull", "dns", "everyone", "ftp", "help", "hostmaster", "info", "inoc", "ispfeedback",
    "ispsupport", "list", "list-request", "listserv", "mailer-daemon", "mailerdaemon", "majordomo",
    "marketing", "newsgroup", "newsgroups", "no-reply", "noc", "noreply", "do-not-reply",
    "donotreply", "null", "office", "phish", "phishing", "postmaster", "privacy", "registrar",
    "root", "sales", "security", "spam", "staff", "support", "sysadmin", "team", "tech",
    "undisclosed-recipients", "unsubscribe", "usenet", "uucp", "webmaster", "www",
})
MAX_LENGTH = 254
# SES's mailbox simulator (success@, bounce@, ooto@, complaint@, suppressionlist@, each with any +label): AWS's
# documented test mailboxes, which answer every send with a known outcome and affect no reputation. Their local
# parts look like role mailboxes, but a list may hold them, to test bounce and complaint handling end to end.
SES_MAILBOX_SIMULATOR = "simulator.amazonses.com"


def normalise(raw: str) -> str:
    """The canonical form of a deliverable address, or Invalid (422) with the reason."""
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_LENGTH:
        raise errors.Invalid("The email address is not valid.", code="invalid_email")
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise errors.Invalid(f"The email address is not valid: {exc}", code="invalid_email") from None
    local, domain = result.normalized.rsplit("@", 1)
    return f"{local.lower()}@{domain.lower()}"


def is_role_address(address: str) -> bool:
    local, _, domain = address.rpartition("@")
    if domain.lower() == SES_MAILBOX_SIMULATOR:
        return False
    local = local.lower()
    base = local.split("+", 1)[0]
    return base in ROLE_LOCAL_PARTS


def normalise_recipient(raw: str) -> str:
    """A list member's address: valid, and not a role or distribution mailbox (R15)."""
    address = normalise(raw)
    if is_role_address(address):
        raise errors.Invalid(
            "Role and distribution addresses (such as abuse@, postmaster@, noreply@ or list@) "
            "cannot be added to a list: they do not belong to one person who opted in.",
            code="role_address",
        )
    return address


def normalise_sender(raw: str, field_name: str = "from_email") -> str:
    try:
        return normalise(raw)
    except errors.Invalid:
        raise errors.Invalid(f"{field_name} is not a valid email address.", code="invalid_email") from None

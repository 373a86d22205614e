"""The raw MIME of a campaign email, built with the standard `email` package, and its SES message tags."""
from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from functools import lru_cache

from chalicelib import clock, errors


class _Registry(HeaderRegistry):
    """The standard header classes, each made once (the stock registry builds a class per lookup)."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


# Headers we add verbatim: a policy may not refold them into encoded words (List-Unsubscribe must
# stay "<https://…>" on one line for mailbox providers to offer one-click unsubscribe).
POLICY = SMTP.clone(refold_source="none", header_factory=_Registry())
TAG_VALUE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
NL = "\r\n"
BOUNDARY = re.compile(r'boundary="([^"]+)"')
ENCODED_TAG_PREFIX = "b64-"


def address(addr_spec: str, display_name: str = "") -> Address:
    """An Address for a header; an internationalised domain is put in its ASCII (punycode) form."""
    local, _, domain = addr_spec.strip().rpartition("@")
    try:
        if not local or not domain or not local.isascii():
            raise ValueError("not an ASCII mailbox")
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
        return Address(display_name=" ".join(display_name.split()), username=local, domain=ascii_domain)
    except (ValueError, UnicodeError) as exc:
        raise errors.Invalid("The address cannot be used in an email header.", code="invalid_address") from exc


def build(*, sender: Address, to: Address, subject: str, text: str, html: str,
          reply_to: Address | None = None, raw_headers: Mapping[str, str] | None = None) -> EmailMessage:
    """A multipart/alternative message (text, then HTML, UTF-8 quoted-printable); `raw_headers` are
    ASCII values written exactly as given."""
    message = EmailMessage(policy=POLICY)
    # Headers are folded by the email package's own header classes, once per distinct value: a
    # campaign's From, Reply-To and often its subject repeat for every recipient.
    message.set_raw("From", _folded_address("From", sender.display_name, sender.username, sender.domain))
    message.set_raw("To", _fold("To", to))
    message.set_raw("Subject", _folded("Subject", subject))
    message.set_raw("Date", format_datetime(clock.now()))
    message.set_raw("Message-ID", make_msgid(domain=sender.domain))
    if reply_to is not None:
        message.set_raw("Reply-To", _folded_address("Reply-To", reply_to.display_name, reply_to.username,
                                                     reply_to.domain))
    for name, value in (raw_headers or {}).items():
        if not value.isascii() or "\r" in value or "\n" in value:
            raise ValueError(f"{name} must be one line of ASCII")
        message.set_raw(name, value)
    message.set_raw("MIME-Version", "1.0")
    # "=_" never occurs in quoted-printable text, so this boundary cannot clash with the parts; set
    # here, it also spares the generator a search of the whole body for a free one.
    message.set_raw("Content-Type", f'multipart/alternative; boundary="=_mr_{secrets.token_hex(12)}"')
    message.set_payload([_part("plain", text), _part("html", html)])
    return message


def as_bytes(message: EmailMessage) -> bytes:
    """The raw bytes (CRLF line ends, ASCII by construction) of a message `build` made: what the email package's
    generator writes for it, byte for byte, without parsing its Content-Type headers again on the way out (a third
    of a render went there)."""
    return _written(message).encode("ascii")


def _written(part: EmailMessage | MIMEPart) -> str:
    """Headers as stored (already folded), a blank line, then the body: the parts between boundaries, or the text."""
    head = "".join(f"{name}: {NL.join(value.splitlines())}{NL}" for name, value in part.raw_items()) + NL
    payload = part.get_payload()
    if isinstance(payload, list):
        match = BOUNDARY.search(dict(part.raw_items())["Content-Type"])
        if match is None:
            raise ValueError("a multipart message without the boundary build() gives it")
        boundary = match.group(1)
        between = f"{NL}--{boundary}{NL}"
        return f"{head}--{boundary}{NL}{between.join(map(_written, payload))}{NL}--{boundary}--{NL}"
    if not isinstance(payload, str):
        raise ValueError("a leaf part whose payload is not the text build() gave it")
    return head + payload.replace("\r\n", "\n").replace("\r", "\n").replace("\n", NL)


def _fold(name: str, value: str | Address) -> str:
    return POLICY.header_factory(name, value).fold(policy=POLICY)[len(name) + 2:].rstrip("\r\n")


@lru_cache(maxsize=256)
def _folded(name: str, value: str) -> str:
    return _fold(name, value)


@lru_cache(maxsize=64)
def _folded_address(name: str, display_name: str, username: str, domain: str) -> str:
    return _fold(name, Address(display_name=display_name, username=username, domain=domain))


def _part(subtype: str, content: str) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", "quoted-printable")
    # binascii's encoder is C: the email package's own quoted-printable is pure Python and ~50x slower.
    part.set_payload(binascii.b2a_qp(content.encode("utf-8"), istext=True).decode("ascii"))
    return part


def list_id(name: str, list_key: str, domain: str) -> str:
    """An RFC 2919 List-Id value: the list's name as a phrase, then <list_key.domain>."""
    name = " ".join(name.split())[:200]
    key = re.sub(r"[^A-Za-z0-9_-]", "-", list_key)
    if name.isascii():
        phrase = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        phrase = "=?utf-8?b?" + base64.b64encode(name.encode("utf-8")).decode("ascii") + "?="
    return f"{phrase} <{key}.{domain}>"


def tag_value(value: str) -> str:
    """An SES tag value ([A-Za-z0-9_-], at most 256): the id itself when it fits, else base64url of it."""
    if TAG_VALUE.match(value) and not value.startswith(ENCODED_TAG_PREFIX):
        return value
    encoded = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii").rstrip("=")
    return (ENCODED_TAG_PREFIX + encoded)[:256]


def read_tag_value(value: str) -> str:
    """The id that `tag_value` carried."""
    if not value.startswith(ENCODED_TAG_PREFIX):
        return value
    encoded = value[len(ENCODED_TAG_PREFIX):]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")


def ses_tags(**ids: str) -> list[dict[str, str]]:
    """SES message tags for the ids (e.g. account=…, campaign=…, subscriber=…), values made safe."""
    return [{"Name": name, "Value": tag_value(value)} for name, value in ids.items()]

"""The email the service itself sends (verification, reset, opt-in confirmation, notices)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str     # "application/json"
    data: bytes


@dataclass
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None = None
    sender_name: str | None = None      # shown instead of the service's name, e.g. a list's name
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)   # SES message tags: ids only
    attachments: list[Attachment] = field(default_factory=list)


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> str:
        """Send one email; return the provider's message id."""
        ...

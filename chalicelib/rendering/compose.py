"""One recipient's copy of a campaign: personalised, tracked, with the footer no content can remove."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from chalicelib.config import get_settings
from chalicelib.rendering import footer, mime, template, tracking
from chalicelib.rendering.campaign import MAX_HTML_BYTES, CompiledCampaign

MAX_SUBJECT_CHARS = 500
MAX_RENDERED_HTML = 2 * MAX_HTML_BYTES
MAX_RENDERED_TEXT = 2 * MAX_HTML_BYTES
TEST_PREFIX = "[Test] "
BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")


@dataclass(frozen=True)
class Recipient:
    subscriber_id: str
    email: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ListDetails:
    """The list a campaign goes to, with any sender overrides of the campaign already applied."""

    list_id: str
    name: str
    from_name: str
    from_email: str
    company_address: str
    reply_to: str | None = None


@dataclass(frozen=True)
class SendContext:
    account_id: str
    campaign_id: str
    mailing_list: ListDetails
    pro: bool = False


@dataclass(frozen=True)
class ComposedEmail:
    """What one recipient gets, and what SES SendEmail needs to send it."""

    subject: str
    html: str
    text: str
    message: EmailMessage
    tags: list[dict[str, str]]
    unsubscribe_url: str

    @property
    def from_address(self) -> str:
        return str(self.message["From"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    def as_bytes(self) -> bytes:
        """The raw MIME for SendEmail Content.Raw.Data (CRLF line ends)."""
        return mime.as_bytes(self.message)


def compose(campaign: CompiledCampaign, recipient: Recipient, context: SendContext) -> ComposedEmail:
    """The personalised, tracked email for one subscriber (R12, R19, R20)."""
    return _compose(campaign, recipient, context, subject_prefix="")


def compose_test(campaign: CompiledCampaign, to: str, context: SendContext,
                 fields: Mapping[str, Any] | None = None) -> ComposedEmail:
    """A test copy: "[Test] " subject, and tokens for the test subscriber, so nothing is counted."""
    recipient = Recipient(tracking.TEST_SUBSCRIBER_ID, to, fields or {})
    return _compose(campaign, recipient, context, subject_prefix=TEST_PREFIX)


def _compose(campaign: CompiledCampaign, recipient: Recipient, context: SendContext,
             subject_prefix: str) -> ComposedEmail:
    from markupsafe import Markup

    listed = context.mailing_list
    ids = (context.account_id, context.campaign_id, recipient.subscriber_id)
    unsubscribe = tracking.unsubscribe_url(context.account_id, listed.list_id, recipient.subscriber_id,
                                           context.campaign_id)
    preferences = tracking.preferences_url(context.account_id, listed.list_id, recipient.subscriber_id,
                                           context.campaign_id)
    head, between, middle, tail = _footer_pieces(listed.name, listed.company_address, context.pro)
    builtins = {
        "email": recipient.email, "unsubscribe_url": unsubscribe, "preferences_url": preferences,
        "list_name": listed.name, "_click": tracking.ClickUrls(*ids),
        "_footer": Markup(head + unsubscribe + between + preferences + middle + tracking.open_url(*ids) + tail),
    }
    # The service's own values come last: a subscriber's field can never replace the unsubscribe link.
    values = {**{k: v for k, v in recipient.fields.items() if not k.startswith("_")}, **builtins}

    def fell_back(part: str) -> Callable[[str], None]:
        def note(reason: str) -> None:
            from chalicelib.log import logger

            logger.warning("personalisation fell back to the generic copy", extra={
                "account_id": context.account_id, "campaign_id": context.campaign_id,
                "subscriber_id": recipient.subscriber_id, "part": part, "reason": reason})
        return note

    subject = template.render(campaign.subject, values, builtins, MAX_SUBJECT_CHARS * 4, fell_back("subject"))
    subject = (subject_prefix + " ".join(subject.split()))[:MAX_SUBJECT_CHARS]
    html = template.render(campaign.html, values, builtins, MAX_RENDERED_HTML, fell_back("html"))
    text = template.render(campaign.text, values, builtins, MAX_RENDERED_TEXT, fell_back("text"))
    text = BLANK_LINES.sub("\n\n", text)
    text = text.strip("\n") + "\n"
    text += footer.footer_text(listed.name, listed.company_address, context.pro, unsubscribe, preferences)
    settings = get_settings()
    sender = mime.address(listed.from_email, listed.from_name)
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": mime.list_id(listed.name, listed.list_id, settings.sender_domain),
        "Feedback-ID": f"{mime.tag_value(context.account_id)}:{mime.tag_value(context.campaign_id)}:mailroom",
    }
    message = mime.build(
        sender=sender, to=mime.address(recipient.email), subject=subject, text=text, html=html,
        reply_to=mime.address(listed.reply_to) if listed.reply_to else None, raw_headers=headers,
    )
    tags = mime.ses_tags(account=context.account_id, campaign=context.campaign_id,
                         subscriber=recipient.subscriber_id)
    return ComposedEmail(subject, html, text, message, tags, unsubscribe)


@lru_cache(maxsize=256)
def _footer_pieces(list_name: str, company_address: str, pro: bool) -> tuple[str, str, str, str]:
    return footer.footer_html(list_name, company_address, pro)

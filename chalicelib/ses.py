"""Amazon SES (v2) adapter: raw MIME built with the standard `email` package, so every header is ours."""
from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from botocore.exceptions import ClientError

from chalicelib import aws, errors
from chalicelib.config import get_settings
from chalicelib.log import logger
from chalicelib.services.outbound import OutgoingEmail


def build_mime(email: OutgoingEmail, sender: str) -> EmailMessage:
    """The whole message as SES will send it."""
    default_name, address = parseaddr(sender)
    local, domain = address.rsplit("@", 1)
    message = EmailMessage()
    message["From"] = Address(display_name=email.sender_name or default_name, username=local, domain=domain)
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=domain)
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text)
    if email.html:
        message.add_alternative(email.html, subtype="html")
    return message


class SesMailer:
    """Sends through SES with the service's configured sender and configuration set."""

    def send(self, email: OutgoingEmail) -> str:
        settings = get_settings()
        message = build_mime(email, settings.sender)
        try:
            response = aws.client("sesv2").send_email(
                FromEmailAddress=str(message["From"]),
                Destination={"ToAddresses": [email.to]},
                Content={"Raw": {"Data": message.as_bytes()}},
                ConfigurationSetName=settings.configuration_set,
                EmailTags=[{"Name": k, "Value": v} for k, v in email.tags.items()],
            )
        except ClientError as exc:
            logger.error("ses send failed", extra={"error_code": exc.response["Error"]["Code"]})
            raise errors.UpstreamError("The email could not be sent just now; try again shortly.") from exc
        return response["MessageId"]


def mailer() -> SesMailer:
    return SesMailer()

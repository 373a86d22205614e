"""Amazon SES (v2) adapter: raw MIME built with the standard `email` package, so every header is ours."""
from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as NoConnection

from chalicelib import aws, errors
from chalicelib.config import get_settings
from chalicelib.log import logger
from chalicelib.outbound import OutgoingEmail


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
    for attachment in email.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message


# SES has no idempotency key: a send botocore repeated by itself could deliver the email again, so the send
# client makes one attempt (throttling is paced by the sender) and waits at most SEND_CALL_MAX_S for it.
SEND_CALLS = aws.Calls(attempts=1, connect_timeout=2.0, read_timeout=5.0)
SEND_CALL_MAX_S = SEND_CALLS.connect_timeout + SEND_CALLS.read_timeout


def _send_email(**request) -> dict:
    return aws.client("sesv2", SEND_CALLS).send_email(**request)


class SesMailer:
    """Sends through SES with the service's configured sender and configuration set."""

    def send(self, email: OutgoingEmail) -> str:
        settings = get_settings()
        message = build_mime(email, settings.sender)
        try:
            response = _send_email(
                FromEmailAddress=str(message["From"]),
                Destination={"ToAddresses": [email.to]},
                Content={"Raw": {"Data": message.as_bytes()}},
                ConfigurationSetName=settings.configuration_set,
                EmailTags=[{"Name": k, "Value": v} for k, v in email.tags.items()],
            )
        except (ClientError, NoConnection, HTTPClientError) as exc:
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
            logger.error("ses send failed", extra={"error_code": code})
            raise errors.UpstreamError("The email could not be sent just now; try again shortly.") from exc
        return response["MessageId"]


def mailer() -> SesMailer:
    return SesMailer()


# --- campaign sending: one recipient's raw MIME, with SES's answer sorted by what the sender does next ---

THROTTLE_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException",
                            "LimitExceeded", "SendingPausedException", "MaxSendingRateExceeded"})
REFUSAL_CODES = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException",
                           "InvalidParameterValue", "AccountSuspendedException", "NotFoundException"})


class SendThrottled(Exception):
    """SES asked us to slow down; nothing was sent; the same email may be tried again later."""


class SendRefused(Exception):
    """SES refused this email for good (e.g. MessageRejected); trying again will not help."""


class SendUnavailable(Exception):
    """The email was certainly not accepted (SES answered a client error, or no connection was made); try
    again later."""


class SendUncertain(Exception):
    """Whether SES took the email is unknown (the connection broke or timed out after the request went, or SES
    answered a server error): it must not be sent again."""


def send_raw(composed) -> str:
    """Send one composed campaign email (rendering.compose.ComposedEmail) with SendEmail v2; its SES message id."""
    try:
        answer = _send_email(
            FromEmailAddress=composed.from_address,
            Destination={"ToAddresses": [composed.to]},
            Content={"Raw": {"Data": composed.as_bytes()}},
            EmailTags=composed.tags,
            ConfigurationSetName=get_settings().configuration_set,
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in THROTTLE_CODES:
            raise SendThrottled(code) from exc
        if code in REFUSAL_CODES:
            raise SendRefused(code) from exc
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500) >= 500:
            raise SendUncertain(code) from exc
        raise SendUnavailable(code) from exc
    except NoConnection as exc:       # before the request went: nothing reached SES
        raise SendUnavailable(type(exc).__name__) from exc
    except HTTPClientError as exc:    # after it went: closed or timed out before SES's answer
        raise SendUncertain(type(exc).__name__) from exc
    return answer["MessageId"]


class RawSender:
    """The campaign sender's SES: `send(composed) -> message id` (services/campaigns/sender.py's Mailer)."""

    def send(self, composed) -> str:
        return send_raw(composed)


class CampaignMailer:
    """Test copies of a campaign (services/campaigns/campaigns.send_test): `send_raw`, with any failure an
    UpstreamError."""

    def send(self, email) -> str:
        try:
            return send_raw(email)
        except (SendThrottled, SendRefused, SendUnavailable, SendUncertain) as exc:
            logger.error("ses test copy not sent", extra={"error_code": str(exc)})
            raise errors.UpstreamError("The test copy could not be sent just now; try again shortly.") from exc

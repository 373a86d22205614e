"""The emails the service sends to its own users about their login: address verification and password reset."""
from __future__ import annotations

from html import escape

from chalicelib.services.outbound import OutgoingEmail

SERVICE_NAME = "mailroom"


def _link_email(to: str, subject: str, lead: str, action: str, link: str, note: str) -> OutgoingEmail:
    text = f"{lead}\n\n{action}:\n{link}\n\n{note}\n\n— {SERVICE_NAME}\n"
    html = (
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">"
        f"<p>{escape(lead)}</p>"
        f"<p><a href=\"{escape(link, quote=True)}\">{escape(action)}</a></p>"
        f"<p style=\"color:#555\">{escape(note)}</p>"
        f"<p>— {SERVICE_NAME}</p></body></html>"
    )
    return OutgoingEmail(to=to, subject=subject, text=text, html=html, tags={"kind": "account"})


def verification(to: str, link: str) -> OutgoingEmail:
    """Asks a new user to confirm that the address is theirs."""
    return _link_email(
        to,
        f"Confirm your email address for {SERVICE_NAME}",
        f"Welcome to {SERVICE_NAME}. Please confirm that this address is yours.",
        "Confirm my email address",
        link,
        "The link works for 7 days. If you did not sign up, ignore this email.",
    )


def password_reset(to: str, link: str) -> OutgoingEmail:
    """Carries a one-time link to choose a new password."""
    return _link_email(
        to,
        f"Reset your {SERVICE_NAME} password",
        "Someone (hopefully you) asked to reset the password of your account.",
        "Choose a new password",
        link,
        "The link works once, for one hour. If you did not ask, ignore this email: your password stays as it is.",
    )

"""The emails the service sends to its own users about their login and account: address verification,
password reset, and notices such as a campaign stopped automatically (R22)."""
from __future__ import annotations

from html import escape

from chalicelib.outbound import OutgoingEmail

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


def invitation(to: str, company: str, inviter: str, role: str, link: str) -> OutgoingEmail:
    """Invites a colleague to an account: a one-time link to set their password and join."""
    return _link_email(
        to,
        f"{inviter} invited you to {company} on {SERVICE_NAME}",
        f"{inviter} invited you to join the {SERVICE_NAME} account of {company} as {role}.",
        "Accept the invitation and choose a password",
        link,
        "The link works once, for 7 days. If you do not know why you got this, ignore this email: nothing happens.",
    )


def email_change(to: str, link: str) -> OutgoingEmail:
    """Asks the new address to confirm a user's change of login email; nothing changes until it does."""
    return _link_email(
        to,
        f"Confirm your new {SERVICE_NAME} login email",
        f"Someone (hopefully you) asked to sign in to {SERVICE_NAME} with this address from now on.",
        "Confirm the new address",
        link,
        "The link works once, for 24 hours. If you did not ask for this, ignore this email: nothing changes.",
    )


def email_changed(to: str) -> OutgoingEmail:
    """Tells the old address that the login email was changed, so that a takeover does not go unnoticed."""
    return _paragraphs_email(
        to,
        f"Your {SERVICE_NAME} login email was changed",
        f"The login of your {SERVICE_NAME} user was moved to another email address, which confirmed the change. "
        "This address no longer signs in.",
        "If you made the change, there is nothing to do. If you did not, reply to this email at once.",
    )


def inactivity_warning(to: str, account_id: str, purge_on: str) -> OutgoingEmail:
    """Tells a user that an account nobody signed in to for almost two years will be deleted (R30)."""
    lead = (f"Nobody has signed in to your {SERVICE_NAME} account ({account_id}) for almost two years. "
            f"Unless one of its users signs in before {purge_on}, the account and all of its data (lists, "
            "subscribers, campaigns and reports) will be deleted for good.")
    return _paragraphs_email(to, f"Your {SERVICE_NAME} account will be deleted on {purge_on}", lead,
                             "To keep the account, simply sign in once before that date.")


def _paragraphs_email(to: str, subject: str, *paragraphs: str) -> OutgoingEmail:
    """A notice in a few paragraphs, without a link."""
    text = "".join(f"{paragraph}\n\n" for paragraph in paragraphs) + f"— {SERVICE_NAME}\n"
    html = (
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">"
        + "".join(f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs)
        + f"<p>— {SERVICE_NAME}</p></body></html>"
    )
    return OutgoingEmail(to=to, subject=subject, text=text, html=html, tags={"kind": "account"})


def _steps_email(to: str, subject: str, lead: str, steps: list[str]) -> OutgoingEmail:
    """A notice: what happened, then numbered steps under "What to do"."""
    text = f"{lead}\n\nWhat to do:\n" + "".join(f"{n}. {step}\n" for n, step in enumerate(steps, 1))
    text += f"\n\u2014 {SERVICE_NAME}\n"
    html = (
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">"
        f"<p>{escape(lead)}</p><p>What to do:</p><ol>"
        + "".join(f"<li>{escape(step)}</li>" for step in steps)
        + f"</ol><p>\u2014 {SERVICE_NAME}</p></body></html>"
    )
    return OutgoingEmail(to=to, subject=subject, text=text, html=html, tags={"kind": "account"})


RATE_NAMES = {"hard_bounce": "hard-bounce rate", "complaint": "complaint (abuse) rate",
              "unsubscribe": "unsubscribe rate"}


def percent(value: float) -> str:
    """0.0925 -> "9.25%"."""
    return f"{value * 100:.2f}%"


def limit_phrase(rate: str, threshold: float) -> str:
    """The R22 limit as the rule says it: a hard-bounce rate may not reach it, the others may not exceed it."""
    verb = "the limit it may not reach is" if rate == "hard_bounce" else "the limit it may not exceed is"
    return f"{verb} {threshold * 100:g}%"


def campaign_stopped(to: str, campaign_name: str, campaign_id: str, rate: str, value: float, threshold: float,
                     judged: int) -> OutgoingEmail:
    """Tells the account's owner that a campaign was stopped automatically (R22), why, and what to do."""
    name = RATE_NAMES.get(rate, rate)
    campaign_name = " ".join(campaign_name.split())[:100]   # one line: it goes into the subject
    lead = (f"We stopped sending your campaign \u201c{campaign_name}\u201d ({campaign_id}). Its {name} is "
            f"{percent(value)} of the {judged} emails whose delivery we know of so far; "
            f"{limit_phrase(rate, threshold)}. No further emails of it go out until you resume it.")
    steps = [
        ("Clean the list: remove the addresses that bounced or never engage; bounced and complaining "
         "addresses are already suppressed for you."),
        ("Check where the addresses came from: mail only people who asked for your email (no bought, "
         "rented or old lists)."),
        (f"Then resume the campaign (POST /v1/campaigns/{campaign_id}/resume). From then on, its rates are "
         "counted again over what is sent after the resume."),
    ]
    return _steps_email(to, f"Your campaign \u201c{campaign_name}\u201d was stopped: {name} too high", lead, steps)


def reputation_hold(to: str, account_id: str, figures: str) -> OutgoingEmail:
    """Tells the account's owner that its sending is on hold for its bounce or complaint rate, and what to do."""
    lead = (f"We paused all sending of your {SERVICE_NAME} account ({account_id}). {figures} Rates this high put "
            "the delivery of every sender at risk, so campaigns that were sending are paused and new sends, "
            "scheduled campaigns and test copies are refused until our staff release the account.")
    steps = [
        ("Clean your lists: remove the addresses that never engage; the bounced and complaining ones are already "
         "suppressed for you."),
        ("Check where the addresses came from: mail only people who asked for your email (no bought, rented or "
         "old lists), and confirm new subscribers (double opt-in)."),
        ("Reply to this email with what you changed. Once our staff release the account, resume the paused "
         "campaigns (POST /v1/campaigns/{id}/resume); from then on only what is reported after the release "
         "counts."),
    ]
    return _steps_email(to, f"Sending from your {SERVICE_NAME} account is paused: bounces or complaints too high",
                        lead, steps)


def export_ready(to: str, link: str, kept_until: str) -> OutgoingEmail:
    """Tells the account's owner that the data export they asked for is ready (R28); the link needs their login."""
    return _link_email(
        to,
        f"Your {SERVICE_NAME} account export is ready",
        "The export of your account's data (profile, users, lists, subscribers, campaigns, reports and audit "
        "trail) that was asked for is ready.",
        "Get the export",
        link,
        "Call the link with your API credentials: it answers a download link that works for one hour, and you "
        f"can get a new one until {kept_until}, when the export is deleted. If nobody on your account asked for "
        "an export, change your password and tell us.",
    )


def account_closed(to: str, account_id: str, purge_on: str, export_link: str) -> OutgoingEmail:
    """Confirms to the owner that the account is closed (R33), and names the day its data is deleted (R30)."""
    return _link_email(
        to,
        f"Your {SERVICE_NAME} account is closed",
        f"Your account {account_id} is closed: it sends nothing any more, and its scheduled and running "
        "campaigns were cancelled.",
        "Export your data",
        export_link,
        f"Until {purge_on} you can still sign in to read, correct and export the account's data. On that day the "
        "account and all of its data are deleted for good.",
    )

"""The emails of data-subject requests (R28): the verification link to the person, the copy of their data,
and the notice to each customer whose subscriber had their data erased (which never names the address)."""
from __future__ import annotations

from html import escape

from chalicelib.outbound import Attachment, OutgoingEmail
from chalicelib.services.accounts.account_mail import SERVICE_NAME

TAGS = {"kind": "privacy"}


def _email(to: str, subject: str, paragraphs: list[str], link: tuple[str, str] | None = None,
           attachments: list[Attachment] | None = None) -> OutgoingEmail:
    """Plain paragraphs (and an optional (action, url) link), as text and as HTML."""
    text_parts = list(paragraphs)
    html_parts = [f"<p>{escape(p)}</p>" for p in paragraphs]
    if link is not None:
        action, url = link
        text_parts.insert(1, f"{action}:\n{url}")
        html_parts.insert(1, f'<p><a href="{escape(url, quote=True)}">{escape(action)}</a></p>')
    text = "\n\n".join(text_parts) + f"\n\n— {SERVICE_NAME}\n"
    html = ('<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">'
            + "".join(html_parts) + f"<p>— {SERVICE_NAME}</p></body></html>")
    return OutgoingEmail(to=to, subject=subject, text=text, html=html, tags=dict(TAGS),
                         attachments=list(attachments or []))


def verification(to: str, erasure: bool, link: str) -> OutgoingEmail:
    """Asks the owner of the address to confirm their request before it is carried out."""
    what = ("erase this email address and everything tied to it" if erasure
            else "send this email address a copy of the data held about it")
    closing = ("Once erased, the companies that mailed you through us keep only a one-way code of the address, so "
               "that it is never added to their lists again. This cannot be undone." if erasure
               else "The copy comes as a JSON file attached to an email to this address.")
    return _email(
        to,
        "Confirm the erasure of your data" if erasure else "Confirm your request for a copy of your data",
        [(f"Someone (hopefully you) asked {SERVICE_NAME}, the service that companies use to send you their "
         f"newsletters, to {what}."),
         closing,
         "The link works for 24 hours. If you did not ask, ignore this email: nothing will change."],
        link=("Erase my data" if erasure else "Send me my data", link),
    )


def access_report(to: str, organisations: int, filename: str, data: bytes) -> OutgoingEmail:
    """Carries the JSON copy of everything held about the address."""
    return _email(
        to,
        "A copy of your data",
        [(f"As you asked, attached is a copy ({filename}) of the data that {organisations} "
         f"{'company holds' if organisations == 1 else 'companies hold'} about this address through {SERVICE_NAME}: "
         "the lists you are on, your status, fields and consent on each, and what you received, opened and clicked."),
         ("To have something corrected, ask the company that sends you its emails. To have it all erased, make "
         "the request again and choose erasure.")],
        attachments=[Attachment(filename, "application/json", data)],
    )


def erasure_notice(to: str, list_names: list[str]) -> OutgoingEmail:
    """Tells a customer that one of their subscribers had their data erased, without saying who."""
    if list_names:
        where = "of your list " + ", ".join(f'"{name}"' for name in list_names)
    else:
        where = "on your suppression list"
    return _email(
        to,
        "A subscriber exercised their right to erasure",
        [(f"A subscriber {where} asked us to erase their personal data (GDPR article 17), and we "
         "have. Their subscription, fields, consent record, opens, clicks and delivery records are gone."),
         ("Only a one-way code of the address stays on your suppression list, listed as \"erased\", so that the "
         "address can never be imported or added again. Your campaign statistics keep their totals."),
         "If you hold a copy of this person's data elsewhere (an export, your CRM), erase it there too."],
    )

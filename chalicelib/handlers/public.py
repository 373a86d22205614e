"""Public pages for people (no auth; every token signed): opt-in confirmation, unsubscribe, signup forms."""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Callable

from chalice import Response

from chalicelib import errors, ses
from chalicelib.handlers import pages
from chalicelib.handlers.forms import form_fields
from chalicelib.handlers.http import FORM_TYPES, Api, Call
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.lists import ContactList

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.audience import optin
else:
    optin = lazy_module("chalicelib.services.audience.optin")

api = Api(__name__)

HONEYPOT = "hp-website"   # not an identifier, so no list field can have this name


def _page(view: Callable[[], Response]) -> Response:
    """Answer in HTML, also when the link is not valid or a dependency is down."""
    return pages.shown(view)


@api.route("/confirm/{token}", auth_required=False)
def confirm(call: Call, token: str):
    def view() -> Response:
        contact_list = optin.confirm(token, call.ip)
        return pages.message(f"You're subscribed to {contact_list.name}",
                             f"Thank you for confirming. You will receive emails from {contact_list.from_name}; "
                             "every one of them has a link to unsubscribe.")
    return _page(view)


@api.route("/unsubscribe/{token}", auth_required=False)
def unsubscribe_page(call: Call, token: str):
    def view() -> Response:
        sender = _sender(optin.unsubscribe_target(token))
        return pages.page("Unsubscribe", (
            f"<p>Stop all emails from {escape(sender)}?</p>"
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            "<button type=\"submit\">Unsubscribe</button></form>"
        ))
    return _page(view)


@api.route("/unsubscribe/{token}", methods=["POST"], auth_required=False, content_types=FORM_TYPES)
def unsubscribe(call: Call, token: str):
    def view() -> Response:
        sender = _sender(optin.unsubscribe(token))
        return pages.message("You're unsubscribed", f"You will receive no more emails from {sender}.")
    return _page(view)


@api.route("/f/{token}", auth_required=False)
def signup_form(call: Call, token: str):
    return _page(lambda: _form(optin.form_list(token)))


@api.route("/f/{token}", methods=["POST"], auth_required=False, content_types=FORM_TYPES)
def signup(call: Call, token: str):
    def view() -> Response:
        form = form_fields(call)
        if form.get(HONEYPOT):
            contact_list = optin.form_list(token)   # a bot filled the hidden field: say the usual, do nothing
            return _check_inbox(contact_list)
        try:
            result = optin.sign_up(token, form, call.ip, ses.mailer())
        except errors.Invalid as exc:
            return _form(optin.form_list(token), form, exc.message, 422)
        if result.needs_confirmation:
            return _check_inbox(result.contact_list)
        return pages.message(f"You're subscribed to {result.contact_list.name}",
                             "Thank you. Every email you receive has a link to unsubscribe.")
    return _page(view)


def _check_inbox(contact_list: ContactList) -> Response:
    return pages.message("Almost done: check your inbox",
                         f"If this address is not subscribed to {contact_list.name} yet, we have sent it an email. "
                         "Click the link in it to confirm your subscription.")


def _form(contact_list: ContactList, values: dict[str, str] | None = None,
          error: str | None = None, status: int = 200) -> Response:
    values = values or {}
    inputs = [_input("email", "Email address", "email", values.get("email", ""), required=True)]
    for field in contact_list.fields:
        inputs.append(_input(field.key, field.label, field.type, values.get(field.key, "")))
    body = (
        (f'<p class="error" role="alert">{escape(error)}</p>' if error else "")
        + '<form method="post">'
        + "".join(inputs)
        + f'<div class="trap" aria-hidden="true"><label>Leave this empty'
          f'<input type="text" name="{HONEYPOT}" tabindex="-1" autocomplete="off"></label></div>'
        + f"<p>You will receive emails from {escape(contact_list.from_name)}. You can unsubscribe at any time "
          "with the link in every email.</p>"
        + '<button type="submit">Subscribe</button></form>'
    )
    return pages.page(f"Subscribe to {contact_list.name}", body, status)


def _input(name: str, label: str, kind: str, value: str, required: bool = False) -> str:
    attrs = f'name="{escape(name)}" id="f-{escape(name)}"' + (" required" if required else "")
    if kind == "boolean":
        checked = " checked" if value.strip().lower() in ("on", "true", "1", "yes") else ""
        return (f'<label><input type="checkbox" {attrs} value="on"{checked}> {escape(label)}</label>')
    html_type = {"email": "email", "number": "number", "date": "date"}.get(kind, "text")
    step = ' step="any"' if kind == "number" else ""
    return (f'<label for="f-{escape(name)}">{escape(label)}</label>'
            f'<input type="{html_type}" {attrs}{step} value="{escape(value)}">')


def _sender(contact_list: ContactList | None) -> str:
    return contact_list.from_name if contact_list else "this sender"

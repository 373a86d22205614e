"""Public pages for people (no auth; every token signed): opt-in confirmation, unsubscribe, signup forms, the
preference centre."""
from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING

from chalice import Response

from chalicelib import errors, ses
from chalicelib.handlers import pages, preference_page
from chalicelib.handlers.forms import form_fields
from chalicelib.handlers.http import FORM_TYPES, HTML, PAGE_ANSWERS, Api, Call
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.lists import ContactList

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.rendering import signup_form as signup_form_markup
    from chalicelib.services.audience import form_guard, lists, optin, preferences
else:
    form_guard = lazy_module("chalicelib.services.audience.form_guard")
    lists = lazy_module("chalicelib.services.audience.lists")
    optin = lazy_module("chalicelib.services.audience.optin")
    preferences = lazy_module("chalicelib.services.audience.preferences")
    signup_form_markup = lazy_module("chalicelib.rendering.signup_form")

api = Api(__name__)


def _page(view: Callable[[], Response]) -> Response:
    """Answer in HTML, also when the link is not valid or a dependency is down."""
    return pages.shown(view)


@api.route("/confirm/{token}", auth_required=False, answers=PAGE_ANSWERS)
def confirm(call: Call, token: str):
    def view() -> Response:
        contact_list = optin.confirm(token, call.ip)
        return pages.message(f"You're subscribed to {contact_list.name}",
                             f"Thank you for confirming. You will receive emails from {contact_list.from_name}; "
                             "every one of them has a link to unsubscribe.")
    return _page(view)


@api.route("/unsubscribe/{token}", auth_required=False, answers=PAGE_ANSWERS)
def unsubscribe_page(call: Call, token: str):
    def view() -> Response:
        sender = _sender(optin.unsubscribe_target(token))
        return pages.page("Unsubscribe", (
            f"<p>Stop all emails from {escape(sender)}?</p>"
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            "<button type=\"submit\">Unsubscribe</button></form>"
        ))
    return _page(view)


@api.route("/unsubscribe/{token}", methods=["POST"], auth_required=False, content_types=FORM_TYPES,
           answers=PAGE_ANSWERS)
def unsubscribe(call: Call, token: str):
    def view() -> Response:
        sender = _sender(optin.unsubscribe(token))
        return pages.message("You're unsubscribed", f"You will receive no more emails from {sender}.")
    return _page(view)


@api.route("/f/{token}", auth_required=False, answers={**PAGE_ANSWERS, 403: HTML, 429: HTML})
def signup_form(call: Call, token: str):
    def view() -> Response:
        contact_list = optin.form_list(token)
        return _form(contact_list, form_guard.page_stamp(contact_list))
    return _form_page(view)


@api.route("/f/{token}", methods=["POST"], auth_required=False, content_types=FORM_TYPES,
           answers={**PAGE_ANSWERS, 403: HTML, 422: HTML, 429: HTML})
def signup(call: Call, token: str):
    def view() -> Response:
        form = form_fields(call)
        try:
            result = optin.sign_up(token, form, call.ip, ses.mailer())
        except errors.Invalid as exc:
            return _form(optin.form_list(token), form.get(signup_form_markup.STAMP, ""), form, exc.message, 422)
        if result.needs_confirmation:
            return pages.message("Almost done: check your inbox",
                                 f"If this address is not subscribed to {result.contact_list.name} yet, we have "
                                 "sent it an email. Click the link in it to confirm your subscription.")
        return pages.message(f"You're subscribed to {result.contact_list.name}",
                             "Thank you. Every email you receive has a link to unsubscribe.")
    return _form_page(view)


def _form_page(view: Callable[[], Response]) -> Response:
    """A form's page, or the page saying why it takes no signup now."""
    def guarded() -> Response:
        try:
            return view()
        except form_guard.NotAccepting as exc:
            return pages.message("Not accepting signups", exc.message, 403)
        except errors.RateLimited as exc:
            answer = pages.message("Please try again later",
                                   "This form has had too many signups for now. Nothing was sent; please try again "
                                   "later.", 429)
            answer.headers["Retry-After"] = str(exc.retry_after)
            return answer
    return _page(guarded)


def _form(contact_list: ContactList, stamp: str, values: dict[str, str] | None = None,
          error: str | None = None, status: int = 200) -> Response:
    body = ((f'<p class="error" role="alert">{escape(error)}</p>' if error else "")
            + signup_form_markup.form(contact_list.fields, stamp, lists.sender_promise(contact_list), values))
    return pages.page(f"Subscribe to {contact_list.name}", body, status)


@api.route("/preferences/{token}", auth_required=False, answers=PAGE_ANSWERS)
def preference_centre(call: Call, token: str):
    return _page(lambda: preference_page.centre_page(preferences.open_centre(token)))


@api.route("/preferences/{token}", methods=["POST"], auth_required=False, content_types=FORM_TYPES,
           answers={**PAGE_ANSWERS, 422: HTML})
def save_preferences(call: Call, token: str):
    def view() -> Response:
        form = form_fields(call, preference_page.MAX_FIELDS)
        if form.get("action") == preference_page.UNSUBSCRIBE_ALL:
            centre = preferences.unsubscribe_all(token)
            return pages.page("You're unsubscribed from all emails",
                              f"<p>You will receive no more emails from {escape(centre.sender)}.</p>"
                              '<p><a href="">Changed your mind? Back to your preferences</a></p>')
        try:
            saved = preferences.save(token, form, call.ip, ses.mailer())
        except preferences.FieldProblems as exc:
            return preference_page.centre_page(exc.centre, problems=exc.problems, posted=form, status=422)
        notice = "Your preferences are saved."
        if saved.to_confirm:
            notice += f" To receive {', '.join(saved.to_confirm)} again, click the link in the email we just sent."
        return preference_page.centre_page(saved.centre, notice=notice)
    return _page(view)


def _sender(contact_list: ContactList | None) -> str:
    return contact_list.from_name if contact_list else "this sender"

"""Routes: /privacy/requests, the data-subject requests of the people on customers' lists (R28). No auth."""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from chalice import Response

from chalicelib import ses
from chalicelib.handlers import pages
from chalicelib.handlers.http import FORM_TYPES, PAGE_ANSWERS, Api, Call, bodies, json_response
from chalicelib.handlers.lazy import lazy_module

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.privacy import rights
else:
    rights = lazy_module("chalicelib.services.privacy.rights")

api = Api(__name__)

ACCEPTED = {
    "status": "accepted",
    "message": "If this address is on a list we send email for, a link to confirm the request has been sent to it. "
               "The link works for 24 hours.",
}

# By rights.Outcome (a str enum: its values are the keys), so the service loads only when a request comes.
DONE_PAGES = {
    "erased": ("Your data has been erased", ("Every company that emailed you through us has deleted this "
                     "address and everything tied to it. They keep only a one-way code of it, so that it is never "
                     "added to their lists again, and they have been told.")),
    "report_sent": ("Your data is on its way", ("We have emailed a copy of your data, as a JSON file, to this "
                          "address.")),
    "report_recently_sent": ("Your data has been sent", ("We have already emailed a copy of your data to this "
                                   "address today; please check your inbox.")),
    "nothing_held": ("No data to send", ("We hold nothing we could send about this address: at most a "
                           "one-way code of it, which keeps it from being mailed.")),
}


@api.route("/privacy/requests", methods=["POST"], auth_required=False, answers={202: "RequestAccepted"})
def make_request(call: Call):
    body = call.body(bodies.PrivacyRequest)
    rights.request(body.email, rights.RequestKind(body.type), call.ip, ses.mailer())
    return json_response(ACCEPTED, status=202)


# What the page a verification link opens says will happen, by rights.RequestKind; nothing is done until the
# person presses the button: mail scanners and link previews fetch links, they do not submit forms.
CONFIRM_PAGES = {
    "erasure": ("Erase your data?", "Every company that emails you through us will delete this address and "
                "everything tied to it, and be told. This cannot be undone.", "Erase my data"),
    "access": ("Get a copy of your data?", "We will email a copy of everything we hold about this address, as "
               "a JSON file, to this address.", "Send me my data"),
}


@api.route("/privacy/requests/{token}", auth_required=False, answers=PAGE_ANSWERS)
def confirm_page(call: Call, token: str):
    def view() -> Response:
        title, text, button = CONFIRM_PAGES[rights.kind_of(token).value]
        return pages.page(title, f'<p>{escape(text)}</p><form method="post">'
                                 f'<button type="submit">{escape(button)}</button></form>')
    return pages.shown(view)


@api.route("/privacy/requests/{token}", methods=["POST"], auth_required=False, content_types=FORM_TYPES,
           answers=PAGE_ANSWERS)
def carry_out(call: Call, token: str):
    def view() -> Response:
        return pages.message(*DONE_PAGES[rights.carry_out(token, ses.mailer())])
    return pages.shown(view)

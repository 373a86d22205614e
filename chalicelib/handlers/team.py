"""Routes: the account's users (/v1/account/users), invitations (API and hosted page), and the signed-in user's
own password and login email (/v1/account/password, /v1/account/email, and the confirmation page)."""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from chalicelib import errors, ses
from chalicelib.handlers import pages
from chalicelib.handlers.context import origin
from chalicelib.handlers.http import (
    FORM_TYPES,
    HTML,
    PAGE_ANSWERS,
    Api,
    Call,
    bodies,
    json_response,
    no_content,
    page_response,
)
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.users import User

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.accounts import login_change, team
else:
    team = lazy_module("chalicelib.services.accounts.team")
    login_change = lazy_module("chalicelib.services.accounts.login_change")

api = Api(__name__)

FORM = "application/x-www-form-urlencoded"


def one(user: User, status: int = 200):
    return json_response({"user": team.view(user)}, status=status)


# --- users ---------------------------------------------------------------------------------------

@api.route("/v1/account/users", methods=["POST"], answers={201: "OneTeamUser", 200: "OneTeamUser"})
def invite(call: Call):
    body = call.body(bodies.Invitation)
    invited = team.invite(call.caller, body.email, body.role, origin(call), ses.mailer())
    return one(invited.user, 200 if invited.resent else 201)


@api.route("/v1/account/users", answers={200: "Page[TeamUser]"})
def list_users(call: Call):
    return page_response(team.page(call.account_id, call.limit(), call.cursor()), team.view)


@api.route("/v1/account/users/{user_id}", answers={200: "OneTeamUser"})
def get_user(call: Call, user_id: str):
    return one(team.get(call.account_id, user_id))


@api.route("/v1/account/users/{user_id}", methods=["PATCH"], answers={200: "OneTeamUser"})
def change_role(call: Call, user_id: str):
    return one(team.change_role(call.caller, user_id, call.body(bodies.RoleChange).role, origin(call)))


@api.route("/v1/account/users/{user_id}", methods=["DELETE"], answers={204: None})
def remove_user(call: Call, user_id: str):
    team.remove(call.caller, user_id, origin(call))
    return no_content()


# --- invitations ---------------------------------------------------------------------------------

@api.route("/v1/invitations/accept", methods=["POST"], auth_required=False, answers={201: "OneTeamUser"})
def accept_invitation(call: Call):
    body = call.body(bodies.InvitationAcceptance)
    return one(team.accept(body.token, body.password, origin(call)), 201)


@api.route("/invitations/{token}", auth_required=False, answers=PAGE_ANSWERS)
def invitation_page(call: Call, token: str):
    return pages.shown(lambda: _invitation_form(token))


@api.route("/invitations/{token}", methods=["POST"], auth_required=False, content_types=[FORM],
           answers={**PAGE_ANSWERS, 409: HTML, 422: HTML})
def invitation_form_submitted(call: Call, token: str):
    def accept():
        try:
            team.accept(token, pages.chosen_password(call.raw_body()), origin(call))
        except errors.Conflict as exc:
            return pages.message("Invitation not accepted", exc.message, 409)
        except errors.Invalid as exc:
            return _invitation_form(token, exc.message, 422)
        return pages.message("Welcome aboard", "Your password is set and your email address is confirmed. "
                             "Sign in with this address and the new password.")

    return pages.shown(accept)


def _invitation_form(token: str, problem: str | None = None, status: int = 200):
    invitation = team.pending_invitation(token)
    intro = (f"<p>You were invited to join <strong>{escape(invitation.company)}</strong> on mailroom as "
             f"<strong>{escape(invitation.role)}</strong>. You will sign in as "
             f"<strong>{escape(invitation.email)}</strong>.</p><p class=\"hint\">Choose a password of at least "
             f"8 characters. The link works once.</p>")
    return pages.password_form("Join your team", "Join", intro=intro, problem=problem, status=status)


# --- the signed-in user's own login --------------------------------------------------------------

@api.route("/v1/account/password", methods=["POST"], answers={204: None})
def change_password(call: Call):
    body = call.body(bodies.PasswordChange)
    login_change.change_password(call.caller, body.current_password, body.new_password, origin(call))
    return no_content()


@api.route("/v1/account/email", methods=["POST"], answers={202: "Accepted"})
def change_email(call: Call):
    body = call.body(bodies.EmailChange)
    login_change.request_email_change(call.caller, body.email, body.password, origin(call), ses.mailer())
    return json_response({"message": "A confirmation link is on its way to the new address; the login changes when "
                                     "it is followed."}, status=202)


@api.route("/email-change/{token}", auth_required=False, answers=PAGE_ANSWERS)
def email_change_page(call: Call, token: str):
    def confirm_form():
        address = login_change.pending_change(token)
        return pages.page("Confirm your new login email", f"""<p>Sign in to mailroom with
<strong>{escape(address)}</strong> from now on? Your old address will no longer sign in.</p>
<form method="post"><p><button type="submit">Confirm the new address</button></p></form>""")

    return pages.shown(confirm_form)


@api.route("/email-change/{token}", methods=["POST"], auth_required=False, content_types=FORM_TYPES,
           answers={**PAGE_ANSWERS, 409: HTML})
def email_change_confirmed(call: Call, token: str):
    def confirm():
        try:
            user = login_change.confirm_email_change(token, origin(call), ses.mailer())
        except errors.Conflict as exc:
            return pages.message("Address not changed", exc.message, 409)
        return pages.message("Login email changed", f"From now on you sign in with {user.email}.")

    return pages.shown(confirm)

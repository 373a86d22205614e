"""Routes: signup, email verification, password resets (API and hosted page), /v1/account and its audit trail."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import clock, errors, ses
from chalicelib.handlers import pages
from chalicelib.handlers.context import origin
from chalicelib.handlers.http import HTML, Api, Call, bodies, json_response, no_content, page_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.accounts import Account
from chalicelib.services.accounts import auth

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.accounts import accounts, allowance, audit, signup
    from chalicelib.services.privacy import closing
else:
    accounts = lazy_module("chalicelib.services.accounts.accounts")
    signup = lazy_module("chalicelib.services.accounts.signup")
    audit = lazy_module("chalicelib.services.accounts.audit")
    closing = lazy_module("chalicelib.services.privacy.closing")
    allowance = lazy_module("chalicelib.services.accounts.allowance")

api = Api(__name__)

FORM = "application/x-www-form-urlencoded"


def shape(account: Account) -> dict:
    level = int(account.subscriber_level) if account.subscriber_level is not None else None
    return {
        "id": account.account_id,
        "status": account.status,
        "status_reason": account.status_reason,
        "plan": account.plan,
        "trial_ends_at": clock.iso(account.trial_ends_at),
        "subscriber_level": level,
        "credits": int(account.credits or 0),
        "credits_purchased_at": clock.iso(account.credits_purchased_at),
        "pro": bool(account.pro),
        **accounts.profile_of(account),
        "usage": {"subscribers": int(account.subscriber_count or 0)},
        "limits": allowance.limits(account),
        "created_at": account.created_at,
        "updated_at": clock.iso(account.updated_at),
        "closed_at": clock.iso(account.closed_at),
        "purge_after": clock.iso(account.purge_after),   # R30: when a closed account's data is deleted
    }


# --- signup and verification -------------------------------------------------------------------

@api.route("/v1/signup", methods=["POST"], auth_required=False, answers={201: "SignedUp"})
def sign_up(call: Call):
    body = call.body(bodies.Signup).model_dump(exclude_unset=True)
    data = signup.SignupInput(
        email=body.pop("email"), password=body.pop("password"), accept_terms=body.pop("accept_terms"), profile=body
    )
    registered = signup.signup(data, origin(call), ses.mailer())
    user = registered.user
    return json_response(
        {
            "account": shape(registered.account),
            "user": {"id": user.user_id, "email": user.email, "email_verified": False},
        },
        status=201,
    )


@api.route("/v1/verify-email/{token}", auth_required=False, answers={200: HTML, 404: HTML})
def verify_email(call: Call, token: str):
    try:
        signup.verify_email(token, origin(call))
    except errors.NotFound:
        return pages.message("Link not valid", "This verification link is not valid or has expired. "
                             "Sign in and ask for a new one.", 404)
    return pages.message("Email address confirmed", "Thank you: your email address is confirmed.")


@api.route("/v1/account/verification-email", methods=["POST"], answers={202: "VerificationSent"})
def resend_verification(call: Call):
    sent = signup.resend_verification(call.caller, ses.mailer())
    return json_response({"sent": sent}, status=202)


# --- password resets ---------------------------------------------------------------------------

@api.route("/v1/password-resets", methods=["POST"], auth_required=False, answers={202: "Accepted"})
def request_reset(call: Call):
    auth.request_password_reset(call.body(bodies.ResetRequest).email, origin(call))
    return json_response({"message": "If an account uses this address, a reset link is on its way."}, status=202)


@api.route("/v1/password-resets/confirm", methods=["POST"], auth_required=False, answers={204: None})
def confirm_reset(call: Call):
    body = call.body(bodies.ResetConfirmation)
    auth.confirm_password_reset(body.token, body.password, origin(call))
    return no_content()


@api.route("/reset-password/{token}", auth_required=False, answers={200: HTML, 404: HTML})
def reset_form(call: Call, token: str):
    if not auth.reset_link_is_live(token):
        return _expired_reset_page()
    return _reset_form()


@api.route("/reset-password/{token}", methods=["POST"], auth_required=False, content_types=[FORM],
           answers={200: HTML, 404: HTML, 422: HTML})
def reset_form_submitted(call: Call, token: str):
    try:
        auth.confirm_password_reset(token, pages.chosen_password(call.raw_body()), origin(call))
    except errors.NotFound:
        return _expired_reset_page()
    except errors.Invalid as exc:
        return _reset_form(exc.message, 422)
    return pages.message("Password changed", "Your password has been changed, and you have been signed out "
                         "everywhere. Sign in with the new password.")


def _reset_form(problem: str | None = None, status: int = 200):
    return pages.password_form("Choose a new password", "Set password", problem=problem, status=status)


def _expired_reset_page():
    return pages.message("Link not valid", "This reset link is not valid: it was used already or has expired. "
                         "Ask for a new one.", 404)


# --- the account -------------------------------------------------------------------------------

@api.route("/v1/account", answers={200: "OneAccount"})
def get_account(call: Call):
    return json_response({"account": shape(accounts.get(call.account_id))})


@api.route("/v1/account", methods=["PATCH"], answers={200: "OneAccount"})
def update_account(call: Call):
    changes = call.body(bodies.ProfileChanges).changes()
    return json_response({"account": shape(accounts.update_profile(call.caller, changes, origin(call)))})


@api.route("/v1/account/close", methods=["POST"], answers={202: "OneAccount"})
def close_account(call: Call):
    return json_response({"account": shape(closing.close(call.caller, origin(call), ses.mailer()))}, status=202)


@api.route("/v1/account/audit", answers={200: "Page[AuditRecord]"})
def account_audit(call: Call):
    return page_response(accounts.audit_page(call.account_id, call.limit(), call.cursor()), audit.view)

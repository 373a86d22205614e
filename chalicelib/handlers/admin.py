"""Routes: /v1/admin/accounts (staff only). Every access to an account, alone or in a page of them, is audited on
it (R4)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.handlers import accounts as account_routes
from chalicelib.handlers.context import origin
from chalicelib.handlers.http import Api, Call, bodies, json_response, page_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.accounts import Account

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.accounts import staff
else:
    staff = lazy_module("chalicelib.services.accounts.staff")

api = Api(__name__)


def shape(account: Account) -> dict:
    registration = account.registration.as_dict() if account.registration is not None else None
    hold = account.reputation_hold.as_dict() if account.reputation_hold is not None else None
    return {**account_routes.shape(account), "owner_user_id": account.owner_user_id, "registration": registration,
            "reputation_hold": hold}


@api.route("/v1/admin/accounts", staff=True, answers={200: "Page[StaffAccountView]"})
def list_accounts(call: Call):
    found = staff.page_for_staff(call.caller, call.query("status"), call.limit(), call.cursor(), origin(call))
    return page_response(found, shape)


@api.route("/v1/admin/accounts/{account_id}", staff=True, answers={200: "OneStaffAccount"})
def get_account(call: Call, account_id: str):
    return json_response({"account": shape(staff.view_for_staff(call.caller, account_id, origin(call)))})


@api.route("/v1/admin/accounts/{account_id}/approve", methods=["POST"], staff=True,
           answers={200: "OneStaffAccount"})
def approve(call: Call, account_id: str):
    return json_response({"account": shape(staff.approve(call.caller, account_id, origin(call)))})


@api.route("/v1/admin/accounts/{account_id}/suspend", methods=["POST"], staff=True,
           answers={200: "OneStaffAccount"})
def suspend(call: Call, account_id: str):
    reason = call.body(bodies.Suspension).reason
    return json_response({"account": shape(staff.suspend(call.caller, account_id, reason, origin(call)))})


@api.route("/v1/admin/accounts/{account_id}/reinstate", methods=["POST"], staff=True,
           answers={200: "OneStaffAccount"})
def reinstate(call: Call, account_id: str):
    return json_response({"account": shape(staff.reinstate(call.caller, account_id, origin(call)))})


@api.route("/v1/admin/accounts/{account_id}/release", methods=["POST"], staff=True,
           answers={200: "OneStaffAccount"})
def release(call: Call, account_id: str):
    """Lift the account's reputation hold; audited like every staff change."""
    return json_response({"account": shape(staff.release(call.caller, account_id, origin(call)))})


@api.route("/v1/admin/accounts/{account_id}/plan", methods=["PATCH"], staff=True,
           answers={200: "OneStaffAccount"})
def change_plan(call: Call, account_id: str):
    change = staff.PlanChange(**call.body(bodies.PlanBody).model_dump())
    return json_response({"account": shape(staff.change_plan(call.caller, account_id, change, origin(call)))})

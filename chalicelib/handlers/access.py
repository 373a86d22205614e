"""Who may call each route: one table from every route ("METHOD /path", as the app's route table names it) to
the permission it needs (services/accounts/auth.py: what each role grants, what a key's scopes may narrow).

`Api.route` (handlers/http.py) consults it on every call; a route missing from it is refused to everyone
(403) until it is added here, and `tests/integration/test_route_permissions.py` fails for it.

Choices worth knowing:
- Exports of a list (a copy of every member in one file) need `subscribers:export`: editors manage the lists
  and their imports, so they may export them too (R17); viewers read in place but take no bulk copies.
- Sending domains are the account's identity at the receivers (DKIM, DMARC): adding or removing one is for
  owners and admins (`domains:write`); editors send from the domains that are verified.
- The audit trail (colleagues' sign-ins with their IPs), the API keys and the whole account's export are the
  account's administration (`account:manage`), not reads for every role.
"""
from __future__ import annotations

from enum import Enum

from chalicelib.services.accounts.auth import Permission as P


class Open(str, Enum):
    """Routes that need no permission of the account: anyone may call a public one; staff ones are for staff."""

    PUBLIC = "public"
    STAFF = "staff"


# A route needs one permission, or all of a few; or it is open (public) or staff's.
Need = P | tuple[P, ...] | Open

_PUBLIC = Open.PUBLIC
_STAFF = Open.STAFF

ROUTES: dict[str, Need] = {
    # signup, sign-in, resets, verification, the API's description
    "POST /v1/signup": _PUBLIC,
    "POST /v1/sessions": _PUBLIC,
    "POST /v1/password-resets": _PUBLIC,
    "POST /v1/password-resets/confirm": _PUBLIC,
    "GET /reset-password/{token}": _PUBLIC,
    "POST /reset-password/{token}": _PUBLIC,
    "GET /v1/verify-email/{token}": _PUBLIC,
    "GET /v1/openapi.json": _PUBLIC,
    # the pages and links subscribers and recipients use
    "GET /confirm/{token}": _PUBLIC,
    "GET /unsubscribe/{token}": _PUBLIC,
    "POST /unsubscribe/{token}": _PUBLIC,
    "GET /f/{token}": _PUBLIC,
    "POST /f/{token}": _PUBLIC,
    "GET /o/{name}": _PUBLIC,
    "GET /c/{token}": _PUBLIC,
    "GET /preferences/{token}": _PUBLIC,
    "POST /preferences/{token}": _PUBLIC,
    "POST /privacy/requests": _PUBLIC,
    "GET /privacy/requests/{token}": _PUBLIC,
    "POST /privacy/requests/{token}": _PUBLIC,
    # colleagues accepting an invitation (the API, and the hosted page and its form), and a new login email
    # confirmed from its mailbox
    "POST /v1/invitations/accept": _PUBLIC,
    "GET /invitations/{token}": _PUBLIC,
    "POST /invitations/{token}": _PUBLIC,
    "GET /email-change/{token}": _PUBLIC,
    "POST /email-change/{token}": _PUBLIC,
    # oneself
    "DELETE /v1/sessions/current": P.USER_SELF,
    "POST /v1/account/verification-email": P.USER_SELF,
    "POST /v1/account/password": P.USER_SELF,
    "POST /v1/account/email": P.USER_SELF,
    # the account
    "GET /v1/account": P.ACCOUNT_READ,
    "PATCH /v1/account": P.ACCOUNT_MANAGE,
    "GET /v1/account/audit": P.ACCOUNT_MANAGE,
    "GET /v1/account/export": P.ACCOUNT_MANAGE,
    "GET /v1/account/exports/{export_id}": P.ACCOUNT_MANAGE,
    "POST /v1/account/close": (P.ACCOUNT_MANAGE, P.ACCOUNT_CLOSE),   # a key without account:manage cannot
    "GET /v1/account/users": P.ACCOUNT_MANAGE,
    "GET /v1/account/users/{user_id}": P.ACCOUNT_MANAGE,
    "POST /v1/account/users": P.ACCOUNT_MANAGE,
    "PATCH /v1/account/users/{user_id}": P.ACCOUNT_MANAGE,
    "DELETE /v1/account/users/{user_id}": P.ACCOUNT_MANAGE,
    "GET /v1/api-keys": P.ACCOUNT_MANAGE,
    "POST /v1/api-keys": P.ACCOUNT_MANAGE,
    "DELETE /v1/api-keys/{key_id}": P.ACCOUNT_MANAGE,
    # sending domains
    "GET /v1/domains": P.DOMAINS_READ,
    "POST /v1/domains": P.DOMAINS_WRITE,
    "DELETE /v1/domains/{name}": P.DOMAINS_WRITE,
    # lists and segments
    "GET /v1/lists": P.LISTS_READ,
    "POST /v1/lists": P.LISTS_WRITE,
    "GET /v1/lists/{list_id}": P.LISTS_READ,
    "PATCH /v1/lists/{list_id}": P.LISTS_WRITE,
    "DELETE /v1/lists/{list_id}": P.LISTS_WRITE,
    "GET /v1/lists/{list_id}/segments": P.LISTS_READ,
    "POST /v1/lists/{list_id}/segments": P.LISTS_WRITE,
    "GET /v1/lists/{list_id}/segments/{segment_id}": P.LISTS_READ,
    "PATCH /v1/lists/{list_id}/segments/{segment_id}": P.LISTS_WRITE,
    "DELETE /v1/lists/{list_id}/segments/{segment_id}": P.LISTS_WRITE,
    "GET /v1/lists/{list_id}/segments/{segment_id}/count": P.LISTS_READ,
    # members, imports, exports, suppressions
    "GET /v1/lists/{list_id}/subscribers": P.SUBSCRIBERS_READ,
    "POST /v1/lists/{list_id}/subscribers": P.SUBSCRIBERS_WRITE,
    "GET /v1/lists/{list_id}/subscribers/{subscriber_id}": P.SUBSCRIBERS_READ,
    "PATCH /v1/lists/{list_id}/subscribers/{subscriber_id}": P.SUBSCRIBERS_WRITE,
    "DELETE /v1/lists/{list_id}/subscribers/{subscriber_id}": P.SUBSCRIBERS_WRITE,
    "GET /v1/lists/{list_id}/subscribers/{subscriber_id}/activity": P.SUBSCRIBERS_READ,
    "POST /v1/lists/{list_id}/subscribers/{subscriber_id}/unsubscribe": P.SUBSCRIBERS_WRITE,
    "GET /v1/lists/{list_id}/imports": P.SUBSCRIBERS_READ,
    "POST /v1/lists/{list_id}/imports": P.SUBSCRIBERS_WRITE,
    "GET /v1/lists/{list_id}/imports/{import_id}": P.SUBSCRIBERS_READ,
    "POST /v1/lists/{list_id}/imports/{import_id}/start": P.SUBSCRIBERS_WRITE,
    "POST /v1/lists/{list_id}/imports/{import_id}/cancel": P.SUBSCRIBERS_WRITE,
    "GET /v1/lists/{list_id}/exports": P.SUBSCRIBERS_EXPORT,
    "POST /v1/lists/{list_id}/exports": P.SUBSCRIBERS_EXPORT,
    "GET /v1/lists/{list_id}/exports/{export_id}": P.SUBSCRIBERS_EXPORT,
    "GET /v1/suppressions": P.SUBSCRIBERS_READ,
    "POST /v1/suppressions": P.SUBSCRIBERS_WRITE,
    "DELETE /v1/suppressions/{email}": P.SUBSCRIBERS_WRITE,
    # campaigns and sending
    "GET /v1/campaigns": P.CAMPAIGNS_READ,
    "POST /v1/campaigns": P.CAMPAIGNS_WRITE,
    "GET /v1/campaigns/{campaign_id}": P.CAMPAIGNS_READ,
    "PATCH /v1/campaigns/{campaign_id}": P.CAMPAIGNS_WRITE,
    "DELETE /v1/campaigns/{campaign_id}": P.CAMPAIGNS_WRITE,
    "GET /v1/campaigns/{campaign_id}/report": P.CAMPAIGNS_READ,
    "POST /v1/campaigns/{campaign_id}/send": P.CAMPAIGNS_SEND,
    "POST /v1/campaigns/{campaign_id}/test": P.CAMPAIGNS_SEND,
    "POST /v1/campaigns/{campaign_id}/pause": P.CAMPAIGNS_SEND,
    "POST /v1/campaigns/{campaign_id}/resume": P.CAMPAIGNS_SEND,
    "POST /v1/campaigns/{campaign_id}/cancel": P.CAMPAIGNS_SEND,
    # staff (checked by Api.route's staff flag: a staff user, whatever the account's roles)
    "GET /v1/admin/accounts": _STAFF,
    "GET /v1/admin/accounts/{account_id}": _STAFF,
    "POST /v1/admin/accounts/{account_id}/approve": _STAFF,
    "POST /v1/admin/accounts/{account_id}/suspend": _STAFF,
    "POST /v1/admin/accounts/{account_id}/reinstate": _STAFF,
    "POST /v1/admin/accounts/{account_id}/release": _STAFF,
    "PATCH /v1/admin/accounts/{account_id}/plan": _STAFF,
    "GET /v1/admin/reviews": _STAFF,
    "POST /v1/admin/flags/{flag_id}/dismiss": _STAFF,
    "POST /v1/admin/campaigns/{campaign_id}/approve": _STAFF,
    "POST /v1/admin/campaigns/{campaign_id}/reject": _STAFF,
    "GET /v1/admin/abuse": _STAFF,
}


def need(method: str, path: str) -> Need | None:
    """What a call of `method` on the route `path` needs; None when the route is not in the table."""
    return ROUTES.get(f"{method.upper()} {path}")


def missing(need: Need, permissions: frozenset[P]) -> list[P]:
    """The permissions `need` asks for that are not among `permissions` (none for an open route)."""
    if isinstance(need, Open):
        return []
    return [p for p in (need if isinstance(need, tuple) else (need,)) if p not in permissions]

"""What the audit trail needs to know about an HTTP request."""
from __future__ import annotations

from chalicelib.handlers.http import Call
from chalicelib.services.accounts import auth
from chalicelib.services.accounts.audit import Actor, Origin


def origin(call: Call) -> Origin:
    """The caller's IP, User-Agent and the route template (ids stay out of it)."""
    return Origin(ip=call.ip, user_agent=call.user_agent, route=f"{call.request.method} {call.request.path}")


def actor(call: Call) -> Actor:
    """Who the call acts as: its user, and its API key when it used one."""
    return auth.actor_of(call.caller)

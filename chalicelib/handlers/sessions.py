"""Routes: /v1/sessions (sign in with email and password, sign out)."""
from __future__ import annotations

from chalicelib import clock
from chalicelib.handlers.context import origin
from chalicelib.handlers.http import Api, Call, bodies, json_response, no_content
from chalicelib.services.accounts import auth

api = Api(__name__)


@api.route("/v1/sessions", methods=["POST"], auth_required=False, answers={201: "Session"})
def create_session(call: Call):
    body = call.body(bodies.Credentials)
    session = auth.log_in(body.email, body.password, origin(call))
    return json_response({"token": session.token, "expires_at": clock.iso(session.expires_at)}, status=201)


@api.route("/v1/sessions/current", methods=["DELETE"], answers={204: None})
def end_session(call: Call):
    auth.end_session(call.caller)
    return no_content()

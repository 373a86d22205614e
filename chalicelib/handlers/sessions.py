"""Routes: /v1/sessions (sign in with email and password, sign out)."""
from __future__ import annotations

from pydantic import Field

from chalicelib import clock
from chalicelib.handlers.context import origin
from chalicelib.handlers.http import Api, Body, Call, json_response, no_content
from chalicelib.services import auth

api = Api(__name__)


class Credentials(Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=auth.MAX_PASSWORD)


@api.route("/v1/sessions", methods=["POST"], auth_required=False)
def create_session(call: Call):
    body = call.body(Credentials)
    session = auth.log_in(body.email, body.password, origin(call))
    return json_response({"token": session.token, "expires_at": clock.iso(session.expires_at)}, status=201)


@api.route("/v1/sessions/current", methods=["DELETE"])
def end_session(call: Call):
    auth.end_session(call.principal)
    return no_content()

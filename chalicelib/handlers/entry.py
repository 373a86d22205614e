"""Every Lambda entry point of the app, instrumented with Powertools (app.py registers `lambda_entry` for all events).

Chalice calls a middleware with its own event object, which still holds the raw Lambda event and context: that is
where Powertools' Logger, Metrics and Tracer wrap the invocation (chalicelib/log.py `instrumented`):
- an API call's lines carry API Gateway's request id as their correlation id;
- a queue consumer's and a schedule's run in an X-Ray subsegment, the AWS calls they make traced beneath it (Lambda's
  active tracing, infra/package.py). The API is traced by API Gateway and Lambda alone: the X-Ray SDK would add its
  import and its patching of botocore to the cold start a person waits on.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import BaseLambdaEvent, Request

from chalicelib.log import SERVICE, instrumented

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

API_REQUEST_ID = "requestContext.requestId"   # aws_lambda_powertools.logging.correlation_paths.API_GATEWAY_REST
TRACED_MODULES = ("botocore",)   # the calls to DynamoDB, SQS, SES and S3


@functools.cache
def tracer() -> Tracer:
    """The X-Ray tracer, made with the first event that is not an API call. The handler's response and error are
    not recorded in the trace, and a failed AWS call's subsegment keeps its error's type but not its message
    (either may name a recipient: SES refuses an unverified address by naming it)."""
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk.core import xray_recorder  # the provider Powertools' Tracer uses

    made = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)
    xray_recorder.configure(emitter=_emitter_without_messages())
    return made


def _emitter_without_messages() -> Any:
    """The X-Ray SDK's UDP emitter, sending every segment with its exceptions' messages removed."""
    import os

    from aws_xray_sdk.core.emitters.udp_emitter import DEFAULT_DAEMON_ADDRESS, UDPEmitter

    class WithoutMessages(UDPEmitter):
        def send_entity(self, entity: Any) -> None:
            without_messages(entity)
            super().send_entity(entity)

    return WithoutMessages(os.getenv("AWS_XRAY_DAEMON_ADDRESS", DEFAULT_DAEMON_ADDRESS))


def without_messages(entity: Any) -> None:
    """Remove the messages of the exceptions an X-Ray segment and its subsegments recorded (their types stay)."""
    cause = getattr(entity, "cause", None)
    if isinstance(cause, dict):
        for throwable in cause.get("exceptions", []):
            vars(throwable).pop("message", None)
    for subsegment in getattr(entity, "subsegments", []):
        without_messages(subsegment)


def lambda_entry(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware: `get_response(event)` as an instrumented Lambda invocation."""
    def handler(_raw: dict[str, Any], _context: Any) -> Any:
        return get_response(event)

    if isinstance(event, Request):
        raw, context, correlation = event.to_original_event(), event.lambda_context, API_REQUEST_ID
    elif isinstance(event, BaseLambdaEvent):
        raw, context, correlation = event.to_dict(), event.context, None
        handler = tracer().capture_lambda_handler(handler, capture_response=False, capture_error=False)
    else:   # an API event Chalice could not read as a request: it answers that itself
        return get_response(event)
    if context is None:   # called as a function, not by Lambda
        return get_response(event)
    return instrumented(handler, correlation)(raw, context)

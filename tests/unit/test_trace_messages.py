"""X-Ray traces never carry what a failed AWS call's error says about a recipient (chalicelib/handlers/entry.py)."""
from __future__ import annotations

import json
import traceback

from aws_xray_sdk.core.models.segment import Segment
from aws_xray_sdk.core.models.subsegment import Subsegment

from chalicelib.handlers import entry

ADDRESS = "reader@example.com"


def failed_call_trace() -> Segment:
    """A segment whose SES subsegment recorded the error SES gives for an unverified recipient, as the X-Ray SDK's
    botocore patch records it."""
    segment = Segment("SendChunk")
    call = Subsegment("SESV2", "aws", segment)
    segment.add_subsegment(call)
    try:
        raise RuntimeError(f"Email address is not verified. The following identities failed the check: {ADDRESS}")
    except RuntimeError as exc:
        call.add_exception(exc, traceback.extract_stack())
    return segment


def test_the_sent_trace_keeps_the_errors_type_but_not_its_message():
    # Given a trace as the SDK recorded it: the address is in it
    segment = failed_call_trace()
    assert ADDRESS in segment.serialize()

    # When the emitter the tracer uses sends it
    sent: list[str] = []
    emitter = entry._emitter_without_messages()
    emitter._send_data = sent.append   # the UDP socket's one write

    emitter.send_entity(segment)

    # Then the address is gone from what leaves the function, and the failure is still there by its type
    (packet,) = sent
    assert ADDRESS not in packet
    (subsegment,) = json.loads(packet.split("\n", 1)[1])["subsegments"]
    assert [e["type"] for e in subsegment["cause"]["exceptions"]] == ["RuntimeError"]
    assert subsegment["fault"] or subsegment["error"]

"""Routes: /v1/lists/{list_id}/segments."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.handlers.http import Api, Call, bodies, json_response, no_content, page_response
from chalicelib.handlers.lazy import lazy_module

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.audience import segments
else:
    segments = lazy_module("chalicelib.services.audience.segments")

api = Api(__name__)


def shape(item: segments.Segment) -> dict:
    return segments.view(item)   # a function, so that the service loads with the first request, not at the cold start


@api.route("/v1/lists/{list_id}/segments", methods=["POST"], answers={201: "OneSegment"})
def create_segment(call: Call, list_id: str):
    body = call.body(bodies.NewSegment)
    item = segments.create(call.account_id, list_id, body.name, body.match,
                           [c.model_dump() for c in body.conditions])
    return json_response({"segment": shape(item)}, status=201)


@api.route("/v1/lists/{list_id}/segments", answers={200: "Page[SegmentView]"})
def list_segments(call: Call, list_id: str):
    return page_response(segments.page(call.account_id, list_id, call.limit(), call.cursor()), shape)


@api.route("/v1/lists/{list_id}/segments/{segment_id}", answers={200: "OneSegment"})
def get_segment(call: Call, list_id: str, segment_id: str):
    return json_response({"segment": shape(segments.load(call.account_id, list_id, segment_id))})


@api.route("/v1/lists/{list_id}/segments/{segment_id}", methods=["PATCH"], answers={200: "OneSegment"})
def update_segment(call: Call, list_id: str, segment_id: str):
    changes = call.body(bodies.SegmentChanges).changes()
    return json_response({"segment": shape(segments.update(call.account_id, list_id, segment_id, changes))})


@api.route("/v1/lists/{list_id}/segments/{segment_id}", methods=["DELETE"], answers={204: None})
def delete_segment(call: Call, list_id: str, segment_id: str):
    segments.delete(call.account_id, list_id, segment_id)
    return no_content()


@api.route("/v1/lists/{list_id}/segments/{segment_id}/count", answers={200: "SegmentCount"})
def count_segment(call: Call, list_id: str, segment_id: str):
    """The exact number of the list's members in the segment now (every member read), kept on the segment."""
    return json_response(segments.count_view(segments.count(call.account_id, list_id, segment_id)))

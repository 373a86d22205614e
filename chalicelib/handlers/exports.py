"""Routes: /v1/account/export (all of the account's data, R28), /v1/account/exports/{export_id} (a job's export),
and /v1/lists/{list_id}/exports (a list's members as CSV or JSON, R17)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Response

from chalicelib import clock
from chalicelib.handlers.context import origin
from chalicelib.handlers.http import JSON, Api, Call, bodies, json_response, page_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.exports import Export, ExportView

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.audience import list_export
    from chalicelib.services.privacy import account_export
else:
    account_export = lazy_module("chalicelib.services.privacy.account_export")
    list_export = lazy_module("chalicelib.services.audience.list_export")

api = Api(__name__)


def shape(export: Export, view: ExportView | None = None) -> dict:
    return {
        "id": export.export_id,
        "status": export.status,
        "created_at": clock.iso(export.created_at),
        "ready_at": clock.iso(export.ready_at),
        "expires_at": clock.iso(export.expires_at),
        "size_bytes": int(export.size_bytes) if export.size_bytes is not None else None,
        "download_url": view.download_url if view else None,
        "download_expires_at": clock.iso(view.download_expires_at) if view else None,
    }


@api.route("/v1/account/export", answers={200: "AccountDocument", 202: "OneExport"})
def export_account(call: Call):
    requested = account_export.request(call.caller, origin(call))
    if requested.export is not None:
        return json_response({"export": shape(requested.export)}, status=202)
    return Response(body=requested.document, status_code=200, headers={"Content-Type": JSON})


@api.route("/v1/account/exports/{export_id}", answers={200: "OneExport"})
def get_export(call: Call, export_id: str):
    from chalicelib.storage import ExportFiles

    view = account_export.status(call.account_id, export_id, ExportFiles())
    return json_response({"export": shape(view.export, view)})


def list_export_shape(export: Export, view: ExportView | None = None) -> dict:
    return {
        **shape(export, view),
        "list_id": export.list_id,
        "format": export.format,
        "filter": {"status": list(export.statuses) if export.statuses else None, "segment_id": export.segment_id},
        "rows": int(export.rows or 0),
        "reason": export.failure,
    }


@api.route("/v1/lists/{list_id}/exports", methods=["POST"], answers={202: "OneListExport"})
def export_list(call: Call, list_id: str):
    body = call.body(bodies.NewListExport)
    export = list_export.request(call.caller, list_id, body.format, body.status, body.segment_id, origin(call))
    return json_response({"export": list_export_shape(export)}, status=202)


@api.route("/v1/lists/{list_id}/exports", answers={200: "Page[ListExportView]"})
def list_exports(call: Call, list_id: str):
    return page_response(list_export.page(call.account_id, list_id, call.limit(), call.cursor()), list_export_shape)


@api.route("/v1/lists/{list_id}/exports/{export_id}", answers={200: "OneListExport"})
def get_list_export(call: Call, list_id: str, export_id: str):
    from chalicelib.storage import ExportFiles

    view = list_export.status(call.account_id, list_id, export_id, ExportFiles())
    return json_response({"export": list_export_shape(view.export, view)})

"""Routes: /v1/account/export (all of the account's data, R28) and /v1/account/exports/{export_id} (a job's export)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Response

from chalicelib import clock
from chalicelib.handlers.context import origin
from chalicelib.handlers.http import JSON, Api, Call, json_response
from chalicelib.handlers.lazy import lazy_module
from chalicelib.models.exports import Export

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.services.privacy import account_export
else:
    account_export = lazy_module("chalicelib.services.privacy.account_export")

api = Api(__name__)


def shape(export: Export, view: account_export.ExportView | None = None) -> dict:
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


@api.route("/v1/account/export")
def export_account(call: Call):
    requested = account_export.request(call.caller, origin(call))
    if requested.export is not None:
        return json_response({"export": shape(requested.export)}, status=202)
    return Response(body=requested.document, status_code=200, headers={"Content-Type": JSON})


@api.route("/v1/account/exports/{export_id}")
def get_export(call: Call, export_id: str):
    from chalicelib.storage import ExportFiles

    view = account_export.status(call.account_id, export_id, ExportFiles())
    return json_response({"export": shape(view.export, view)})

"""Routes: /v1/lists/{list_id}/imports (CSV imports, R14)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import clock, queues
from chalicelib.handlers.http import Api, Call, bodies, json_response, page_response
from chalicelib.handlers.lazy import lazy_module

if TYPE_CHECKING:   # the services, named for readers and type checkers; at run time loaded on first use (cold start)
    from chalicelib.models.imports import Import
    from chalicelib.services.audience import imports
else:
    imports = lazy_module("chalicelib.services.audience.imports")

api = Api(__name__)
# Inline csv may hold 5 MB; JSON escaping (quotes, newlines) makes the body somewhat larger.
MAX_IMPORT_BODY = 6 * 1024 * 1024


def shape(view: imports.View) -> dict:
    item: Import = view.item
    answer = {
        "id": item.import_id,
        "list_id": item.list_id,
        "status": item.status,
        "rows": int(item.rows) if item.rows is not None else None,
        "processed": int(item.processed or 0),
        "added": int(item.added or 0),
        "updated": int(item.updated or 0),
        "skipped": item.skipped(),
        "update_existing": bool(item.update_existing),
        "errors_url": view.errors_url,
        "reason": item.reason,
        "created_at": clock.iso(item.created_at),
        "started_at": clock.iso(item.started_at),
        "finished_at": clock.iso(item.finished_at),
    }
    if view.upload is not None:
        answer["upload"] = view.upload
    return answer


def _files():
    from chalicelib.storage import UploadFiles

    return UploadFiles()


@api.route("/v1/lists/{list_id}/imports", methods=["POST"], answers={201: "OneImport"})
def create_import(call: Call, list_id: str):
    body = call.body(bodies.NewImport, max_bytes=MAX_IMPORT_BODY)
    request = imports.Request(body.consent.source, body.consent.permission, body.mapping, body.update_existing,
                              body.csv)
    view = imports.create(call.account_id, list_id, request, _files(), queues.enqueue)
    return json_response({"import": shape(view)}, status=201)


@api.route("/v1/lists/{list_id}/imports", answers={200: "Page[ImportView]"})
def list_imports(call: Call, list_id: str):
    files = _files()
    found = imports.page(call.account_id, list_id, call.limit(), call.cursor())
    return page_response(found, lambda item: shape(imports.view(item, files)))


@api.route("/v1/lists/{list_id}/imports/{import_id}", answers={200: "OneImport"})
def get_import(call: Call, list_id: str, import_id: str):
    return json_response({"import": shape(imports.get(call.account_id, list_id, import_id, _files()))})


@api.route("/v1/lists/{list_id}/imports/{import_id}/start", methods=["POST"], answers={200: "OneImport"})
def start_import(call: Call, list_id: str, import_id: str):
    view = imports.start(call.account_id, list_id, import_id, _files(), queues.enqueue)
    return json_response({"import": shape(view)})


@api.route("/v1/lists/{list_id}/imports/{import_id}/cancel", methods=["POST"], answers={200: "OneImport"})
def cancel_import(call: Call, list_id: str, import_id: str):
    return json_response({"import": shape(imports.cancel(call.account_id, list_id, import_id, _files()))})

"""GET /v1/openapi.json: the API described as OpenAPI 3.1, generated from the app's own route table.

Nothing here is written by hand per route. For every route Chalice knows:
- the request body is the `bodies` model its view validates (`call.body(bodies.X)` in the view's source), the
  query parameters the ones it reads (`call.query("name")`, `call.limit()`, `call.cursor()`);
- the successful answers are the ones it names where it is registered (`Api.route(..., answers=...)`), as the
  JSON schemas of `handlers/answers.py`;
- the error answers are the ones the edge (`http.py`) gives for the domain errors, in the error shape;
- routes registered with auth take the bearer token; public ones take none.
"""
from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from chalicelib.handlers.http import GIF, HTML, JSON, REDIRECT, STATUS, Api, Call, bodies, json_response

if TYPE_CHECKING:
    from chalice import Chalice

api = Api(__name__)

TITLE = "mailroom API"
VERSION = "1"
DESCRIPTION = (
    "Email marketing: accounts, sending domains, lists and their members, imports, exports, segments, campaigns "
    "and their reports, and the public pages recipients see. JSON in and out, timestamps ISO 8601 UTC. Lists of "
    "things are paged: `?limit=1..1000&cursor=…` answers `{\"items\": [...], \"next_cursor\": …}`; pass "
    "`next_cursor` back for the next page. Another account's ids answer 404, exactly like missing ones."
)
REF = "#/components/schemas/{model}"
ERROR_STATUSES = sorted({*STATUS.values(), 500})
REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 302: "Found: a redirect to `Location`",
    400: "Malformed: the body, a parameter or the cursor cannot be read", 401: "No valid credentials",
    403: "Forbidden for this caller or this account's state", 404: "Not found, or another account's",
    409: "Conflict with the current state", 413: "Too large", 415: "The body is not of a media type the route takes",
    422: "Valid JSON, but a rule is broken", 429: "Rate limited: retry after `Retry-After` seconds",
    500: "A fault on our side (logged)", 503: "A service we depend on is unavailable; try again",
}
ERROR_NAMES = {400: "Malformed", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
               413: "TooLarge", 415: "UnsupportedMediaType", 422: "Invalid", 429: "RateLimited", 500: "InternalError",
               503: "Unavailable"}
PAGING = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
    "cursor": {"type": "string", "description": "the `next_cursor` of the previous page of this same query"},
}


@api.route("/v1/openapi.json", auth_required=False, answers={200: "OpenAPIDocument"})
def openapi_document(call: Call):
    return json_response(document(api.blueprint.current_app))


@functools.cache
def _cached(app: Chalice) -> dict:
    return _build(app)


def document(app: Chalice) -> dict:
    """The app's OpenAPI 3.1 document (built once per process: the route table does not change)."""
    return _cached(app)


def _build(app: Chalice) -> dict:
    from pydantic import TypeAdapter

    operations = list(_operations(app))
    types: dict[str, Any] = {}
    for operation in operations:
        if operation["body"] is not None:
            types[_key(operation["body"])] = ("validation", operation["body"])
        for answer in operation["answers"].values():
            if _is_schema(answer):
                types[answer] = ("serialization", _answer_type(answer))
    keys = list(types)
    adapters = [(key, mode, TypeAdapter(kind)) for key, (mode, kind) in types.items()]
    refs, definitions = TypeAdapter.json_schemas(adapters, ref_template=REF)
    schemas = {name: _closed(schema) for name, schema in definitions.get("$defs", {}).items()}
    schemas["Error"] = ERROR_SCHEMA
    schema_of = {key: refs[(key, types[key][0])] for key in keys}

    paths: dict[str, dict] = {}
    for operation in operations:
        paths.setdefault(operation["path"], {})[operation["method"].lower()] = _operation(operation, schema_of)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "responses": {name: {"description": REASONS[status], "content": {JSON: {"schema": {
                "$ref": REF.format(model="Error")}}}} for status, name in ERROR_NAMES.items()},
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "A session token (`POST /v1/sessions`) or an API key (`POST /v1/api-keys`).",
            }},
        },
    }


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "pattern": "^[a-z_]+$", "description": "snake_case, stable: match on it"},
            "message": {"type": "string", "description": "a sentence for people"},
        },
        "additionalProperties": True,   # some errors name more: the field at fault, the campaign in the way, …
    }},
}


def _operations(app: Chalice) -> Iterator[dict]:
    for path, methods in sorted(app.routes.items()):
        for method, entry in sorted(methods.items()):
            endpoint = entry.view_function
            meta = getattr(endpoint, "openapi", None)
            if meta is None:
                raise LookupError(f"{method} {path} is not registered through Api.route")
            view = inspect.unwrap(endpoint)
            source = inspect.getsource(view)
            body = re.search(r"call\.body\(bodies\.(\w+)", source)
            query = re.findall(r"call\.query\(\"(\w+)\"", source)
            if re.search(r"call\.limit\(\)", source):
                query += ["limit", "cursor"]
            yield {
                "path": path, "method": method, "entry": entry, "view": view, "meta": meta,
                "answers": meta["answers"],
                "body": getattr(bodies, body.group(1)) if body else None,
                "form": entry.content_types != [JSON] and ("form_fields(" in source or "raw_body()" in source),
                "query": list(dict.fromkeys(query)),
            }


def _operation(operation: dict, schema_of: dict[str, dict]) -> dict:
    view, meta, entry = operation["view"], operation["meta"], operation["entry"]
    doc = inspect.getdoc(view) or ""
    module = view.__module__.rsplit(".", 1)[-1]
    described: dict[str, Any] = {
        "operationId": f"{module}.{view.__name__}",
        "tags": [module],
        "summary": doc.split("\n")[0] if doc else view.__name__.replace("_", " ").capitalize(),
    }
    if doc and "\n" in doc:
        described["description"] = doc
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                  for name in entry.view_args]
    parameters += [{"name": name, "in": "query", "required": False, "schema": PAGING.get(name, {"type": "string"})}
                   for name in operation["query"]]
    if parameters:
        described["parameters"] = parameters
    body = operation["body"]
    if body is not None:
        required = bool(body.model_json_schema().get("required"))
        described["requestBody"] = {"required": required,
                                    "content": {JSON: {"schema": schema_of[_key(body)]}}}
    elif operation["form"]:
        form = {"type": "object", "additionalProperties": {"type": "string"}}
        described["requestBody"] = {"required": False, "content": {
            media: {"schema": form} for media in entry.content_types if media != JSON} or {
            "application/x-www-form-urlencoded": {"schema": form}}}
    described["responses"] = _responses(operation, schema_of)
    described["security"] = [{"bearer": []}] if meta["auth"] else []
    if meta["staff"]:
        described["description"] = (described.get("description", "") + "\n\nStaff only.").strip()
    return described


def _responses(operation: dict, schema_of: dict[str, dict]) -> dict:
    responses: dict[str, dict] = {}
    for status, answer in sorted(operation["answers"].items()):
        described: dict[str, Any] = {"description": REASONS[status]}
        if answer == REDIRECT:
            described["headers"] = {"Location": {"required": True, "schema": {"type": "string"}}}
        elif answer == HTML:
            described["content"] = {HTML: {"schema": {"type": "string"}}}
        elif answer == GIF:
            described["content"] = {GIF: {"schema": {"type": "string", "format": "binary"}}}
        elif answer is not None:
            described["content"] = {JSON: {"schema": schema_of[answer]}}
        responses[str(status)] = described
    errors = ERROR_STATUSES + ([415] if operation["body"] is not None or operation["form"] else [])
    for status in errors:
        if str(status) in responses:   # a page for people, or the error shape from the edge
            responses[str(status)].setdefault("content", {})[JSON] = {"schema": {"$ref": REF.format(model="Error")}}
        else:
            responses[str(status)] = {"$ref": f"#/components/responses/{ERROR_NAMES[status]}"}
    return dict(sorted(responses.items()))


def _is_schema(answer: Any) -> bool:
    return answer not in (None, HTML, GIF, REDIRECT)


def _answer_type(name: str) -> Any:
    """The type of handlers/answers.py a route names: "OneList", or a page of one, "Page[ListView]"."""
    from chalicelib.handlers import answers

    paged = re.fullmatch(r"Page\[(\w+)\]", name)
    page: Any = answers.Page
    return page[getattr(answers, paged.group(1))] if paged else getattr(answers, name)


def _key(body: type) -> str:
    return f"body {body.__name__}"   # apart from the answers' names


def _closed(schema: dict) -> dict:
    """An object the answers describe field by field has exactly those fields (maps stay open)."""
    if schema.get("type") == "object" and "properties" in schema:
        schema.setdefault("additionalProperties", False)
    return schema

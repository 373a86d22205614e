"""GET /v1/openapi.json describes the app as it is: every route of its route table and nothing else, as a valid
OpenAPI 3.1 document, with the bearer token on exactly the routes that require one."""
from __future__ import annotations

from openapi_spec_validator import OpenAPIV31SpecValidator

from tests.integration.test_every_route import all_routes, is_public


def served_document(client) -> dict:
    answer = client.http.get("/v1/openapi.json")   # no Authorization header
    assert answer.status_code == 200, answer.body[:300]
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer.json_body


def test_given_the_app_when_its_document_is_fetched_without_credentials_then_it_names_every_route_and_no_other(
        client):
    # Given the app's own route table
    routes = {(path, method.lower()) for path, method in all_routes()}

    # When the document is fetched, without credentials
    document = served_document(client)

    # Then it describes exactly those routes: none missing, none that does not exist
    described = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert routes - described == set(), "routes missing from the document"
    assert described - routes == set(), "the document describes routes the app does not have"
    # and each with its successful answers (a route registered without `answers=` has none)
    unanswered = {(path, method) for path, operations in document["paths"].items()
                  for method, operation in operations.items() if not any(
                      status < "400" for status in operation["responses"])}
    assert unanswered == set(), "name the answers of these routes: Api.route(..., answers={status: ...})"


def test_the_document_is_valid_openapi_3_1(client):
    # When the served document is checked against the OpenAPI 3.1 specification, its schemas included
    document = served_document(client)

    # Then it is valid
    assert document["openapi"].startswith("3.1")
    errors = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_private_routes_take_the_bearer_token_and_public_ones_none(client):
    document = served_document(client)
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, method in all_routes():
        operation = document["paths"][path][method.lower()]
        # Then a route a stranger gets 401 from names the bearer scheme, and a public page names none
        expected = [] if is_public(path) or path == "/v1/openapi.json" else [{"bearer": []}]
        assert operation["security"] == expected, (method, path)


def test_every_json_operation_documents_its_errors_in_the_error_shape(client):
    document = served_document(client)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            # Then 400, 404, 422 and 500 are documented, each with the error shape
            for status in ("400", "404", "422", "500"):
                answer = operation["responses"][status]
                content = answer["content"] if "content" in answer else document["components"]["responses"][
                    answer["$ref"].rsplit("/", 1)[1]]["content"]
                assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
                    method, path, status)


def test_a_body_route_describes_the_body_its_view_validates(client):
    document = served_document(client)
    schemas = document["components"]["schemas"]

    # Then POST /v1/lists takes NewList: its required fields, and nothing unknown
    body = document["paths"]["/v1/lists"]["post"]["requestBody"]
    new_list = schemas[body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert body["required"] is True
    assert set(new_list["required"]) == {"name", "from_name", "from_email", "company_address"}
    assert new_list["additionalProperties"] is False
    # and the paged GET takes limit and cursor, and answers a page of lists
    listing = document["paths"]["/v1/lists"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"limit", "cursor"}
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("Page_ListView_")


def test_the_committed_api_reference_is_the_one_the_code_describes(client):
    # Given the document the API serves
    from tools import api_reference

    # When the reference is rendered from it
    expected = api_reference.render(served_document(client))

    # Then docs/api.md is exactly that (else: .venv/bin/python -m tools.api_reference)
    assert api_reference.TARGET.read_text() == expected, "docs/api.md is out of date: run python -m tools.api_reference"

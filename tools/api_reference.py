"""Write docs/api.md, the API reference, from the app's OpenAPI document (GET /v1/openapi.json).

    .venv/bin/python -m tools.api_reference          # rewrite docs/api.md
    .venv/bin/python -m tools.api_reference --check  # exit 1 if docs/api.md is not what the code describes

`make test` fails when the committed file differs from what this writes (tests/integration/test_openapi.py).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "api.md"

# The sections, in the order a new user meets them (the document's tags are the handler modules).
SECTIONS = [
    ("accounts", "Accounts: signup, verification, password resets, the account"),
    ("sessions", "Sessions"),
    ("api_keys", "API keys"),
    ("team", "Colleagues: users, invitations, your own password and login email"),
    ("domains", "Sending domains"),
    ("lists", "Lists"),
    ("subscribers", "Subscribers"),
    ("segments", "Segments"),
    ("imports", "Imports"),
    ("exports", "Exports: the account's data and lists"),
    ("suppressions", "Suppressions"),
    ("campaigns", "Campaigns"),
    ("tracking", "Reports, opens and clicks"),
    ("public", "Public pages: confirmation, unsubscribe, signup forms, preference centre"),
    ("privacy", "Privacy requests of the people on lists"),
    ("admin", "Staff: accounts"),
    ("reviews", "Staff: reviews and flags"),
    ("abuse_desk", "Staff: the abuse desk"),
    ("openapi", "This description"),
]


def document() -> dict:
    """The document the app serves at GET /v1/openapi.json."""
    os.environ.setdefault("MAILROOM_STAGE", "docs")
    os.environ.setdefault("AWS_REGION", "eu-west-1")
    os.environ.setdefault("MAILROOM_SECRET_KEY", "only-to-build-the-api-reference-0123456789")
    from app import app
    from chalicelib.handlers.openapi import document as build

    return build(app)


def render(spec: dict) -> str:
    schemas = spec["components"]["schemas"]
    lines = [
        "# API reference",
        "",
        "Generated from the code by `.venv/bin/python -m tools.api_reference` (do not edit by hand): the same",
        "OpenAPI 3.1 document the API serves at `GET /v1/openapi.json`. The user guide is [guide.md](guide.md).",
        "",
        spec["info"]["description"],
        "",
        "**Authentication.** Routes marked *bearer* take `Authorization: Bearer <token>`: a session token from",
        "`POST /v1/sessions` or an API key from `POST /v1/api-keys`. Without it they answer 401.",
        "",
        "**Errors.** Every error answer is JSON of the `Error` shape, `{\"error\": {\"code\", \"message\"}}`, at times",
        "with more fields naming what is at fault. Any operation may answer these; the operations below list",
        "only their successful answers and their pages for people:",
        "",
        "| status | meaning |",
        "|---|---|",
    ]
    for name, response in spec["components"]["responses"].items():
        status = next(code for code, known in _error_statuses().items() if known == name)
        lines.append(f"| {status} | {response['description']} |")
    lines.append("")
    by_tag: dict[str, list[tuple[str, str, dict]]] = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            by_tag.setdefault(operation["tags"][0], []).append((path, method, operation))
    known = [tag for tag, _ in SECTIONS]
    missing = set(by_tag) - set(known)
    if missing:
        raise SystemExit(f"tools/api_reference.py: give these tags a section title: {sorted(missing)}")
    lines += ["## Contents", ""]
    lines += [f"- [{title}](#{_anchor(title)})" for tag, title in SECTIONS if tag in by_tag]
    lines += ["- [Schemas](#schemas)", ""]
    for tag, title in SECTIONS:
        if tag not in by_tag:
            continue
        lines += [f"## {title}", ""]
        for path, method, operation in by_tag[tag]:
            lines += _operation(path, method, operation)
    lines += ["## Schemas", "", "Objects have exactly the fields listed; `object of …` is a map with any keys.", ""]
    for name, schema in schemas.items():
        lines += _schema(name, schema)
    return "\n".join(lines).rstrip() + "\n"


def _error_statuses() -> dict[int, str]:
    from chalicelib.handlers.openapi import ERROR_NAMES

    return ERROR_NAMES


def _operation(path: str, method: str, operation: dict) -> list[str]:
    security = "bearer" if operation["security"] else "none"
    if "Staff only." in operation.get("description", ""):
        security = "bearer, staff only"
    lines = [f"### `{method.upper()} {path}`", "", f"{operation['summary'].rstrip('.')}. Auth: {security}.", ""]
    description = operation.get("description", "").replace("Staff only.", "").strip()
    if description and description.split("\n")[0] != operation["summary"]:
        lines += [description, ""]
    elif "\n" in description:
        lines += [description.split("\n", 1)[1].strip(), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type |", "|---|---|---|"]
        lines += [f"| `{p['name']}` | {p['in']} | {_type(p['schema'])} |" for p in parameters]
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media, content in body["content"].items():
            required = "required" if body["required"] else "optional"
            lines.append(f"Body ({media}, {required}): {_type(content['schema'])}")
        lines.append("")
    answers = []
    for status, response in operation["responses"].items():
        if "$ref" in response:
            continue
        kinds = [f"{_type(c['schema'])}" if media == "application/json" else media
                 for media, c in response.get("content", {}).items()
                 if not (media == "application/json" and c["schema"].get("$ref", "").endswith("/Error"))]
        if "headers" in response:
            kinds.append("header " + ", ".join(f"`{name}`" for name in response["headers"]))
        if kinds or status < "400":
            answers.append(f"- {status}: {', '.join(kinds) if kinds else 'no body'}")
    lines += ["Answers:", "", *answers, ""]
    return lines


def _schema(name: str, schema: dict) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [schema["description"], ""]
    if "enum" in schema:
        return lines + ["One of " + ", ".join(f"`{v}`" for v in schema["enum"]) + ".", ""]
    properties = schema.get("properties")
    if not properties:
        return lines + [f"{_type(schema)}.", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required |", "|---|---|---|"]
    for field, described in properties.items():
        lines.append(f"| `{field}` | {_type(described)} | {'yes' if field in required else ''} |")
    for example in schema.get("examples", []):
        lines += ["", "Example:", "", "```json", json.dumps(example, indent=2, ensure_ascii=False), "```"]
    return lines + [""]


def _type(schema: dict) -> str:
    """A JSON schema in a few words: `string` (max 200), [ListView](#listview), list of …, … or null."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema:
        return " or ".join(_type(option) for option in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type")
    if kind == "array":
        text = f"list of {_type(schema.get('items', {}))}"
    elif kind == "object":
        values = schema.get("additionalProperties")
        text = f"object of {_type(values)}" if isinstance(values, dict) and values else "object"
    elif kind is None:
        text = "any JSON value"
    else:
        text = f"`{kind}`" + (f" ({schema['format']})" if "format" in schema else "")
    limits = [f"{word} {schema[key]}" for key, word in (
        ("minLength", "min length"), ("maxLength", "max length"), ("minimum", "min"), ("maximum", "max"),
        ("exclusiveMinimum", "above"), ("minItems", "min items"), ("maxItems", "max items"),
        ("maxProperties", "max fields"), ("default", "default")) if key in schema]
    return text + (f" ({', '.join(limits)})" if limits else "")


def _anchor(title: str) -> str:
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def main(argv: list[str]) -> int:
    text = render(document())
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print("docs/api.md is out of date: run .venv/bin/python -m tools.api_reference", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

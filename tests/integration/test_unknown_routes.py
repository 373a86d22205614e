"""A path no route matches is 404 in the API's error shape, and whatever the caller sent is never echoed."""
from __future__ import annotations

import httpx
import pytest

from tests.integration.local_api import local_api_server

TOKEN = "mrs.acc_secretive.s3cr3t-session-token"


@pytest.fixture(scope="module")
def local_api():
    """The local runtime's API server (local/api_server.py) on a free loopback port, serving app.py."""
    with local_api_server() as url:
        yield url


@pytest.mark.parametrize("method, path, headers", [
    ("GET", "/v1/no-such-thing", {"Authorization": f"Bearer {TOKEN}"}),
    ("POST", "/v1/lists/lst_1/nothing-here", {"Authorization": f"Bearer {TOKEN}"}),
    ("DELETE", "/nowhere", {}),
])
def test_given_an_unknown_route_when_called_locally_then_404_in_the_error_shape_without_the_token(
        local_api, method, path, headers):
    # When a path that no route matches is called, with or without a bearer token
    answer = httpx.request(method, local_api + path, headers=headers, timeout=30)

    # Then the answer is 404 not_found in the API's error shape, and the token is nowhere in it
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"error": {"code": "not_found", "message": "The route was not found."}}
    assert "s3cr3t" not in answer.text and "s3cr3t" not in str(answer.headers)
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_known_route_still_answers_as_before(local_api):
    answer = httpx.get(local_api + "/v1/lists", timeout=30)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"

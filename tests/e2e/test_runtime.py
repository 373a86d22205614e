"""The local runtime as a user meets it: the API, the outbox, and a clean stop."""
from __future__ import annotations

import socket
import time

import httpx
import pytest

from local.launcher import launch

pytestmark = pytest.mark.e2e


def test_the_staff_login_from_local_json_opens_a_session(local_runtime):
    response = httpx.post(f"{local_runtime['api']}/v1/sessions", json=local_runtime["staff"], timeout=30)

    assert response.status_code == 201, response.text
    assert response.json()["token"]


def test_the_api_answers_on_its_port_with_the_apis_error_shape(local_runtime):
    response = httpx.get(f"{local_runtime['api']}/v1/lists", timeout=30)

    assert response.status_code == 401
    assert "error" in response.json()


def test_the_outbox_lists_what_the_service_sends(local_runtime):
    # Given a signup, which sends a verification email through SES
    address = f"owner-{time.time_ns()}@outbox-check.eu"
    signup = httpx.post(f"{local_runtime['api']}/v1/signup", timeout=30, json={
        "email": address, "password": "a long enough password", "company": "Outbox Check SIA",
        "first_name": "Ada", "last_name": "Check", "country": "LV", "accept_terms": True,
    })
    assert signup.status_code == 201, signup.text

    # When the outbox is read
    messages = httpx.get(f"{local_runtime['outbox']}/messages.json", timeout=10).json()
    page = httpx.get(f"{local_runtime['outbox']}/", timeout=10)

    # Then the email is there, with its whole MIME text, on the JSON list and the HTML page
    assert isinstance(messages, list)
    mine = [m for m in messages if address in m["to"]]
    assert len(mine) == 1 and set(mine[0]) == {"id", "to", "subject", "sent_at", "raw"}
    assert f"To: {address}" in mine[0]["raw"]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert address in page.text and mine[0]["id"] in page.text
    raw = httpx.get(f"{local_runtime['outbox']}/messages/{mine[0]['id']}", timeout=10)
    assert raw.text == mine[0]["raw"]


def port_is_free(port: int) -> bool:
    """True when a server could listen on the port again. Like every server (and the runtime's own), the probe
    sets SO_REUSEADDR: connections the runtime closed linger in TIME_WAIT for a minute and hold nobody's port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_sigterm_stops_everything_cleanly_and_frees_the_ports(tmp_path):
    # Given a second runtime, up and answering
    with open(tmp_path / "runtime.log", "w+") as output:
        runtime = launch(tmp_path / "state", output)
        try:
            state = runtime.wait_until_ready()
            assert httpx.get(f"{state['outbox']}/messages.json", timeout=10).status_code == 200

            # When it gets SIGTERM
            started = time.monotonic()
            code = runtime.stop(timeout=10)
            took = time.monotonic() - started
        finally:
            runtime.stop()
        log = runtime.read_output()

    # Then it exits 0 within a few seconds, removes local.json and leaves every port free
    assert code == 0, log
    assert took < 8, f"stopping took {took:.1f} s"
    assert not runtime.state_file.exists()
    assert all(port_is_free(port) for port in runtime.ports.values()), runtime.ports
    assert "Traceback" not in log, log

"""Faults below botocore: an SES endpoint that drops the connection after reading the request, or answers 500.
SES has no idempotency key, so each claimed email reaches it at most once, and the report counts it `uncertain`."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib import aws, ses
from chalicelib.models.campaigns import CampaignStatus
from chalicelib.services.campaigns import sender
from local.launcher import free_ports
from tests.integration.campaign_sending import campaign
from tests.integration.conftest import api_call
from tests.integration.test_send_faults import one_chunk_on_the_queue


class FaultySesEndpoint(ThreadingHTTPServer):
    """A loopback HTTP server standing in for SES: it reads each request whole, counts the emails sent to it,
    and then hangs up without a word ("drop") or answers a server error ("500")."""

    daemon_threads = True

    def __init__(self, mode: str):
        self.mode, self.sends, self.lock = mode, 0, threading.Lock()
        super().__init__(("127.0.0.1", free_ports(1)[0]), FaultyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class FaultyHandler(BaseHTTPRequestHandler):
    server: FaultySesEndpoint

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path.endswith("/outbound-emails"):
            with self.server.lock:
                self.server.sends += 1
        assert body
        if self.server.mode == "drop":
            self.close_connection = True
            return
        payload = b'{"message": "Internal failure."}'
        self.send_response(500)
        self.send_header("x-amzn-ErrorType", "InternalFailure")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args) -> None:  # noqa: A002
        """Quiet."""


@pytest.fixture
def ses_endpoint(monkeypatch):
    """start(mode): SES's endpoint (only SES's: botocore's AWS_ENDPOINT_URL_SESV2) becomes a faulty server."""
    servers = []

    def start(mode: str) -> FaultySesEndpoint:
        server = FaultySesEndpoint(mode)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", server.url)
        aws.reset()
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
    monkeypatch.delenv("AWS_ENDPOINT_URL_SESV2", raising=False)
    aws.reset()


@pytest.mark.parametrize("mode", ["drop", "500"])
def test_given_ses_that_leaves_it_unknown_whether_it_took_an_email_then_each_reaches_it_once_and_is_uncertain(
        client, tenant, ses_endpoint, mode):
    # Given a campaign of 6 whose one chunk is on the send queue, and SES that hangs up (or fails) after reading
    person = tenant()
    campaign_id, chunk = one_chunk_on_the_queue(client, person, 6)
    endpoint = ses_endpoint(mode)

    # When the sender works through the chunk, and the chunk is delivered again
    first = sender.send_chunk(chunk, ses.RawSender(), lambda: 30_000)
    again = sender.send_chunk(chunk, ses.RawSender(), lambda: 30_000)

    # Then SES was asked once per email, never again (no automatic retries, no second copy on redelivery)
    assert endpoint.sends == 6
    assert (first.sent, first.failed, first.uncertain) == (0, 0, 6)
    assert (again.sent, again.uncertain) == (0, 0)
    # And the campaign is finished, its report counting the 6 as uncertain, not as sent
    assert campaign(person, campaign_id).status == CampaignStatus.SENT.value
    report = api_call(client, "GET", f"/v1/campaigns/{campaign_id}/report", headers=person.headers).json_body["report"]
    assert (report["sent"], report["uncertain"], report["failed"]) == (0, 6, 0)


def test_other_aws_clients_keep_their_retries_and_only_the_send_client_makes_one_attempt():
    send_client = aws.client("sesv2", ses.SEND_CALLS)
    others = aws.client("sesv2"), aws.client("sqs")

    assert send_client.meta.config.retries["total_max_attempts"] == 1
    assert send_client.meta.config.read_timeout + send_client.meta.config.connect_timeout == ses.SEND_CALL_MAX_S
    assert all(other.meta.config.retries["total_max_attempts"] == 6 for other in others)

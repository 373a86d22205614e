"""The embedded AWS emulator: moto's server on loopback, inside the runtime's own process.

Being in-process lets the runtime reach moto's backends directly (the outbox reads SES's sent
messages as they happen). Other processes (the API server) talk to it over HTTP; the runtime's own
clients (the pump's consumers, the SES simulator) hand their requests to the same WSGI application
without a socket (local/in_process.py), except their DynamoDB requests: those go straight to moto's
DynamoDB handler, as moto's own in-process mock (`mock_aws`) hands them, under the same per-service lock.
Building a WSGI request, Flask's dispatch and its response around each of them was a quarter of the
runtime's CPU time for DynamoDB in a profile of a 1,000-recipient campaign; no middleware reads them.
"""
from __future__ import annotations

import logging
import re
import socket
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

from local import (
    backend_names,
    dynamodb_items,
    dynamodb_requests,
    easy_dkim,
    in_process,
    item_size,
    moto_dispatch,
    query_pages,
    sqs_backlog,
    sqs_retention,
    transactions,
    update_expressions,
)

_SIGNED_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
# Requests to these may wait inside moto (SQS long polls); their backends guard their own queues.
UNSERIALISED = frozenset({"sqs"})
# This process's own requests to these are answered by moto's handler without the WSGI stack (see above).
DIRECT = frozenset({"dynamodb"})


def signed_service(authorization: str) -> str | None:
    """The service a SigV4 Authorization header's credential scope names."""
    match = _SIGNED_SERVICE.search(authorization)
    return match.group(1) if match else None


class PortInUse(RuntimeError):
    """Something else already listens on a port the runtime needs."""


def ensure_free(host: str, port: int, what: str) -> None:
    """Raise PortInUse, naming the setting that moves it, unless `port` can be bound on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUse(f"{host}:{port} is in use; set {what} to another port.") from None


class OneRequestPerService:
    """WSGI middleware: moto's backends are not thread-safe, so each service takes one request at a time.

    Concurrent DynamoDB transactions otherwise fail inside moto ("dictionary changed size during
    iteration"), which clients see as 500s and retries. Services still run alongside each other.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def _lock_for(self, environ: dict[str, Any]) -> threading.Lock | None:
        return self.lock(signed_service(environ.get("HTTP_AUTHORIZATION", "")))

    def lock(self, service: str | None) -> threading.Lock | None:
        """The lock a service's requests take (None: an unsigned request, or a service that is not serialised)."""
        if service is None or service in UNSERIALISED:
            return None
        with self._guard:
            return self._locks[service]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        lock = self._lock_for(environ)
        if lock is None:
            return self.app(environ, start_response)
        with lock:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)  # the whole answer is made while the backend is ours
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


class Emulator:
    """moto's server (all services on one port), started and stopped with the runtime.

    `middleware` wraps moto's WSGI app (innermost first), inside the per-service serialisation.
    """

    def __init__(self, host: str, port: int, middleware: Iterable[Callable[[Any], Any]] = ()):
        self.host = host
        self.port = port
        self.middleware = list(middleware)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._in_process: in_process.InProcess | None = None
        self._serialised: OneRequestPerService | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def answered_in_process(self) -> int:
        """How many of this process's requests it answered without the socket."""
        return self._in_process.answered if self._in_process is not None else 0

    def start(self) -> None:
        """Listen on host:port and serve from a background thread."""
        ensure_free(self.host, self.port, "MAILROOM_EMULATOR_PORT")
        transactions.install()
        item_size.install()
        dynamodb_items.install()
        dynamodb_requests.install()
        query_pages.install()
        backend_names.install()
        easy_dkim.install()
        update_expressions.install()
        sqs_retention.install()
        sqs_backlog.install()
        moto_dispatch.install()
        # werkzeug logs every request line; the runtime's log stays about the runtime.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app: Any = DomainDispatcherApplication(create_backend_app)
        for wrap in self.middleware:
            app = wrap(app)
        app = self._serialised = OneRequestPerService(app)
        try:
            self._server = make_server(self.host, self.port, app, threaded=True)
        except (OSError, SystemExit):  # werkzeug exits when the port is taken
            raise PortInUse(f"{self.host}:{self.port} is in use; set MAILROOM_EMULATOR_PORT to another port.") from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        self._in_process = in_process.install(self.url, app, self._dispatch_directly)   # and skip the socket

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is None:
            return
        if self._in_process is not None:
            in_process.uninstall(self._in_process)
            self._in_process = None
        server, self._server = self._server, None
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _dispatch_directly(self, request: Any) -> tuple[int, dict[str, Any], bytes] | None:
        """Answer one of this process's botocore requests to a DIRECT service with moto's handler, as `mock_aws`
        does (its status, headers and body); None for any other request."""
        authorization = request.headers.get("Authorization", b"")
        service = signed_service(authorization.decode("latin-1") if isinstance(authorization, bytes) else authorization)
        if service not in DIRECT or self._serialised is None:
            return None
        for name, value in list(request.headers.items()):   # moto reads them as text, as its mock makes them
            if isinstance(value, bytes):
                request.headers[name] = value.decode("utf-8")
        lock = self._serialised.lock(service)
        assert lock is not None
        try:
            with lock:
                status, headers, body = DynamoHandler.dispatch(request, request.url, request.headers)
        except HTTPException as error:   # raised before moto's action ran: answered as moto's mock answers it
            status, headers, body = error.code or 500, dict(error.get_headers()), error.get_body()
        except ClientError as error:     # as moto's server answers it
            status, headers, body = 400, {}, error.response["Error"]["Message"]
        return status, headers, body.encode("utf-8") if isinstance(body, str) else body

    @staticmethod
    def ses_backend(region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> Any:
        """moto's SES backend (where SES v1 and v2 sends land) for the account fake credentials map to."""
        from moto.ses.models import ses_backends

        return ses_backends[account_id][region]

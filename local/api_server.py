"""The HTTP API for the local runtime: Chalice's own local gateway, behind a server built for load.

    python -m local.api_server --port 8000 [--host 127.0.0.1] [--stage local]

This is `chalice local --no-autoreload` with three differences that matter when many clients
call at once or the runtime runs unattended: a deep listen backlog (Chalice's server keeps
socketserver's 5, so bursts of new connections stall), an access log that never
carries query strings (they can hold addresses) and records only failures, and it exits by itself
when the runtime that started it is gone. Requests still go through Chalice's LocalGateway and
request handler, so routing, CORS and the Lambda event are exactly `chalice local`'s.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalice import local as chalice_local
from chalice.cli.factory import CLIFactory

from chalicelib.handlers.http import EDGE_HEADERS, JSON, UNKNOWN_ROUTE
from local import configure_logging

log = logging.getLogger("local.api")
PROJECT_DIR = Path(__file__).resolve().parent.parent


class QuietRequestHandler(chalice_local.ChaliceRequestHandler):
    """Chalice's handler, logging only server errors, by method and path, never the query."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        if isinstance(code, int) and code >= 500:
            log.error("api: %s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Quiet: the lines http.server writes carry the whole request line."""

    def _send_error_response(self, error: chalice_local.LocalGatewayException) -> None:
        """A path no route matches is 404 in the API's error shape, as API Gateway answers it in AWS (the
        packaged template's gateway responses), not Chalice's 403 that echoes the Authorization header."""
        if isinstance(error, chalice_local.ForbiddenError) and error.headers.get(
                "x-amzn-ErrorType") == "UnauthorizedException":
            self._send_http_response(404, {"Content-Type": JSON, **EDGE_HEADERS}, json.dumps(UNKNOWN_ROUTE))
            return
        super()._send_error_response(error)


class LoadServer(chalice_local.ThreadedHTTPServer):
    """A thread per connection (as Chalice's), with a listen backlog for bursts of clients."""

    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is not worth a traceback."""
        log.warning("api: connection error: %s", type(sys.exc_info()[1]).__name__)


def build_server(host: str, port: int, stage: str, project_dir: Path = PROJECT_DIR) -> chalice_local.LocalDevServer:
    """Load app.py the way `chalice local` does and serve it on host:port."""
    factory = CLIFactory(project_dir=str(project_dir))
    config = factory.create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    # What chalice.local.create_local_server does, with our handler and server classes; once per process (the
    # app module is loaded once, so a second server in the same process, as in the tests, finds it done).
    if not isinstance(app, chalice_local.CustomLocalChalice):
        chalice_local.CustomLocalChalice.__bases__ = (chalice_local.LocalChalice, app.__class__)
        app.__class__ = chalice_local.CustomLocalChalice
    return chalice_local.LocalDevServer(app, config, host, port, handler_cls=QuietRequestHandler,
                                        server_cls=LoadServer)


def _exit_with_parent(stop: threading.Event) -> None:
    parent = os.getppid()
    while not stop.wait(1.0):
        if os.getppid() != parent:
            log.error("api: the runtime that started this server is gone; stopping")
            stop.set()


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM, SIGINT or the parent runtime goes away."""
    parser = argparse.ArgumentParser(prog="python -m local.api_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    configure_logging()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = build_server(args.host, args.port, args.stage)
    serving = threading.Thread(target=server.server.serve_forever, name="api", daemon=True)
    serving.start()
    threading.Thread(target=_exit_with_parent, args=(stop,), name="parent-watch", daemon=True).start()
    stop.wait()
    server.shutdown()
    server.server.server_close()
    serving.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The runtime's own AWS calls reach its emulator without a socket.

The pump's consumers (the sender among them), the SES simulator and the runtime's set-up run in the same
process as moto's server, yet each of their calls went through HTTP: werkzeug's server closes every
connection after one answer, so each call opened a TCP connection and started a server thread, and both
ends wrote and parsed HTTP, for a request that ends in the same process. `install()` adds a botocore
`before-send` handler (as moto's own mock does) that hands a request for the emulator's address straight
to the emulator's WSGI application, middleware and per-service serialisation included, and gives
botocore the very status, headers and body it would have read from the socket. A request whose body is
a stream (S3 uploads), and every request once the emulator stopped, goes over the network as before;
other processes (the API server) are not touched. tests/integration/test_emulator.py compares answers
given both ways.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Direct = Callable[[Any], "tuple[int, dict[str, Any], bytes] | None"]


class _Raw(io.BytesIO):
    """The body as botocore reads a urllib3 response's."""

    def stream(self, **_kwargs: Any) -> Iterable[bytes]:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


class InProcess:
    """botocore `before-send` handler: requests for `url` answered by `app` in the calling thread, or by `direct`
    (status, headers and body, or None to leave the request to `app`)."""

    def __init__(self, url: str, app: WSGIApp, direct: Direct | None = None):
        parts = urlsplit(url)
        self.prefix = f"{parts.scheme}://{parts.netloc}/"
        self.host, self.port = parts.hostname or "127.0.0.1", str(parts.port or 80)
        self.app: WSGIApp | None = app
        self.direct = direct
        self.answered = 0   # requests answered without the socket

    def stop(self) -> None:
        """From now on, requests go over the network."""
        self.app = None

    def __call__(self, request: Any, **_kwargs: Any) -> AWSResponse | None:
        app = self.app
        body = request.body
        if app is None or not (request.url + "/").startswith(self.prefix) or not isinstance(body, (bytes, str,
                                                                                                   type(None))):
            return None
        data = body.encode("utf-8") if isinstance(body, str) else body or b""
        given = self.direct(request) if self.direct is not None else None
        if given is not None:
            self.answered += 1
            status, headers, content = given
            return AWSResponse(request.url, status, headers, _Raw(content))
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), headers
            return lambda _data: None

        result = app(self.environ(request, data), start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self.answered += 1
        return AWSResponse(request.url, answer["status"], dict(answer["headers"]), _Raw(content))

    def environ(self, request: Any, data: bytes) -> dict[str, Any]:
        """What werkzeug's request handler makes of the same request."""
        parts = urlsplit(request.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": _latin1(unquote(parts.path)),
            "QUERY_STRING": _latin1(parts.query),
            "REQUEST_URI": _latin1(target),
            "RAW_URI": _latin1(target),
            "SERVER_NAME": self.host,
            "SERVER_PORT": self.port,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": 0,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme,
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(data)),
        }
        for name, value in request.headers.items():
            if "_" in name:
                continue   # werkzeug drops such headers too
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = text
            elif key != "CONTENT_LENGTH":
                environ[f"HTTP_{key}"] = text
        environ.setdefault("HTTP_HOST", parts.netloc)
        return environ


def _latin1(text: str) -> str:
    """A URL part as WSGI carries it: its UTF-8 bytes read as latin-1 (werkzeug's "encoding dance")."""
    return text.encode("utf-8").decode("latin-1")


def install(url: str, app: WSGIApp, direct: Direct | None = None) -> InProcess:
    """Answer this process's requests for `url` with `direct` or `app`, for every botocore session made from now on."""
    handler = InProcess(url, app, direct)
    BUILTIN_HANDLERS.append(("before-send", handler))
    return handler


def uninstall(handler: InProcess) -> None:
    """Send requests over the network again (sessions made since install() keep asking the handler, which
    then declines)."""
    handler.stop()
    if ("before-send", handler) in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.remove(("before-send", handler))

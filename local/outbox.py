"""The outbox: every email the emulator's SES accepted, kept in order and shown on a small web page.

`Outbox.attach(backend)` makes moto's SES backend report each message as it is sent; observers
subscribed with `Outbox.subscribe` see every `SentEmail` at that moment (the place where the local
runtime can produce SES's delivery, bounce and complaint events). moto drops a send's message tags and
configuration set, so the emulator runs `capture_send_options` in front of it and each SentEmail
carries them. `OutboxServer` serves the pages of local/outbox_pages.py: the list (newest first, searchable, 50 a
page), each message as a person sees it, its raw MIME, and /messages.json.
"""
from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import format_datetime, getaddresses, make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from local import outbox_pages

log = logging.getLogger("local.outbox")


@dataclass(frozen=True)
class SentEmail:
    """One message as SES accepted it: its SES message id, envelope and whole MIME text."""

    id: str
    source: str
    to: list[str]
    subject: str
    sent_at: datetime
    raw: str
    configuration_set: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The message as /messages.json lists it."""
        return {
            "id": self.id,
            "to": self.to,
            "subject": self.subject,
            "sent_at": self.sent_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "raw": self.raw,
        }


def _addresses(values: list[str]) -> list[str]:
    """Bare addresses, each once, in order (moto lists SES v2's destinations and the To header both)."""
    seen: dict[str, None] = {}
    for _, address in getaddresses(values):
        if address:
            seen.setdefault(address, None)
    return list(seen)


def _destinations(destinations: Any) -> list[str]:
    if isinstance(destinations, dict):
        return [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key, [])]
    return list(destinations or [])


def from_moto(message: Any, sent_at: datetime) -> SentEmail:
    """A SentEmail from one entry of moto's `sent_messages` (raw, simple or templated)."""
    if hasattr(message, "raw_data"):
        # Headers only: the subject is all it reads, and parsing each MIME part took a tenth of a campaign's time.
        parsed = HeaderParser(policy=policy.default).parsestr(message.raw_data)
        return SentEmail(message.id, str(message.source or parsed.get("From", "")),
                         _addresses(_destinations(message.destinations)), str(parsed.get("Subject", "")),
                         sent_at, message.raw_data)
    to = _addresses(_destinations(message.destinations))
    built = EmailMessage()
    built["From"] = message.source
    built["To"] = ", ".join(to)
    built["Date"] = format_datetime(sent_at)
    built["Message-ID"] = make_msgid(domain="local.mailroom")
    if hasattr(message, "subject"):
        subject = message.subject
        body = message.body or ""
        built["Subject"] = subject
        is_html = "<html" in body.lower() or "</" in body
        built.set_content(body, subtype="html" if is_html else "plain")
    else:  # a templated message: SES renders it; the emulator keeps the template name and data
        subject = f"[template {message.template}]"
        built["Subject"] = subject
        built.set_content(f"Template: {message.template}\nTemplate data: {message.template_data}\n")
    return SentEmail(message.id, str(message.source), to, subject, sent_at, built.as_string())


_send_options = threading.local()
_SES_SCOPE = "/ses/aws4_request"


def _options_from(environ: dict[str, Any], body: bytes) -> dict[str, Any] | None:
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    if environ.get("PATH_INFO", "").rstrip("/") == "/v2/email/outbound-emails":  # SES v2 SendEmail (JSON)
        request = json.loads(body or b"{}")
        return {"configuration_set": request.get("ConfigurationSetName"),
                "tags": {t["Name"]: t["Value"] for t in request.get("EmailTags", [])}}
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if form.get("Action") in ("SendEmail", "SendRawEmail", "SendTemplatedEmail"):  # SES v1 (query)
        names = sorted(k for k in form if k.startswith("Tags.member.") and k.endswith(".Name"))
        return {"configuration_set": form.get("ConfigurationSetName"),
                "tags": {form[n]: form.get(n[: -len("Name")] + "Value", "") for n in names}}
    return None


def capture_send_options(app: Callable[..., Any]) -> Callable[..., Any]:
    """WSGI middleware for moto's server: keeps an SES send's tags and configuration set for the outbox."""
    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if _SES_SCOPE not in environ.get("HTTP_AUTHORIZATION", ""):
            return app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            _send_options.current = _options_from(environ, body)
        except ValueError:
            _send_options.current = None
        try:
            return app(environ, start_response)  # moto appends to sent_messages in this thread, in this call
        finally:
            _send_options.current = None

    return middleware


class _Recorder(list):
    """moto's `sent_messages` list, telling the outbox about each message appended to it."""

    def __init__(self, outbox: Outbox, existing: list):
        super().__init__(existing)
        self._outbox = outbox

    def append(self, message: Any) -> None:
        super().append(message)
        self._outbox.record(message)


class Outbox:
    """Every email sent through the emulator, oldest first, and who wants to hear about new ones."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._clock = clock
        self._lock = threading.Lock()
        self._messages: list[SentEmail] = []
        self._observers: list[Callable[[SentEmail], None]] = []

    def attach(self, ses_backend: Any) -> None:
        """Record every message `ses_backend` (moto's SES backend for one account and region) accepts."""
        if not isinstance(ses_backend.sent_messages, _Recorder):
            ses_backend.sent_messages = _Recorder(self, ses_backend.sent_messages)

    def subscribe(self, observer: Callable[[SentEmail], None]) -> None:
        """Call `observer` with each message as it is sent (in the emulator's request thread)."""
        self._observers.append(observer)

    def record(self, message: Any) -> SentEmail:
        """Keep one message moto accepted and tell the observers."""
        sent = from_moto(message, self._clock())
        options = getattr(_send_options, "current", None)
        if options:
            sent = replace(sent, configuration_set=options["configuration_set"], tags=options["tags"])
        with self._lock:
            self._messages.append(sent)
        for observer in list(self._observers):
            try:
                observer(sent)
            except Exception as exc:  # noqa: BLE001 - an observer's bug must not fail the send
                log.error("outbox: observer %s failed: %s", getattr(observer, "__name__", observer),
                          type(exc).__name__)
        return sent

    def messages(self) -> list[SentEmail]:
        """Every message so far, oldest first."""
        with self._lock:
            return list(self._messages)

    def get(self, message_id: str) -> SentEmail | None:
        """One message by its SES message id."""
        return next((m for m in self.messages() if m.id == message_id), None)


class _Handler(BaseHTTPRequestHandler):
    server: OutboxServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        found = outbox_pages.answer(self.server.outbox, self.path)
        self.send_response(found.status)
        self.send_header("Content-Type", found.content_type)
        self.send_header("Content-Length", str(len(found.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in found.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(found.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Quiet: the page lists addresses, and its requests are of no interest in the runtime's log."""


class OutboxServer(ThreadingHTTPServer):
    """The outbox's web page, on its own thread."""

    daemon_threads = True

    def __init__(self, outbox: Outbox, host: str, port: int):
        super().__init__((host, port), _Handler)
        self.outbox = outbox
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server_close()

"""The local runtime's API server (local/api_server.py, what `make run` serves) on a free loopback port, in this
test process: over the test's emulated AWS when the test has one."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from local.api_server import build_server
from local.launcher import free_ports


@contextmanager
def local_api_server() -> Iterator[str]:
    """Serve app.py on a free loopback port; yields its base URL, and stops it on the way out."""
    (port,) = free_ports(1)
    server = build_server("127.0.0.1", port, "local")
    serving = threading.Thread(target=server.server.serve_forever, daemon=True)
    serving.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server.server_close()
        serving.join(5)

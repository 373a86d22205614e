"""Start a local runtime as a child process on free ports, for tests and benchmarks."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

PROJECT_DIR = Path(__file__).resolve().parent.parent
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


class RuntimeDidNotStart(RuntimeError):
    """The runtime exited, or did not write local.json in time; the message holds its output."""


def free_ports(count: int) -> list[int]:
    """`count` distinct ports nothing listens on right now."""
    sockets = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind(("127.0.0.1", 0))
            sockets.append(probe)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for probe in sockets:
            probe.close()


@dataclass
class LaunchedRuntime:
    """A runtime child process, its ports, state directory and output."""

    process: subprocess.Popen
    ports: dict[str, int]
    state_dir: Path
    output: IO[str]

    @property
    def state_file(self) -> Path:
        return self.state_dir / "local.json"

    def read_output(self) -> str:
        """Everything the runtime printed so far."""
        self.output.flush()
        return Path(self.output.name).read_text(errors="replace")

    def wait_until_ready(self, timeout: float = START_TIMEOUT) -> dict:
        """local.json, parsed, once the runtime has written it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state_file.exists():
                try:
                    return json.loads(self.state_file.read_text())
                except json.JSONDecodeError:
                    pass
            if self.process.poll() is not None:
                raise RuntimeDidNotStart(
                    f"the runtime exited with code {self.process.returncode}:\n{self.read_output()}")
            time.sleep(0.1)
        raise RuntimeDidNotStart(f"no local.json after {timeout:.0f} s:\n{self.read_output()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait (kill if it will not go); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def launch(state_dir: Path, output: IO[str]) -> LaunchedRuntime:
    """Start `python -m local.runtime` on free ports, writing its output to `output`."""
    api, outbox, emulator = free_ports(3)
    environment = {
        **os.environ,
        "MAILROOM_API_PORT": str(api),
        "MAILROOM_OUTBOX_PORT": str(outbox),
        "MAILROOM_EMULATOR_PORT": str(emulator),
        "MAILROOM_STATE_DIR": str(state_dir),
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen([sys.executable, "-m", "local.runtime"], cwd=PROJECT_DIR, env=environment,
                               stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
    return LaunchedRuntime(process, {"api": api, "outbox": outbox, "emulator": emulator}, state_dir, output)


@contextmanager
def running_runtime(timeout: float = START_TIMEOUT) -> Iterator[dict]:
    """A runtime on free ports with a temporary state dir; yields its local.json (and "emulator": its emulator's
    URL, for scripts that use the service's own code against it), stops it after."""
    with tempfile.TemporaryDirectory(prefix="mailroom-runtime-") as directory:
        with open(Path(directory) / "runtime.log", "w+") as output:
            runtime = launch(Path(directory) / "state", output)
            try:
                state = runtime.wait_until_ready(timeout)
                yield {**state, "emulator": f"http://127.0.0.1:{runtime.ports['emulator']}"}
            finally:
                runtime.stop()

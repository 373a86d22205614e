"""`make demo`: seconds from typing it to the printed sign-in, with its full report behind it.

Run: .venv/bin/python bench/demo.py

Starts `python -m local.demo` (what `make demo` runs, once its virtual environment is set up) on free ports with
a temporary state directory, waits for "The demo is ready", prints the seconds that took, each step's time as
the demo logs it, the CPU seconds the demo's processes (the runtime and its API server) spent, and the machine's
load average (the runtime shares the CPU with whatever else runs: on a busy machine the seconds on the clock grow
with the other work, the CPU seconds much less), then stops it with SIGTERM.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local.launcher import free_ports  # noqa: E402

TIMEOUT = 900.0


def tree_cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process and all its living descendants so far (Linux /proc)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:   # gone meanwhile
                continue
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))   # parent, ticks
    tree = {pid}
    for _ in range(len(stats)):
        grown = {child for child, (parent, _) in stats.items() if parent in tree} | tree
        if grown == tree:
            break
        tree = grown
    ticks = sum(stats[member][1] for member in tree if member in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> int:
    api, outbox, emulator = free_ports(3)
    with tempfile.TemporaryDirectory(prefix="mailroom-demo-bench-") as directory:
        log_path = Path(directory) / "demo.log"
        environment = {**os.environ, "MAILROOM_API_PORT": str(api), "MAILROOM_OUTBOX_PORT": str(outbox),
                       "MAILROOM_EMULATOR_PORT": str(emulator), "MAILROOM_STATE_DIR": str(Path(directory) / "state"),
                       "PYTHONUNBUFFERED": "1"}
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        with open(log_path, "w+") as output:
            demo = subprocess.Popen([sys.executable, "-m", "local.demo"], cwd=ROOT, env=environment,
                                    stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
            try:
                while "The demo is ready" not in log_path.read_text(errors="replace"):
                    if demo.poll() is not None or time.monotonic() - started > TIMEOUT:
                        print(log_path.read_text(errors="replace")[-4000:])
                        print("the demo did not become ready")
                        return 1
                    time.sleep(0.2)
                took = time.monotonic() - started
                cpu = tree_cpu_seconds(demo.pid)
            finally:
                demo.send_signal(signal.SIGTERM)
                try:
                    demo.wait(30)
                except subprocess.TimeoutExpired:
                    demo.kill()
                    demo.wait()
        text = log_path.read_text(errors="replace")
    for line in text.splitlines():
        if re.search(r"runtime: ready in|demo: .*\(\d", line):
            print(line)
    print(f"make demo: ready with its full report in {took:.1f} s, {cpu:.1f} CPU seconds "
          f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

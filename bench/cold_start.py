"""Cold start: median wall time from starting a fresh interpreter to the end of its `import app`, beside the same
for `import boto3`, and their ratio. Like Lambda's Init Duration, it stops when the import is done: the interpreter's
teardown at exit (tens of milliseconds for a large module graph) never happens on Lambda and is not counted.

Run: .venv/bin/python bench/cold_start.py [runs]   (target: ratio <= 1.3 for the package)

Two figures:
- the package, as Lambda runs it: `make package`'s deployment.zip and layer-deployment.zip unzipped (into a
  temporary /var/task and /opt), bytecode not writable (PYTHONDONTWRITEBYTECODE=1, as on Lambda's read-only
  file system), only those two and the standard library on the path. Whatever bytecode is used is what the zips ship.
- the source tree with the bytecode Python caches on the first import (what a developer sees).
Each import runs in a new interpreter, alternating, so both sides see the same machine state.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.bundle import SITE_PACKAGES  # noqa: E402
from infra.package import build  # noqa: E402

SETTINGS = {
    "MAILROOM_STAGE": "bench",
    "AWS_REGION": "eu-west-1",
    "MAILROOM_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
}
# Any non-empty PYTHONDONTWRITEBYTECODE (even "0") stops Python writing bytecode, so it is left out here: the
# first import then caches it, as a developer's checkout has it.
SOURCE_ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, **SETTINGS}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds from starting the interpreter to the end of its import, as Lambda's Init Duration counts them: the
    child prints the monotonic clock (system-wide on Linux) when its import is done, so the interpreter's teardown,
    which Lambda never runs, is left out."""
    started = time.monotonic_ns()
    done = subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return (int(done.stdout.split()[-1]) - started) / 1e9


def imported(module: str) -> str:
    """The child's program: import `module`, then print the monotonic clock in nanoseconds."""
    return f"import {module}, time; print(time.monotonic_ns())"


def medians(first: tuple[list[str], Path, dict], second: tuple[list[str], Path, dict],
            runs: int) -> tuple[float, float]:
    timed(*first)   # the file system's cache warmed once for both
    timed(*second)
    a, b = [], []
    for _ in range(runs):
        a.append(timed(*first))
        b.append(timed(*second))
    return statistics.median(a) * 1000, statistics.median(b) * 1000


def report(label: str, app_ms: float, boto_ms: float) -> None:
    print(f"{label}")
    print(f"  import app:   median {app_ms:.0f} ms")
    print(f"  import boto3: median {boto_ms:.0f} ms")
    print(f"  ratio: {app_ms / boto_ms:.2f} (target <= 1.30)")


def packaged(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out, task, opt = Path(tmp) / "build", Path(tmp) / "task", Path(tmp) / "opt"
        build("dev", "eu-west-1", out)
        zipfile.ZipFile(out / "deployment.zip").extractall(task)
        zipfile.ZipFile(out / "layer-deployment.zip").extractall(opt)
        pycs = sum(1 for _ in task.rglob("*.pyc")) + sum(1 for _ in opt.rglob("*.pyc"))
        # -S: no site-packages of this machine; the code and the layer on the path, as Lambda puts them
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": f"{task}:{opt / SITE_PACKAGES}", **SETTINGS}
        app = ([sys.executable, "-S", "-c", imported("app")], task, env)
        boto = ([sys.executable, "-S", "-c", imported("boto3")], task, env)
        app_ms, boto_ms = medians(app, boto, runs)
        report(f"packaged (deployment.zip + layer, {pycs} .pyc shipped, bytecode not writable), runs: {runs}",
               app_ms, boto_ms)


def source_tree(runs: int) -> None:
    app = ([sys.executable, "-c", imported("app")], ROOT, SOURCE_ENV)
    boto = ([sys.executable, "-c", imported("boto3")], ROOT, SOURCE_ENV)
    app_ms, boto_ms = medians(app, boto, runs)
    report(f"source tree (bytecode cached by the first import), runs: {runs}", app_ms, boto_ms)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    packaged(count)
    source_tree(count)

"""Cold start: median wall time of a fresh `import app` beside a fresh `import boto3`, and their ratio.

Run: .venv/bin/python bench/cold_start.py [runs]   (target: ratio <= 1.3)
Each import runs in a new interpreter, alternating, so both see the same machine state.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Any non-empty PYTHONDONTWRITEBYTECODE (even "0") stops Python writing bytecode, so it is left out: the
# first import then caches it, as a deployed package ships it.
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "MAILROOM_STAGE": "bench",
    "AWS_REGION": "eu-west-1",
    "MAILROOM_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
}


def timed(statement: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, env=ENV, check=True)
    return time.perf_counter() - started


def main(runs: int) -> None:
    timed("import app")  # warm the bytecode cache once, as a deployed package has it
    app_times, boto_times = [], []
    for _ in range(runs):
        app_times.append(timed("import app"))
        boto_times.append(timed("import boto3"))
    app_ms = statistics.median(app_times) * 1000
    boto_ms = statistics.median(boto_times) * 1000
    print(f"runs: {runs}")
    print(f"import app:   median {app_ms:.0f} ms")
    print(f"import boto3: median {boto_ms:.0f} ms")
    print(f"ratio: {app_ms / boto_ms:.2f} (target <= 1.30)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)

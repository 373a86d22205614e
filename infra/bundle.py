"""The Lambda zips as `make package` ships them: the dependencies installed from the hashed lock, and bytecode.

Lambda cannot write bytecode into /var/task or /opt, so a zip without it compiles every module it imports on each
cold start. Both zips get `__pycache__/*.cpython-311.pyc` compiled by this interpreter (which must be Lambda's
Python, 3.11) with unchecked-hash invalidation: the runtime uses them without comparing them to the sources' times,
which the zip does not keep faithfully. bench/cold_start.py measures the result.
"""
from __future__ import annotations

import compileall
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from py_compile import PycInvalidationMode

LAMBDA_PYTHON = (3, 11)
SITE_PACKAGES = "python/lib/python3.11/site-packages"   # where a layer's packages go (Lambda adds it to sys.path)
# Lambda's x86_64 Python 3.11 runs on Amazon Linux 2023 (glibc 2.34): wheels for older manylinux tags run there.
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"]
ZIP_TIME = (1980, 1, 1, 0, 0, 0)   # fixed times: the same inputs make the same zip, so the stack sees no change
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", re.MULTILINE)


class BundleError(RuntimeError):
    """The zips cannot be made as Lambda needs them."""


def pins(text: str) -> dict[str, str]:
    """The `name==version` lines of a requirements or lock file, by normalised name."""
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in _PIN.findall(text)}


def stale_pins(requirements: Path, lock: Path) -> list[str]:
    """The pins of `requirements` that `lock` does not hold at the same version (run `make lock`)."""
    locked = pins(lock.read_text())
    return sorted(f"{name}=={version}" for name, version in pins(requirements.read_text()).items()
                  if locked.get(name) != version)


def layer_from_lock(lock: Path, layer_zip: Path) -> None:
    """Write the dependencies layer: every package of `lock` for Lambda's platform, each file checked against the
    lock's hashes, with bytecode."""
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / SITE_PACKAGES
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--require-hashes", "--no-deps", "--no-compile", "--only-binary=:all:", "--implementation", "cp",
                   "--python-version", ".".join(map(str, LAMBDA_PYTHON)), "--abi", "cp311", "--abi", "abi3",
                   "--abi", "none", *[arg for p in PLATFORMS for arg in ("--platform", p)],
                   "--target", str(site), "-r", str(lock)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise BundleError(f"the layer could not be installed from {lock.name}:\n{result.stdout}{result.stderr}")
        shutil.rmtree(site / "bin", ignore_errors=True)   # console scripts: nothing on Lambda runs them
        _compile(Path(tmp), "/opt")
        _zip(Path(tmp), layer_zip)


def with_bytecode(code_zip: Path) -> None:
    """Add bytecode for every module of `code_zip`, in place."""
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(code_zip) as source:
            source.extractall(tmp)
        _compile(Path(tmp), "/var/task")
        _zip(Path(tmp), code_zip)


def _compile(root: Path, mounted_at: str) -> None:
    """Compile every module under `root`, naming its source where Lambda mounts the zip (for tracebacks)."""
    if sys.version_info[:2] != LAMBDA_PYTHON:
        raise BundleError(f"bytecode for Lambda's Python {LAMBDA_PYTHON} needs that Python; this is "
                          f"{sys.version_info[0]}.{sys.version_info[1]}")
    if not compileall.compile_dir(str(root), quiet=1, workers=0, force=True,
                                  invalidation_mode=PycInvalidationMode.UNCHECKED_HASH,
                                  stripdir=str(root), prependdir=mounted_at):
        raise BundleError(f"some modules under {root} do not compile")


def _zip(root: Path, target: Path) -> None:
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), ZIP_TIME)
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, path.read_bytes())
    partial.replace(target)

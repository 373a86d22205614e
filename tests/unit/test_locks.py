"""The hashed lock files hold exactly what the requirements pin, so `make test` and `make package` install it."""
from __future__ import annotations

import re
from pathlib import Path

from infra.bundle import pins, stale_pins

ROOT = Path(__file__).resolve().parent.parent.parent


def test_each_lock_holds_every_pin_of_its_requirements_at_the_same_version():
    assert stale_pins(ROOT / "requirements.txt", ROOT / "requirements.lock") == []
    assert stale_pins(ROOT / "requirements-dev.txt", ROOT / "requirements-dev.lock") == []
    assert stale_pins(ROOT / "requirements.txt", ROOT / "requirements-dev.lock") == []   # the -r line, resolved too


def test_every_locked_package_carries_a_hash():
    for name in ("requirements.lock", "requirements-dev.lock"):
        entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / name).read_text())
        locked = [e for e in entries if re.match(r"[A-Za-z0-9._-]+==", e)]
        assert len(locked) == len(pins((ROOT / name).read_text())) > 10
        assert all("--hash=sha256:" in entry for entry in locked), name


def test_a_pin_changed_without_locking_again_is_named(tmp_path):
    # Given requirements.txt with a version the lock does not hold
    requirements = tmp_path / "requirements.txt"
    requirements.write_text((ROOT / "requirements.txt").read_text().replace("pynamodb==6.1.0", "pynamodb==6.0.2"))

    # Then the stale pin is named (make package refuses to build with it)
    assert stale_pins(requirements, ROOT / "requirements.lock") == ["pynamodb==6.0.2"]

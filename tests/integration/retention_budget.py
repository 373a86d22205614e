"""Time for the retention tests: each rule runs as its schedule would, within a budget of remaining milliseconds.
`PLENTY` is a Lambda with a minute left, `cut_after(n)` one whose time runs out after n checks, to interrupt a
run half-way. The `travel` fixture (conftest.py) moves the service's clock."""
from __future__ import annotations

from datetime import timedelta

DAY = timedelta(days=1)


def PLENTY() -> int:
    return 60_000


def cut_after(checks: int):
    """A budget that lasts for `checks` checks, then has run out."""
    left = [checks]

    def remaining_ms() -> int:
        left[0] -= 1
        return 60_000 if left[0] >= 0 else 0

    return remaining_ms

"""The emulator finds the service a request is for without listing moto's package directory each time.

moto's server (5.2) picks the backend of every request with `host in backends.list_of_moto_modules()`, and
that function lists moto's package directory and stats each of its ~150 entries on every call: in a
profile of a 20,000-row CSV import it was a fifth of the emulator's time for DynamoDB requests (1,870
requests: 2,485 `listdir` and 104,889 `stat` calls, 6.3 of 32.9 s in `get_application`). The directory does
not change while the emulator runs, so `install()` makes that function answer the names it lists, listed
once: the same names in the same order. tests/unit/test_backend_names.py compares the two.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from moto import backends

_original = backends.list_of_moto_modules
_installed = False


@cache
def _listed_once() -> tuple[str, ...]:
    return tuple(_original())


def _list_of_moto_modules() -> Iterable[str]:
    return _listed_once()


def install() -> None:
    """Make moto's server list its package directory once (idempotent)."""
    global _installed
    if not _installed:
        backends.list_of_moto_modules = _list_of_moto_modules
        _installed = True

"""The emulator finds the method that answers an action without listing its response class's members each time.

moto's `BaseResponse.call_action` (5.2) asks `method_names_from_class(self.__class__)` on every request, which runs
`inspect.getmembers` over the response class (hundreds of members, each tested with `inspect.isfunction`): in a
profile of a 2,000-recipient campaign on the local runtime it was 2.4% of the runtime's CPU time, for an answer
that never changes while the emulator runs (moto's response classes get no methods at run time). `install()`
makes the function give each class's names, listed once: the same names in the same order.
tests/unit/test_moto_dispatch.py compares the two.
"""
from __future__ import annotations

from functools import cache

from moto.core import responses

_original = responses.method_names_from_class
_installed = False


@cache
def _listed_once(clazz: type) -> tuple[str, ...]:
    return tuple(_original(clazz))


def method_names_from_class(clazz: object) -> list[str]:
    """The names of the class's functions, as moto lists them."""
    return list(_listed_once(clazz))


def install() -> None:
    """Make moto's dispatch list each response class's methods once (idempotent)."""
    global _installed
    if not _installed:
        responses.method_names_from_class = method_names_from_class
        _installed = True
